"""The sender: works through the outbox (db/outbox.py) inside the running bot.

At most `COOPBOT_BROADCAST_RATE` messages a second overall and one a second per chat, as the
platforms ask; a 429 pauses everything for its retry_after (while it runs every call fails, not only
ours); time-outs and 5xx are retried with growing delays; a member who blocked the bot (403) is
marked and skipped from then on. python-telegram-bot's AIORateLimiter does not pace per chat and
gives up on a 429 (max_retries=0), hence this loop of our own (see platform-notes.md).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections import deque

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from db import outbox

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
MAX_BACKOFF_S = 300.0
PER_CHAT_INTERVAL_S = 1.0
IDLE_POLL_S = 1.0
# The event loop's timers fire late: asyncio rounds a sleep up to the next millisecond and the
# kernel adds its own slack, one to two milliseconds in all on a quiet machine. Counted from the
# moment it woke, every slot came that much late and 30 a second came out as 28.5 to 29. So the
# sender asks to wake early by the least lateness it has seen lately, and a message may go up to
# PACE_SLACK_S before its slot (never closer than interval - PACE_SLACK_S to the one before it);
# the per-chat second and a 429's pause are kept to the letter.
PACE_SLACK_S = 0.0005
LATENESS_SAMPLES = 16


def _seconds(value: float | dt.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


class Sender:
    def __init__(
        self, bot: Bot, engine: AsyncEngine, platform: str, rate: float, worker: str
    ) -> None:
        self.bot, self.engine, self.platform, self.worker = bot, engine, platform, worker
        self.interval = 1.0 / rate
        self.batch = max(1, int(rate))
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._last_to_chat: dict[int, float] = {}
        self._lateness: deque[float] = deque(maxlen=LATENESS_SAMPLES)
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._announcements: dict[int, outbox.Announcement | None] = {}

    # --- pacing -------------------------------------------------------------------------------

    async def _wait_turn(self, chat_id: int) -> None:
        ready = max(
            self._next_slot - PACE_SLACK_S,
            self._paused_until,
            self._last_to_chat.get(chat_id, 0.0) + PER_CHAT_INTERVAL_S,
        )
        now = time.monotonic()
        while now < ready:
            asked = ready - now - min(self._lateness, default=0.0)
            if asked <= 0:  # too close to wake early: sleep the rest
                asked = ready - now
            await asyncio.sleep(asked)
            woke = time.monotonic()
            self._lateness.append(woke - now - asked)
            now = woke
        self._next_slot = max(now, self._next_slot) + self.interval
        self._last_to_chat[chat_id] = now
        if len(self._last_to_chat) > 10_000:
            # Only the last second matters; keep the map from growing with the audience.
            cutoff = now - PER_CHAT_INTERVAL_S
            self._last_to_chat = {c: t for c, t in self._last_to_chat.items() if t > cutoff}

    # --- one batch ----------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Send one batch of due deliveries; how many were handled.

        Each delivery is marked sent as soon as the platform took it, so a crash repeats at most
        the one in flight; on a clean stop the rest of the batch is handed back at once."""
        batch = await outbox.claim(self.engine, self.platform, self.worker, self.batch)
        if not batch:
            return 0
        self._announcements.clear()  # re-read each batch: a cancel takes effect within a second
        # Not marked in groups: messages go one after another, so marking n together would
        # leave n - 1 that the platform already took to be sent again after a crash. One
        # UPDATE a message it is, made cheap instead: see outbox.marking_sent.
        async with outbox.marking_sent(self.engine) as mark_sent:
            for done, delivery in enumerate(batch):
                if self._stopping:
                    await outbox.release(self.engine, [d.id for d in batch[done:]])
                    return done
                await self._wait_turn(delivery.chat_id)
                if await self._send(delivery):
                    await mark_sent(delivery.id)
        return len(batch)

    async def _deliver(self, delivery: outbox.Delivery) -> bool:
        """Send what the delivery carries; False if it is no longer to be sent."""
        if delivery.announcement_id is None:
            await self.bot.send_message(delivery.chat_id, delivery.text or "")
            return True
        if delivery.announcement_id not in self._announcements:
            self._announcements[delivery.announcement_id] = await outbox.get_announcement(
                self.engine, delivery.announcement_id
            )
        announcement = self._announcements[delivery.announcement_id]
        if announcement is None or announcement.status == "cancelled":
            await outbox.mark_cancelled(self.engine, [delivery.id])
            return False
        caption = announcement.text or None
        if announcement.media_kind == "photo" and announcement.media_file_id:
            await self.bot.send_photo(delivery.chat_id, announcement.media_file_id, caption=caption)
        elif announcement.media_kind == "document" and announcement.media_file_id:
            await self.bot.send_document(
                delivery.chat_id, announcement.media_file_id, caption=caption
            )
        else:
            await self.bot.send_message(delivery.chat_id, announcement.text)
        return True

    async def _send(self, delivery: outbox.Delivery) -> bool:
        try:
            return await self._deliver(delivery)
        except RetryAfter as exc:
            wait = _seconds(exc.retry_after)
            self._paused_until = time.monotonic() + wait
            log.warning("rate limited for %.0f s; delivery %s waits", wait, delivery.id)
            await outbox.retry_later(self.engine, delivery.id, dt.timedelta(seconds=wait), "429")
        except Forbidden:
            await outbox.mark_blocked(self.engine, delivery)
        except BadRequest as exc:
            # The request itself is wrong (a chat that does not exist): trying again cannot help.
            await outbox.mark_failed(self.engine, delivery.id, str(exc))
        except NetworkError as exc:  # time-outs, dropped connections, 5xx
            if delivery.attempts >= MAX_ATTEMPTS:
                await outbox.mark_failed(self.engine, delivery.id, str(exc))
            else:
                delay = min(2.0**delivery.attempts, MAX_BACKOFF_S)
                await outbox.retry_later(
                    self.engine, delivery.id, dt.timedelta(seconds=delay), str(exc)
                )
        return False

    # --- running inside the bot -----------------------------------------------------------------

    async def run_forever(self) -> None:
        while not self._stopping:
            try:
                if await self.run_once() == 0:
                    await asyncio.sleep(IDLE_POLL_S)
            except asyncio.CancelledError:
                raise
            except Exception:  # the database away for a moment must not end the sender
                log.exception("sender batch failed; trying again shortly")
                await asyncio.sleep(IDLE_POLL_S * 5)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run_forever(), name="coopbot-sender")

    async def stop(self, grace_s: float = 10.0) -> None:
        """Finish the message in flight, hand the rest of the batch back, then end."""
        if self._task is None:
            return
        self._stopping = True
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace_s)
        except TimeoutError:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        self._task = None
