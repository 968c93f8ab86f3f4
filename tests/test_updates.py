"""Updates as `coopbot run` takes them (through the Application's update queue): a member on a slow
connection does not hold up the others, and a member's own messages are answered in order."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update
from telegram.request import RequestData

from bot.app import build_application
from bot.offline import OFFLINE_TOKEN, ApiCall, Member, OfflineBotApi
from bot.settings import Settings
from bot.updates import CONCURRENT_UPDATES, ChatOrderedProcessor

MENU_TEXT = "از منوی زیر انتخاب کنید."
LANGUAGE_TEXT = "زبان خود را انتخاب کنید:"


class SlowFirstMessage(OfflineBotApi):
    """The Bot API double, but the first message to a held chat does not arrive until released:
    that member's connection is slow."""

    def __init__(self) -> None:
        super().__init__()
        self.gates: dict[int, asyncio.Event] = {}

    def hold(self, chat_id: int) -> asyncio.Event:
        """Hold the chat's next message until the event returned is set."""
        gate = self.gates[chat_id] = asyncio.Event()
        return gate

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         *args: Any, **kwargs: Any) -> tuple[int, bytes]:  # fmt: skip
        chat_id = str(request_data.parameters.get("chat_id")) if request_data else ""
        if url.endswith("/sendMessage") and chat_id.isdigit() and int(chat_id) in self.gates:
            await self.gates.pop(int(chat_id)).wait()  # only the first message is slow
        return await super().do_request(url, method, request_data)


class QueuedMember(Member):
    """Sends its updates into the Application's update queue, as polling and the webhook do."""

    async def _process(self, payload: dict[str, Any], chat_id: int | None = None) -> list[ApiCall]:
        update = Update.de_json(
            {"update_id": next(self._update_ids), **payload}, self.application.bot
        )
        await self.application.update_queue.put(update)
        return []


async def until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the bot did not get there in time")
        await asyncio.sleep(0.01)


async def test_a_slow_member_holds_up_nobody_and_is_answered_in_order(
    settings: Settings, engine: AsyncEngine
) -> None:
    api = SlowFirstMessage()
    application = build_application(settings, engine, token=OFFLINE_TOKEN, request=api)
    async with application:
        await application.start()
        slow = QueuedMember(application, api, 2001)
        quick = QueuedMember(application, api, 2002)
        slow_network = api.hold(slow.chat_id)
        try:
            await slow.send("/menu")
            await quick.send("/menu")
            await slow.send("/language")
            await quick.send("/language")
            await until(lambda: len(quick.calls) == 2)
            assert [call.text for call in quick.calls] == [MENU_TEXT, LANGUAGE_TEXT]
            # The slow member's /language waits behind their /menu, not beside it.
            assert slow.calls == []
            slow_network.set()
            await until(lambda: len(slow.calls) == 2)
            assert [call.text for call in slow.calls] == [MENU_TEXT, LANGUAGE_TEXT]
            processor = application.update_processor
            assert isinstance(processor, ChatOrderedProcessor)
            await until(lambda: processor.chats_in_hand == 0)
        finally:
            slow_network.set()  # else stop() would wait for the held update for ever
            await application.stop()


async def test_the_bot_handles_a_bounded_number_of_updates_at_once(
    settings: Settings, engine: AsyncEngine
) -> None:
    application = build_application(settings, engine, token=OFFLINE_TOKEN, request=OfflineBotApi())
    assert isinstance(application.update_processor, ChatOrderedProcessor)
    assert application.concurrent_updates == CONCURRENT_UPDATES
