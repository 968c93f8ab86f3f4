"""The outbox sender: pacing, 429, 403, time-outs and 5xx, bad chats, leases. Both databases."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import Application
from telegram.request import RequestData

from bot import sender as sender_module
from bot.app import build_application
from bot.offline import OFFLINE_TOKEN, ApiCall, BotApiError, OfflineBotApi
from bot.sender import Sender
from bot.settings import Settings
from db import outbox, users
from db.schema import deliveries
from tests.conftest import BACKENDS

pytestmark = pytest.mark.parametrize("database_url", BACKENDS, indirect=True)


async def queue(engine: AsyncEngine, *chats: int) -> None:
    for chat in chats:
        await users.touch(engine, "telegram", chat, chat)
        await outbox.enqueue_notice(engine, "telegram", chat, chat, f"notice for {chat}")


async def statuses(engine: AsyncEngine) -> dict[int, tuple[str, int]]:
    async with engine.connect() as connection:
        rows = (await connection.execute(select(deliveries))).all()
    return {row.chat_id: (row.status, row.attempts) for row in rows}


def make_sender(app: Application, engine: AsyncEngine, rate: float = 1000) -> Sender:
    return Sender(app.bot, engine, "telegram", rate, "test-worker")


async def test_each_notice_is_sent_once_and_marked(
    app: Application,
    api: OfflineBotApi,
    engine: AsyncEngine,
) -> None:
    await queue(engine, 11, 12, 13)
    assert await make_sender(app, engine).run_once() == 3
    sent = [(c.chat_id, c.text) for c in api.calls if c.method == "sendMessage"]
    assert sent == [(11, "notice for 11"), (12, "notice for 12"), (13, "notice for 13")]
    assert await statuses(engine) == {11: ("sent", 1), 12: ("sent", 1), 13: ("sent", 1)}
    assert await make_sender(app, engine).run_once() == 0


async def test_a_member_who_blocked_the_bot_is_marked_and_skipped(
    app: Application,
    api: OfflineBotApi,
    engine: AsyncEngine,
) -> None:
    def blocked(call: ApiCall) -> None:
        if call.chat_id == 12:
            raise BotApiError(403, "Forbidden: bot was blocked by the user")

    api.interceptor = blocked
    await queue(engine, 11, 12)
    await make_sender(app, engine).run_once()
    assert await statuses(engine) == {11: ("sent", 1), 12: ("blocked", 1)}
    assert [r.user_id for r in await users.subscribers(engine, "telegram")] == [11]


async def test_a_429_waits_its_retry_after_and_the_delivery_is_kept(
    app: Application,
    api: OfflineBotApi,
    engine: AsyncEngine,
) -> None:
    api.interceptor = lambda call: (_ for _ in ()).throw(
        BotApiError(429, "Too Many Requests: retry after 7", retry_after=7)
    )
    await queue(engine, 11)
    sender = make_sender(app, engine)
    await sender.run_once()
    assert await statuses(engine) == {11: ("pending", 0)}  # a refusal for the limit: no attempt
    async with engine.connect() as connection:
        due = (await connection.execute(select(deliveries.c.next_attempt_at))).scalar_one()
    due = due.replace(tzinfo=dt.UTC) if due.tzinfo is None else due
    assert dt.timedelta(seconds=5) < due - dt.datetime.now(dt.UTC) <= dt.timedelta(seconds=7)
    assert sender._paused_until - time.monotonic() > 5  # every send waits, not only this one


@pytest.mark.parametrize(("status", "description"), [(502, "Bad Gateway"), (500, "Internal")])
async def test_server_errors_are_retried_with_backoff_then_given_up(
    app: Application,
    api: OfflineBotApi,
    engine: AsyncEngine,
    status: int,
    description: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sender_module, "PER_CHAT_INTERVAL_S", 0.0)  # retries to one chat
    api.interceptor = lambda call: (_ for _ in ()).throw(BotApiError(status, description))
    await queue(engine, 11)
    sender = make_sender(app, engine)
    for attempt in range(1, sender_module.MAX_ATTEMPTS + 1):
        async with engine.begin() as connection:  # the backoff has passed
            await connection.execute(
                update(deliveries).values(next_attempt_at=dt.datetime(2000, 1, 1))
            )
        await sender.run_once()
        expected = "failed" if attempt == sender_module.MAX_ATTEMPTS else "pending"
        assert await statuses(engine) == {11: (expected, attempt)}


async def test_a_chat_that_does_not_exist_fails_at_once(
    app: Application,
    api: OfflineBotApi,
    engine: AsyncEngine,
) -> None:
    api.interceptor = lambda call: (_ for _ in ()).throw(
        BotApiError(400, "Bad Request: chat not found")
    )
    await queue(engine, 11)
    await make_sender(app, engine).run_once()
    assert await statuses(engine) == {11: ("failed", 1)}


async def test_a_sender_that_died_leaves_its_claim_to_be_taken_after_the_lease(
    app: Application,
    api: OfflineBotApi,
    engine: AsyncEngine,
) -> None:
    await queue(engine, 11, 12)
    claimed = await outbox.claim(engine, "telegram", "dead-worker", 1)  # then the process died
    assert [d.chat_id for d in claimed] == [11]
    await make_sender(app, engine).run_once()
    assert [c.chat_id for c in api.calls if c.method == "sendMessage"] == [12]
    async with engine.begin() as connection:  # the lease runs out
        await connection.execute(update(deliveries).values(claimed_until=dt.datetime(2000, 1, 1)))
    await make_sender(app, engine).run_once()
    assert [c.chat_id for c in api.calls if c.method == "sendMessage"] == [12, 11]


async def test_one_message_a_second_per_chat_and_the_overall_rate(
    app: Application,
    api: OfflineBotApi,
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sender_module, "PER_CHAT_INTERVAL_S", 0.3)
    times: dict[int, list[float]] = {}
    api.interceptor = lambda call: times.setdefault(call.chat_id or 0, []).append(time.monotonic())
    await queue(engine, 11, 12, 13)
    await outbox.enqueue_notice(engine, "telegram", 11, 11, "second notice")
    await make_sender(app, engine, rate=20).run_once()
    assert times[11][1] - times[11][0] >= 0.29
    everyone = sorted(t for ts in times.values() for t in ts)
    assert all(b - a >= 0.049 for a, b in itertools.pairwise(everyone))


async def test_a_sent_delivery_records_when_it_went_and_lets_go_of_its_lease(
    app: Application,
    api: OfflineBotApi,
    engine: AsyncEngine,
) -> None:
    await queue(engine, 11)
    before = dt.datetime.now(dt.UTC)
    await make_sender(app, engine).run_once()
    async with engine.connect() as connection:
        row = (await connection.execute(select(deliveries))).one()
    sent_at = row.sent_at.replace(tzinfo=dt.UTC) if row.sent_at.tzinfo is None else row.sent_at
    assert (row.status, row.claimed_until) == ("sent", None)
    assert before <= sent_at <= dt.datetime.now(dt.UTC)


async def test_a_sender_killed_mid_batch_has_marked_every_message_the_platform_took(
    app: Application,
    api: OfflineBotApi,
    engine: AsyncEngine,
) -> None:
    def killed_at_13(call: ApiCall) -> None:
        if call.chat_id == 13:
            raise asyncio.CancelledError  # the process goes away during this request

    api.interceptor = killed_at_13
    await queue(engine, 11, 12, 13, 14)
    with pytest.raises(asyncio.CancelledError):
        await make_sender(app, engine).run_once()
    # Only the message in flight may be sent again (after the lease): 14 never went.
    assert await statuses(engine) == {
        11: ("sent", 1),
        12: ("sent", 1),
        13: ("sending", 1),
        14: ("sending", 1),
    }


class LateClock:
    """time.monotonic and asyncio.sleep for the sender, with timers that fire late, as the
    event loop's do (a millisecond or two: it rounds up to the next millisecond)."""

    def __init__(self, lateness_ms: list[float]) -> None:
        self.now = 1000.0
        self.lateness = itertools.cycle(lateness_ms)

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds + next(self.lateness) / 1000


