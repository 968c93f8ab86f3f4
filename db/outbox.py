"""The outbox: every message the bot sends on its own initiative (announcements, status-change
notices) is a delivery row first, and a sender works through the rows.

A delivery is claimed for a lease before it is sent, and only the sender holding a live lease may
send it or say how it went: every write after the claim names the sender (`worker`) and changes
nothing once another sender has taken the row over. A sender that dies leaves its claimed rows to be
taken again when their lease runs out, and nothing is lost; what it had sent and not yet marked (the
one message in flight) is sent again then, the one duplicate a crash can cause.
On PostgreSQL several senders share the work with `FOR UPDATE SKIP LOCKED`; SQLite has one writer
at a time, so its claim is a single UPDATE ... RETURNING.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

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
from db.text import storable
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


async def claim(
    engine: AsyncEngine,
    platform: str,
    worker: str,
    limit: int,
    only_users: Collection[int] | None = None,
) -> list[Delivery]:
    """Up to `limit` due deliveries leased to `worker`, by id: first those whose lease ran out,
    then pending ones in the order they fell due (a broadcast's in the order it was queued).
    With `only_users`, only deliveries to those members (the terminal chat's own).

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
            if only_users is not None:
                ids = ids.where(deliveries.c.user_id.in_(sorted(only_users)))
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


# Held: the row is still this sender's. Every write after the claim checks it, so that a sender
# whose lease ran out (a slow batch, a database away for a while) changes nothing another sender
# has since taken over.
def _held(ids: Sequence[int], worker: str) -> ColumnElement[bool]:
    return and_(
        deliveries.c.id.in_(ids),
        deliveries.c.claimed_by == worker,
        deliveries.c.status == "sending",
    )


async def _finish(
    connection: AsyncConnection, worker: str, ids: Sequence[int], **values: object
) -> list[int]:
    """Set `values` on those of `ids` the worker still holds; which ones they were."""
    if not ids:
        return []
    rows = await connection.execute(
        update(deliveries).where(_held(ids, worker)).values(**values).returning(deliveries.c.id)
    )
    return [row.id for row in rows]


async def renew(engine: AsyncEngine, worker: str, delivery_ids: Sequence[int]) -> set[int]:
    """Extend the lease of those of `delivery_ids` the worker still holds (while a batch runs,
    so that a slow one keeps them); which ones they were."""
    async with engine.begin() as connection:
        return set(await _finish(connection, worker, delivery_ids, claimed_until=_now() + LEASE))


# One delivery held (its lease renewed) or marked sent, built once: `id = :id` (no expanding IN to
# render again for each message), compiled once by SQLAlchemy and then only bound.
_ONE_HELD = and_(
    deliveries.c.id == bindparam("delivery_id"),
    deliveries.c.claimed_by == bindparam("worker"),
    deliveries.c.status == "sending",
)
_HOLD_ONE = update(deliveries).where(_ONE_HELD).values(claimed_until=bindparam("until"))
_SENT_ONE = (
    update(deliveries)
    .where(_ONE_HELD)
    .values(status="sent", sent_at=bindparam("sent_at"), claimed_until=None)
)
# The same for aiosqlite's own execute (keep each pair alike): see holding.
_HOLD_ONE_SQLITE = (
    "UPDATE deliveries SET claimed_until = ? WHERE id = ? AND claimed_by = ? AND status = 'sending'"
)
_SENT_ONE_SQLITE = (
    "UPDATE deliveries SET status = 'sent', sent_at = ?, claimed_until = NULL "
    "WHERE id = ? AND claimed_by = ? AND status = 'sending'"
)

HoldOne = Callable[[int], Awaitable[bool]]


@dataclass(frozen=True)
class Held:
    """What a sender does to one delivery of its batch, each a durable write when it returns:
    `hold(id)` before sending it (True: it is still this sender's, for another LEASE), and
    `sent(id)` as soon as the platform took it (False: another sender had taken it over)."""

    hold: HoldOne
    sent: HoldOne


@asynccontextmanager
async def holding(engine: AsyncEngine, worker: str) -> AsyncIterator[Held]:
    """`Held` for one batch of `worker`'s.

    These are the two writes a broadcast makes per message, so they are kept cheap
    (bench/broadcast.py measures them): one connection serves a whole batch, in autocommit, so
    each UPDATE is its own transaction, committed as it returns, with no checkout, BEGIN, COMMIT
    and pool reset around it. On SQLite the UPDATE goes to aiosqlite's own execute, one trip to
    its thread where SQLAlchemy's adapter makes three (open a cursor, execute, close it): 0.5 ms
    of CPU less a message."""
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        dialect = connection.dialect
        if dialect.driver == "aiosqlite":
            driver = (await connection.get_raw_connection()).driver_connection
            as_stored = deliveries.c.sent_at.type.dialect_impl(dialect).bind_processor(dialect)
            assert driver is not None and as_stored is not None

            async def hold(delivery_id: int) -> bool:
                until = as_stored(_now() + LEASE)
                cursor = await driver.execute(_HOLD_ONE_SQLITE, (until, delivery_id, worker))
                return bool(cursor.rowcount == 1)

            async def sent(delivery_id: int) -> bool:
                stamp = as_stored(_now())
                cursor = await driver.execute(_SENT_ONE_SQLITE, (stamp, delivery_id, worker))
                return bool(cursor.rowcount == 1)

        else:

            async def hold(delivery_id: int) -> bool:
                values = {"delivery_id": delivery_id, "worker": worker, "until": _now() + LEASE}
                return (await connection.execute(_HOLD_ONE, values)).rowcount == 1

            async def sent(delivery_id: int) -> bool:
                values = {"delivery_id": delivery_id, "worker": worker, "sent_at": _now()}
                return (await connection.execute(_SENT_ONE, values)).rowcount == 1

        yield Held(hold, sent)


async def mark_sent(engine: AsyncEngine, worker: str, delivery_ids: Sequence[int]) -> list[int]:
    """Mark sent those of `delivery_ids` the worker still holds (a sender catching up on marks
    the database was away for); which ones they were."""
    async with engine.begin() as connection:
        return await _finish(
            connection, worker, delivery_ids, status="sent", sent_at=_now(), claimed_until=None
        )


async def release(engine: AsyncEngine, worker: str, delivery_ids: Sequence[int]) -> None:
    """Hand claimed deliveries back unsent (a sender stopping cleanly), due at once."""
    async with engine.begin() as connection:
        await _finish(
            connection,
            worker,
            delivery_ids,
            status="pending",
            claimed_until=None,
            attempts=deliveries.c.attempts - 1,
        )


async def retry_later(
    engine: AsyncEngine,
    worker: str,
    delivery_id: int,
    delay: dt.timedelta,
    error: str,
    *,
    counted: bool = True,
) -> None:
    """Due again after `delay`. Not `counted`: the platform refused to take it for now (a rate
    limit), which is no attempt at all, so it never brings the delivery nearer to failing."""
    values: dict[str, object] = {
        "status": "pending",
        "next_attempt_at": _now() + delay,
        "claimed_until": None,
        "error": error[:256],
    }
    if not counted:
        values["attempts"] = deliveries.c.attempts - 1
    async with engine.begin() as connection:
        await _finish(connection, worker, [delivery_id], **values)


async def mark_cancelled(engine: AsyncEngine, worker: str, delivery_ids: Sequence[int]) -> None:
    async with engine.begin() as connection:
        await _finish(connection, worker, delivery_ids, status="cancelled", claimed_until=None)


async def mark_failed(engine: AsyncEngine, worker: str, delivery_id: int, error: str) -> None:
    async with engine.begin() as connection:
        await _finish(
            connection,
            worker,
            [delivery_id],
            status="failed",
            claimed_until=None,
            error=error[:256],
        )


async def mark_blocked(engine: AsyncEngine, worker: str, delivery: Delivery) -> None:
    """The member blocked the bot: this delivery ends, and they are skipped from now on."""
    async with engine.begin() as connection:
        if not await _finish(
            connection, worker, [delivery.id], status="blocked", claimed_until=None
        ):
            return
        await connection.execute(
            update(users)
            .where(users.c.platform == delivery.platform, users.c.user_id == delivery.user_id)
            .values(blocked=True)
        )


async def pending_count(engine: AsyncEngine, platform: str, excluding: Collection[int] = ()) -> int:
    """Deliveries not yet sent nor ended, but those to the members in `excluding`."""
    query = select(func.count()).where(
        deliveries.c.platform == platform, deliveries.c.status.in_(("pending", "sending"))
    )
    if excluding:
        query = query.where(deliveries.c.user_id.not_in(sorted(excluding)))
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
                    text=storable(text),
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
