"""Benchmark: members' journeys through the real bot, beside a bare python-telegram-bot Application.

Run by hand from the repository root (see bench/README.md):

    python bench/journeys.py [--members 500] [--rounds 2] [--concurrency N] [--users 1000000]
                             [--transport both|process|http]

It builds its own SQLite database in a temporary folder, in a child process so that filling it does
not count towards the bot's memory: the programs (through the importer), 150,000 demo cooperatives,
a million members, applications with their history, and subscriptions, bulk-inserted with SQLAlchemy
Core. Then a few hundred of those members talk at once to the Application that `coopbot run` builds,
over the Bot API double (bot/offline.py), in process and then with every call also made over HTTP
to a fake Bot API on 127.0.0.1 (bench/fake_api.py); each member's steps in order as in a chat:
/start, /menu, /programs with a category, a card and typed words, /status with a code and the phone,
/nearby with a role, a location and a map pin, /subscribe with a chain, free text and a sticker.
The same updates then go to a bare Application that answers "ok" to everything: the ceiling that
python-telegram-bot and the transport set on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import math
import multiprocessing
import os
import platform
import random
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fake_api import fake_api
from nearby import cooperative_row
from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters
from telegram.request import HTTPXRequest, RequestData

from bot.app import build_application
from bot.offline import OFFLINE_TOKEN, ApiCall, Member, OfflineBotApi
from bot.settings import Settings
from bot.updates import CONCURRENT_UPDATES
from db.demo import generate_cooperatives, offset
from db.engine import create_engine, upgrade
from db.importers import import_file
from db.models import pack
from db.reference import reference
from db.schema import (
    application_history,
    applications,
    cooperatives,
    programs,
    subscriptions,
    users,
)
from db.users import touch

PLATFORM = "telegram"
PROGRAMS_CSV = Path(__file__).resolve().parent.parent / "db" / "reference" / "programs.csv"
FIRST_USER_ID = 100_000_001
BATCH = 10_000
PROFILE_SHARE = 0.7  # members who chose a province, county and value chain
SUBSCRIBED_SHARE = 0.4  # of those, subscribed to their chain's and province's announcements
MUTED_SHARE = 0.02  # members who left all announcements
BLOCKED_SHARE = 0.02  # members an old delivery found had blocked the bot
VERIFIED_SHARE = 0.7  # simulated members whose shared phone is their application's
LOCATION_JITTER_KM = 30.0
WARM_MEMBERS = 20
# The targets (issue 4 item 7): handling p95 under 25 ms, at least 40% of the bare Application's
# throughput, peak memory under 250 MB.
TARGET_P95_MS = 25.0
TARGET_SHARE = 0.40
TARGET_MEMORY_MB = 250.0

KINDS = ("cooperative_registration", "membership", "program_application", "membership_transfer")
STATUSES = ("submitted", "under_review", "needs_documents", "approved", "rejected", "completed")
NAMES = ("مریم", "علی", "زهرا", "حسین", "فاطمه", "رضا", "Sara", "Reza")
# What members type: words to search programs by, and free text no journey waits for.
SEARCHES = ("وام", "بیمه", "قرض الحسنه", "زنبورداری", "ضمانت", "بلاعوض", "وام کم بهره", "آموزش")
FREE_TEXT = ("سلام", "ممنون", "کی وام میدید؟", "hello", "خسته نباشید")


@dataclass(frozen=True)
class Sizes:
    users: int
    cooperatives: int
    applications: int


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--cooperatives", type=int, default=150_000)
    parser.add_argument("--applications", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=500, help="simulated members at once")
    parser.add_argument("--rounds", type=int, default=2, help="journeys each member makes")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="updates handled at once (default 1: each update's own handling time; `coopbot run` "
        "handles up to bot.updates.CONCURRENT_UPDATES chats at once)",
    )
    parser.add_argument("--seed", type=int, default=1404)
    parser.add_argument(
        "--transport",
        choices=("both", *TRANSPORTS),
        default="both",
        help="the Bot API in process, over loopback HTTP, or both in turn (default)",
    )
    args = parser.parse_args(argv)
    transports = list(TRANSPORTS) if args.transport == "both" else [args.transport]
    sizes = Sizes(args.users, args.cooperatives, args.applications)
    if args.members + WARM_MEMBERS > sizes.users or sizes.applications < 1:
        sys.exit(
            f"bench: --users must be at least --members + {WARM_MEMBERS} (who warm the caches), "
            "and --applications positive"
        )
    with (
        tempfile.TemporaryDirectory(prefix="coopbot-bench-") as folder,
        fake_api(delay=0.0) as port,
    ):
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        print("building the database (in a child process) ...", file=sys.stderr, flush=True)
        _fill_in_child(url, sizes, args.seed)
        run = _run(url, args.members, args.rounds, args.concurrency, args.seed, transports, port)
        return asyncio.run(run)


# --- the database, filled in a child process ---------------------------------------------------


def _fill_in_child(url: str, sizes: Sizes, seed: int) -> None:
    """Fill the database in another process, so that its memory is not counted as the bot's."""
    child = multiprocessing.get_context("spawn").Process(
        target=_fill_process, args=(url, sizes, seed)
    )
    child.start()
    child.join()
    if child.exitcode != 0:
        sys.exit(f"bench: filling the database failed (exit status {child.exitcode})")


