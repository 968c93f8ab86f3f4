"""The callback-data codec: `journey:action:arg`, under Telegram's 64-byte limit, parsed in one place.

Buttons outlive the conversation that drew them (a restart, a message from last week), so every
payload describes itself and every handler re-checks what it names before acting on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_BYTES = 64
_PART = r"[a-z_]{1,16}"
_ARG = r"[A-Za-z0-9_\-.]{0,48}"
_SHAPE = re.compile(rf"^({_PART}):({_PART}):({_ARG})$")


@dataclass(frozen=True, slots=True)
class Callback:
    journey: str
    action: str
    arg: str = ""

    def encode(self) -> str:
        data = f"{self.journey}:{self.action}:{self.arg}"
        if not _SHAPE.match(data) or len(data.encode()) > MAX_BYTES:
            raise ValueError(f"callback data out of shape: {data!r}")
        return data

    def int_arg(self) -> int | None:
        return int(self.arg) if self.arg.isdigit() and len(self.arg) < 10 else None


def cb(journey: str, action: str, arg: object = "") -> str:
    """Callback data for a button."""
    return Callback(journey, action, str(arg)).encode()


def parse(data: str | None) -> Callback | None:
    """The payload of a pressed button, or None when it is not one of ours (forged, truncated, old)."""
    match = _SHAPE.match(data or "")
    return Callback(*match.groups()) if match else None


def pattern(journey: str, *actions: str) -> re.Pattern[str]:
    """An anchored pattern for a CallbackQueryHandler: this journey, these actions (or any)."""
    action = "|".join(map(re.escape, actions)) if actions else _PART
    return re.compile(rf"^{re.escape(journey)}:(?:{action}):{_ARG}$")
