"""python-telegram-bot persistence in the shared database: conversation states only.

Conversations are what a restart would otherwise lose (a member half-way through typing a tracking
code). Everything durable about a member (profile, subscriptions, deliveries) already lives in its
own tables, so user_data, chat_data, bot_data and callback_data are not persisted, and nothing
per member is kept in memory beyond the states PTB itself tracks.
"""

from __future__ import annotations

import asyncio
import json
from functools import cache
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import BasePersistence, PersistenceInput

from db.schema import conversations

# PTB's own aliases (telegram.ext._utils.types) are private; these are the same shapes.
ConversationKey = tuple[int | str, ...]
ConversationDict = dict[ConversationKey, object]
CDCData = tuple[list[tuple[str, float, dict[str, Any]]], dict[str, str]]

# How often PTB writes changed states; a crash loses at most this much, a clean stop nothing.
UPDATE_INTERVAL_S = 2.0

_KEY = (
    conversations.c.platform == bindparam("platform"),
    conversations.c.name == bindparam("name"),
    conversations.c.key == bindparam("key"),
)
_DELETE = delete(conversations).where(*_KEY)


@cache
def _upsert(dialect: str) -> Any:
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(conversations)
    return insert.on_conflict_do_update(
        index_elements=[conversations.c.platform, conversations.c.name, conversations.c.key],
        set_={"state": insert.excluded.state},
    )


class DatabasePersistence(BasePersistence[dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    def __init__(self, engine: AsyncEngine, platform: str) -> None:
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=False, user_data=False, callback_data=False
            ),
            update_interval=UPDATE_INTERVAL_S,
        )
        self.engine = engine
        self.platform = platform
        # States handed over and not written yet, the newest for each conversation. PTB hands
        # every changed state over at once (one call each, gathered, every UPDATE_INTERVAL_S):
        # they are written together in one transaction, not in a transaction each, which with
        # hundreds of members in conversations would hold SQLite's one writer for a long while.
        self._pending: dict[tuple[str, str], object | None] = {}
        self._writing = asyncio.Lock()
        # When a write failed (the database away), the rest of that round waits for the next
        # one instead of failing again, one error a round rather than one a state.
        self._failed_at = -UPDATE_INTERVAL_S

    async def get_conversations(self, name: str) -> ConversationDict:
        query = select(conversations.c.key, conversations.c.state).where(
            conversations.c.platform == self.platform, conversations.c.name == name
        )
        async with self.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return {tuple(json.loads(key)): json.loads(state) for key, state in rows}

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        self._pending[(name, json.dumps(list(key)))] = new_state
        # Let the other states of PTB's round be handed over first, into the same transaction.
        await asyncio.sleep(0)
        async with self._writing:
            if asyncio.get_running_loop().time() - self._failed_at < UPDATE_INTERVAL_S / 2:
                return  # this round's write failed: the state waits for the next round
            await self._write_pending()

    async def _write_pending(self) -> None:
        if not self._pending:
            return  # an earlier call of the same round wrote this one
        batch, self._pending = self._pending, {}
        ended = [
            {"platform": self.platform, "name": n, "key": k}
            for (n, k), s in batch.items()
            if s is None
        ]
        states = [
            {"platform": self.platform, "name": n, "key": k, "state": json.dumps(s)}
            for (n, k), s in batch.items()
            if s is not None
        ]
        try:
            async with self.engine.begin() as connection:
                if ended:
                    await connection.execute(_DELETE, ended)
                if states:
                    await connection.execute(_upsert(connection.dialect.name), states)
        except BaseException:
            # Nothing was written: keep them for the next round, unless a newer state came.
            for item, state in batch.items():
                self._pending.setdefault(item, state)
            self._failed_at = asyncio.get_running_loop().time()
            raise

    async def flush(self) -> None:
        """Write whatever a failed round left (PTB calls this when the application stops)."""
        async with self._writing:
            await self._write_pending()

    # --- what this persistence deliberately does not keep --------------------------------------

    async def get_user_data(self) -> dict[int, dict[Any, Any]]:
        return {}

    async def get_chat_data(self) -> dict[int, dict[Any, Any]]:
        return {}

    async def get_bot_data(self) -> dict[Any, Any]:
        return {}

    async def get_callback_data(self) -> CDCData | None:
        return None

    async def update_user_data(self, user_id: int, data: dict[Any, Any]) -> None:
        pass

    async def update_chat_data(self, chat_id: int, data: dict[Any, Any]) -> None:
        pass

    async def update_bot_data(self, data: dict[Any, Any]) -> None:
        pass

    async def update_callback_data(self, data: CDCData) -> None:
        pass

    async def drop_chat_data(self, chat_id: int) -> None:
        pass

    async def drop_user_data(self, user_id: int) -> None:
        pass

    async def refresh_user_data(self, user_id: int, user_data: dict[Any, Any]) -> None:
        pass

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[Any, Any]) -> None:
        pass

    async def refresh_bot_data(self, bot_data: dict[Any, Any]) -> None:
        pass