def _fill_process(url: str, sizes: Sizes, seed: int) -> None:
    asyncio.run(_fill(url, sizes, seed))


async def _fill(url: str, sizes: Sizes, seed: int) -> None:
    engine = create_engine(url)
    started = time.perf_counter()

    def progress(what: str) -> None:
        print(f"  {time.perf_counter() - started:5.1f} s: {what}", file=sys.stderr, flush=True)

    try:
        await upgrade(engine)
        progress("migrated; the programs, through the importer ...")
        if not (await import_file(engine, "programs", PROGRAMS_CSV)).ok:
            sys.exit("bench: the reference programs were refused")
        progress(f"{sizes.cooperatives:,} cooperatives ...")
        now = dt.datetime.now(dt.UTC)
        rows = generate_cooperatives(sizes.cooperatives)
        await _insert(engine, {cooperatives: (cooperative_row(row, now) for row in rows)})
        del rows
        progress(f"{sizes.users:,} users and their subscriptions ...")
        rng = random.Random(seed)
        await _insert(engine, _members(rng, sizes.users, now))
        progress(f"{sizes.applications:,} applications and their history ...")
        await _insert(engine, _applications(rng, sizes.applications))
        async with engine.begin() as connection:
            await connection.exec_driver_sql("ANALYZE")
        progress("filled")
    finally:
        await engine.dispose()


Rows = Iterator[dict[str, Any]]
TableRows = dict[Table, Rows] | Iterator[tuple[Table, dict[str, Any]]]


async def _insert(engine: AsyncEngine, source: TableRows) -> None:
    """Core executemany in batches, one transaction, never more than a batch a table in memory.
    `source` gives (table, row) pairs in an order the foreign keys accept, or rows by table."""
    pairs = (
        ((table, row) for table, rows in source.items() for row in rows)
        if isinstance(source, dict)
        else source
    )
    batches: dict[Table, list[dict[str, Any]]] = {}
    async with engine.begin() as connection:
        for table, row in pairs:
            batch = batches.setdefault(table, [])
            batch.append(row)
            if len(batch) == BATCH:
                # Earlier tables first: a child row never goes in before its parent.
                for earlier, rows in batches.items():
                    if rows:
                        await connection.execute(insert(earlier), rows)
                    batches[earlier] = []
                    if earlier is table:
                        break
        for table, rows in batches.items():
            if rows:
                await connection.execute(insert(table), rows)


