"""The async engine for `COOPBOT_DATABASE_URL` and the migration runner."""

from __future__ import annotations

from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from asyncpg import exceptions as pg
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

SQLITE_BUSY_TIMEOUT_MS = 5000

# asyncpg's own errors for a server that refuses or drops connections; they reach callers
# unwrapped when raised while SQLAlchemy's pool connects.
_PG_AWAY = (
    pg.PostgresConnectionError,
    pg.CannotConnectNowError,
    pg.TooManyConnectionsError,
    pg.InterfaceError,
)


def is_unreachable(error: BaseException) -> bool:
    """Whether `error` says the database is away (refused or dropped connections, a timeout),
    something that passes by itself, rather than a fault in what was asked of it."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    unreachable = (OperationalError, InterfaceError, DisconnectionError, OSError, TimeoutError)
    return isinstance(error, unreachable + _PG_AWAY)


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An engine for the shared database; SQLite gets WAL and a busy timeout for concurrent writers."""
    engine = create_async_engine(url, **kwargs)
    if make_url(url).get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("db") / "migrations"))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to `revision` over the bot's own engine (Alembic's connection-sharing recipe)."""
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade, revision)
