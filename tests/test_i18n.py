"""Persian digits and separators, Jalali dates, distances; every member-visible text translated."""

from __future__ import annotations

import datetime as dt
import io

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import LOCALES, catalog_path, translator


def test_numbers_use_persian_digits_and_separators_in_persian() -> None:
    fa, en = translator("fa"), translator("en")
    assert fa.number(1234567) == "۱٬۲۳۴٬۵۶۷"
    assert fa.number(12.5, decimals=1) == "۱۲٫۵"
    assert en.number(1234567) == "1,234,567"


def test_dates_are_jalali_in_persian_and_gregorian_in_english() -> None:
    day = dt.date(2024, 10, 6)
    assert translator("fa").date(day) == "۱۵ مهر ۱۴۰۳"
    assert translator("en").date(day) == "October 6, 2024"
    assert translator("fa").date(dt.datetime(2025, 3, 21, 10, 0)) == "۱ فروردین ۱۴۰۴"


def test_distances_in_kilometres() -> None:
    assert translator("fa").km(3.25) == "۳٫۲ کیلومتر"
    assert translator("fa").km(152.4) == "۱۵۲ کیلومتر"
    assert translator("en").km(7.04) == "7 km"


def test_an_unknown_locale_falls_back_to_persian() -> None:
    assert translator("de").locale == "fa"


def _code_messages() -> set[str]:
    found: set[str] = set()
    for folder in ("bot", "handlers", "db"):
        for _file, _line, message, _comments, _ctx in extract_from_dir(
            folder, keywords={"_": None, "N_": None, "ngettext": (1, 2)}
        ):
            # A plural message is filed under its singular id.
            found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_message_in_the_code_has_a_persian_translation_that_is_not_fuzzy() -> None:
    with catalog_path("fa").open("rb") as handle:
        catalog = read_po(io.BytesIO(handle.read()), locale="fa")
    missing, fuzzy = [], []
    for message_id in sorted(_code_messages()):
        message = catalog.get(message_id)
        strings = message.string if message is not None else ""
        if message is None or not (all(strings) if isinstance(strings, tuple) else strings):
            missing.append(message_id)
        elif message.fuzzy:
            fuzzy.append(message_id)
    assert missing == [], "untranslated in fa (run scripts/update-catalogs, then translate)"
    assert fuzzy == [], "fuzzy in fa: check and un-fuzzy these"


def test_every_catalog_compiles_and_translates_the_menu() -> None:
    for locale in LOCALES:
        assert translator(locale)._("❓ Help")
    assert translator("fa")._("❓ Help") == "❓ راهنما"
    assert translator("en")._("❓ Help") == "❓ Help"
