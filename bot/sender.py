"""The sender: works through the outbox (db/outbox.py) inside the running bot.

At most `COOPBOT_BROADCAST_RATE` messages a second overall and one a second per chat, as the
platforms ask. A refusal for the rate limit, as either platform words it (bot/refusals.py), pauses
every send for its retry_after, or for a growing pause when none is given, and the delivery is tried
again later without counting as an attempt; time-outs and 5xx are retried with growing delays; a
member who blocked the bot is marked and skipped from then on; a chat that does not exist fails at
once. python-telegram-bot's AIORateLimiter does not pace per chat (see platform-notes.md), hence
this loop of our own on top of it.

Exactly once, as far as it can be: a delivery is sent only by the sender that holds its lease
(db/outbox.py), checked in the database just before it goes, kept alive while a batch runs however
slow the Bot API is, and checked again in the write that marks it sent, as soon as the platform took
it. Only a sender killed between the platform taking a message and that write leaves one delivery
to be sent again: the platform's send and our write cannot be one transaction.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections import deque
from collections.abc import Collection

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Bot
from telegram.error import BadRequest, TelegramError

from bot.refusals import Backoff, is_blocked, is_rate_limit, is_unknown_chat
from db import outbox

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
MAX_BACKOFF_S = 300.0
PER_CHAT_INTERVAL_S = 1.0
IDLE_POLL_S = 1.0
# While a batch runs its leases are renewed this often, well inside the lease, so that a batch
# slowed by the Bot API (0.8 s a call, a rate limit's pause) keeps what it claimed.
RENEW_EVERY_S = outbox.LEASE.total_seconds() / 3
# A wait for its turn longer than this (a rate limit's pause; the per-chat second is the longest
# wait otherwise) and the delivery's lease is checked again before it goes.
HOLD_AGAIN_AFTER_S = 2 * PER_CHAT_INTERVAL_S
# The event loop's timers fire late: asyncio rounds a sleep up to the next millisecond and the
# kernel adds its own slack, one to two milliseconds in all on a quiet machine. Counted from the
# moment it woke, every slot came that much late and 30 a second came out as 28.5 to 29. So the
# sender asks to wake early by the least lateness it has seen lately, and a message may go up to
# PACE_SLACK_S before its slot (never closer than interval - PACE_SLACK_S to the one before it);
# the per-chat second and a rate limit's pause are kept to the letter.
PACE_SLACK_S = 0.0005
LATENESS_SAMPLES = 16


class Sender:
    def __init__(
        self,
        bot: Bot,
        engine: AsyncEngine,
        platform: str,
        rate: float,
        worker: str,
        only_users: Collection[int] | None = None,
    ) -> None:
        """`worker` names this sender in the leases it holds: unique to the process. With
        `only_users`, it sends only what is meant for those members (the terminal chat's)."""
        self.bot, self.engine, self.platform, self.worker = bot, engine, platform, worker
        self.only_users = only_users
        self.interval = 1.0 / rate
        self.batch = max(1, int(rate))
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._last_to_chat: dict[int, float] = {}
        self._lateness: deque[float] = deque(maxlen=LATENESS_SAMPLES)
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._announcements: dict[int, outbox.Announcement | None] = {}
        self._backoff = Backoff()
        # Sent, but the database was away when they were to be marked: marked before anything new.
        self._unmarked: list[int] = []

    # --- pacing -------------------------------------------------------------------------------

    async def _wait_turn(self, chat_id: int) -> float:
        """Wait until a message to this chat may go, and take that turn; how long it waited."""
        ready = max(
            self._next_slot - PACE_SLACK_S,
            self._paused_until,
            self._last_to_chat.get(chat_id, 0.0) + PER_CHAT_INTERVAL_S,
        )
        now = began = time.monotonic()
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
        return now - began

    # --- one batch ----------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Send one batch of due deliveries; how many were handled.

        Each delivery is held (its lease checked and renewed) just before it is sent and marked
        sent as soon as the platform took it, so a crash repeats at most the one in flight; on a
        clean stop the rest of the batch is handed back at once."""
        await self._catch_up()
        batch = await outbox.claim(
            self.engine, self.platform, self.worker, self.batch, self.only_users
        )
        if not batch:
            return 0
        self._announcements.clear()  # re-read each batch: a cancel takes effect within a second
        ids = [delivery.id for delivery in batch]
        renewing = asyncio.create_task(self._keep_leases(ids), name="coopbot-sender-leases")
        try:
            # Not marked in groups: messages go one after another, so marking n together would
            # leave n - 1 that the platform already took to be sent again after a crash.
            async with outbox.holding(self.engine, self.worker) as held:
                for done, delivery in enumerate(batch):
                    if self._stopping:
                        await outbox.release(self.engine, self.worker, ids[done:])
                        return done
                    # Held before its turn is taken, so that the message goes the moment its
                    # turn comes (the pace is kept to the millisecond); held again when a
                    # rate limit's pause made the turn long in coming.
                    if not await self._hold(held, delivery):
                        continue
                    if await self._wait_turn(delivery.chat_id) > HOLD_AGAIN_AFTER_S and not (
                        await self._hold(held, delivery)
                    ):
                        continue
                    if await self._send(delivery):
                        await self._mark_sent(held, delivery.id)
        finally:
            renewing.cancel()
        return len(batch)

    async def _hold(self, held: outbox.Held, delivery: outbox.Delivery) -> bool:
        if await held.hold(delivery.id):
            return True
        log.info("delivery %s was taken over by another sender", delivery.id)
        return False

    async def _keep_leases(self, ids: list[int]) -> None:
        while True:
            await asyncio.sleep(RENEW_EVERY_S)
            try:
                await outbox.renew(self.engine, self.worker, ids)
            except Exception as exc:  # the database away: the hold before each send will tell
                log.warning("could not renew the outbox leases: %s", exc)

    async def _mark_sent(self, held: outbox.Held, delivery_id: int) -> None:
        try:
            still_ours = await held.sent(delivery_id)
        except BaseException:
            self._unmarked.append(delivery_id)  # the platform took it: mark it when we can
            raise
        if not still_ours:
            log.warning(
                "delivery %s was taken over while it was being sent: its member may get it twice",
                delivery_id,
            )

    async def _catch_up(self) -> None:
        if self._unmarked:
            await outbox.mark_sent(self.engine, self.worker, self._unmarked)
            self._unmarked.clear()

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
            await outbox.mark_cancelled(self.engine, self.worker, [delivery.id])
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
            delivered = await self._deliver(delivery)
        except TelegramError as error:
            await self._refused(delivery, error)
            return False
        self._backoff.passed()
        return delivered

    async def _refused(self, delivery: outbox.Delivery, error: TelegramError) -> None:
        engine, worker = self.engine, self.worker
        if is_rate_limit(error):
            pause = self._backoff.pause(error)
            self._paused_until = max(self._paused_until, time.monotonic() + pause)
            log.warning(
                "rate limited (%s): every send waits %.0f s; delivery %s is sent after",
                error.message,
                pause,
                delivery.id,
            )
            delay = dt.timedelta(seconds=pause)
            await outbox.retry_later(
                engine, worker, delivery.id, delay, error.message, counted=False
            )
        elif is_blocked(error):
            await outbox.mark_blocked(engine, worker, delivery)
        elif is_unknown_chat(error):
            await outbox.mark_failed(engine, worker, delivery.id, f"unknown chat: {error.message}")
        elif isinstance(error, BadRequest):
            # The request itself is wrong (a file the platform lost): trying again cannot help.
            await outbox.mark_failed(engine, worker, delivery.id, error.message)
        elif delivery.attempts >= MAX_ATTEMPTS:  # time-outs, dropped connections, 5xx
            await outbox.mark_failed(engine, worker, delivery.id, error.message)
        else:
            delay = dt.timedelta(seconds=min(2.0**delivery.attempts, MAX_BACKOFF_S))
            await outbox.retry_later(engine, worker, delivery.id, delay, error.message)

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