async def test_the_overall_rate_holds_though_timers_fire_late(
    app: Application,
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = LateClock([0.7, 1.2, 1.6, 0.9, 1.4, 1.1, 0.8, 1.3, 1.0, 4.5, 1.2, 0.9])
    monkeypatch.setattr(sender_module, "time", SimpleNamespace(monotonic=clock.monotonic))
    monkeypatch.setattr(sender_module, "asyncio", SimpleNamespace(sleep=clock.sleep))
    sender = make_sender(app, engine, rate=30)
    times = []
    for chat in range(301):
        await sender._wait_turn(chat)
        times.append(clock.now)
    # Counting each slot from the moment the sender woke, this came out as 28.8 a second.
    assert 300 / (times[-1] - times[0]) > 29.5
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 1 / 30 - sender_module.PACE_SLACK_S - 1e-9


# --- rate limits as each platform reports them --------------------------------------------------


def refuse(status: int, description: str, retry_after: int | None = None) -> Any:
    def interceptor(call: ApiCall) -> None:
        if call.method == "sendMessage":
            raise BotApiError(status, description, retry_after)

    return interceptor


@pytest.mark.parametrize(
    ("status", "description"),
    [
        (400, "Bad Request: bot limit exceed"),  # Bale, python-telegram-bot: BadRequest
        (429, "bot limit exceed"),  # Bale without retry_after, python-telegram-bot: NetworkError
        (400, "local_rate_limited"),
    ],
)
async def test_bales_rate_limit_pauses_every_send_and_the_delivery_waits_uncounted(
    app: Application, api: OfflineBotApi, engine: AsyncEngine, status: int, description: str
) -> None:
    api.interceptor = refuse(status, description)
    await queue(engine, 11, 12)
    sender = make_sender(app, engine)
    handled = asyncio.create_task(sender.run_once())
    await asyncio.sleep(0.5)  # 12 waits for the pause that 11's refusal began
    assert [c.chat_id for c in api.calls if c.method == "sendMessage"] == [11]
    assert await statuses(engine) == {11: ("pending", 0), 12: ("sending", 1)}
    handled.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await handled


async def test_without_retry_after_the_pause_grows_and_starts_afresh_after_a_send(
    app: Application, api: OfflineBotApi, engine: AsyncEngine
) -> None:
    sender = make_sender(app, engine)
    pauses = []
    for chat, refusals in ((11, 3), (12, 1)):
        await queue(engine, chat)
        api.interceptor = refuse(400, "Bad Request: bot limit exceed")
        for _ in range(refusals):
            await due_again(engine)
            await sender.run_once()
            pauses.append(round(sender._paused_until - time.monotonic()))
            sender._paused_until, sender._last_to_chat = 0.0, {}  # (the pause is over)
        api.interceptor = None
        await due_again(engine)
        await sender.run_once()
    assert pauses == [2, 4, 8, 2]
    assert await statuses(engine) == {11: ("sent", 1), 12: ("sent", 1)}


async def test_a_delivery_refused_for_the_limit_again_and_again_never_fails(
    app: Application, api: OfflineBotApi, engine: AsyncEngine
) -> None:
    api.interceptor = refuse(429, "Too Many Requests: retry after 1", retry_after=1)
    await queue(engine, 11)
    sender = make_sender(app, engine)
    for _ in range(sender_module.MAX_ATTEMPTS + 3):
        await due_again(engine)
        await sender.run_once()
        sender._paused_until, sender._last_to_chat = 0.0, {}  # (the pause is over)
    assert await statuses(engine) == {11: ("pending", 0)}
    api.interceptor = None
    await due_again(engine)
    await sender.run_once()
    assert await statuses(engine) == {11: ("sent", 1)}


async def due_again(engine: AsyncEngine) -> None:
    """Every delivery waiting for a later attempt is due now (the time has passed)."""
    async with engine.begin() as connection:
        await connection.execute(update(deliveries).values(next_attempt_at=PAST))


@pytest.mark.parametrize(
    ("status", "description", "expected"),
    [
        (403, "Forbidden: bot was blocked by the user", "blocked"),
        (400, "Forbidden: user is deactivated", "blocked"),  # Bale's words under another status
        (400, "Bad Request: chat not found", "failed"),
        (400, "no such group or user", "failed"),
        (404, "Not Found: no such group or user", "failed"),  # python-telegram-bot: InvalidToken
    ],
)
async def test_blocked_members_and_unknown_chats_are_recorded_and_not_retried(
    app: Application,
    api: OfflineBotApi,
    engine: AsyncEngine,
    status: int,
    description: str,
    expected: str,
) -> None:
    api.interceptor = refuse(status, description)
    await queue(engine, 11)
    await make_sender(app, engine).run_once()
    assert await statuses(engine) == {11: (expected, 1)}
    async with engine.connect() as connection:
        error = (await connection.execute(select(deliveries.c.error))).scalar_one()
    assert (error or "").startswith("unknown chat" if expected == "failed" else "")
    assert [r.user_id for r in await users.subscribers(engine, "telegram")] == (
        [] if expected == "blocked" else [11]
    )


# --- leases ---------------------------------------------------------------------------------------

PAST = dt.datetime(2000, 1, 1)


class SlowBotApi(OfflineBotApi):
    """The Bot API double answering every send after `latency` seconds, as a far server does."""

    def __init__(self, latency: float) -> None:
        super().__init__()
        self.latency = latency

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         *args: Any, **kwargs: Any) -> tuple[int, bytes]:  # fmt: skip
        if url.endswith("/sendMessage"):
            await asyncio.sleep(self.latency)
        return await super().do_request(url, method, request_data)


