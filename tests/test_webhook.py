"""Webhook mode over real HTTP on 127.0.0.1: the secret is checked, updates reach the handlers, the
health endpoint reports the database; on Bale the secret is in the path."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.error import BadRequest

from bot.app import SENDER_KEY, build_application
from bot.cli import main
from bot.offline import OFFLINE_TOKEN, ApiCall, BotApiError, OfflineBotApi
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


def webhook_settings(settings: Settings, platform: str, port: int) -> Settings:
    """Webhook mode on 127.0.0.1:port, with the test's secret."""
    return settings.model_copy(
        update={
            "platform": platform,
            "webhook_url": "https://bot.example.org/coopbot",
            "webhook_secret": SecretStr(SECRET),
            "listen": "127.0.0.1",
            "port": port,
        }
    )


@asynccontextmanager
async def running(
    settings: Settings, engine: AsyncEngine, platform: str
) -> AsyncIterator[tuple[str, OfflineBotApi]]:
    port = free_port()
    configured = webhook_settings(settings, platform, port)
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


# --- what an authenticated sender cannot do -------------------------------------------------------

TELEGRAM_SECRET = {"X-Telegram-Bot-Api-Secret-Token": SECRET}


def message_of(**fields: object) -> dict:
    message = {**start_update()["message"], **fields}
    return {"update_id": 5, "message": {k: v for k, v in message.items() if v is not None}}


NOT_UPDATES = {
    "a list": [1, 2],
    "null": None,
    "a string": "update",
    "no update_id": {"message": start_update()["message"]},
    "a text update_id": {"update_id": "x"},
    "a message without chat": message_of(chat=None),
    "a chat id that is text": message_of(chat={"id": "77", "type": "private"}),
    "a chat id beyond the Bot API's 52 bits": message_of(chat={"id": 2**70, "type": "private"}),
    "a sender id that is a list": message_of(**{"from": {"id": [77], "is_bot": False}}),
    "text that is a number": message_of(text=5),
    "an entity without a length": message_of(entities=[{"type": "bot_command", "offset": 0}]),
    "a press without a sender": {
        "update_id": 6,
        "callback_query": {"id": "1", "chat_instance": "1", "data": "menu:show"},
    },
    "a press whose data is an object": {
        "update_id": 7,
        "callback_query": {
            "id": "1",
            "chat_instance": "1",
            "from": start_update()["message"]["from"],
            "data": {"a": 1},
        },
    },
}


