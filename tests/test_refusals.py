"""bot/refusals.py: the rate limiter under every Bot API call hears Telegram's and Bale's refusals."""

from __future__ import annotations

import time
from typing import Any

import pytest
from telegram.error import BadRequest, NetworkError, RetryAfter

from bot import refusals
from bot.refusals import PlatformRateLimiter


@pytest.mark.parametrize(
    "refusal",
    [BadRequest("bot limit exceed"), NetworkError("bot limit exceed (429)"), RetryAfter(0)],
)
async def test_a_reply_refused_for_the_rate_limit_waits_and_goes_again(
    refusal: Exception, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(refusals, "FIRST_PAUSE_S", 0.05)
    limiter = PlatformRateLimiter()
    await limiter.initialize()
    tries: list[float] = []

    async def send_message(*args: Any, **kwargs: Any) -> bool:
        tries.append(time.monotonic())
        if len(tries) == 1:
            raise refusal
        return True

    sent = await limiter.process_request(
        send_message, (), {}, "sendMessage", {"chat_id": 5, "text": "سلام"}, None
    )
    await limiter.shutdown()
    assert sent is True
    assert len(tries) == 2


async def test_other_refusals_are_not_retried() -> None:
    limiter = PlatformRateLimiter()
    await limiter.initialize()
    tries = 0

    async def send_message(*args: Any, **kwargs: Any) -> bool:
        nonlocal tries
        tries += 1
        raise BadRequest("Chat not found")

    with pytest.raises(BadRequest):
        await limiter.process_request(send_message, (), {}, "sendMessage", {"chat_id": 5}, None)
    await limiter.shutdown()
    assert tries == 1
