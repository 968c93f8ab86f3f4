"""Robustness: three members (one of them staff) talk to the bot at random through every journey.

They type Persian, Arabic and Latin text (odd digits, half-spaces, diacritics, emoji, 4096
characters, bare whitespace), send every command the bot knows and some it does not, press the
buttons they see and buttons that are stale, forged or garbled, share places and contacts, and send
stickers, photos, voice and files. Whatever they do, nothing reaches the error handler, every update
is answered (a button press exactly once), and the bot sends nothing the Bot API would refuse.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
import os
import shutil
import string
import traceback
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import Application

from bot.app import build_application
from bot.i18n import all_translations
from bot.keyboards import MAIN_MENU_ROWS
from bot.offline import OFFLINE_TOKEN, ApiCall, Member, OfflineBotApi
from bot.settings import Settings
from db import users
from db.engine import create_engine
from db.import_rows import IDENTIFIER_LIMIT
from db.models import pack
from db.reference import reference
from db.schema import application_history, applications, cooperatives, programs, value_chains
from db.text import search_key
from tests.conftest import ADMIN_ID

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
files = st.tuples(
    st.sampled_from(["list.csv", "list.xlsx", "list.pdf", "list", "فهرست.CSV"]),
    st.one_of(
        st.sampled_from(
            [PROGRAMS_CSV, b"", b"\x00\xff\xfe", b"PK\x03\x04broken", "a;b\n1;2".encode("cp1256")]
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


class _ErrorLog(logging.Handler):
    """Anything logged at ERROR while the members talk: an error handler that itself failed, say."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


# --- the members ----------------------------------------------------------------------------------

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
        path = self.directory / f"robust{next(_databases)}.db"
        shutil.copy(self.template, path)
        config = Settings(
            _env_file=None,
            database_url=f"sqlite+aiosqlite:///{path}",
            admin_ids=frozenset({ADMIN_ID}),
        )
        self.engine = create_engine(config.database_url)
        self.api = OfflineBotApi()
        self.application: Application = build_application(
            config, self.engine, token=OFFLINE_TOKEN, request=self.api
        )
        self.errors: list[BaseException] = []
        self.application.add_error_handler(self._record_error)
        self.logged = _ErrorLog()
        logging.getLogger().addHandler(self.logged)
        self.run(seed(self.engine))
        self.run(self.application.initialize())
        self.members = [
            Member(self.application, self.api, user_id, first_name, language_code)
            for user_id, first_name, language_code in MEMBERS
        ]
        self.seen_data: list[str] = []

    async def _record_error(self, update: object, context: Any) -> None:
        self.errors.append(context.error)

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    def teardown(self) -> None:
        logging.getLogger().removeHandler(self.logged)
        self.run(self.application.shutdown())
        self.run(self.engine.dispose())
        self.loop.close()

    def step(
        self, member: Member, coroutine: Any, *, press: bool = False, edit: bool = False
    ) -> None:
        """Run one update and check what came of it."""
        before = len(self.api.calls)
        self.run(coroutine)
        if self.errors:
            error = self.errors[0]
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

    def press(self, member: Member, seen: Button, data: st.DataObject) -> None:
        """Press a button the member sees: an inline one, or one of the reply keyboard's."""
        _, message, button = seen
        if message is not None:
            callback = button.get("callback_data", "")
            self.step(member, member.press_data(callback, message), press=True)
        elif button.get("request_location"):
            # Mostly where the seeded cooperatives are, as a member's own location would be.
            point = data.draw(st.one_of(near_kerman, points), label="point")
            self.step(member, member.share_location(*point))
        elif button.get("request_contact"):
            phone = data.draw(st.one_of(st.just(PHONE), phones), label="phone")
            self.step(member, member.share_contact(phone))
        else:
            self.step(member, member.send(button["text"]))

    @rule(who=members, entry=st.sampled_from(ENTRIES), steps=st.integers(1, 8), data=st.data())
    def follow_a_journey(self, who: int, entry: str, steps: int, data: st.DataObject) -> None:
        """A command or menu button, then what each answer asks for: one of the buttons it
        shows, or else some typed words."""
        member = self.members[who]
        self.step(member, member.send(entry))
        for _ in range(steps):
            shown = [b for b in member.buttons() if _just_shown(member, b[1])]
            if shown:
                self.press(member, data.draw(st.sampled_from(shown), label="button"), data)
            else:
                typed = data.draw(st.one_of(st.sampled_from(WORDS), texts), label="typed")
                self.step(member, member.send(typed))

    @rule(who=members, presses=st.integers(1, 6), data=st.data())
    def press_buttons_they_see(self, who: int, presses: int, data: st.DataObject) -> None:
        """Any buttons on the member's screen, on old messages too, a few in a row."""
        member = self.members[who]
        for _ in range(presses):
            buttons = member.buttons()
            if not buttons:
                self.step(member, member.send("/menu"))
                continue
            self.press(member, data.draw(st.sampled_from(buttons), label="button"), data)

    @rule(who=members, data=st.data())
    def press_an_old_button(self, who: int, data: st.DataObject) -> None:
        """A button seen by anyone (staff's too), on a message still there or long gone."""
        member = self.members[who]
        if not self.seen_data:
            self.step(member, member.send("/programs"))
            return
        callback = data.draw(st.sampled_from(self.seen_data), label="callback data")
        on_screen = self.api.messages_in(member.chat_id)
        message = data.draw(st.sampled_from([None, *on_screen]), label="message")
        self.step(member, member.press_data(callback, message), press=True)

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


def test_random_conversations_never_fail_and_never_go_silent(
    migrated_template: Path, tmp_path: Path
) -> None:
    class Here(Conversations):
        template, directory = migrated_template, tmp_path

    run_state_machine_as_test(
        Here,
        settings=settings(
            max_examples=100,
            stateful_step_count=30,
            deadline=None,
            # The same examples on every CI run; new ones on a developer's.
            derandomize=bool(os.environ.get("CI")),
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        ),
    )
