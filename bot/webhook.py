"""Webhook mode: python-telegram-bot's "custom webhook" way (its customwebhookbot example), so the
same small tornado server can also answer a health check. The library's own `run_webhook` has no
room for a second route.

Telegram sends the secret in the X-Telegram-Bot-Api-Secret-Token header, checked on every request.
Bale's setWebhook takes only a URL, so there the secret is the last part of the webhook's path.
Either way a request without the secret is refused before its body is read, and a body with the
secret is handed to the bot only if it is an update of the shape the handlers rely on.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
from typing import Annotated, Any
from urllib.parse import urlsplit

import tornado.httpserver
import tornado.web
from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, ValidationError
from sqlalchemy import text
from telegram import Update
from telegram.error import NetworkError
from telegram.ext import Application

from bot.context import SERVICES_KEY, Services
from bot.settings import Settings, SettingsError

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "callback_query"]
# No real update comes near it (a message holds at most 4,096 characters); it bounds what a
# request may make the server hold in memory.
MAX_UPDATE_BYTES = 1_000_000

# --- what an update must look like ---------------------------------------------------------------
# PTB's Update.de_json trusts its input (it comes from the Bot API) and keeps a text where a number
# belongs, or a message without its chat; the handlers would then fail on it, or store it. So the
# parts of an update Coopbot reads are checked first, with the types the Bot API promises; the rest
# is PTB's to read, and what nobody reads is not looked at.

# The Bot API: identifiers have "at most 52 significant bits" (so they fit the database's BIGINT).
Id = Annotated[int, Field(gt=-(2**53), lt=2**53)]


class _Shape(BaseModel):
    model_config = ConfigDict(strict=True, allow_inf_nan=False)


class _User(_Shape):
    id: Id
    is_bot: bool
    first_name: str
    language_code: str | None = None


class _Chat(_Shape):
    id: Id
    type: str


class _Entity(_Shape):
    type: str
    offset: NonNegativeInt
    length: NonNegativeInt


class _Location(_Shape):
    latitude: float
    longitude: float


class _Contact(_Shape):
    phone_number: str
    user_id: Id | None = None


class _File(_Shape):
    file_id: str
    file_name: str | None = None
    mime_type: str | None = None
    file_size: NonNegativeInt | None = None


class _Message(_Shape):
    message_id: Id
    date: int
    chat: _Chat
    sender: _User | None = Field(None, alias="from")
    text: str | None = None
    caption: str | None = None
    entities: list[_Entity] | None = None
    caption_entities: list[_Entity] | None = None
    location: _Location | None = None
    contact: _Contact | None = None
    document: _File | None = None
    photo: list[_File] | None = None


class _Press(_Shape):
    id: str
    sender: _User = Field(alias="from")
    data: str | None = None
    message: _Message | None = None  # the bot's own message the button is on


class _Update(_Shape):
    update_id: Id
    message: _Message | None = None
    edited_message: _Message | None = None
    callback_query: _Press | None = None


class NotAnUpdate(ValueError):
    """A body that is not an update the bot can take, in one line for the log."""


def read_update(body: bytes, application: Application) -> Update:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:  # (RecursionError: brackets nested too deep)
        raise NotAnUpdate(f"not JSON: {exc}") from None
    try:
        _Update.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "the body"
        raise NotAnUpdate(f"{where}: {error['msg']}") from None
    try:
        return Update.de_json(data, application.bot)
    except Exception as exc:  # de_json raises whatever a malformed part provokes in it
        raise NotAnUpdate(f"{type(exc).__name__}: {exc}") from None


# --- the server ----------------------------------------------------------------------------------


@tornado.web.stream_request_body
class UpdateHandler(tornado.web.RequestHandler):
    """Streamed, so that prepare() can refuse a request before its body is read."""

    # (tornado's own handler takes `application`, hence `bot_application` here)
    def initialize(self, bot_application: Application, secret: str | None) -> None:
        self.bot_application = bot_application
        self.secret = secret
        self.body = bytearray()

    def prepare(self) -> None:
        if self.secret is not None:
            given = self.request.headers.get(SECRET_HEADER, "")
            if not hmac.compare_digest(given.encode(), self.secret.encode()):
                log.warning("webhook request with a wrong secret from %s", self.request.remote_ip)
                raise tornado.web.HTTPError(403)
        length = self.request.headers.get("Content-Length", "")  # (a malformed one: tornado's 400)
        if length.isascii() and length.isdigit() and int(length) > MAX_UPDATE_BYTES:
            self._too_large()

    def data_received(self, chunk: bytes) -> None:
        # A chunked body has no Content-Length to check in prepare(). (tornado's own
        # max_body_size would answer 400 with a bare status line, not 413.)
        self.body += chunk
        if len(self.body) > MAX_UPDATE_BYTES and not self._finished:
            self._too_large()

    def _too_large(self) -> None:
        log.warning(
            "webhook request over %s bytes from %s", MAX_UPDATE_BYTES, self.request.remote_ip
        )
        # tornado then closes the connection rather than read the rest of the body.
        self.send_error(413)

    async def post(self) -> None:
        if self._finished:
            return
        try:
            update = read_update(bytes(self.body), self.bot_application)
        except NotAnUpdate as exc:
            log.warning("webhook request that is not an update: %s", exc)
            raise tornado.web.HTTPError(400) from None
        # Taken whatever it is (a refusal would only have the platform send it again): what is
        # not a person's private request, such as an anonymous group admin's message "from"
        # GroupAnonymousBot, goes no further than bot/groups.py, in this mode as in polling.
        await self.bot_application.update_queue.put(update)
        self.set_status(200)


@tornado.web.stream_request_body
class NotFoundHandler(tornado.web.RequestHandler):
    """Any other path (on Bale, a path without the secret): 404 before the body is read."""

    def prepare(self) -> None:
        raise tornado.web.HTTPError(404)


class HealthHandler(tornado.web.RequestHandler):
    def initialize(self, bot_application: Application) -> None:
        self.services: Services = bot_application.bot_data[SERVICES_KEY]

    async def get(self) -> None:
        body: dict[str, Any] = {"platform": self.services.platform}
        try:
            async with self.services.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            body |= {"status": "ok", "database": "reachable"}
        except Exception as exc:
            log.warning("health check: the database is not reachable: %s", exc)
            body |= {"status": "failing", "database": "unreachable"}
            self.set_status(503)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))


def webhook_paths(settings: Settings) -> tuple[str, str, str | None]:
    """(public URL given to the platform, local path served, secret checked in the header)."""
    if not settings.webhook_url:
        raise SettingsError("COOPBOT_WEBHOOK_URL is not set")
    if settings.webhook_secret is None or not settings.webhook_secret.get_secret_value():
        raise SettingsError("COOPBOT_WEBHOOK_SECRET is required in webhook mode")
    secret = settings.webhook_secret.get_secret_value()
    if not all(ch.isalnum() or ch in "_-" for ch in secret) or len(secret) > 256:
        raise SettingsError("COOPBOT_WEBHOOK_SECRET may hold only letters, digits, _ and -")
    url = settings.webhook_url.rstrip("/")
    path = urlsplit(url).path
    if settings.platform == "bale":
        return f"{url}/{secret}", f"{path}/{secret}", None
    return url, path or "/", secret


async def serve(
    application: Application,
    settings: Settings,
    stop: asyncio.Event | None = None,
) -> None:
    """Run the bot behind the webhook until SIGTERM or SIGINT (or `stop`), then stop cleanly:
    no new updates taken, the queued ones handled, persistence and the outbox left in order."""
    public_url, path, secret = webhook_paths(settings)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(signum, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread (tests)
            pass
    routes: list[tuple[str, type[tornado.web.RequestHandler], dict[str, Any]]] = [
        (path, UpdateHandler, {"bot_application": application, "secret": secret}),
        (r"/health", HealthHandler, {"bot_application": application}),
    ]
    web_application = tornado.web.Application(routes, default_handler_class=NotFoundHandler)
    server = tornado.httpserver.HTTPServer(web_application)
    try:
        async with application:
            # The webhook first: if the platform refuses it, nothing else has started (the
            # outbox sender in post_init) that would have to be stopped half-way.
            await application.bot.set_webhook(
                url=public_url,
                secret_token=secret,
                allowed_updates=ALLOWED_UPDATES,
            )
            if application.post_init is not None:
                await application.post_init(application)
            await application.start()
            server.listen(settings.port, address=settings.listen)
            log.info("coopbot webhook listening on %s:%s", settings.listen, settings.port)
            await stop.wait()
            log.info("stopping: no new updates; finishing what is queued")
            server.stop()
            await application.stop()
            if application.post_stop is not None:
                await application.post_stop(application)
    except NetworkError:
        if not stop.is_set():
            raise  # `coopbot run` tries again
        # SIGTERM or Ctrl-C while the Bot API did not answer: asked to stop, so no retry.
        log.info("stopped before the Bot API answered")
