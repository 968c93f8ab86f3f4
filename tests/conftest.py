"""The offline harness: a migrated database, the real Application over the in-memory Bot API,
and simulated members who talk to it. No network anywhere."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import Application

from bot.app import build_application
from bot.offline import OFFLINE_TOKEN, Member, OfflineBotApi
from bot.settings import Settings
from db import cache
from db.engine import create_engine, upgrade

ADMIN_ID = 9001


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One database migrated once; each test gets its own copy of the file."""
    path = tmp_path_factory.mktemp("template") / "template.db"

    async def migrate() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await upgrade(engine)
        async with engine.connect() as connection:
            await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        await engine.dispose()

    asyncio.run(migrate())
    return path


# Repository and import tests run on both databases: mark a module with
#   pytestmark = pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
# PostgreSQL runs when COOPBOT_TEST_DATABASE_URL names a server (.ci/run sets it); else it is skipped.
BACKENDS = ["sqlite", "postgresql"]
PG_URL = os.environ.get("COOPBOT_TEST_DATABASE_URL", "")


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated PostgreSQL database that each test clones (CREATE DATABASE ... TEMPLATE)."""
    if not PG_URL:
        pytest.skip("COOPBOT_TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
    name = f"coopbot_tpl_{os.getpid()}"
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"'))

    async def migrate() -> None:
        engine = create_engine(_pg_database(name))
        await upgrade(engine)
        await engine.dispose()

    asyncio.run(migrate())
    yield name
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}"'))


def _pg_database(name: str) -> str:
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


async def _pg_admin(*statements: str) -> None:
    engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        for statement in statements:
            await connection.exec_driver_sql(statement)
    await engine.dispose()


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if getattr(request, "param", "sqlite") == "postgresql":
        template = request.getfixturevalue("pg_template")
        name = f"coopbot_t{os.getpid()}_{next(_PG_SEQUENCE)}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        yield _pg_database(name)
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        return
    path = tmp_path / "coopbot.db"
    shutil.copy(request.getfixturevalue("migrated_template"), path)
    yield f"sqlite+aiosqlite:///{path}"


_PG_SEQUENCE = itertools.count(1)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(_env_file=None, database_url=database_url, admin_ids=frozenset({ADMIN_ID}))


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings.database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def api() -> OfflineBotApi:
    return OfflineBotApi()


@pytest.fixture
async def app(
    settings: Settings, engine: AsyncEngine, api: OfflineBotApi
) -> AsyncIterator[Application]:
    application = build_application(settings, engine, token=OFFLINE_TOKEN, request=api)
    async with application:
        yield application


MemberFactory = Callable[..., Member]


@pytest.fixture
def member_factory(app: Application, api: OfflineBotApi) -> MemberFactory:
    def make(user_id: int = 1001, **kwargs: object) -> Member:
        return Member(app, api, user_id, **kwargs)  # type: ignore[arg-type]

    return make


@pytest.fixture
def chat(member_factory: MemberFactory) -> Member:
    """A new member whose app is in Persian."""
    return member_factory(1001)


@pytest.fixture
def cache_clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """db/cache.py's clock, stopped: `cache_clock(s)` moves it on by s seconds."""
    now = [1000.0]
    monkeypatch.setattr(cache.time, "monotonic", lambda: now[0])

    def later(seconds: float) -> None:
        now[0] += seconds

    return later


@pytest.fixture
def shell(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> Path:
    """The environment `coopbot` runs in: only the database URL set, a clean working folder."""
    for name in list(os.environ):
        if name.startswith("COOPBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("COOPBOT_DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    return tmp_path


SetUp = Callable[[Member], Awaitable[None]]


async def finish_setup(member: Member, locale: str = "fa") -> None:
    """Take a member through /start, skipping everything but the language."""
    await member.send("/start")
    await member.press("فارسی" if locale == "fa" else "English")
    skip = "رد شدن ⏭" if locale == "fa" else "Skip ⏭"
    await member.press(skip)
    await member.press(skip)


class DatabaseAway:
    """The database refusing connections while `away` (a server restarting, say): every
    connection the engine takes from now on fails with `error`, as it would come from the driver
    (asyncpg's refusal is an OSError; aiosqlite's and psycopg's an OperationalError)."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.away = True

    def checkout(self, *args: object) -> None:
        if self.away:
            raise self.error


@contextmanager
def database_away(
    engine: AsyncEngine, error: Exception | None = None, away: bool = True
) -> Iterator[DatabaseAway]:
    """The database away for the block (or from when `.away` is set in it)."""
    refused = ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")
    outage = DatabaseAway(error or OperationalError("connect", None, refused))
    outage.away = away
    event.listen(engine.sync_engine, "checkout", outage.checkout)
    try:
        yield outage
    finally:
        event.remove(engine.sync_engine, "checkout", outage.checkout)


class ErrorLog(logging.Handler):
    """Everything logged at ERROR while it is attached (to the root logger): an error handler
    that itself failed, say, which no assertion on the Bot API calls would see."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
