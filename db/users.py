"""Members: who they are on which platform, and the preferences they chose."""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

from sqlalchemy import Exists, Select, bindparam, delete, exists, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.models import Recipient, User, pack
from db.schema import subscriptions as subs
from db.schema import users
from db.text import storable

PROFILE_FIELDS = frozenset(
    {"locale", "province_id", "county_id", "value_chain", "setup_done", "blocked", "tags"}
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _insert(connection: AsyncConnection) -> Any:
    # Both dialects spell the upsert the same way, from their own module.
    return (postgresql if connection.dialect.name == "postgresql" else sqlite).insert(users)


# A member's row is written when something in it changes, and otherwise at most this often just
# to move last_seen on (it only tells /stats who was active this month): most updates then only
# read it, and writers, one at a time on SQLite, stay free for what members change.
LAST_SEEN_EVERY = dt.timedelta(minutes=5)

# Built once: SQLAlchemy then reuses their compiled form without walking them again each update.
_MEMBER = select(users).where(
    users.c.platform == bindparam("platform"), users.c.user_id == bindparam("user_id")
)


@cache
def _touch_upsert(dialect: str) -> Any:
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(users)
    insert = insert.values(
        platform=bindparam("platform"),
        user_id=bindparam("user_id"),
        chat_id=bindparam("chat_id"),
        first_name=bindparam("first_name"),
        first_seen=bindparam("now"),
        last_seen=bindparam("now"),
    )
    # A member who writes to us has not blocked us, whatever an old delivery said.
    return insert.on_conflict_do_update(
        index_elements=[users.c.platform, users.c.user_id],
        set_={
            "chat_id": insert.excluded.chat_id,
            "first_name": insert.excluded.first_name,
            "last_seen": insert.excluded.last_seen,
            "blocked": False,
        },
    ).returning(*users.c)


async def touch(
    engine: AsyncEngine, platform: str, user_id: int, chat_id: int, first_name: str = ""
) -> User:
    """Record that a member wrote to the bot (creating them on first contact) and return them.

    The row is only written when it would change: a new member, another chat or name, a member
    marked blocked, or last_seen older than LAST_SEEN_EVERY."""
    now = _now()
    key = {"platform": platform, "user_id": user_id}
    first_name = storable(first_name, 128)
    async with engine.connect() as connection:
        row = (await connection.execute(_MEMBER, key)).one_or_none()
        if row is not None:
            member = User.model_validate(row._mapping)
            if (member.chat_id, member.first_name, member.blocked) == (
                chat_id,
                first_name,
                False,
            ) and now - member.last_seen < LAST_SEEN_EVERY:
                return member
        upsert = _touch_upsert(connection.dialect.name)
        values = {**key, "chat_id": chat_id, "first_name": first_name, "now": now}
        row = (await connection.execute(upsert, values)).one()
        await connection.commit()
    return User.model_validate(row._mapping)


async def get(engine: AsyncEngine, platform: str, user_id: int) -> User | None:
    async with engine.connect() as connection:
        row = (
            await connection.execute(_MEMBER, {"platform": platform, "user_id": user_id})
        ).one_or_none()
    return None if row is None else User.model_validate(row._mapping)


async def update_profile(engine: AsyncEngine, platform: str, user_id: int, **fields: Any) -> User:
    """Change a member's preferences; only the profile fields may be set this way."""
    unknown = set(fields) - PROFILE_FIELDS
    if unknown:
        raise ValueError(f"not profile fields: {sorted(unknown)}")
    if "tags" in fields:
        fields["tags"] = pack(fields["tags"])
    async with engine.begin() as connection:
        row = (
            await connection.execute(
                update(users)
                .where(users.c.platform == platform, users.c.user_id == user_id)
                .values(**fields)
                .returning(*users.c)
            )
        ).one()
    return User.model_validate(row._mapping)


# --- subscriptions: which announcements a member receives ---------------------------------------

TOPICS = ("chain", "province")
# "Leave all" is remembered as a row of its own, so that "everyone" announcements skip the member
# too; choosing any chain or province again removes it.
MUTED = ("mute", "all")


_MEMBER_SUBS = (subs.c.platform == bindparam("platform"), subs.c.user_id == bindparam("user_id"))
_SUBSCRIPTIONS = select(subs.c.topic, subs.c.value).where(*_MEMBER_SUBS)
# Setting a topic also ends "leave all".
_CLEAR_TOPIC = delete(subs).where(*_MEMBER_SUBS, subs.c.topic.in_([bindparam("topic"), MUTED[0]]))


async def subscriptions(engine: AsyncEngine, platform: str, user_id: int) -> dict[str, set[str]]:
    """The member's subscriptions by topic: {"chain": {...}, "province": {...}}."""
    async with engine.connect() as connection:
        rows = (
            await connection.execute(_SUBSCRIPTIONS, {"platform": platform, "user_id": user_id})
        ).all()
    found: dict[str, set[str]] = {topic: set() for topic in TOPICS}
    for topic, value in rows:
        if topic in TOPICS:
            found[topic].add(value)
    return found


async def set_subscriptions(
    engine: AsyncEngine, platform: str, user_id: int, topic: str, values: set[str]
) -> None:
    """Replace the member's subscriptions of one topic (an empty set leaves that topic)."""
    if topic not in TOPICS:
        raise ValueError(f"unknown topic {topic!r}")
    async with engine.begin() as connection:
        await connection.execute(
            _CLEAR_TOPIC, {"platform": platform, "user_id": user_id, "topic": topic}
        )
        if values:
            await connection.execute(
                insert(subs),
                [
                    {"platform": platform, "user_id": user_id, "topic": topic, "value": value}
                    for value in sorted(values)
                ],
            )


async def unsubscribe_all(engine: AsyncEngine, platform: str, user_id: int) -> None:
    """No announcements at all, not even those for everyone."""
    async with engine.begin() as connection:
        await connection.execute(
            delete(subs).where(subs.c.platform == platform, subs.c.user_id == user_id)
        )
        topic, value = MUTED
        await connection.execute(
            insert(subs).values(platform=platform, user_id=user_id, topic=topic, value=value)
        )


def _subscribed(topic: str, values: set[str]) -> Exists:
    return exists().where(
        subs.c.platform == users.c.platform,
        subs.c.user_id == users.c.user_id,
        subs.c.topic == topic,
        subs.c.value.in_(sorted(values)),
    )


def audience(
    platform: str, chains: set[str] | None = None, provinces: set[str] | None = None
) -> Select[tuple[str, int, int]]:
    """Who an announcement reaches: members of one platform who have not blocked the bot nor left
    all announcements, subscribed to one of `chains` (when given) and one of `provinces` (when
    given); with neither, every such member. The select is shared by counting, listing and
    queueing deliveries (INSERT ... SELECT)."""
    query = select(users.c.platform, users.c.user_id, users.c.chat_id).where(
        users.c.platform == platform,
        users.c.blocked.is_(False),
        ~_subscribed(MUTED[0], {MUTED[1]}),
    )
    if chains:
        query = query.where(_subscribed("chain", chains))
    if provinces:
        query = query.where(_subscribed("province", provinces))
    return query


async def audience_size(
    engine: AsyncEngine, platform: str, chains: set[str] | None, provinces: set[str] | None
) -> int:
    query = select(func.count()).select_from(audience(platform, chains, provinces).subquery())
    async with engine.connect() as connection:
        return int((await connection.execute(query)).scalar_one())


async def subscribers(
    engine: AsyncEngine,
    platform: str,
    chains: set[str] | None = None,
    provinces: set[str] | None = None,
) -> list[Recipient]:
    """The audience (see `audience`) as a list, by user id."""
    query = audience(platform, chains, provinces)
    async with engine.connect() as connection:
        rows = (await connection.execute(query.order_by(users.c.user_id))).all()
    return [Recipient.model_validate(row._mapping) for row in rows]


async def subscribe_to_profile(engine: AsyncEngine, user: User) -> bool:
    """Subscribe a member to the chain and province of their profile; True if they have either."""
    found = False
    for topic, value in (("chain", user.value_chain), ("province", user.province_id)):
        if value:
            await set_subscriptions(engine, user.platform, user.user_id, topic, {value})
            found = True
    return found


async def set_staff(engine: AsyncEngine, platform: str, user_id: int, staff: bool) -> User:
    """Grant or revoke the staff role; someone who never wrote to the bot is recorded now (in a
    private chat the chat id is the user id)."""
    now = _now()
    async with engine.begin() as connection:
        insert = _insert(connection).values(
            platform=platform,
            user_id=user_id,
            chat_id=user_id,
            first_seen=now,
            last_seen=now,
            staff=staff,
        )
        row = (
            await connection.execute(
                insert.on_conflict_do_update(
                    index_elements=[users.c.platform, users.c.user_id], set_={"staff": staff}
                ).returning(*users.c)
            )
        ).one()
    return User.model_validate(row._mapping)


async def staff_members(engine: AsyncEngine, platform: str) -> list[User]:
    query = select(users).where(users.c.platform == platform, users.c.staff.is_(True))
    async with engine.connect() as connection:
        rows = (await connection.execute(query.order_by(users.c.user_id))).all()
    return [User.model_validate(row._mapping) for row in rows]