def _members(
    rng: random.Random, n: int, now: dt.datetime
) -> Iterator[tuple[Table, dict[str, Any]]]:
    """Returning members (setup done), most with a profile, some subscribed, a few muted or
    blocked; each member's row before their subscriptions."""
    counties = sorted(reference().counties.values(), key=lambda c: c.id)
    chains = list(reference().chains)
    for i in range(n):
        user_id = FIRST_USER_ID + i
        county = rng.choice(counties) if rng.random() < PROFILE_SHARE else None
        chain = rng.choice(chains) if county else None
        seen = now - dt.timedelta(days=90 * rng.random())
        yield (
            users,
            {
                "platform": PLATFORM,
                "user_id": user_id,
                "chat_id": user_id,
                "first_name": rng.choice(NAMES),
                "locale": "en" if rng.random() < 0.05 else "fa",
                "province_id": county.province_id if county else None,
                "county_id": county.id if county else None,
                "value_chain": chain,
                "setup_done": True,
                "blocked": rng.random() < BLOCKED_SHARE,
                "tags": pack(["rural"] if rng.random() < 0.3 else []),
                "first_seen": seen - dt.timedelta(days=300 * rng.random()),
                "last_seen": seen,
            },
        )
        key = {"platform": PLATFORM, "user_id": user_id}
        draw = rng.random()
        if draw < MUTED_SHARE:
            yield subscriptions, {**key, "topic": "mute", "value": "all"}
        elif county and chain and draw < SUBSCRIBED_SHARE:
            yield subscriptions, {**key, "topic": "chain", "value": chain}
            yield subscriptions, {**key, "topic": "province", "value": county.province_id}


def tracking_code(n: int) -> str:
    return f"BN{n:08d}"


def applicant_phone(n: int) -> str:
    return f"0913{n:07d}"


def _applications(rng: random.Random, n: int) -> Iterator[tuple[Table, dict[str, Any]]]:
    today = dt.date.today()
    recorded = dt.datetime.now(dt.UTC)
    for i in range(n):
        code = tracking_code(i)
        steps = rng.randint(1, 4)
        statuses = list(STATUSES[:steps])
        changed = [today - dt.timedelta(days=20 * (steps - k)) for k in range(steps)]
        yield (
            applications,
            {
                "tracking_code": code,
                "kind": rng.choice(KINDS),
                "subject": f"تعاونی نمونه {i}",
                "applicant_phone": applicant_phone(i),
                "status": statuses[-1],
                "updated_on": changed[-1],
                "note_fa": "پرونده در اداره تعاون شهرستان در حال بررسی است.",
                "note_en": "The county cooperative office is reviewing the file.",
                "demo": True,
            },
        )
        for status, on in zip(statuses, changed, strict=True):
            yield (
                application_history,
                {
                    "tracking_code": code,
                    "status": status,
                    "changed_on": on,
                    "recorded_at": recorded,
                },
            )


async def _counts(engine: AsyncEngine) -> dict[str, Any]:
    tables = {
        "users": users,
        "cooperatives": cooperatives,
        "programs": programs,
        "applications": applications,
        "history": application_history,
        "subscriptions": subscriptions,
    }
    async with engine.connect() as connection:
        found: dict[str, Any] = {
            name: (await connection.execute(select(func.count()).select_from(table))).scalar_one()
            for name, table in tables.items()
        }
        found["with profile"] = (
            await connection.execute(select(func.count()).where(users.c.value_chain.is_not(None)))
        ).scalar_one()
        version = (await connection.exec_driver_sql("SELECT sqlite_version()")).scalar()
    found["sqlite"] = version
    return found