async def test_an_authenticated_body_that_is_not_an_update_is_refused_with_400(
    settings: Settings, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with running(settings, engine, "telegram") as (url, api), httpx.AsyncClient() as client:
        for name, body in NOT_UPDATES.items():
            answer = await client.post(
                f"{url}/coopbot", content=json.dumps(body), headers=TELEGRAM_SECRET
            )
            assert answer.status_code == 400, name
        await asyncio.sleep(0.2)  # nothing may come of them
        assert not [c for c in api.calls if c.chat_id is not None]
        accepted = await client.post(
            f"{url}/coopbot", json=start_update(9), headers=TELEGRAM_SECRET
        )
        assert accepted.status_code == 200
        assert await replied(api, 77)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    refusals = [r.getMessage() for r in caplog.records if "not an update" in r.getMessage()]
    assert len(refusals) == len(NOT_UPDATES)
    assert all("\n" not in line for line in refusals)


async def raw_request(url: str, head: str, body_part: bytes) -> bytes:
    """Send a request's headers and only the start of its body, then read what comes back
    (within a generous bound: a server that waits for the rest of the body never answers)."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(head.replace("\n", "\r\n").encode() + b"\r\n" + body_part)
        await writer.drain()
        return await asyncio.wait_for(reader.read(200), 10)
    finally:
        writer.close()


def post_head(path: str, length: int, *headers: str) -> str:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {length}", *headers]
    return "\n".join(lines) + "\n"


async def test_a_wrong_secret_is_refused_before_the_body_is_read(
    settings: Settings, engine: AsyncEngine
) -> None:
    async with running(settings, engine, "telegram") as (url, api):
        head = post_head("/coopbot", 50_000_000, "X-Telegram-Bot-Api-Secret-Token: wrong")
        answer = await raw_request(url, head, b'{"update_id": 1, "message": ')
        assert answer.startswith(b"HTTP/1.1 403 ")
        head = post_head("/coopbot", 50_000_000)
        assert (await raw_request(url, head, b"{")).startswith(b"HTTP/1.1 403 ")
    assert not [c for c in api.calls if c.chat_id is not None]


async def test_on_bale_a_path_without_the_secret_is_refused_before_the_body_is_read(
    settings: Settings, engine: AsyncEngine
) -> None:
    async with running(settings, engine, "bale") as (url, api):
        for path in ("/coopbot", "/coopbot/wrong", f"/coopbot/{SECRET}x", "/"):
            answer = await raw_request(url, post_head(path, 50_000_000), b'{"update_id": 1')
            assert answer.startswith(b"HTTP/1.1 404 "), path
    assert not [c for c in api.calls if c.chat_id is not None]


async def test_an_update_over_1_mb_is_refused_with_413(
    settings: Settings, engine: AsyncEngine
) -> None:
    async with running(settings, engine, "telegram") as (url, api), httpx.AsyncClient() as client:
        head = post_head("/coopbot", 1_000_001, f"X-Telegram-Bot-Api-Secret-Token: {SECRET}")
        assert (await raw_request(url, head, b"{")).startswith(b"HTTP/1.1 413 ")

        # Without a Content-Length (chunked), the body is counted as it comes. (One chunk just
        # over the cap, and nothing after it: the server has read all that was sent when it
        # answers, so its closing the connection cannot lose the answer on the way.)
        head = "\n".join(
            [
                "POST /coopbot HTTP/1.1",
                "Host: 127.0.0.1",
                "Transfer-Encoding: chunked",
                f"X-Telegram-Bot-Api-Secret-Token: {SECRET}",
                "",
            ]
        )
        chunk = f"{1_000_001:x}\r\n".encode() + b"x" * 1_000_001
        assert (await raw_request(url, head, chunk)).startswith(b"HTTP/1.1 413 ")
        big = start_update(11)
        big["message"]["text"] = "/start " + "x" * 900_000  # under the cap: still an update
        accepted = await client.post(f"{url}/coopbot", json=big, headers=TELEGRAM_SECRET)
        assert accepted.status_code == 200
        assert await replied(api, 77)


async def test_an_update_from_a_bot_is_taken_but_not_handled(
    settings: Settings, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    """As an anonymous admin's message in a group comes (from GroupAnonymousBot): refused, it would
    only be sent again."""
    anonymous = {"id": 1087968824, "is_bot": True, "first_name": "Group"}
    group = {"id": -100123, "type": "supergroup", "title": "Coop"}
    update = message_of(**{"from": anonymous, "chat": group, "text": "/start@coopbot"})
    async with running(settings, engine, "telegram") as (url, api), httpx.AsyncClient() as client:
        answer = await client.post(f"{url}/coopbot", json=update, headers=TELEGRAM_SECRET)
        assert answer.status_code == 200
        await asyncio.sleep(0.2)  # nothing may come of it
        assert not [c for c in api.calls if c.chat_id is not None]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_refused_webhook_starts_nothing_else(
    settings: Settings, engine: AsyncEngine
) -> None:
    """Before, the outbox sender started first and was then cut off half-way through a batch."""
    configured = webhook_settings(settings, "telegram", free_port())

    def refuse_webhook(call: ApiCall) -> None:
        if call.method == "setWebhook":
            raise BotApiError(400, "Bad Request: bad webhook: HTTPS url must be provided")

    api = OfflineBotApi(interceptor=refuse_webhook)
    application = build_application(configured, engine, token=OFFLINE_TOKEN, request=api)
    with pytest.raises(BadRequest):
        await serve(application, configured, asyncio.Event())
    assert SENDER_KEY not in application.bot_data
    assert [c.method for c in api.calls] == ["getMe", "setWebhook"]
