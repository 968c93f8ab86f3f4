"""The webhook against anything: arbitrary bytes, arbitrary JSON, and real updates with parts
swapped for other values or taken out, posted over HTTP on 127.0.0.1 with the right secret and with
wrong ones. Whatever comes, the server never answers 500 nor logs an error, a refused request makes
the bot send nothing, and a member's /start is answered afterwards."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from telegram.ext import Application

from bot.app import build_application
from bot.offline import BOT_USER, OFFLINE_TOKEN, OfflineBotApi
from bot.settings import Settings
from bot.webhook import SECRET_HEADER, serve
from db.engine import create_engine
from tests.conftest import ErrorLog
from tests.test_webhook import SECRET, free_port, start_update, webhook_settings

# --- what is posted -------------------------------------------------------------------------------

USER = {"id": 77, "is_bot": False, "first_name": "Ali", "language_code": "fa"}
CHAT = {"id": 77, "type": "private", "first_name": "Ali"}


def _message(**content: Any) -> dict[str, Any]:
    return {"message_id": 5, "date": 1700000000, "chat": CHAT, "from": USER, **content}


FILE = {"file_id": "f1", "file_unique_id": "u1"}
REAL_UPDATES: list[dict[str, Any]] = [
    start_update(),
    {"update_id": 2, "message": _message(text="وام زنبورداری")},
    {"update_id": 3, "message": _message(location={"latitude": 30.28, "longitude": 57.08})},
    {"update_id": 4, "message": _message(contact={"phone_number": "09121234567", "user_id": 77})},
    {"update_id": 5, "message": _message(photo=[{**FILE, "width": 90, "height": 90}], caption="x")},
    {
        "update_id": 6,
        "message": _message(
            document={**FILE, "file_name": "a.csv", "mime_type": "text/csv", "file_size": 4},
            caption="cooperatives",
        ),
    },
    {"update_id": 7, "edited_message": _message(text="/start", edit_date=1700000001)},
    {
        "update_id": 8,
        "callback_query": {
            "id": "9",
            "from": USER,
            "chat_instance": "77",
            "data": "lang:set:fa",
            "message": {**_message(text="…"), "from": BOT_USER},
        },
    },
]
# Keys an update has, so that arbitrary JSON now and then looks like one.
KEYS = ["update_id", "message", "callback_query", "chat", "from", "id", "text", "data", "date"]
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([0, -1, 2**53, 2**64, 2**70])  # the edges of the Bot API's ids and BIGINT
    | st.floats()
    | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Where each part of a JSON value sits: the keys and indexes leading to it."""
    yield path
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _paths(inner, (*path, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _paths(inner, (*path, index))


def _alike(value: Any) -> st.SearchStrategy[Any]:
    """Another value of the same JSON type: the update keeps its shape, not its content."""
    if isinstance(value, bool):
        return st.booleans()
    if isinstance(value, int):
        return st.integers()
    if isinstance(value, float):
        return st.floats()
    if isinstance(value, str):
        return st.text(max_size=80)
    return json_values


@st.composite
def mutated_updates(draw: st.DrawFn) -> Any:
    """A real update with one or two parts swapped for another value of their type or for
    any JSON value, or taken out."""
    update: Any = copy.deepcopy(draw(st.sampled_from(REAL_UPDATES)))
    for _ in range(draw(st.integers(1, 2))):
        path = draw(st.sampled_from(list(_paths(update))))
        if not path:
            update = draw(json_values)
            continue
        parent = update
        for key in path[:-1]:
            parent = parent[key]
        how = draw(st.sampled_from(["alike", "alike", "alike", "any", "out"]))
        if how == "alike":
            parent[path[-1]] = draw(_alike(parent[path[-1]]))
        elif how == "any":
            parent[path[-1]] = draw(json_values)
        elif isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent.pop(path[-1])
    return update


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


# (one_of draws each branch as often as the others: a branch given twice is drawn twice as often)
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(_json),
    st.sampled_from(REAL_UPDATES).map(_json),
    mutated_updates().map(_json),
    mutated_updates().map(_json),
    mutated_updates().map(_json),
)


@dataclass
class Post:
    wrong_secret: str | None  # None: the right one
    body: bytes


wrong_secrets = st.sampled_from(["", SECRET.upper(), SECRET + "x", SECRET[:-1]]) | st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=20
)
posts = st.builds(
    Post,
    wrong_secret=st.one_of(st.none(), st.none(), wrong_secrets.filter(lambda s: s != SECRET)),
    body=bodies,
)

