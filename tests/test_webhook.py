"""Webhook mode over real HTTP on 127.0.0.1: the secret is checked, updates reach the handlers, the
health endpoint reports the database; on Bale the secret is in the path."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import build_application
from bot.cli import main
from bot.offline import OFFLINE_TOKEN, OfflineBotApi
from bot.settings import Settings
from bot.webhook import serve

SECRET = "s3cret-Token_1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_update(update_id: int = 1) -> dict:
    user = {"id": 77, "is_bot": False, "first_name": "Ali", "language_code": "fa"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 1700000000,
            "chat": {"id": 77, "type": "private"},
            "from": user,
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


@asynccontextmanager
async def running(
    settings: Settings, engine: AsyncEngine, platform: str
) -> AsyncIterator[tuple[str, OfflineBotApi]]:
    port = free_port()
    configured = settings.model_copy(
        update={
            "platform": platform,
            "webhook_url": "https://bot.example.org/coopbot",
            "webhook_secret": SecretStr(SECRET),
            "listen": "127.0.0.1",
            "port": port,
        }
    )
    api = OfflineBotApi()
    application = build_application(configured, engine, token=OFFLINE_TOKEN, request=api)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(application, configured, stop))
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                break
        except OSError:
            await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", api
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)


async def replied(api: OfflineBotApi, chat_id: int) -> list[str]:
    for _ in range(100):
        texts = [
            c.text or "" for c in api.calls if c.chat_id == chat_id and c.method == "sendMessage"
        ]
        if texts:
            return texts
        await asyncio.sleep(0.05)
    return []


async def test_telegram_webhook_checks_the_secret_header_and_answers(
    settings: Settings, engine: AsyncEngine
) -> None:
    async with running(settings, engine, "telegram") as (url, api), httpx.AsyncClient() as client:
        hook = next(c for c in api.calls if c.method == "setWebhook")
        assert hook.params["url"] == "https://bot.example.org/coopbot"
        assert hook.params["secret_token"] == SECRET
        refused = await client.post(
            f"{url}/coopbot",
            json=start_update(),
            headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"},
        )
        assert refused.status_code == 403
        await asyncio.sleep(0.2)  # nothing may come of it
        assert not [c for c in api.calls if c.chat_id == 77]
        accepted = await client.post(
            f"{url}/coopbot",
            json=start_update(2),
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
        )
        assert accepted.status_code == 200
        assert (await replied(api, 77))[0].startswith("به کوپ‌بات")
        junk = await client.post(
            f"{url}/coopbot",
            content=b"not json",
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
        )
        assert junk.status_code == 400


async def test_health_reports_the_database(settings: Settings, engine: AsyncEngine) -> None:
    async with running(settings, engine, "telegram") as (url, _api), httpx.AsyncClient() as client:
        health = await client.get(f"{url}/health")
        assert health.status_code == 200
        assert health.json() == {"platform": "telegram", "status": "ok", "database": "reachable"}


async def test_bale_webhook_keeps_the_secret_in_the_path(
    settings: Settings, engine: AsyncEngine
) -> None:
    async with running(settings, engine, "bale") as (url, api), httpx.AsyncClient() as client:
        hook = next(c for c in api.calls if c.method == "setWebhook")
        assert hook.params["url"] == f"https://bot.example.org/coopbot/{SECRET}"
        assert "secret_token" not in hook.params
        assert (await client.post(f"{url}/coopbot", json=start_update())).status_code == 404
        assert (
            await client.post(f"{url}/coopbot/{SECRET}", json=start_update(3))
        ).status_code == 200
        assert await replied(api, 77)


def test_webhook_mode_without_a_secret_stops_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COOPBOT_TOKEN", "1:x")
    monkeypatch.setenv("COOPBOT_WEBHOOK_URL", "https://bot.example.org/hook")
    monkeypatch.delenv("COOPBOT_WEBHOOK_SECRET", raising=False)
    assert main(["run"]) == 1
    assert (
        capsys.readouterr().err == "coopbot: COOPBOT_WEBHOOK_SECRET is required in webhook mode\n"
    )
