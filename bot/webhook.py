"""Webhook mode: python-telegram-bot's "custom webhook" way (its customwebhookbot example), so the
same small tornado server can also answer a health check. The library's own `run_webhook` has no
room for a second route.

Telegram sends the secret in the X-Telegram-Bot-Api-Secret-Token header, checked on every request.
Bale's setWebhook takes only a URL, so there the secret is the last part of the webhook's path.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
from typing import Any
from urllib.parse import urlsplit

import tornado.httpserver
import tornado.web
from sqlalchemy import text
from telegram import Update
from telegram.ext import Application

from bot.context import SERVICES_KEY, Services
from bot.settings import Settings, SettingsError

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "callback_query"]


class UpdateHandler(tornado.web.RequestHandler):
    # (tornado's own handler takes `application`, hence `bot_application` here)
    def initialize(self, bot_application: Application, secret: str | None) -> None:
        self.bot_application = bot_application
        self.secret = secret

    async def post(self) -> None:
        if self.secret is not None:
            given = self.request.headers.get(SECRET_HEADER, "")
            if not hmac.compare_digest(given.encode(), self.secret.encode()):
                log.warning("webhook request with a wrong secret from %s", self.request.remote_ip)
                raise tornado.web.HTTPError(403)
        try:
            update = Update.de_json(json.loads(self.request.body), self.bot_application.bot)
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("webhook request that is not an update: %s", exc)
            raise tornado.web.HTTPError(400) from None
        await self.bot_application.update_queue.put(update)
        self.set_status(200)


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
    routes: list[tuple[str, type[tornado.web.RequestHandler], dict[str, Any]]] = [
        (path, UpdateHandler, {"bot_application": application, "secret": secret}),
        (r"/health", HealthHandler, {"bot_application": application}),
    ]
    server = tornado.httpserver.HTTPServer(tornado.web.Application(routes))
    async with application:
        if application.post_init is not None:
            await application.post_init(application)
        await application.bot.set_webhook(
            url=public_url,
            secret_token=secret,
            allowed_updates=ALLOWED_UPDATES,
        )
        await application.start()
        server.listen(settings.port, address=settings.listen)
        # Only now: until the bot has started, Ctrl-C is Python's KeyboardInterrupt, which ends
        # `coopbot run` while it waits for the Bot API (a stop event would be lost with the try).
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(signum, stop.set)
            except (NotImplementedError, RuntimeError):  # not the main thread (tests)
                pass
        log.info("coopbot webhook listening on %s:%s", settings.listen, settings.port)
        await stop.wait()
        log.info("stopping: no new updates; finishing what is queued")
        server.stop()
        await application.stop()
        if application.post_stop is not None:
            await application.post_stop(application)