# --- simulated members ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What one simulated member is and will type: their stored name, their application's code,
    the phone they share (usually the applicant's), a place near their county, words, chatter."""

    user_id: int
    first_name: str
    code: str
    phone: str
    lat: float
    lon: float
    words: str
    chatter: str


async def _plans(engine: AsyncEngine, count: int, seed: int) -> list[Plan]:
    """`count` distinct members drawn from the million, each with what they will do."""
    rng = random.Random(seed)
    async with engine.connect() as connection:
        total = (await connection.execute(select(func.count()).select_from(users))).scalar_one()
        applied = (
            await connection.execute(select(func.count()).select_from(applications))
        ).scalar_one()
        ids = [FIRST_USER_ID + i for i in rng.sample(range(total), count)]
        rows = {
            row.user_id: row
            for row in await connection.execute(
                select(users.c.user_id, users.c.first_name, users.c.county_id).where(
                    users.c.user_id.in_(ids)
                )
            )
        }
    counties = reference().counties
    plans = []
    for user_id in ids:
        row = rows[user_id]
        county = counties.get(row.county_id) or rng.choice(list(counties.values()))
        lat, lon = offset(
            county.lat, county.lon, LOCATION_JITTER_KM * rng.random(), rng.uniform(0, 2 * math.pi)
        )
        n = rng.randrange(applied)
        verified = rng.random() < VERIFIED_SHARE
        plans.append(
            Plan(
                user_id=user_id,
                first_name=row.first_name,
                code=tracking_code(n),
                phone=applicant_phone(n) if verified else f"0935{rng.randrange(10**7):07d}",
                lat=lat,
                lon=lon,
                words=rng.choice(SEARCHES),
                chatter=rng.choice(FREE_TEXT),
            )
        )
    return plans


# What a member did: ("text", "/start"), ("press", "prog:card:..."), ("location", (lat, lon)), ...
Step = tuple[str, Any]


@dataclass
class Clock:
    """Every update goes through here: at most `slots` are handled at once, and each one's
    handling (the time around `process_update`, nothing else) is recorded."""

    slots: asyncio.Semaphore
    timings: list[float] = field(default_factory=list)
    by_step: dict[str, list[float]] = field(default_factory=dict)
    missing: int = 0  # steps skipped because the button to press was not there
    silent: int = 0  # updates the bot answered with nothing in the member's chat

    async def handle(self, application: Application, update: Update, step: str) -> None:
        async with self.slots:
            started = time.perf_counter()
            await application.process_update(update)
            elapsed = time.perf_counter() - started
        self.timings.append(elapsed)
        self.by_step.setdefault(step, []).append(elapsed)


class Walker(Member):
    """A simulated member (bot/offline.py's, building the same updates) who keeps their own
    replies, since the double's call list is shared by everyone, and writes down what they did
    so that the bare Application can be sent the same updates."""

    def __init__(self, application: Application, api: OfflineBotApi, plan: Plan, clock: Clock):
        super().__init__(application, api, plan.user_id, plan.first_name, "fa")
        self.plan, self.clock = plan, clock
        self.rng = random.Random(plan.user_id)
        self.inbox: list[ApiCall] = []
        self.rounds: list[list[Step]] = []
        self.step = ""  # what the member is doing, for the figures by step

    async def _process(self, payload: dict[str, Any], chat_id: int | None = None) -> list[ApiCall]:
        update = Update.de_json(
            {"update_id": next(self._update_ids), **payload}, self.application.bot
        )
        first = len(self.inbox)
        await self.clock.handle(self.application, update, self.step)
        self.replies = self.inbox[first:]
        if not self.replies:
            self.clock.silent += 1
        return self.replies

    def new_round(self) -> None:
        self.inbox.clear()
        self.rounds.append([])

    async def say(self, text: str, step: str | None = None) -> None:
        self.rounds[-1].append(("text", text))
        self.step = step or text.split()[0]
        await self.send(text)

    async def contact(self, phone: str) -> None:
        self.rounds[-1].append(("contact", phone))
        self.step = "contact"
        await self.share_contact(phone)

    async def locate(self, lat: float, lon: float) -> None:
        self.rounds[-1].append(("location", (lat, lon)))
        self.step = "location"
        await self.share_location(lat, lon)

    async def sticker(self) -> None:
        self.rounds[-1].append(("sticker", None))
        self.step = "sticker"
        await self.send_sticker()

    def offered(self, prefix: str, avoid: str = "") -> tuple[list[str], dict[str, Any] | None]:
        """The buttons starting with `prefix` on the newest message that has any, and it."""
        for call in reversed(self.inbox):
            message = call.result
            if not isinstance(message, dict) or "message_id" not in message:
                continue
            found = [
                data
                for row in (message.get("reply_markup") or {}).get("inline_keyboard", [])
                for button in row
                if (data := button.get("callback_data", "")).startswith(prefix)
                and not (avoid and data.startswith(avoid))
            ]
            if found:
                return found, message
        return [], None

    async def tap(self, prefix: str, avoid: str = "") -> None:
        found, message = self.offered(prefix, avoid)
        if not found:
            self.clock.missing += 1
            return
        data = self.rng.choice(found)
        self.rounds[-1].append(("press", data))
        self.step = prefix.rstrip(":")
        await self.press_data(data, message)

    async def replay(self, steps: list[Step]) -> None:
        """The bare Application's member: the same updates, buttons pressed on the last reply."""
        for kind, arg in steps:
            if kind == "text":
                await self.send(arg)
            elif kind == "contact":
                await self.share_contact(arg)
            elif kind == "location":
                await self.share_location(*arg)
            elif kind == "sticker":
                await self.send_sticker()
            else:
                last = next(
                    (c.result for c in reversed(self.inbox) if c.method == "sendMessage"), None
                )
                await self.press_data(arg, last if isinstance(last, dict) else None)


async def journey(member: Walker) -> None:
    """One visit of a returning member: every journey, each step after the last one's answer."""
    plan = member.plan
    await member.say("/start")
    await member.say("/menu")
    await member.say("/programs")
    await member.tap("prog:list:", avoid="prog:list:mine")
    await member.tap("prog:card:")
    await member.say(plan.words, "search words")
    await member.say(f"/status {plan.code}", "/status CODE")
    await member.contact(plan.phone)
    await member.say("/nearby")
    if not member.offered("near:role:")[0]:
        await member.tap("near:chain:")  # no chain in their profile yet: they choose one first
    await member.tap("near:role:")
    await member.locate(plan.lat, plan.lon)
    await member.tap("near:map:")
    await member.say("/subscribe")
    await member.tap("sub:chain:")
    await member.say(plan.chatter, "free text")
    await member.sticker()


def _route(api: OfflineBotApi, walkers: Sequence[Walker]) -> None:
    """Hand each call the bot makes to the member whose chat it is for."""
    by_chat = {walker.chat_id: walker for walker in walkers}

    def route(call: ApiCall) -> None:
        walker = by_chat.get(call.chat_id) if call.chat_id is not None else None
        if walker is not None:
            walker.inbox.append(call)

    api.interceptor = route


def _forget(api: OfflineBotApi) -> None:
    """The double keeps every call and message; between rounds they are dropped, so that its
    memory is not what is measured (no member is half-way through a step then)."""
    api.calls.clear()
    api._messages.clear()


class LoopbackBotApi(OfflineBotApi):
    """The double, with every call also made over HTTP to the fake Bot API on 127.0.0.1 through
    python-telegram-bot's own HTTPXRequest, as `coopbot run` makes it: the request built, sent
    and its answer read, then the double's answer returned (the fake API's `true` would not do for
    the member, who reads buttons off the message). What the double costs is the same as in
    process; what this adds is the HTTP client's work that every real Bot API call costs."""

    def __init__(self, port: int) -> None:
        super().__init__()
        # The size python-telegram-bot's ApplicationBuilder gives the bot's own request.
        self.http = HTTPXRequest(connection_pool_size=256)
        self.base = f"http://127.0.0.1:{port}/bot{OFFLINE_TOKEN}/"

    async def initialize(self) -> None:
        await self.http.initialize()

    async def shutdown(self) -> None:
        await self.http.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = None,
        write_timeout: object = None,
        connect_timeout: object = None,
        pool_timeout: object = None,
    ) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        status, _ = await self.http.do_request(self.base + name, method, request_data)
        if status != 200:
            raise RuntimeError(f"the fake Bot API answered {name} with HTTP {status}")
        return await super().do_request(url, method, request_data)