async def test_two_senders_with_a_slow_bot_api_send_each_delivery_once(
    settings: Settings, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch slower than the lease: before, the second sender took over its tail and sent it
    too (as two `coopbot run` on one database with the Bot API at 0.8 s a call did)."""
    monkeypatch.setattr(outbox, "LEASE", dt.timedelta(seconds=0.3))
    monkeypatch.setattr(sender_module, "RENEW_EVERY_S", 0.1)
    api = SlowBotApi(latency=0.04)
    application = build_application(settings, engine, token=OFFLINE_TOKEN, request=api)
    chats = range(100, 130)
    await queue(engine, *chats)

    async def serve(sender: Sender) -> None:  # as run_forever, until the outbox is empty
        for _ in range(100):
            if await sender.run_once() == 0:
                if {s for s, _ in (await statuses(engine)).values()} == {"sent"}:
                    return
                await asyncio.sleep(0.05)

    async with application:
        senders = [Sender(application.bot, engine, "telegram", 1000, f"w{n}") for n in (1, 2)]
        await asyncio.gather(*(serve(sender) for sender in senders))
    sent = Counter(c.chat_id for c in api.calls if c.method == "sendMessage")
    assert sent == Counter(chats)
    assert {status for status, _ in (await statuses(engine)).values()} == {"sent"}


async def test_a_sender_that_lost_its_lease_sends_nothing_more_of_its_batch(
    app: Application, api: OfflineBotApi, engine: AsyncEngine
) -> None:
    await queue(engine, 11, 12, 13)
    sender = make_sender(app, engine)
    taken_over: list[int] = []

    async def wait_turn(chat_id: int) -> float:
        if chat_id == 11:  # meanwhile the lease ran out and another sender claimed the rest
            async with engine.begin() as connection:
                await connection.execute(
                    update(deliveries)
                    .where(deliveries.c.status == "sending", deliveries.c.chat_id != 11)
                    .values(claimed_until=PAST)
                )
            claimed = await outbox.claim(engine, "telegram", "other", 10)
            taken_over.extend(d.chat_id for d in claimed)
        return 0.0

    sender._wait_turn = wait_turn  # type: ignore[method-assign]
    await sender.run_once()
    assert taken_over == [12, 13]
    assert [c.chat_id for c in api.calls if c.method == "sendMessage"] == [11]
    assert await statuses(engine) == {11: ("sent", 1), 12: ("sending", 2), 13: ("sending", 2)}


async def test_a_delivery_taken_over_while_a_rate_limit_held_it_back_is_not_sent(
    app: Application, api: OfflineBotApi, engine: AsyncEngine
) -> None:
    await queue(engine, 11)
    sender = make_sender(app, engine)

    async def long_pause(chat_id: int) -> float:
        async with engine.begin() as connection:  # the database was away: no renewal got through
            await connection.execute(
                update(deliveries).values(claimed_by="other", claimed_until=PAST)
            )
        return sender_module.HOLD_AGAIN_AFTER_S + 1

    sender._wait_turn = long_pause  # type: ignore[method-assign]
    await sender.run_once()
    assert [c for c in api.calls if c.method == "sendMessage"] == []
    assert await statuses(engine) == {11: ("sending", 1)}  # the other sender's now


async def test_a_delivery_taken_over_during_its_send_is_not_marked_by_the_late_sender(
    app: Application, api: OfflineBotApi, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    await queue(engine, 11)

    async def take_over() -> None:
        async with engine.begin() as connection:
            await connection.execute(
                update(deliveries).values(claimed_by="other", claimed_until=PAST)
            )

    sender = make_sender(app, engine)
    original = sender._deliver

    async def slow_deliver(delivery: outbox.Delivery) -> bool:
        delivered = await original(delivery)
        await take_over()  # the lease ran out while the platform took its time
        return delivered

    sender._deliver = slow_deliver  # type: ignore[method-assign]
    await sender.run_once()
    assert await statuses(engine) == {11: ("sending", 1)}  # the other sender's to settle
    assert "may get it twice" in caplog.text


async def test_a_send_the_database_could_not_mark_is_marked_later_not_sent_again(
    app: Application, api: OfflineBotApi, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    await queue(engine, 11)
    real_holding = outbox.holding

    @asynccontextmanager
    async def database_goes_away(engine: AsyncEngine, worker: str) -> AsyncIterator[outbox.Held]:
        async with real_holding(engine, worker) as held:

            async def sent(delivery_id: int) -> bool:
                raise OperationalError("UPDATE deliveries", {}, ConnectionRefusedError())

            yield outbox.Held(held.hold, sent)

    monkeypatch.setattr(outbox, "holding", database_goes_away)
    sender = make_sender(app, engine)
    with pytest.raises(OperationalError):
        await sender.run_once()
    monkeypatch.setattr(outbox, "holding", real_holding)  # the database is back
    assert await sender.run_once() == 0
    assert [c.chat_id for c in api.calls if c.method == "sendMessage"] == [11]
    assert await statuses(engine) == {11: ("sent", 1)}
