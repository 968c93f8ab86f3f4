"""Logging for an operator: one line per event, and never the bot token or a member's phone."""

from __future__ import annotations

import logging
import re

# Iranian mobile numbers in any of the forms members and spreadsheets use, in any digits.
_D = "[0-9\u06f0-\u06f9\u0660-\u0669]"
_PHONE = re.compile(
    rf"(?<!{_D})(?:(?:\+|00)?98[\s-]?|[0\u06f0\u0660])?[9\u06f9\u0669]{_D}{{2}}[\s-]?{_D}{{3}}[\s-]?{_D}{{4}}(?!{_D})"
)


class OneLineFormatter(logging.Formatter):
    """A traceback folded onto its event's line; the token and phone numbers blanked out."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.secrets = tuple(s for s in secrets if s)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self.secrets:
            text = text.replace(secret, "<token>")
        text = _PHONE.sub("<phone>", text)
        return " ⏎ ".join(line for line in text.splitlines() if line.strip())


def configure(level: int, secrets: tuple[str, ...] = ()) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(OneLineFormatter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO, and the URL holds the token; the job scheduler logs
    # every run of the progress job: neither is an event for an operator.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