def _api(port: int | None) -> OfflineBotApi:
    """The Bot API double: in process, or also over loopback HTTP when a fake API's port is given."""
    return OfflineBotApi() if port is None else LoopbackBotApi(port)


Script = Callable[[Walker], Awaitable[None]]


async def _rounds(
    api: OfflineBotApi, walkers: Sequence[Walker], rounds: int, script: Script
) -> float:
    started = time.perf_counter()
    for _ in range(rounds):
        _forget(api)
        for walker in walkers:
            walker.new_round()
        await asyncio.gather(*(script(walker) for walker in walkers))
    return time.perf_counter() - started


# --- the two applications ------------------------------------------------------------------------


@dataclass
class Figures:
    updates: int
    seconds: float
    timings: list[float]
    by_step: dict[str, list[float]]
    missing: int = 0
    silent: int = 0
    errors: int = 0

    @classmethod
    def of(cls, clock: Clock, seconds: float, errors: int = 0) -> Figures:
        return cls(
            len(clock.timings),
            seconds,
            clock.timings,
            clock.by_step,
            clock.missing,
            clock.silent,
            errors,
        )

    @property
    def rate(self) -> float:
        return self.updates / self.seconds

    def ms(self, p: int, step: str | None = None) -> float:
        timings = self.timings if step is None else self.by_step[step]
        if len(timings) < 2:
            return 1000 * timings[0]
        return 1000 * statistics.quantiles(timings, n=100, method="inclusive")[p - 1]


