"""Operator settings, read from the environment or a `.env` file (names in interfaces.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Platform = Literal["telegram", "bale"]
Locale = Literal["fa", "en"]

DEFAULT_API_URLS: dict[str, str] = {
    "telegram": "https://api.telegram.org/bot",
    "bale": "https://tapi.bale.ai/bot",
}


class SettingsError(Exception):
    """A missing or invalid setting, worded for the operator in one line."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="COOPBOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    token: SecretStr | None = None
    platform: Platform = "telegram"
    bot_api_url: str | None = None
    database_url: str = "sqlite+aiosqlite:///coopbot.db"
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    default_locale: Locale = "fa"
    broadcast_rate: float = Field(default=25.0, gt=0, le=1000)
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    listen: str = "0.0.0.0"
    port: int = Field(default=8443, ge=1, le=65535)

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        # Operators write "123, 456"; pydantic would otherwise expect JSON.
        if isinstance(value, str):
            return frozenset(int(part) for part in value.replace(" ", "").split(",") if part)
        return value

    @field_validator("platform", "default_locale", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @property
    def api_base_url(self) -> str:
        return self.bot_api_url or DEFAULT_API_URLS[self.platform]

    @property
    def api_file_url(self) -> str:
        # PTB wants the file URL too; both platforms put "/file" before "/bot".
        base = self.api_base_url
        head, sep, tail = base.rpartition("/bot")
        return f"{head}/file/bot{tail}" if sep else base

    def require_token(self) -> str:
        if self.token is None or not self.token.get_secret_value().strip():
            raise SettingsError(
                "COOPBOT_TOKEN is not set: put the token from the bot father in the environment or .env"
            )
        return self.token.get_secret_value().strip()


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning pydantic's report into one line that names the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        raise SettingsError(f"COOPBOT_{field.upper()} is invalid: {first['msg']}") from None
