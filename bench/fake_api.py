"""A fake Bot API for the benchmarks: an HTTP/1.1 server on 127.0.0.1 in a process of its own, so
that its CPU time is not counted as the bot's; python-telegram-bot talks to it through its real
HTTPXRequest, as it talks to Telegram or Bale."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

API_LIFETIME_S = 3 * 3600.0  # the fake API ends by itself even if nobody tells it to


@contextmanager
def fake_api(delay: float) -> Iterator[int]:
    """Start the fake API in a child process answering after `delay` seconds; its port."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    api = context.Process(target=serve_fake_api, args=(theirs, delay), daemon=True)
    api.start()
    theirs.close()
    try:
        if not ours.poll(30):
            sys.exit("bench: the fake Bot API did not start")
        yield ours.recv()
    finally:
        ours.close()  # the fake API stops at EOF
        api.join(5)
        if api.is_alive():
            api.terminate()
            api.join()


class FakeBotApi:
    """sendMessage and getMe answered as the Bot API answers them, after `delay` seconds; every
    message counted by chat. Any other method is answered `true` (what the Bot API answers
    answerCallbackQuery and the like; callers that need a real result keep their own).
    /_counts (GET) reports and clears the counts; /_total only reports."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.counts: Counter[int] = Counter()
        self.total = 0
        self.message_ids = 0

    async def answer(self, path: str, content_type: str, body: bytes) -> tuple[int, Any]:
        method = path.rsplit("/", 1)[-1]
        if path == "/_total":
            return 200, {"total": self.total}
        if path == "/_counts":
            counts, self.counts, self.total = self.counts, Counter(), 0
            return 200, {"total": sum(counts.values()), "chats": dict(counts)}
        params = _params(content_type, body)
        await asyncio.sleep(self.delay)
        if method == "getMe":
            user = {"id": 1, "is_bot": True, "first_name": "Bench", "username": "bench_bot"}
            return 200, {"ok": True, "result": user}
        if method == "sendMessage":
            if not params.get("chat_id"):
                return 400, {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: chat not found",
                }
            chat_id = int(params["chat_id"])
            self.counts[chat_id] += 1
            self.total += 1
            self.message_ids += 1
            message = {
                "message_id": self.message_ids,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "text": params.get("text", ""),
            }
            return 200, {"ok": True, "result": message}
        return 200, {"ok": True, "result": True}

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """HTTP/1.1 with keep-alive, as much of it as httpx uses."""
        try:
            while request_line := await reader.readline():
                _, target, _ = request_line.decode("latin-1").split(" ", 2)
                headers = {}
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                status, payload = await self.answer(
                    urlsplit(target).path, headers.get("content-type", ""), body
                )
                data = json.dumps(payload, ensure_ascii=False).encode()
                writer.write(
                    f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n".encode()
                    + data
                )
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


def _params(content_type: str, body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    if content_type.startswith("application/json"):
        return dict(json.loads(body))
    return {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}


def serve_fake_api(ready: Connection, delay: float) -> None:
    """The child process: listen on a free loopback port, say which, serve until the parent goes
    away, tells it to stop (closes its end of the pipe) or API_LIFETIME_S passes."""
    asyncio.run(_serve(ready, delay, os.getppid()))


async def _serve(ready: Connection, delay: float, parent: int) -> None:
    api = FakeBotApi(delay)
    server = await asyncio.start_server(api.handle, "127.0.0.1", 0)
    ready.send(server.sockets[0].getsockname()[1])
    loop = asyncio.get_running_loop()
    stop = loop.create_future()

    def parent_closed_the_pipe() -> None:  # the only thing it ever sends is EOF
        if not stop.done():
            stop.set_result(None)

    loop.add_reader(ready.fileno(), parent_closed_the_pipe)
    deadline = time.monotonic() + API_LIFETIME_S
    async with server:
        while not stop.done() and os.getppid() == parent and time.monotonic() < deadline:
            await asyncio.wait([stop], timeout=1.0)
    loop.remove_reader(ready.fileno())


class FakeApiClient:
    """The parent's side: the port, and the counts."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}")

    async def total(self) -> int:
        return int((await self.http.get("/_total")).json()["total"])

    async def take_counts(self) -> Counter[int]:
        """What each chat received since the last call."""
        reply = (await self.http.get("/_counts")).json()
        return Counter({int(chat): n for chat, n in reply["chats"].items()})