@dataclass
class Memory:
    traced_mb: float  # tracemalloc's peak: Python's own allocations, in the traced run
    rss_mb: float  # ru_maxrss: the process's resident peak, before the traced run


class ErrorCount(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


async def _bot(
    url: str,
    plans: list[Plan],
    warm: list[Plan],
    rounds: int,
    concurrency: int | None,
    port: int | None = None,
    trace: bool = True,
) -> tuple[Figures, Memory, list[Walker], int]:
    """The Application `coopbot run` builds, started as `coopbot run` starts it, so that its
    persistence writes conversation states on its interval (the outbox sender and the progress
    job are started only by run_polling and run_webhook, and have nothing to send here)."""
    settings = Settings(_env_file=None, database_url=url)
    engine = create_engine(url)
    api = _api(port)
    application = build_application(settings, engine, token=OFFLINE_TOKEN, request=api)
    errors = ErrorCount()
    logging.getLogger().addHandler(errors)
    try:
        async with application:
            await application.start()
            try:
                slots = concurrency or 1
                # Warm the caches (catalogs, compiled statements, the database's pages) first.
                await _rounds(api, _walkers(application, api, warm, slots), 1, journey)
                walkers = _walkers(application, api, plans, slots)
                seconds = await _rounds(api, walkers, rounds, journey)
                figures = Figures.of(walkers[0].clock, seconds, errors.count)
                memory = Memory(traced_mb=0.0, rss_mb=_max_rss_mb())
                if trace:
                    # The same journeys once more with tracemalloc on: it slows Python down too
                    # much to be on while timing, and its bookkeeping would count as the bot's RSS.
                    tracemalloc.start()
                    await _rounds(api, _walkers(application, api, plans, slots), rounds, journey)
                    memory.traced_mb = tracemalloc.get_traced_memory()[1] / 2**20
                    tracemalloc.stop()
            finally:
                await application.stop()
    finally:
        logging.getLogger().removeHandler(errors)
        await engine.dispose()
    return figures, memory, walkers, slots


def _walkers(
    application: Application, api: OfflineBotApi, plans: list[Plan], slots: int
) -> list[Walker]:
    clock = Clock(asyncio.Semaphore(slots))
    walkers = [Walker(application, api, plan, clock) for plan in plans]
    _route(api, walkers)
    return walkers


async def _ok(update: Update, context: Any) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer("ok")
    elif update.effective_chat is not None:
        await context.bot.send_message(update.effective_chat.id, "ok")


def _reading_the_member(engine: AsyncEngine) -> Callable[[Update, Any], Coroutine[Any, Any, None]]:
    """The floor's handler: what every update of the bot does first (bot.app.load_member reads
    the member's row, one query), then the same "ok"."""

    async def ok(update: Update, context: Any) -> None:
        user, chat = update.effective_user, update.effective_chat
        assert user is not None and chat is not None
        await touch(engine, PLATFORM, user.id, chat.id, user.first_name or "")
        await _ok(update, context)

    return ok


async def _bare(
    walkers: list[Walker], slots: int, port: int | None = None, url: str | None = None
) -> Figures:
    """The ceiling: the same builder and offline request, no persistence, one handler for
    messages and one for buttons, each answering "ok" with one Bot API call; the same updates,
    as many at once. With `url`, the floor: each handler reads the member from that database
    first, as every update of the bot does before any journey step."""
    settings = Settings(_env_file=None)
    api = _api(port)
    engine = create_engine(url) if url is not None else None
    handler = _ok if engine is None else _reading_the_member(engine)
    application = (
        Application.builder()
        .token(OFFLINE_TOKEN)
        .base_url(settings.api_base_url)
        .base_file_url(settings.api_file_url)
        .request(api)
        .get_updates_request(api)
        .updater(None)
        .build()
    )
    application.add_handler(MessageHandler(filters.ALL, handler))
    application.add_handler(CallbackQueryHandler(handler))
    async with application:
        await application.start()
        try:
            bare = _walkers(application, api, [w.plan for w in walkers], slots)
            started = time.perf_counter()
            for number in range(len(walkers[0].rounds)):
                _forget(api)
                for member in bare:
                    member.inbox.clear()
                await asyncio.gather(
                    *(m.replay(w.rounds[number]) for m, w in zip(bare, walkers, strict=True))
                )
            seconds = time.perf_counter() - started
        finally:
            await application.stop()
            if engine is not None:
                await engine.dispose()
    return Figures.of(bare[0].clock, seconds)


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


TRANSPORTS = {
    "process": "the Bot API double in process (the bot's own work only)",
    "http": "every Bot API call also over HTTP to a fake API on 127.0.0.1 (as deployed)",
}


@dataclass
class Pair:
    """The bot, the bare Application and the floor, the same updates, one transport."""

    transport: str
    bot: Figures
    bare: Figures
    floor: Figures

    @property
    def share(self) -> float:
        return self.bot.rate / self.bare.rate


async def _run(
    url: str,
    members: int,
    rounds: int,
    concurrency: int | None,
    seed: int,
    transports: Sequence[str],
    port: int | None,
) -> int:
    engine = create_engine(url)
    try:
        counts = await _counts(engine)
        everyone = await _plans(engine, members + WARM_MEMBERS, seed)
    finally:
        await engine.dispose()
    plans, warm = everyone[:members], everyone[members:]
    pairs, memory, slots = [], None, 0
    for transport in transports:
        say = f"[{transport}] timing the bot"
        trace = memory is None  # tracemalloc once, on the first transport
        print(say + (", then again with tracemalloc on ..." if trace else " ..."), file=sys.stderr)
        where = port if transport == "http" else None
        bot, measured, walkers, slots = await _bot(
            url, plans, warm, rounds, concurrency, where, trace
        )
        memory = measured if trace else memory
        print(f"[{transport}] timing the bare Application ...", file=sys.stderr, flush=True)
        bare = await _bare(walkers, slots, where)
        print(f"[{transport}] timing the floor ...", file=sys.stderr, flush=True)
        floor = await _bare(walkers, slots, where, url)
        pairs.append(Pair(transport, bot, bare, floor))
    assert memory is not None
    return _report(counts, members, rounds, slots, pairs, memory)


def _report(
    counts: dict[str, Any],
    members: int,
    rounds: int,
    slots: int,
    pairs: list[Pair],
    memory: Memory,
) -> int:
    first = pairs[0].bot
    lines = [
        "journeys benchmark: members' journeys through the real Application, beside a bare one",
        f"machine: {os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}",
        f"database: SQLite {counts['sqlite']}, {counts['users']:,} users "
        f"({counts['with profile']:,} with a profile), {counts['subscriptions']:,} subscriptions, "
        f"{counts['cooperatives']:,} cooperatives, {counts['programs']:,} programs, "
        f"{counts['applications']:,} applications ({counts['history']:,} history rows)",
        f"load: {members:,} members at once, each making {rounds} visits of every journey "
        f"({first.updates / (members * rounds):.0f} updates a visit), {first.updates:,} updates, "
        f"at most {slots} handled at once (--concurrency; `coopbot run` handles up to "
        f"{CONCURRENT_UPDATES} chats at once)",
    ]
    for pair in pairs:
        bot, bare, floor = pair.bot, pair.bare, pair.floor
        steps = sorted(bot.by_step, key=lambda step: -bot.ms(95, step))
        lines += [
            f"[{pair.transport}] {TRANSPORTS[pair.transport]}",
            f"  bot   {bot.updates:,} updates in {bot.seconds:.1f} s = {bot.rate:,.0f} updates/s; "
            f"handling p50 {bot.ms(50):.2f} ms  p95 {bot.ms(95):.2f} ms  p99 {bot.ms(99):.2f} ms",
            "        by step, p50 / p95 ms: "
            + ", ".join(
                f"{step} {bot.ms(50, step):.1f} / {bot.ms(95, step):.1f}" for step in steps
            ),
            f"  bare  {bare.updates:,} updates in {bare.seconds:.1f} s = {bare.rate:,.0f} updates/s; "
            f"handling p50 {bare.ms(50):.2f} ms  p95 {bare.ms(95):.2f} ms  p99 {bare.ms(99):.2f} ms "
            '(the baseline: a bare Application answering every update with one "ok")',
            f"  floor {floor.updates:,} updates in {floor.seconds:.1f} s = {floor.rate:,.0f} "
            f"updates/s; handling p50 {floor.ms(50):.2f} ms  p95 {floor.ms(95):.2f} ms (the bare "
            "Application that first reads the member, one query, as every update of the bot does)",
            f"  throughput: bot / bare = {pair.share:.0%}; floor / bare = "
            f"{floor.rate / bare.rate:.0%} (the most any bot reading its members from this "
            f"database reaches); bot / floor = {bot.rate / floor.rate:.0%}",
            f"  answers: {bot.silent} updates unanswered, {bot.missing} buttons not found, "
            f"{bot.errors} errors logged",
        ]
    lines.append(
        f"memory: max RSS {memory.rss_mb:.0f} MB (ru_maxrss, the process's resident peak up to "
        f"the end of the first timed run; the database was filled in a child process); "
        f"tracemalloc peak {memory.traced_mb:.0f} MB (Python objects, the same journeys run "
        "again traced)"
    )
    passed = True
    for pair in pairs:
        bot, bare = pair.bot, pair.bare
        fast = bot.ms(95) < TARGET_P95_MS
        enough = pair.share >= TARGET_SHARE
        answered = bot.silent == bot.missing == bot.errors == 0 and bare.updates == bot.updates
        passed = passed and fast and enough and answered
        lines += [
            f"[{pair.transport}] target handling p95 < {TARGET_P95_MS:.0f} ms: "
            f"{'PASS' if fast else 'FAIL'}",
            f"[{pair.transport}] target throughput >= {TARGET_SHARE:.0%} of bare: "
            f"{'PASS' if enough else 'FAIL'}",
            f"[{pair.transport}] every update answered, no errors: "
            f"{'PASS' if answered else 'FAIL'}",
        ]
    small = max(memory.rss_mb, memory.traced_mb) < TARGET_MEMORY_MB
    lines.append(
        f"target peak memory < {TARGET_MEMORY_MB:.0f} MB (max RSS and tracemalloc peak): "
        f"{'PASS' if small else 'FAIL'}"
    )
    print("\n".join(lines))
    return 0 if passed and small else 1


if __name__ == "__main__":
    sys.exit(main())
