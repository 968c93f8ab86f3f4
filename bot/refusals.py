"""How the Bot API says no, read alike on Telegram and Bale, and the rate limiter that hears it.

Telegram refuses a call over its rate limit with status 429 and `retry_after`, which
python-telegram-bot raises as RetryAfter. Bale says `bot limit exceed` (or `local_rate_limited`),
with status 429 or 400 and no `retry_after` (../shared/spec/platform-notes.md, from python-bale-bot's
error handling): python-telegram-bot raises the 400 as BadRequest and the 429 as a NetworkError, so
code that only catches RetryAfter would take the one for a permanent failure and the other for a
passing network fault. Likewise a member who blocked the bot is a 403 on Telegram but may be a
description starting `Forbidden:` under another status on Bale, and an unknown chat is `chat not
found` on one and `no such group or user` on the other. So refusals are told apart here by their
descriptions as well as by their exception class, once for the sender and for the rate limiter.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import Forbidden, RetryAfter, TelegramError
from telegram.ext import AIORateLimiter

log = logging.getLogger(__name__)

_RATE_LIMITED = ("bot limit exceed", "local_rate_limited", "too many requests")
_UNKNOWN_CHAT = ("chat not found", "no such group or user", "user not found", "peer_id_invalid")
_TOO_LATE = ("query is too old", "query id is invalid", "query_id_invalid")

# Bale gives no retry_after: wait 2 s, then twice as long each time it refuses again (python-bale-
# bot waits 2, 4, 6 s), up to a minute; one call the platform takes starts again from 2 s.
FIRST_PAUSE_S = 2.0
LONGEST_PAUSE_S = 60.0


def _said(error: TelegramError, texts: tuple[str, ...]) -> bool:
    message = error.message.lower()
    return any(text in message for text in texts)


def is_rate_limit(error: TelegramError) -> bool:
    return isinstance(error, RetryAfter) or _said(error, _RATE_LIMITED)


def is_blocked(error: TelegramError) -> bool:
    """The member blocked the bot (or deleted their account): no use sending again."""
    return isinstance(error, Forbidden) or error.message.lower().startswith("forbidden")


def is_unknown_chat(error: TelegramError) -> bool:
    """No such chat on this platform: no use sending again."""
    return _said(error, _UNKNOWN_CHAT)


def is_too_late_to_answer(error: TelegramError) -> bool:
    """A button press the platform will not take an answer to: answered already (the same update
    delivered twice) or waited on too long (the member's app stopped waiting)."""
    return _said(error, _TOO_LATE)


class Backoff:
    """How long to pause after a rate limit: the platform's retry_after when it gives one, else a
    pause that grows while refusals continue and starts afresh after a call goes through."""

    def __init__(self) -> None:
        self._next = FIRST_PAUSE_S

    def pause(self, error: TelegramError) -> float:
        if isinstance(error, RetryAfter):
            wait = error.retry_after
            return wait.total_seconds() if isinstance(wait, dt.timedelta) else float(wait)
        pause, self._next = self._next, min(self._next * 2, LONGEST_PAUSE_S)
        return pause

    def passed(self) -> None:
        self._next = FIRST_PAUSE_S


# A member's reply refused for the rate limit is tried again this often, after the pause; the
# sender's deliveries are not lost either way (it keeps its own count: bot/sender.py).
MAX_RETRIES = 3


class PlatformRateLimiter(AIORateLimiter):
    """python-telegram-bot's AIORateLimiter (30 calls a second overall, a pause of every call
    while the platform says to wait, then the call again), hearing Bale's refusals too.

    AIORateLimiter pauses and retries only on RetryAfter, and only with max_retries above 0 (with
    the default 0 it logs the refusal as an error and raises it, pausing nothing). So it is given
    retries, and each call goes through `_as_retry_after`, which turns a refusal that says the
    limit was hit into the RetryAfter the limiter understands, with a growing pause."""

    def __init__(self) -> None:
        super().__init__(max_retries=MAX_RETRIES)
        self._backoff = Backoff()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        async def as_retry_after(*call_args: Any, **call_kwargs: Any) -> Any:
            try:
                result = await callback(*call_args, **call_kwargs)
            except TelegramError as error:
                if not is_rate_limit(error):
                    raise
                pause = self._backoff.pause(error)
                log.warning(
                    "the Bot API refused %s for its rate limit: every call waits %.0f s",
                    endpoint,
                    pause,
                )
                raise RetryAfter(dt.timedelta(seconds=pause)) from error
            self._backoff.passed()
            return result

        return await super().process_request(
            as_retry_after, args, kwargs, endpoint, data, rate_limit_args
        )
