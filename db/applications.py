"""Applications and registrations: looked up by tracking code, proven by the applicant's phone."""

from __future__ import annotations

import re

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from db.models import Application, StatusChange, Watcher
from db.schema import application_history, application_watches, applications
from db.text import to_ascii_digits

KINDS = ("cooperative_registration", "membership", "program_application", "membership_transfer")
STATUSES = ("submitted", "under_review", "needs_documents", "approved", "rejected", "completed")
CODE_SHAPE = re.compile(r"^[A-Z0-9]{6,20}$")
_SEPARATORS = re.compile(r"[\s\-_/.\u200c]+")


def clean_code(text: str) -> str:
    """A tracking code as stored: ASCII digits, capitals, no spaces or dashes."""
    return _SEPARATORS.sub("", to_ascii_digits(text)).upper()


def is_code(text: str) -> bool:
    return bool(CODE_SHAPE.match(clean_code(text)))


def clean_phone(text: str) -> str | None:
    """An Iranian mobile number as `09XXXXXXXXX`, from +98, 0098, 98 or 0 forms; else None."""
    digits = re.sub(r"\D", "", to_ascii_digits(text))
    for prefix in ("0098", "98", "0"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 10:
            digits = digits[len(prefix) :]
            break
    return f"0{digits}" if len(digits) == 10 and digits.startswith("9") else None


# Built once (every /status step reads them): SQLAlchemy reuses their compiled form.
_ONE = select(applications).where(applications.c.tracking_code == bindparam("code"))
_HISTORY = (
    select(application_history.c.status, application_history.c.changed_on)
    .where(application_history.c.tracking_code == bindparam("code"))
    .order_by(application_history.c.changed_on, application_history.c.id)
)


async def get(engine: AsyncEngine, code: str) -> Application | None:
    async with engine.connect() as connection:
        row = (await connection.execute(_ONE, {"code": clean_code(code)})).one_or_none()
    return None if row is None else Application.model_validate(row._mapping)


async def history(engine: AsyncEngine, code: str) -> list[StatusChange]:
    """Every recorded status of an application, oldest first."""
    async with engine.connect() as connection:
        rows = (await connection.execute(_HISTORY, {"code": clean_code(code)})).all()
    return [StatusChange.model_validate(row._mapping) for row in rows]


def belongs_to(application: Application, phone: str) -> bool:
    """Whether a shared phone number is the applicant's; the stored number is never shown."""
    return clean_phone(phone) == application.applicant_phone


async def watch(
    engine: AsyncEngine, code: str, platform: str, user_id: int, chat_id: int, locale: str
) -> None:
    """Remember that this member wants a message when the application's status changes."""
    values = {
        "tracking_code": clean_code(code),
        "platform": platform,
        "user_id": user_id,
        "chat_id": chat_id,
        "locale": locale,
    }
    async with engine.begin() as connection:
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(application_watches).values(**values)
        await connection.execute(
            statement.on_conflict_do_update(
                index_elements=[
                    application_watches.c.tracking_code,
                    application_watches.c.platform,
                    application_watches.c.user_id,
                ],
                set_={"chat_id": statement.excluded.chat_id, "locale": statement.excluded.locale},
            )
        )


async def watchers(engine: AsyncEngine, code: str) -> list[Watcher]:
    query = select(application_watches).where(
        application_watches.c.tracking_code == clean_code(code)
    )
    async with engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    return [Watcher.model_validate(row._mapping) for row in rows]
