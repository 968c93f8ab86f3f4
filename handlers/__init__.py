"""The journeys, one module each, listed in the order bot/app.py registers them (first match wins)."""

from __future__ import annotations

from telegram.ext import BaseHandler

from handlers import (
    admin,
    broadcast,
    fallback,
    imports,
    language,
    menu,
    nearby,
    programs,
    start,
    stats,
    status,
    subscribe,
)


def build_handlers() -> list[BaseHandler]:
    return [
        *status.build_handler(),  # before start: it takes "/start status_CODE"
        start.build_handler(),
        programs.build_handler(),
        *nearby.build_handler(),
        *subscribe.build_handler(),
        *language.build_handler(),
        *menu.build_handler(),
        *broadcast.build_handler(),
        *stats.build_handler(),  # staff only, as admin: to anyone else, unknown commands
        *admin.build_handler(),
        *imports.build_handler(),  # staff's spreadsheets; anyone else's file gets fallback's answer
        *fallback.build_handler(),  # last: it takes whatever the others passed over
    ]
