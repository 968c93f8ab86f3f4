"""Robustness: three members (one of them staff) talk to the bot at random through every journey.

They type Persian, Arabic and Latin text (odd digits, half-spaces, diacritics, emoji, 4096
characters, bare whitespace), send every command the bot knows and some it does not, press the
buttons they see and buttons that are stale, forged or garbled, share places and contacts, and send
stickers, photos, voice and files. Whatever they do, nothing reaches the error handler, every update
is answered (a button press exactly once), and the bot sends nothing the Bot API would refuse.

Then the same where the bugs were (Crowds): they also write and press in groups and a channel, send
their updates all at once through the running bot's update queue, while the database goes away and
comes back and the outbox sender works through announcements. Nothing reaches the error handler but
the outage, and then the member got the apology; a private chat is never left silent; a group hears
nothing but the one invitation, a channel nothing at all; and every announcement reaches each of its
members exactly once once the database is back.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
import os
import shutil
import string
import sys
import traceback
from collections import Counter
from collections.abc import Coroutine
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from asyncpg.exceptions import CannotConnectNowError
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import event, insert, select
from sqlalchemy import update as sql_update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update
from telegram.ext import Application, TypeHandler
from telegram.request import RequestData

from bot import sender as sender_module
from bot.app import build_application
from bot.i18n import LOCALES, all_translations, translator
from bot.keyboards import MAIN_MENU_ROWS
from bot.offline import (
    BOT_USER,
    OFFLINE_TOKEN,
    SEND_METHODS,
    ApiCall,
    BotApiError,
    Member,
    OfflineBotApi,
)
from bot.sender import Sender
from bot.settings import Settings
from db import outbox, users
from db.engine import create_engine
from db.import_rows import IDENTIFIER_LIMIT
from db.models import pack
from db.reference import reference
from db.schema import (
    application_history,
    applications,
    cooperatives,
    deliveries,
    programs,
    value_chains,
)
from db.schema import users as users_table
from db.text import search_key
from handlers import broadcast
from tests.conftest import ADMIN_ID, ErrorLog, _pg_admin, _pg_database

MEMBERS = ((1001, "Maryam", "fa"), (1002, "Reza", "en"), (ADMIN_ID, "Zahra", None))
PHONE = "09121234567"
CODE = "AB123456"
KERMAN = reference().counties[194]
# The longest program id and chain code an import accepts (db/import_rows.py): the buttons that
# carry them are drawn at their largest.
LONG_PROGRAM = "p" * IDENTIFIER_LIMIT
LONG_CHAIN = "c" * 32

# --- what members type -------------------------------------------------------------------------

PERSIAN = "ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهیآ"
ARABIC = "يكةىأإؤئءۀ\u0640"  # Arabic letters Persian readers meet, and the tatweel
DIACRITICS = "\u064b\u064c\u064d\u064e\u064f\u0650\u0651\u0652\u0670"
DIGITS = "0123456789۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩"
MARKS = "\u200c\u200d\u200e\u200f\u202b\u202c\u00a0\ufeff"
PUNCTUATION = " .,-_/:;!?؟،؛«»{}%()[]<>\"'\\@#*\n\t"
EMOJI = ("🐝", "👍🏽", "🇮🇷", "❤️", "👨‍👩‍👧", "🍯")
CHARACTERS = PERSIAN + ARABIC + DIACRITICS + DIGITS + MARKS + PUNCTUATION + string.ascii_letters

MENU_LABELS = sorted(
    {label for row in MAIN_MENU_ROWS for message in row for label in all_translations(message)}
)
WORDS = (
    "کرمان",
    "كرمان",
    "Kerman",
    "رفسنجان",
    "بم",
    "تهران",
    "سیستان و بلوچستان",
    "Sistan",
    "ک",
    "وام",
    "وام زنبورداری",
    "بیمه",
    "insurance",
    "beekeeping loan",
    "تسهيلات",
    CODE,
    "ab-۱۲۳-۴۵۶",
    "AB ١٢٣٤٥٦",
    "CD7654321",
    "ZZ999999",
    PHONE,
    "+98 912 123 4567",
    "۰۹۱۲۱۲۳۴۵۶۷",
    "برنامه‌ها",
    "تعاونی‌ها",
    "programs",
    "↩️ فعلاً نه",
    "↩️ Not now",
    "🗺 انتخاب استان و شهرستان",
    "فارسی",
    "English",
    "بله",
    "Yes",
    "{name}",
    "%s %d",
)
WHITESPACE = (" ", "  \n ", "\u200c", " \u200c ", "\u00a0", "\t", "\u0640", "\u200f\u200e")

glyphs = st.one_of(st.sampled_from(CHARACTERS), st.sampled_from(EMOJI))
mixed_text = st.lists(glyphs, min_size=1, max_size=40).map("".join)
long_text = st.builds(
    lambda piece, length: (piece * length)[:length],
    st.one_of(mixed_text, st.sampled_from(WORDS)),
    st.sampled_from([300, 1000, 4000, 4096]),
)
texts = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from(MENU_LABELS),
    mixed_text,
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=30),
    st.sampled_from(WHITESPACE),
    long_text,
)
captions = st.one_of(
    st.none(), st.sampled_from(WORDS), mixed_text, long_text.map(lambda s: s[:1024])
)

COMMANDS = (
    "/start",
    "/menu",
    "/help",
    "/language",
    "/cancel",
    "/programs",
    "/status",
    "/nearby",
    "/subscribe",
    "/broadcast",
    "/admin",
    "/stats",
    "/unknown",
    "/START",
    "/menu@coopbot_offline_bot",
    "/menu@some_other_bot",
    "/",
)
ARGUMENTS = st.one_of(
    st.none(),
    st.sampled_from([CODE, "ab-۱۲۳-۴۵۶", "۱۲۳", "status_" + CODE, "status_", "status_ZZ999999"]),
    st.sampled_from(["grant 1001", "revoke 1001", "grant ۱۰۰۲", "grant 9001", "revoke 9001"]),
    st.sampled_from(["grant " + "9" * 30, "grant -5", "grant", "week", "x" * 200]),
    mixed_text,
)
# Where journeys begin: commands (a deep link too) and the main menu's buttons.
ENTRIES = (
    "/start",
    "/programs",
    "/status",
    "/status " + CODE,
    "/start status_" + CODE,
    "/nearby",
    "/subscribe",
    "/language",
    "/broadcast",
    "/menu",
    *MENU_LABELS,
)
commands = st.builds(
    lambda command, argument: command if argument is None else f"{command} {argument}",
    st.sampled_from(COMMANDS),
    ARGUMENTS,
)

# --- buttons that are stale, forged or garbled ---------------------------------------------------

_real_args = st.one_of(
    st.sampled_from(
        [
            "",
            "0",
            "1",
            "7",
            "99",
            "fa",
            "en",
            "ar",
            "IR-08",
            "IR-99",
            "08.0",
            "08.99",
            "99.0",
            "08.",
            str(KERMAN.id),
            "beekeeping",
            "poultry",
            "silk",
            LONG_CHAIN,
            "province",
            "county",
            "chain",
            "mine.0",
            "mine.9999",
            "s.0",
            "loan.0",
            "loan",
            "grant.1",
            ".0",
            "bees.loan.0",
            "bees",
            f"{LONG_PROGRAM}.guarantee.0",
            "women.1",
            "women.",
            "nothing.1",
            "beekeeping.any",
            "beekeeping.production",
            "beekeeping.nothing",
            "silk.any",
            CODE,
            "ZZ999999",
            "1.beekeeping",
            "1.IR-08",
            "1.0",
            "1",
            "9" * 48,
            "0" * 48,
            "-1",
            "1e9",
            "..",
        ]
    ),
    st.text(string.ascii_letters + string.digits + "_-.", max_size=48),
)
_journeys = st.sampled_from(["start", "prog", "status", "near", "sub", "lang", "bc", "adm", "x"])
_actions = st.sampled_from(
    "lang provs prov cpage county chain skip home list card words ask yes no watch chains role "
    "page map tel none show done set ch pv p aud pre go x stop".split()
)
shaped_data = st.builds(lambda j, a, arg: f"{j}:{a}:{arg}", _journeys, _actions, _real_args)


def _fits(data: str) -> str:
    """Cut to the 64 bytes a button may carry, without splitting a character."""
    return data.encode()[:64].decode(errors="ignore")


garbled_data = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=64).map(_fits),
    st.text(CHARACTERS, max_size=64).map(_fits),
    st.builds(lambda data, cut: data[:cut], shaped_data, st.integers(0, 20)),
    st.sampled_from(["::", "start", "start:", "start::", "prog:card:", "near:map:", "a:b:c:d"]),
)

# --- places, contacts, files --------------------------------------------------------------------

near_kerman = st.tuples(
    st.floats(KERMAN.lat - 0.5, KERMAN.lat + 0.5), st.floats(KERMAN.lon - 0.5, KERMAN.lon + 0.5)
)
points = st.one_of(
    near_kerman,
    st.tuples(st.floats(25, 40), st.floats(44, 64)),
    st.tuples(st.floats(-90, 90), st.floats(-180, 180)),
    st.tuples(st.sampled_from([91.0, -91.0, 90.0, 1e9, 0.0]), st.floats(-1e9, 1e9)),
)
phones = st.one_of(
    st.sampled_from(
        [PHONE, "989121234567", "+989121234567", "00989121234567", "۰۹۱۲۱۲۳۴۵۶۷", "09350000000"]
    ),
    st.text(DIGITS + "+- ", min_size=1, max_size=20),
    mixed_text,
)
PROGRAMS_CSV = (
    f"program_id,title_fa,category,summary_fa\n{LONG_PROGRAM[:-1]}z,وام تازه,loan,خلاصه\n"
).encode()
# A new status for the seeded application, and back: the members watching it get a notice.
APPLICATIONS_CSVS = [
    (
        "tracking_code,kind,subject,applicant_phone,status,updated_on,note_fa\n"
        f"{CODE},membership,تعاونی بم ۱۲,{PHONE},{status},{day},مدارک را ببرید.\n"
    ).encode()
    for status, day in (("approved", "1405/08/20"), ("needs_documents", "1405/08/21"))
]
files = st.tuples(
    st.sampled_from(["list.csv", "list.xlsx", "list.pdf", "list", "فهرست.CSV"]),
    st.one_of(
        st.sampled_from(
            [
                PROGRAMS_CSV,
                *APPLICATIONS_CSVS,
                b"",
                b"\x00\xff\xfe",
                b"PK\x03\x04broken",
                "a;b\n1;2".encode("cp1256"),
            ]
        ),
        st.binary(max_size=200),
        mixed_text.map(str.encode),
    ),
    st.one_of(
        captions,
        st.sampled_from(["programs", "برنامه‌ها آزمایشی", "cooperatives dry-run", "applications"]),
    ),
)


# --- the seeded database ---------------------------------------------------------------------------


async def seed(engine: AsyncEngine) -> None:
    """Programs, applications and cooperatives for the journeys to find; one member set up already."""
    now = dt.datetime.now(dt.UTC)
    program_rows: list[dict[str, Any]] = [
        {"program_id": "bees", "title_fa": "وام زنبورداری", "title_en": "Beekeeping loan",
         "category": "loan", "summary_fa": "وام کم‌بهره.", "value_chains": pack(["beekeeping"]),
         "provinces": pack(["IR-08"]), "closes_on": dt.date(2031, 3, 20),
         "how_to_apply_fa": "به بانک بروید."},
        {"program_id": "old", "title_fa": "تسهیلات قدیمی ۱۴۰۰", "category": "loan",
         "summary_fa": "بسته.", "closes_on": dt.date(2020, 1, 1)},
        {"program_id": "women", "title_fa": "کمک بلاعوض", "category": "grant",
         "summary_fa": "برای زنان.", "eligibility": pack(["women", "rural"]),
         "opens_on": dt.date(2030, 1, 1)},
        {"program_id": LONG_PROGRAM, "title_fa": "ضمانت " * 40, "category": "guarantee",
         "summary_fa": "ض" * 3000, "provider_fa": "صندوق", "value_chains": pack([LONG_CHAIN])},
    ]  # fmt: skip
    program_rows += [
        {"program_id": f"ins{n}", "title_fa": f"بیمه {n}", "category": "insurance",
         "summary_fa": "بیمه."}
        for n in range(8)
    ]  # fmt: skip
    for row in program_rows:
        row["updated_at"] = now
        row["search_text"] = search_key(f"{row['title_fa']} {row['summary_fa']}")
    coop_rows = [
        {"national_id": f"1000000000{n}", "name": f"تعاونی زنبورداران {n}", "name_key": "x",
         "value_chain": "beekeeping" if n < 8 else LONG_CHAIN,
         "role": ["production", "processing", None][n % 3], "province_id": KERMAN.province_id,
         "county_id": KERMAN.id, "lat": KERMAN.lat + n / 100, "lon": KERMAN.lon,
         "phone": "034-3222110" + str(n) if n % 2 else "", "members": n or None,
         "active": n != 3, "updated_at": now}
        for n in range(10)
    ]  # fmt: skip
    async with engine.begin() as connection:
        await connection.execute(
            insert(value_chains).values(code=LONG_CHAIN, name_fa="زنجيرهٔ بلند ك", name_en="")
        )
        for row in program_rows:
            await connection.execute(insert(programs).values(**row))
        await connection.execute(insert(cooperatives), coop_rows)
        await connection.execute(
            insert(applications),
            [
                {"tracking_code": CODE, "kind": "membership", "subject": "تعاونی بم ۱۲",
                 "applicant_phone": PHONE, "status": "needs_documents",
                 "updated_on": dt.date(2026, 11, 1), "note_fa": "مدارک را ببرید."},
                # Codes no import writes: the labels fall back to the code itself.
                {"tracking_code": "CD7654321", "kind": "unknown_kind", "subject": "x",
                 "applicant_phone": "09350000000", "status": "unknown_status",
                 "updated_on": dt.date(2026, 1, 1), "note_fa": ""},
            ],
        )  # fmt: skip
        history = [("submitted", dt.date(2026, 10, 20)), ("needs_documents", dt.date(2026, 11, 1))]
        await connection.execute(
            insert(application_history),
            [
                {"tracking_code": CODE, "status": status, "changed_on": day, "recorded_at": now}
                for status, day in history
            ],
        )
    await users.touch(engine, "telegram", 1002, 1002, "Reza")
    await users.update_profile(
        engine,
        "telegram",
        1002,
        locale="en",
        province_id=KERMAN.province_id,
        county_id=KERMAN.id,
        value_chain="beekeeping",
        setup_done=True,
    )


# --- what the Bot API would refuse -------------------------------------------------------------------


def refusals(call: ApiCall) -> list[str]:
    """Why the real Bot API would answer this call with an error (the offline double is lenient)."""
    found = []
    text = call.text
    if call.method in ("sendMessage", "editMessageText") and not (text or "").strip():
        found.append("an empty message")
    if text is not None:
        limit = 4096  # a message's text
        if call.method == "answerCallbackQuery":
            limit = 200
        elif "caption" in call.params:
            limit = 1024
        if len(text) > limit:
            found.append(f"{len(text)} characters, more than {limit}")
        if "Traceback" in text:
            found.append("a traceback")
    for row in (call.markup or {}).get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data", "")
            if not button["text"].strip():
                found.append("a button without a label")
            if not 1 <= len(data.encode()) <= 64:
                found.append(f"callback data of {len(data.encode())} bytes")
    for row in (call.markup or {}).get("keyboard", []):
        for button in row:
            label = button if isinstance(button, str) else button["text"]
            if not label.strip():
                found.append("a keyboard button without a label")
    return found


Button = tuple[str, dict[str, Any] | None, dict[str, Any]]


def _just_shown(member: Member, message: dict[str, Any] | None) -> bool:
    """Whether the last answer sent or edited this message (None: a reply keyboard it sent)."""
    if message is None:
        return any(call.is_reply_keyboard for call in member.replies)
    return any(
        isinstance(call.result, dict) and call.result.get("message_id") == message["message_id"]
        for call in member.replies
    )


# Which of the buttons on screen a member presses (by its place among them), and the place or
# number the button may ask to share. Drawn alike whatever is on screen: that may differ between
# two runs of one example once updates were handled at once, and hypothesis must draw the same.
presses = st.tuples(
    st.integers(0, 1023), st.one_of(near_kerman, points), st.one_of(st.just(PHONE), phones)
)
Press = tuple[int, tuple[float, float], str]


def pick(options: list[Any], index: int) -> Any:
    return options[index % len(options)]


def pressing(member: Member, shown: list[Button], press: Press) -> Coroutine[Any, Any, Any]:
    """The update a press of one of these buttons sends: a button press, a shared place or
    number, or the label as text (a reply keyboard's button)."""
    index, point, phone = press
    _, message, button = pick(shown, index)
    if message is not None:
        return member.press_data(button.get("callback_data", ""), message)
    if button.get("request_location"):
        return member.share_location(*point)
    if button.get("request_contact"):
        return member.share_contact(phone)
    return member.send(button["text"])


# --- the members ----------------------------------------------------------------------------------


class Visitor(Member):
    """A member whose updates the bot handles one at a time, as they come; or, while `crowd` is a
    list, who adds them to it for the crowd to hand over together."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent: list[Update] = []  # every update this member sent, in order
        self.crowd: list[Update] | None = None

    async def hand_over(self, update: Update) -> None:
        self.sent.append(update)
        if self.crowd is not None:
            self.crowd.append(update)
        else:
            await super().hand_over(update)


_databases = itertools.count(1)
members = st.integers(0, len(MEMBERS) - 1)


class Conversations(RuleBasedStateMachine):
    """One fresh database and bot per example; each rule is one update from one member (a few
    for a journey followed), checked as it is answered."""

    template: Path  # the migrated database each example starts from a copy of
    directory: Path

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.url = self.run(self.new_database())
        config = Settings(_env_file=None, database_url=self.url, admin_ids=frozenset({ADMIN_ID}))
        self.engine = create_engine(config.database_url)
        self.api = self.bot_api()
        self.application: Application = build_application(
            config, self.engine, token=OFFLINE_TOKEN, request=self.api
        )
        self.errors: list[tuple[object, BaseException]] = []
        self.application.add_error_handler(self._record_error)
        self.logged = ErrorLog()
        logging.getLogger().addHandler(self.logged)
        self.run(seed(self.engine))
        self.run(self.application.initialize())
        self.members = [
            Visitor(self.application, self.api, user_id, first_name, language_code)
            for user_id, first_name, language_code in MEMBERS
        ]
        self.seen_data: list[str] = []

    async def new_database(self) -> str:
        """This example's database: a copy of the migrated one."""
        path = self.directory / f"robust{next(_databases)}.db"
        shutil.copy(self.template, path)
        return f"sqlite+aiosqlite:///{path}"

    def bot_api(self) -> OfflineBotApi:
        return OfflineBotApi()

    async def _record_error(self, update: object, context: Any) -> None:
        self.errors.append((update, context.error))

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    async def drop_database(self) -> None:
        """Nothing to do: the copy goes with the test's temporary directory."""

    def teardown(self) -> None:
        logging.getLogger().removeHandler(self.logged)
        self.run(self.application.shutdown())
        self.run(self.engine.dispose())
        self.run(self.drop_database())
        self.loop.close()

    def step(
        self, member: Member, coroutine: Any, *, press: bool = False, edit: bool = False
    ) -> None:
        """Run one update and check what came of it."""
        before = len(self.api.calls)
        self.run(coroutine)
        if self.errors:
            error = self.errors[0][1]
            raise AssertionError("an update failed:\n" + "".join(traceback.format_exception(error)))
        assert not self.logged.records, [self.logged.format(r) for r in self.logged.records]
        if not edit:
            assert member.replies, "the bot made no call in answer"
        if press:
            answers = [c for c in member.replies if c.method == "answerCallbackQuery"]
            assert len(answers) == 1, f"the press was answered {len(answers)} times"
        for call in self.api.calls[before:]:
            problems = refusals(call)
            assert not problems, (
                f"the Bot API would refuse {call.method}: {problems}: {call.text!r:.300}"
            )
            for row in call.inline_data:
                self.seen_data.extend(d for d in row if d not in self.seen_data)

    # --- rules ---------------------------------------------------------------------------------

    def press(self, member: Member, shown: list[Button], press: Press) -> None:
        """Press a button the member sees: an inline one, or one of the reply keyboard's."""
        inline = pick(shown, press[0])[1] is not None
        self.step(member, pressing(member, shown, press), press=inline)

    @rule(who=members, entry=st.sampled_from(ENTRIES), steps=st.integers(1, 8), data=st.data())
    def follow_a_journey(self, who: int, entry: str, steps: int, data: st.DataObject) -> None:
        """A command or menu button, then what each answer asks for: one of the buttons it
        shows, or else some typed words."""
        member = self.members[who]
        self.step(member, member.send(entry))
        for _ in range(steps):
            press = data.draw(presses, label="press")
            typed = data.draw(st.one_of(st.sampled_from(WORDS), texts), label="typed")
            shown = [b for b in member.buttons() if _just_shown(member, b[1])]
            if shown:
                self.press(member, shown, press)
            else:
                self.step(member, member.send(typed))

    @rule(who=members, presses=st.lists(presses, min_size=1, max_size=6))
    def press_buttons_they_see(self, who: int, presses: list[Press]) -> None:
        """Any buttons on the member's screen, on old messages too, a few in a row."""
        member = self.members[who]
        for press in presses:
            buttons = member.buttons()
            if not buttons:
                self.step(member, member.send("/menu"))
                continue
            self.press(member, buttons, press)

    @rule(who=members, callback=st.integers(0, 1023), message=st.integers(0, 1023))
    def press_an_old_button(self, who: int, callback: int, message: int) -> None:
        """A button seen by anyone (staff's too), on a message still there or long gone."""
        member = self.members[who]
        if not self.seen_data:
            self.step(member, member.send("/programs"))
            return
        on_screen = self.api.messages_in(member.chat_id)
        self.step(
            member,
            member.press_data(pick(self.seen_data, callback), pick([None, *on_screen], message)),
            press=True,
        )

    @rule(who=members, callback=st.one_of(shaped_data, garbled_data), gone=st.booleans())
    def press_a_forged_button(self, who: int, callback: str, gone: bool) -> None:
        member = self.members[who]
        on_screen = self.api.messages_in(member.chat_id)
        message = None if gone or not on_screen else on_screen[-1]
        self.step(member, member.press_data(callback, message), press=True)

    @rule(who=members, text=texts)
    def type_text(self, who: int, text: str) -> None:
        member = self.members[who]
        self.step(member, member.send(text))

    @rule(who=members, command=commands)
    def send_a_command(self, who: int, command: str) -> None:
        member = self.members[who]
        self.step(member, member.send(command))

    @rule(who=members, text=texts)
    def edit_a_message(self, who: int, text: str) -> None:
        member = self.members[who]
        message = member._message(text=text)
        message["edit_date"] = message["date"]
        self.step(member, member._process({"edited_message": message}), edit=True)

    @rule(who=members, point=points)
    def share_a_location(self, who: int, point: tuple[float, float]) -> None:
        member = self.members[who]
        self.step(member, member.share_location(*point))

    @rule(who=members, phone=phones, own=st.booleans())
    def share_a_contact(self, who: int, phone: str, own: bool) -> None:
        member = self.members[who]
        self.step(member, member.share_contact(phone, own=own))

    @rule(who=members, kind=st.sampled_from(["sticker", "photo", "voice"]), caption=captions)
    def send_media(self, who: int, kind: str, caption: str | None) -> None:
        member = self.members[who]
        sent = {
            "sticker": member.send_sticker,
            "voice": member.send_voice,
            "photo": lambda: member.send_photo(caption),
        }[kind]()
        self.step(member, sent)

    @rule(who=members, file=files)
    def send_a_file(self, who: int, file: tuple[str, bytes, str | None]) -> None:
        member = self.members[who]
        name, content, caption = file
        self.step(member, member.send_document(name, content, caption))


# --- groups and channels, crowds, outages and the outbox -------------------------------------------

GROUP: dict[str, Any] = {"id": -4242, "type": "group", "title": "زنبورداران"}
SUPERGROUP: dict[str, Any] = {"id": -100777, "type": "supergroup", "title": "تعاونی زنبورداران"}
# A supergroup whose admins took the bot's right to write: the Bot API refuses whatever it sends.
MUTED: dict[str, Any] = {"id": -100888, "type": "supergroup", "title": "Read only"}
CHANNEL: dict[str, Any] = {"id": -100999, "type": "channel", "title": "اخبار تعاونی"}
GROUPS = (GROUP, SUPERGROUP, MUTED)
CANNOT_WRITE = "Bad Request: not enough rights to send text messages to the chat"
# Telegram's account behind an anonymous group admin: messages "from" it are no member's.
ANONYMOUS_ADMIN = 1087968824
# Members who never write but are in announcements' audiences; the last has blocked the bot.
QUIET = range(5001, 5013)
BLOCKED = QUIET[-1]
PAST = dt.datetime(2000, 1, 1)
LINK = f"https://t.me/{BOT_USER['username']}"
INVITATIONS = {
    translator(locale)
    ._("I answer in a private chat only: open {link} and send /start there.")
    .format(link=LINK)
    for locale in LOCALES
}
APOLOGIES = {
    translator(locale)._(
        "Sorry, something went wrong on our side. Please try again, or send /menu."
    )
    for locale in LOCALES
}
# What no handler should take long over: a crowd not handled by then is stuck (a lost update, a
# lock never released), and the test fails rather than hangs.
STUCK_S = 120.0

group_commands = st.one_of(
    commands,
    st.sampled_from(["/start@CoopBot_Offline_Bot", "/help@coopbot_offline_bot hi", "/@x", "/ x"]),
)
group_texts = st.one_of(group_commands, texts)
SERVICE = (
    {"new_chat_members": [BOT_USER]},
    {"left_chat_member": BOT_USER},
    {"new_chat_title": "تعاونی تازه"},
    {"group_chat_created": True},
    {"pinned_message": {"message_id": 1, "date": 0, "chat": GROUP, "text": "/start"}},
)
MEDIA: tuple[dict[str, Any], ...] = (
    {"sticker": {"file_id": "sticker1", "file_unique_id": "s1", "type": "regular", "width": 512,
                 "height": 512, "is_animated": False, "is_video": False}},
    {"photo": [{"file_id": "photo1", "file_unique_id": "p1", "width": 90, "height": 90}],
     "caption": "/start"},
    {"voice": {"file_id": "voice1", "file_unique_id": "v1", "duration": 3}},
    {"location": {"latitude": KERMAN.lat, "longitude": KERMAN.lon}},
    {"contact": {"phone_number": PHONE, "first_name": "Maryam"}},
    {"document": {"file_id": "doc0", "file_unique_id": "d0", "file_name": "list.csv"},
     "caption": "programs"},
)  # fmt: skip
group_content: st.SearchStrategy[dict[str, Any]] = st.one_of(
    group_texts.map(lambda text: {"text": text}),
    st.sampled_from(MEDIA),
    st.sampled_from(SERVICE),
)
group_presses: st.SearchStrategy[int | str] = st.one_of(
    st.integers(0, 1023), shaped_data, garbled_data
)
announcements = st.one_of(st.sampled_from(WORDS), mixed_text, long_text)
chain_codes = st.sets(st.sampled_from(["beekeeping", "poultry", LONG_CHAIN]), max_size=2)
province_ids = st.sets(st.sampled_from(["IR-08", "IR-01"]), max_size=1)

ANSWERING: ContextVar[int | None] = ContextVar("answering", default=None)
DELIVERING: ContextVar[outbox.Delivery | None] = ContextVar("delivering", default=None)
SHOWING_PROGRESS: ContextVar[bool] = ContextVar("showing_progress", default=False)


async def note_the_update(update: Update, context: Any) -> None:
    """Group -100, the test's own, before the bot's: every Bot API call made from here on in this
    update's task (python-telegram-bot gives each update its own) answers this update."""
    ANSWERING.set(update.update_id)


@dataclass
class TracingBotApi(OfflineBotApi):
    """The offline Bot API, noting for each call the update it answered or the delivery it
    carried, by its index in `calls`."""

    answering: dict[int, int] = field(default_factory=dict)
    delivering: dict[int, outbox.Delivery] = field(default_factory=dict)
    progress: set[int] = field(default_factory=set)

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         *args: Any, **kwargs: Any) -> tuple[int, bytes]:  # fmt: skip
        index = len(self.calls)  # the double answers without awaiting: this call is calls[index]
        try:
            return await super().do_request(url, method, request_data, *args, **kwargs)
        finally:
            if len(self.calls) > index:
                if (update_id := ANSWERING.get()) is not None:
                    self.answering[index] = update_id
                if (delivery := DELIVERING.get()) is not None:
                    self.delivering[index] = delivery
                if SHOWING_PROGRESS.get():
                    self.progress.add(index)


