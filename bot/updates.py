"""Updates from different chats handled at once, each chat's own updates one after another.

python-telegram-bot handles one update at a time unless told otherwise. Each update waits on the
database and on one or two Bot API calls, and from a server in a province those calls take tens to
hundreds of milliseconds: one at a time, every member would wait for everyone ahead of them.
`concurrent_updates(True)` would handle them at once but in any order, and a member's second tap
could then overtake their first, or two steps of one conversation run together. This processor
(python-telegram-bot's own extension point for exactly this, `BaseUpdateProcessor`) does both:
different chats at once, up to a limit, and a chat's updates in the order they came.

ConversationHandler's documentation asks for updates one by one; what it relies on is that the
updates of one conversation never run together. Its conversations are keyed by (chat, user), so
serving each chat's updates one after another keeps that promise (the "tailor-made concurrency"
of python-telegram-bot's Concurrency wiki page).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# At most this many updates at once. Each one holds at most one database connection at a time, and
# SQLAlchemy's pool gives 15 (5 kept, 10 more when busy) before an update would wait for one.
CONCURRENT_UPDATES = 8


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Up to `max_concurrent_updates` updates at once; those of one chat in arrival order."""

    def __init__(self, max_concurrent_updates: int = CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        # A lock for each chat with an update in hand or waiting, and how many there are: the
        # entry goes when the last one is done, so the table holds only chats being served.
        self._chats: dict[int, tuple[asyncio.Lock, int]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _chat_of(update)
        if key is None:
            await coroutine
            return
        lock, waiting = self._chats.get(key) or (asyncio.Lock(), 0)
        self._chats[key] = (lock, waiting + 1)
        try:
            # asyncio.Lock serves its waiters first come, first served: the chat's order.
            async with lock:
                await coroutine
        finally:
            lock, waiting = self._chats[key]
            if waiting == 1:
                del self._chats[key]
            else:
                self._chats[key] = (lock, waiting - 1)

    @property
    def chats_in_hand(self) -> int:
        """Chats with an update being handled or waiting (for tests and logs)."""
        return len(self._chats)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


def _chat_of(update: object) -> int | None:
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return None