# --- the server -----------------------------------------------------------------------------------


@dataclass
class Server:
    platform: str
    url: str
    api: OfflineBotApi
    loop: asyncio.AbstractEventLoop
    application: Application
    client: httpx.AsyncClient

    def request(self, post: Post) -> tuple[str, dict[str, str]]:
        secret = SECRET if post.wrong_secret is None else post.wrong_secret
        if self.platform == "bale":
            return f"{self.url}/coopbot/{secret}", {}
        return f"{self.url}/coopbot", {SECRET_HEADER: secret} if secret else {}

    def send(self, post: Post) -> int:
        url, headers = self.request(post)

        async def go() -> int:
            answer = await self.client.post(url, content=post.body, headers=headers)
            await self.settle()
            return answer.status_code

        return self.loop.run_until_complete(go())

    async def settle(self) -> None:
        """Until the bot has handled every update it took (and run its answers)."""
        for _ in range(1000):
            await asyncio.sleep(0.002)
            processor = self.application.update_processor
            if self.application.update_queue.empty() and processor.current_concurrent_updates == 0:
                return
        raise AssertionError("the bot never finished its updates")


@contextmanager
def webhook_server(settings: Settings, platform: str) -> Iterator[Server]:
    """The real webhook server (bot/webhook.py) on its own event loop, over the offline Bot API."""
    port = free_port()
    configured = webhook_settings(settings, platform, port)
    loop = asyncio.new_event_loop()
    engine = create_engine(configured.database_url)
    api = OfflineBotApi()
    application = build_application(configured, engine, token=OFFLINE_TOKEN, request=api)
    stop = asyncio.Event()
    task = loop.create_task(serve(application, configured, stop))

    async def listening() -> None:
        for _ in range(200):
            if task.done():
                task.result()
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                    return
            except OSError:
                await asyncio.sleep(0.05)

    try:
        loop.run_until_complete(listening())
        client = httpx.AsyncClient()
        yield Server(platform, f"http://127.0.0.1:{port}", api, loop, application, client)
        loop.run_until_complete(client.aclose())
    finally:
        stop.set()
        loop.run_until_complete(asyncio.wait_for(task, 20))
        loop.run_until_complete(engine.dispose())
        loop.close()


@pytest.mark.parametrize("platform", ["telegram", "bale"])
def test_whatever_is_posted_the_webhook_never_fails_and_stays_up(
    settings: Settings, platform: str
) -> None:
    errors = ErrorLog()
    logging.getLogger().addHandler(errors)
    try:
        with webhook_server(settings, platform) as server:

            @given(post=posts)
            @hypothesis_settings(
                max_examples=200,
                deadline=None,
                # The same examples on every CI run; new ones on a developer's.
                derandomize=bool(os.environ.get("CI")),
                suppress_health_check=[HealthCheck.too_slow],
            )
            def post_anything(post: Post) -> None:
                before = len(server.api.calls)
                status = server.send(post)
                assert status < 500
                assert not errors.records, errors.records[0].getMessage()
                if post.wrong_secret is not None:
                    assert status in (403, 404)
                if status != 200:
                    assert server.api.calls[before:] == [], "a refused request made the bot act"

            post_anything()
            newcomer = start_update(10_000)
            newcomer["message"]["chat"]["id"] = newcomer["message"]["from"]["id"] = 4242
            assert server.send(Post(None, _json(newcomer))) == 200
            welcome = next(c.text for c in server.api.calls if c.chat_id == 4242)
            assert (welcome or "").startswith("به کوپ‌بات")
    finally:
        logging.getLogger().removeHandler(errors)