class TracingSender(Sender):
    """The bot's own sender, noting which delivery each of its Bot API calls carries."""

    async def _deliver(self, delivery: outbox.Delivery) -> bool:
        token = DELIVERING.set(delivery)
        try:
            return await super()._deliver(delivery)
        finally:
            DELIVERING.reset(token)


class Outage(Exception):
    """Marks what the test's outage raised, however the code it passes through wraps it."""


class Refused(Outage, ConnectionRefusedError):
    """What asyncpg raises, unwrapped, for a connection the server refuses."""


class StartingUp(Outage, CannotConnectNowError):
    """What asyncpg raises, unwrapped, while the server starts again: neither an OSError nor
    SQLAlchemy's."""


class Closed(Outage):
    """The driver's error for a connection that died under a statement."""


def injected(error: BaseException | None) -> bool:
    """Whether the test's outage caused this error."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, Outage) or isinstance(getattr(error, "orig", None), Outage):
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


REFUSALS = ("refused", "starting", "wrapped")


class Database:
    """The bot's database, refusing connections while `away` (the operator's engine is another).

    Checking a connection out of the pool finds it dead and a new one is refused, as after a
    server restart; a statement on a connection already held fails as on a dropped one. A refusal
    comes as asyncpg raises it (an OSError, or CannotConnectNowError while the server starts,
    neither wrapped by SQLAlchemy) or as SQLAlchemy's OperationalError (aiosqlite, psycopg)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.away = False
        self.refusal = REFUSALS[0]
        event.listen(engine.sync_engine, "do_connect", self._connect)
        event.listen(engine.sync_engine, "checkout", self._checkout)
        event.listen(engine.sync_engine, "before_cursor_execute", self._execute)

    def _connect(self, dialect: Any, record: Any, cargs: Any, cparams: Any) -> None:
        if not self.away:
            return
        if self.refusal == "starting":
            raise StartingUp("the database system is starting up")
        refused = Refused(111, "Connect call failed ('127.0.0.1', 5432)")
        if self.refusal == "wrapped":
            raise OperationalError("connect", None, refused)
        raise refused

    def _checkout(self, dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if self.away:
            raise DisconnectionError("the database went away")

    def _execute(self, connection: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self.away:
            raise InterfaceError(statement, None, Closed("connection is closed"))


def is_private_request(update: Update) -> bool:
    """A person's new message or button press in their private chat: it must be answered."""
    user, chat = update.effective_user, update.effective_chat
    return (
        (update.message is not None or update.callback_query is not None)
        and user is not None
        and not user.is_bot
        and chat is not None
        and chat.type == "private"
    )


def is_command_for_the_bot(update: Update) -> bool:
    """A /command in a group, from a person, not addressed to another bot."""
    message = update.message
    if message is None or message.from_user is None or message.from_user.is_bot:
        return False
    text = message.text or ""
    if not text.startswith("/"):
        return False
    name, _, addressee = text.split()[0][1:].partition("@")
    return bool(name) and addressee.lower() in ("", BOT_USER["username"])


def took(call: ApiCall) -> bool:
    """Whether the Bot API took the call (the double answers a refusal with ok: false)."""
    return not (isinstance(call.result, dict) and call.result.get("ok") is False)


class Crowds(Conversations):
    """Conversations, and also: members writing and pressing in groups and a channel; several
    members' updates at once, handed to the running bot's update queue as `coopbot run` hands
    them; the database going away and coming back, at any moment, even half-way through a crowd;
    announcements queued and the outbox sender at work through it all.

    Every Bot API call is traced to the update it answered or the delivery it carried, and
    checked against both after every rule."""

    backend = "sqlite"  # or the PostgreSQL template database each example is cloned from

    def __init__(self) -> None:
        super().__init__()
        assert isinstance(self.api, TracingBotApi)
        self.tracing = self.api
        self.database = Database(self.engine)
        self.operator = create_engine(self.url)  # the operator's view, through any outage
        self.run(self.seed_quiet_members())
        self.application.add_handler(TypeHandler(Update, note_the_update), group=-100)
        self.api.interceptor = self._intercept
        self.turn_after: int | None = None
        self.sender = TracingSender(self.application.bot, self.engine, "telegram", 1000, "fuzz")
        self.sender.batch = 4  # several batches to an announcement
        self.anonymous = Visitor(self.application, self.api, ANONYMOUS_ADMIN, "Group", None)
        self.anonymous.user["is_bot"] = True
        self.answers: dict[int, list[ApiCall]] = {}
        self.checked_calls = 0
        self.delivered: Counter[int] = Counter()
        self.received: Counter[tuple[int | None, int]] = Counter()
        self.run(self.application.start())

    async def new_database(self) -> str:
        if self.backend == "sqlite":
            return await super().new_database()
        name = f"coopbot_fuzz{os.getpid()}_{next(_databases)}"
        await _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.backend}"')
        return _pg_database(name)

    def bot_api(self) -> OfflineBotApi:
        return TracingBotApi()

    async def seed_quiet_members(self) -> None:
        for user_id in QUIET:
            await users.touch(self.operator, "telegram", user_id, user_id, "Quiet")
            if user_id % 3 == 0:
                await users.set_subscriptions(
                    self.operator, "telegram", user_id, "chain", {"beekeeping"}
                )
            if user_id % 4 == 0:
                await users.set_subscriptions(
                    self.operator, "telegram", user_id, "province", {"IR-08"}
                )

    def _intercept(self, call: ApiCall) -> None:
        if self.turn_after is not None:
            if self.turn_after == 0:
                self.database.away = not self.database.away
                self.turn_after = None
            else:
                self.turn_after -= 1
        if call.method in SEND_METHODS and call.chat_id == MUTED["id"]:
            raise BotApiError(400, CANNOT_WRITE)
        if call.method in SEND_METHODS and call.chat_id == BLOCKED:
            raise BotApiError(403, "Forbidden: bot was blocked by the user")

    def teardown(self) -> None:
        try:
            if sys.exc_info()[1] is None:  # a failure already found is not hidden by another
                self.settle()
        finally:
            self.database.away = False
            self.run(self.application.stop())
            self.run(self.operator.dispose())
            super().teardown()

    async def drop_database(self) -> None:
        if self.backend != "sqlite":
            name = make_url(self.url).database
            await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    # --- the checks ------------------------------------------------------------------------------

    def step(
        self, member: Member, coroutine: Any, *, press: bool = False, edit: bool = False
    ) -> None:
        """Run the member's updates and check them: what they are tells what they need."""
        assert isinstance(member, Visitor)
        before = len(member.sent)
        self.run(coroutine)
        self.check(member.sent[before:])

    def check(self, updates: list[Update]) -> None:
        """Every invariant, over these updates (handled by now) and the calls since the last check."""
        for index in range(self.checked_calls, len(self.api.calls)):
            self.check_call(index)
        self.checked_calls = len(self.api.calls)
        for update in updates:
            self.check_update(update)
        for unknown, error in self.errors:
            # Errors of no update: python-telegram-bot saving the conversations while away.
            assert unknown is None and injected(error), self.failure(unknown, error)
        self.errors.clear()
        for record in self.logged.records:
            assert injected(record.exc_info[1] if record.exc_info else None), self.logged.format(
                record
            )
        self.logged.records.clear()

    def check_call(self, index: int) -> None:
        call = self.api.calls[index]
        problems = refusals(call)
        assert not problems, (
            f"the Bot API would refuse {call.method}: {problems}: {call.text!r:.300}"
        )
        for row in call.inline_data:
            self.seen_data.extend(d for d in row if d not in self.seen_data)
        delivery = self.tracing.delivering.get(index)
        update_id = self.tracing.answering.get(index)
        if delivery is not None:
            # Announcements and notices go to the member's private chat, at most once each.
            assert call.chat_id == delivery.user_id > 0, (call.chat_id, delivery)
            if took(call):
                self.delivered[delivery.id] += 1
                self.received[(delivery.announcement_id, delivery.user_id)] += 1
                assert self.delivered[delivery.id] == 1, f"delivery {delivery.id} sent again"
                if delivery.announcement_id is not None:
                    recipient = (delivery.announcement_id, delivery.user_id)
                    assert self.received[recipient] == 1, f"announcement sent twice: {recipient}"
        elif update_id is not None:
            self.answers.setdefault(update_id, []).append(call)
        elif index in self.tracing.progress:
            # A broadcast's progress, in the private chat of the staff member who confirmed it.
            assert call.method == "editMessageText", call
            assert call.chat_id in [member.chat_id for member in self.members], call
        else:
            assert call.method == "getMe", f"{call.method} in answer to nothing: {call.params}"

    def check_update(self, update: Update) -> None:
        calls = self.answers.pop(update.update_id, [])
        errors = [e for u, e in self.errors if isinstance(u, Update) and u is update]
        self.errors = [(u, e) for u, e in self.errors if u is not update]
        said = [(c.method, c.chat_id, c.text) for c in calls]
        chat = update.effective_chat
        assert chat is not None
        query = update.callback_query
        if is_private_request(update):
            for error in errors:
                assert injected(error), self.failure(update, error)
            assert calls, "the bot made no call in answer"
            assert all(c.chat_id in (None, chat.id) for c in calls), said
            if query is not None:
                # Once: the apology may try again after a journey answered and then failed, and
                # the Bot API refuses that second answer.
                answers = [c for c in calls if c.method == "answerCallbackQuery" and took(c)]
                assert len(answers) == 1, f"the press was answered {len(answers)} times: {said}"
            if errors:
                assert len(errors) == 1, f"{len(errors)} errors: {errors}"
                apologies = [c for c in calls if c.text in APOLOGIES]
                assert len(apologies) == 1, f"an error and {len(apologies)} apologies: {said}"
            return
        for error in errors:
            raise AssertionError(self.failure(update, error))
        if chat.type == "channel":
            assert said == [], f"the bot answered in a channel: {said}"
        elif query is not None:
            assert [c.method for c in calls] == ["answerCallbackQuery"], said
            assert calls[0].text in INVITATIONS, said
        elif is_command_for_the_bot(update) and chat.type != "private":
            assert len(said) == 1 and said[0][:2] == ("sendMessage", chat.id), said
            assert said[0][2] in INVITATIONS, said
        else:
            assert said == [], f"an answer to what needs none: {said}"

    @staticmethod
    def failure(update: object, error: BaseException) -> str:
        update_id = update.update_id if isinstance(update, Update) else None
        return f"update {update_id} failed:\n" + "".join(traceback.format_exception(error))

    # --- the database and the outbox ---------------------------------------------------------------

    async def sender_round(self) -> None:
        """One batch of the sender, as its loop in the running bot takes it: an error is logged
        and the loop goes on; only the outage may cause one."""
        try:
            await self.sender.run_once()
        except Exception as error:
            assert injected(error), "".join(traceback.format_exception(error))

    async def time_passing(self) -> None:
        """Leases and backoffs run out (a minute goes by)."""
        async with self.operator.begin() as connection:
            await connection.execute(
                sql_update(deliveries)
                .where(deliveries.c.status == "sending")
                .values(claimed_until=PAST)
            )
            await connection.execute(
                sql_update(deliveries)
                .where(deliveries.c.status == "pending")
                .values(next_attempt_at=PAST)
            )

    async def outbox_rows(self) -> list[Any]:
        async with self.operator.connect() as connection:
            return list((await connection.execute(select(deliveries))).all())

    def settle(self) -> None:
        """The database is back for good and the sender runs until the outbox is done: every
        delivery then ended, and each one sent went exactly once."""
        self.database.away = False
        for _ in range(200):
            self.run(self.time_passing())
            self.run(self.sender_round())
            if all(r.status not in ("pending", "sending") for r in self.run(self.outbox_rows())):
                break
        self.check([])
        rows = self.run(self.outbox_rows())
        stuck = [(r.id, r.status, r.attempts) for r in rows if r.status in ("pending", "sending")]
        assert not stuck, f"deliveries never end: {stuck}"
        for row in rows:
            times = self.delivered[row.id]
            expected = {"sent": {1}, "cancelled": {0, 1}}.get(row.status, {0})
            assert times in expected, f"delivery {row.id}, {row.status}, went {times} times"

        async def chats() -> list[Any]:
            async with self.operator.connect() as connection:
                return list((await connection.execute(select(users_table))).all())

        for member in self.run(chats()):
            assert member.chat_id == member.user_id, (
                f"{member.user_id} now lives in {member.chat_id}"
            )

    # --- rules ---------------------------------------------------------------------------------

    @rule(who=members, chat=st.sampled_from(GROUPS), content=group_content, anonymous=st.booleans())
    def write_in_a_group(
        self, who: int, chat: dict[str, Any], content: dict[str, Any], anonymous: bool
    ) -> None:
        """A member (or an anonymous admin) writes in a group the bot is in."""
        member = self.anonymous if anonymous else self.members[who]
        self.step(member, writing_in(member, chat, content))

    @rule(who=members, chat=st.sampled_from(GROUPS), callback=group_presses)
    def press_in_a_group(self, who: int, chat: dict[str, Any], callback: int | str) -> None:
        member = self.members[who]
        self.step(member, member.press_in(chat, self.button_data(callback)))

    def button_data(self, callback: int | str) -> str:
        """Forged data, or (a number) the data of a button someone saw."""
        if isinstance(callback, str):
            return callback
        return pick(self.seen_data or ["prog:home:"], callback)

    @rule(who=members, text=group_texts, edited=st.booleans())
    def post_in_the_channel(self, who: int, text: str, edited: bool) -> None:
        member = self.members[who]
        self.step(member, posting(member, text, edited))

    @rule(size=st.integers(2, 8), sender=st.booleans(), turn=st.none() | st.integers(0, 12),
          data=st.data())  # fmt: skip
    def many_at_once(self, size: int, sender: bool, turn: int | None, data: st.DataObject) -> None:
        """Several updates at once (a member's own in order), into the running bot's update queue;
        the sender at work beside them; the database going away, or coming back, after `turn`
        Bot API calls."""
        crowd: list[Update] = []
        everyone = [*self.members, self.anonymous]
        for member in everyone:
            member.crowd = crowd
        try:
            for _ in range(size):
                self.run(self.something(data))
        finally:
            for member in everyone:
                member.crowd = None

        async def together() -> None:
            for update in crowd:
                await self.application.update_queue.put(update)
            work = [self.application.update_queue.join()]
            if sender:
                work.append(self.sender_round())
            await asyncio.wait_for(asyncio.gather(*work), STUCK_S)

        self.turn_after = turn
        try:
            self.run(together())
        finally:
            self.turn_after = None
        self.check(crowd)

    async def something(self, data: st.DataObject) -> None:
        """One thing someone does, for a crowd."""
        member = self.members[data.draw(members, label="who")]
        kind = data.draw(
            st.sampled_from(["type", "command", "press", "forged", "media", "group", "channel"]),
            label="what",
        )
        if kind == "type":
            await member.send(data.draw(st.one_of(st.sampled_from(ENTRIES), texts), label="text"))
        elif kind == "command":
            await member.send(data.draw(commands, label="command"))
        elif kind == "press":
            buttons = member.buttons()
            press = data.draw(presses, label="press")
            if buttons:
                await pressing(member, buttons, press)
            else:
                await member.send("/menu")
        elif kind == "forged":
            callback = self.button_data(data.draw(group_presses, label="data"))
            on_screen = self.api.messages_in(member.chat_id)
            await member.press_data(callback, on_screen[-1] if on_screen else None)
        elif kind == "media":
            await member.send_sticker()
        elif kind == "group":
            chat = data.draw(st.sampled_from(GROUPS), label="chat")
            if data.draw(st.booleans(), label="a press"):
                await member.press_in(chat, data.draw(shaped_data, label="data"))
            else:
                anonymous = data.draw(st.booleans(), label="anonymous")
                await writing_in(
                    self.anonymous if anonymous else member,
                    chat,
                    data.draw(group_content, label="content"),
                )
        else:
            await posting(member, data.draw(group_texts, label="post"), False)

    @precondition(lambda self: not self.database.away)
    @rule(refusal=st.sampled_from(REFUSALS))
    def the_database_goes_away(self, refusal: str) -> None:
        self.database.away, self.database.refusal = True, refusal

    @precondition(lambda self: self.database.away)
    @rule()
    def the_database_comes_back(self) -> None:
        self.database.away = False

    @rule(text=announcements, chains=chain_codes, provinces=province_ids)
    def the_operator_queues_an_announcement(
        self, text: str, chains: set[str], provinces: set[str]
    ) -> None:
        """As `coopbot broadcast` does; while the database is away, it fails and queues nothing."""

        async def queue() -> None:
            draft = await outbox.draft(self.engine, "telegram", ADMIN_ID, text)
            await outbox.set_audience(self.engine, draft.id, chains, provinces)
            await outbox.queue_announcement(self.engine, draft.id)

        try:
            self.run(queue())
        except Exception as error:
            assert injected(error), "".join(traceback.format_exception(error))
        self.check([])

    @rule(batches=st.integers(1, 4))
    def the_sender_works(self, batches: int) -> None:
        for _ in range(batches):
            self.run(self.sender_round())
        self.check([])

    @rule()
    def the_progress_is_shown(self) -> None:
        """The running bot's job that rewrites each broadcast's progress every few seconds."""

        async def progress_round() -> None:
            SHOWING_PROGRESS.set(True)
            try:
                await broadcast.progress_round(self.application)
            except Exception as error:  # the job fails while the database is away
                assert injected(error), "".join(traceback.format_exception(error))

        self.run(progress_round())
        self.check([])

    @rule()
    def time_passes(self) -> None:
        self.run(self.time_passing())

    @rule()
    def conversations_are_saved(self) -> None:
        """python-telegram-bot's persistence round (every few seconds in the running bot)."""
        self.run(self.application.update_persistence())
        self.check([])

    @rule()
    def everything_settles(self) -> None:
        self.settle()


def writing_in(member: Member, chat: dict[str, Any], content: dict[str, Any]) -> Any:
    """The member's message in a group: text (a command too), media or a service message."""
    if "text" in content:
        return member.send_in(chat, content["text"])
    message = {**member._message(**content), "chat": chat}
    return member._process({"message": message}, chat_id=chat["id"])


def posting(member: Member, text: str, edited: bool) -> Any:
    if not edited:
        return member.post_in_channel(CHANNEL, text)
    post = {**member._message(text=text), "chat": CHANNEL, "edit_date": 1}
    del post["from"]
    return member._process({"edited_channel_post": post}, chat_id=CHANNEL["id"])


# --- the tests ------------------------------------------------------------------------------------

SETTINGS = settings(
    stateful_step_count=30,
    deadline=None,
    # The same examples on every CI run; new ones on a developer's.
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# A developer hunting for bugs runs ten times as many with COOPBOT_FUZZ_EXAMPLES=1000 (100: as CI).
SCALE = float(os.environ.get("COOPBOT_FUZZ_EXAMPLES", "0")) / 100 or 1.0


def examples(count: int) -> settings:
    return settings(SETTINGS, max_examples=max(1, round(count * SCALE)))


def test_random_conversations_never_fail_and_never_go_silent(
    migrated_template: Path, tmp_path: Path
) -> None:
    class Here(Conversations):
        template, directory = migrated_template, tmp_path

    run_state_machine_as_test(Here, settings=examples(80))


def test_crowds_groups_outages_and_the_outbox_on_sqlite(
    migrated_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sender_module, "PER_CHAT_INTERVAL_S", 0.0)  # no second to wait per chat

    class Here(Crowds):
        template, directory = migrated_template, tmp_path

    run_state_machine_as_test(Here, settings=examples(60))


def test_crowds_groups_outages_and_the_outbox_on_postgresql(
    pg_template: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sender_module, "PER_CHAT_INTERVAL_S", 0.0)

    class Here(Crowds):
        backend = pg_template

    run_state_machine_as_test(Here, settings=examples(20))
