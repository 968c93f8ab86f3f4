"""Coopbot: the bot's wiring, shared by every journey (settings, i18n, application, CLI)."""

import os

# Opt in now to python-telegram-bot's coming default (durations as timedelta, e.g. RetryAfter),
# so the code is written once against the type PTB 23 will give.
os.environ.setdefault("PTB_TIMEDELTA", "1")
