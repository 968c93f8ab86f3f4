"""The CallbackContext every handler receives: the database, the settings, the member and their language."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import Application, CallbackContext, ExtBot

from bot.i18n import Translator, translator
from bot.platform import Features, features
from bot.settings import Settings
from db import chains
from db.models import User, ValueChainRow
from db.reference import Reference
from db.text import sort_key


@dataclass(frozen=True)
class Services:
    """What the handlers depend on, handed in when the application is built."""

    settings: Settings
    engine: AsyncEngine
    reference: Reference

    @property
    def platform(self) -> str:
        return self.settings.platform

    @property
    def features(self) -> Features:
        return features(self.settings.platform)


SERVICES_KEY = "services"


class BotContext(CallbackContext[ExtBot[None], dict, dict, dict]):
    """PTB builds one per update and hands it to every group, so the member loaded in group -1
    (see bot/app.py) is here for every handler of that update."""

    def __init__(
        self,
        application: Application,
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application, chat_id=chat_id, user_id=user_id)
        self._member: User | None = None
        self.language_code: str | None = None
        # Set in group -1 when a command or menu button ended a journey the member was in.
        self.left_journey = False

    @property
    def services(self) -> Services:
        services: Services = self.application.bot_data[SERVICES_KEY]
        return services

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def engine(self) -> AsyncEngine:
        return self.services.engine

    @property
    def reference(self) -> Reference:
        return self.services.reference

    @property
    def features(self) -> Features:
        """What this platform's Bot API can do (bot/platform.py)."""
        return self.services.features

    @property
    def member(self) -> User:
        if self._member is None:
            raise RuntimeError("no member loaded for this update")
        return self._member

    @member.setter
    def member(self, value: User) -> None:
        self._member = value

    @property
    def t(self) -> Translator:
        return translator(locale_for(self._member, self.settings, self.language_code))

    async def value_chains(self) -> list[ValueChainRow]:
        """The chains the database holds: priority chains first, each group alphabetical in the
        member's language, the order every chain picker shows."""
        locale = self.t.locale
        found = await chains.all_chains(self.engine)
        return sorted(found, key=lambda c: (not c.priority, sort_key(c.name(locale))))

    @property
    def is_staff(self) -> bool:
        """COOPBOT_ADMIN_IDS, or the role granted with /admin."""
        member = self._member
        return member is not None and (member.staff or member.user_id in self.settings.admin_ids)


def locale_for(member: User | None, settings: Settings, language_code: str | None = None) -> str:
    """The member's chosen language, else what their app says, else the operator's default."""
    if member is not None and member.locale:
        return member.locale
    if language_code and language_code[:2].lower() in ("fa", "en"):
        return language_code[:2].lower()
    return settings.default_locale
