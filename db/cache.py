"""Reference data kept in memory for a while: what only staff imports change, and most steps read.

Each engine's copy is kept for CACHE_S seconds (the values are frozen models, so sharing them is
safe), and every copy of an engine is dropped at once when this process imports (`forget`). An
import by another process, such as `coopbot import` from a shell beside a running bot, shows in
the bot within CACHE_S. Nothing about a member is ever kept here.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

T = TypeVar("T")

CACHE_S = 60.0


class PerEngine(Generic[T]):
    """What `load` reads from an engine, read again once it is CACHE_S old or forgotten."""

    def __init__(self, load: Callable[[AsyncEngine], Awaitable[T]]) -> None:
        self._load = load
        self._kept: weakref.WeakKeyDictionary[AsyncEngine, tuple[float, T]] = (
            weakref.WeakKeyDictionary()
        )
        self._generation = 0  # how many times it was forgotten
        _EVERY.append(self)

    async def get(self, engine: AsyncEngine) -> T:
        kept = self._kept.get(engine)
        if kept is not None and time.monotonic() - kept[0] < CACHE_S:
            return kept[1]
        read_at, generation = time.monotonic(), self._generation
        value = await self._load(engine)
        if generation == self._generation:  # else an import ended while it read: do not keep it
            self._kept[engine] = (read_at, value)
        return value

    def forget(self, engine: AsyncEngine) -> None:
        self._kept.pop(engine, None)
        self._generation += 1


# Every cache there is (each is made once, at import): what `forget` clears.
_EVERY: list[PerEngine[Any]] = []


def forget(engine: AsyncEngine) -> None:
    """The engine's reference data was written: every reader reads it afresh."""
    for cache in _EVERY:
        cache.forget(engine)
