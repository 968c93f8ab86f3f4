"""The outbox: every message the bot sends on its own initiative (announcements, status-change
notices) is a delivery row first, and a sender works through the rows.

A delivery is claimed for a short lease before it is sent and marked sent after; a sender that dies
leaves at most its claimed rows to be sent again when the lease runs out, and nothing is lost.
On PostgreSQL several senders share the work with `FOR UPDATE SKIP LOCKED`; SQLite has one writer
at a time, so its claim is a single UPDATE ... RETURNING.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

from pydantic import field_validator
from sqlalchemy import (
    ColumnElement,
    DateTime,
    and_,
    bindparam,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.models import Model, as_utc, pack, unpack
from db.schema import announcements, deliveries, users
from db.users import audience

LEASE = dt.timedelta(seconds=60)


class Delivery(Model):
    id: int
    announcement_id: int | None
    platform: str
    user_id: int
    chat_id: int
    text: str | None
    attempts: int


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def enqueue_notice(
    engine: AsyncEngine, platform: str, user_id: int, chat_id: int, text: str
) -> None:
    """A message of its own (a status-change notice) for one member."""
    async with engine.begin() as connection:
        await connection.execute(
            insert(deliveries).values(
                platform=platform,
                user_id=user_id,
                chat_id=chat_id,
                text=text,
                next_attempt_at=_now(),
            )
        )


def _lease_ran_out(platform: str, now: dt.datetime) -> ColumnElement[bool]:
    """Claimed rows whose sender let the lease run out (it died): few, at most a batch each."""
    return and_(
        deliveries.c.status == "sending",
        deliveries.c.claimed_until < now,
        deliveries.c.platform == platform,
    )


def _pending_due(platform: str, now: dt.datetime) -> ColumnElement[bool]:
    return and_(
        deliveries.c.status == "pending",
        deliveries.c.next_attempt_at <= now,
        deliveries.c.platform == platform,
    )


async def claim(engine: AsyncEngine, platform: str, worker: str, limit: int) -> list[Delivery]:
    """Up to `limit` due deliveries leased to `worker`, by id: first those whose lease ran out,
    then pending ones in the order they fell due (a broadcast's in the order it was queued).

    Two selects, not one with an OR: each walks ix_deliveries_pending (status, next_attempt_at)
    in its order and stops at `limit`. With the OR both databases fetched every pending row and
    sorted them by id, each claim: 60 ms on SQLite with a 100,000-member broadcast queued, 85 ms
    on PostgreSQL half-way through it (bench/broadcast.py), once a second at 30 a second."""
    now = _now()
    claimed: list[Delivery] = []
    async with engine.begin() as connection:
        for due, order in (
            (_lease_ran_out(platform, now), deliveries.c.id),
            (_pending_due(platform, now), deliveries.c.next_attempt_at),
        ):
            if len(claimed) >= limit:
                break
            ids = select(deliveries.c.id).where(due).order_by(order).limit(limit - len(claimed))
            if connection.dialect.name == "postgresql":
                ids = ids.with_for_update(skip_locked=True)
            rows = await connection.execute(
                update(deliveries)
                .where(deliveries.c.id.in_(ids.scalar_subquery()))
                .values(
                    status="sending",
                    claimed_by=worker,
                    claimed_until=now + LEASE,
                    attempts=deliveries.c.attempts + 1,
                )
                .returning(*[deliveries.c[name] for name in Delivery.model_fields])
            )
            claimed += (Delivery.model_validate(row._mapping) for row in rows)
    return sorted(claimed, key=lambda d: d.id)


async def _finish(connection: AsyncConnection, ids: Sequence[int], **values: object) -> None:
    await connection.execute(update(deliveries).where(deliveries.c.id.in_(ids)).values(**values))


async def mark_sent(engine: AsyncEngine, delivery_ids: Sequence[int]) -> None:
    if not delivery_ids:
        return
    async with engine.begin() as connection:
        await _finish(connection, delivery_ids, status="sent", sent_at=_now(), claimed_until=None)


# One delivery marked sent, built once: `id = :id` (no expanding IN to render again for each
# message), compiled once by SQLAlchemy and then only bound.
_SENT_ONE = (
    update(deliveries)
    .where(deliveries.c.id == bindparam("delivery_id"))
    .values(status="sent", sent_at=bindparam("sent_at"), claimed_until=None)
)
# The same for aiosqlite's own execute (keep the two alike): see marking_sent.
_SENT_ONE_SQLITE = (
    "UPDATE deliveries SET status = 'sent', sent_at = ?, claimed_until = NULL WHERE id = ?"
)

MarkSent = Callable[[int], Awaitable[None]]


@asynccontextmanager
async def marking_sent(engine: AsyncEngine) -> AsyncIterator[MarkSent]:
    """`mark(delivery_id)`: that delivery is marked sent, durably, when the call returns.

    For the sender, which marks each message as soon as the platform took it, before the next
    one goes, so that a crash repeats at most the message in flight. This is the one write a
    broadcast makes per message, so it is kept cheap (bench/broadcast.py measures it): one
    connection serves a whole batch, in autocommit, so each UPDATE is its own transaction,
    committed as it returns, with no checkout, BEGIN, COMMIT and pool reset around it. On SQLite
    the UPDATE goes to aiosqlite's own execute, one trip to its thread where SQLAlchemy's adapter
    makes three (open a cursor, execute, close it): 0.5 ms of CPU less a message."""
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        dialect = connection.dialect
        if dialect.driver == "aiosqlite":
            driver = (await connection.get_raw_connection()).driver_connection
            as_stored = deliveries.c.sent_at.type.dialect_impl(dialect).bind_processor(dialect)
            assert driver is not None and as_stored is not None

            async def mark(delivery_id: int) -> None:
                # The cursor is left to the garbage collector: closing it is another trip.
                await driver.execute(_SENT_ONE_SQLITE, (as_stored(_now()), delivery_id))

        else:

            async def mark(delivery_id: int) -> None:
                await connection.execute(_SENT_ONE, {"delivery_id": delivery_id, "sent_at": _now()})

        yield mark


async def release(engine: AsyncEngine, delivery_ids: Sequence[int]) -> None:
    """Hand claimed deliveries back unsent (a sender stopping cleanly), due at once."""
    if not delivery_ids:
        return
    async with engine.begin() as connection:
        await _finish(
            connection,
            delivery_ids,
            status="pending",
            claimed_until=None,
            attempts=deliveries.c.attempts - 1,
        )


async def retry_later(
    engine: AsyncEngine, delivery_id: int, delay: dt.timedelta, error: str
) -> None:
    async with engine.begin() as connection:
        await _finish(
            connection,
            [delivery_id],
            status="pending",
            next_attempt_at=_now() + delay,
            claimed_until=None,
            error=error[:256],
        )


async def mark_cancelled(engine: AsyncEngine, delivery_ids: Sequence[int]) -> None:
    async with engine.begin() as connection:
        await _finish(connection, delivery_ids, status="cancelled", claimed_until=None)


async def mark_failed(engine: AsyncEngine, delivery_id: int, error: str) -> None:
    async with engine.begin() as connection:
        await _finish(
            connection, [delivery_id], status="failed", claimed_until=None, error=error[:256]
        )


async def mark_blocked(engine: AsyncEngine, delivery: Delivery) -> None:
    """The member blocked the bot: this delivery ends, and they are skipped from now on."""
    async with engine.begin() as connection:
        await _finish(connection, [delivery.id], status="blocked", claimed_until=None)
        await connection.execute(
            update(users)
            .where(users.c.platform == delivery.platform, users.c.user_id == delivery.user_id)
            .values(blocked=True)
        )


async def pending_count(engine: AsyncEngine, platform: str) -> int:
    query = select(func.count()).where(
        deliveries.c.platform == platform, deliveries.c.status.in_(("pending", "sending"))
    )
    async with engine.connect() as connection:
        return int((await connection.execute(query)).scalar_one())


# --- announcements ------------------------------------------------------------------------------


class Announcement(Model):
    id: int
    platform: str
    created_by: int
    created_at: dt.datetime
    text: str
    media_kind: str | None = None
    media_file_id: str | None = None
    chains: tuple[str, ...] = ()
    provinces: tuple[str, ...] = ()
    status: str
    progress_chat_id: int | None = None
    progress_message_id: int | None = None

    _lists = field_validator("chains", "provinces", mode="before")(unpack)
    _utc = field_validator("created_at")(as_utc)


class Progress(Model):
    total: int = 0
    sent: int = 0
    failed: int = 0
    blocked: int = 0
    cancelled: int = 0

    @property
    def pending(self) -> int:
        return self.total - self.sent - self.failed - self.blocked - self.cancelled


async def draft(
    engine: AsyncEngine,
    platform: str,
    created_by: int,
    text: str,
    media_kind: str | None = None,
    media_file_id: str | None = None,
) -> Announcement:
    """An announcement being composed: nothing is sent until it is queued."""
    async with engine.begin() as connection:
        row = (
            await connection.execute(
                insert(announcements)
                .values(
                    platform=platform,
                    created_by=created_by,
                    created_at=_now(),
                    text=text,
                    media_kind=media_kind,
                    media_file_id=media_file_id,
                    status="draft",
                )
                .returning(*announcements.c)
            )
        ).one()
    return Announcement.model_validate(row._mapping)


async def get_announcement(engine: AsyncEngine, announcement_id: int) -> Announcement | None:
    query = select(announcements).where(announcements.c.id == announcement_id)
    async with engine.connect() as connection:
        row = (await connection.execute(query)).one_or_none()
    return None if row is None else Announcement.model_validate(row._mapping)


async def set_audience(
    engine: AsyncEngine, announcement_id: int, chains: set[str], provinces: set[str]
) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            update(announcements)
            .where(announcements.c.id == announcement_id, announcements.c.status == "draft")
            .values(chains=pack(chains), provinces=pack(provinces))
        )


async def queue_announcement(
    engine: AsyncEngine,
    announcement_id: int,
    progress_chat_id: int | None = None,
    progress_message_id: int | None = None,
) -> int:
    """Write one delivery per recipient, all in one statement, before anything is sent; a draft
    can be queued once (a second confirm, a double tap, queues nothing). How many were queued."""
    async with engine.begin() as connection:
        claimed = await connection.execute(
            update(announcements)
            .where(announcements.c.id == announcement_id, announcements.c.status == "draft")
            .values(
                status="sending",
                progress_chat_id=progress_chat_id,
                progress_message_id=progress_message_id,
            )
            .returning(announcements.c.platform, announcements.c.chains, announcements.c.provinces)
        )
        found = claimed.one_or_none()
        if found is None:
            return 0
        recipients = audience(
            found.platform, set(unpack(found.chains)), set(unpack(found.provinces))
        ).subquery()
        now = _now()
        result = await connection.execute(
            insert(deliveries).from_select(
                ["announcement_id", "platform", "user_id", "chat_id", "next_attempt_at"],
                select(
                    literal(announcement_id),
                    recipients.c.platform,
                    recipients.c.user_id,
                    recipients.c.chat_id,
                    literal(now, DateTime(timezone=True)),
                ),
            )
        )
    return int(result.rowcount or 0)


async def progress(engine: AsyncEngine, announcement_id: int) -> Progress:
    query = (
        select(deliveries.c.status, func.count())
        .where(deliveries.c.announcement_id == announcement_id)
        .group_by(deliveries.c.status)
    )
    async with engine.connect() as connection:
        counts = {status: count for status, count in (await connection.execute(query)).all()}
    return Progress(
        total=sum(counts.values()),
        **{name: counts.get(name, 0) for name in ("sent", "failed", "blocked", "cancelled")},
    )


async def cancel_announcement(engine: AsyncEngine, announcement_id: int) -> None:
    """Stop sending: what was sent stays counted, the rest is cancelled."""
    async with engine.begin() as connection:
        await connection.execute(
            update(announcements)
            .where(announcements.c.id == announcement_id)
            .values(status="cancelled")
        )
        await connection.execute(
            update(deliveries)
            .where(
                deliveries.c.announcement_id == announcement_id,
                deliveries.c.status.in_(("pending", "sending")),
            )
            .values(status="cancelled", claimed_until=None)
        )


async def finish_announcement(engine: AsyncEngine, announcement_id: int) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            update(announcements)
            .where(announcements.c.id == announcement_id, announcements.c.status == "sending")
            .values(status="done")
        )


async def announcements_in_progress(engine: AsyncEngine, platform: str) -> list[Announcement]:
    query = select(announcements).where(
        announcements.c.platform == platform, announcements.c.status == "sending"
    )
    async with engine.connect() as connection:
        rows = (await connection.execute(query.order_by(announcements.c.id))).all()
    return [Announcement.model_validate(row._mapping) for row in rows]
