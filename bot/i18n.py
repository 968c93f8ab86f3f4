"""Translations and locale-aware formatting: Persian digits and separators, Jalali dates, distances.

Catalogs are compiled from the `.po` files in memory when the bot starts, so a fresh clone works
without a build step and there is no stale `.mo` to forget.
"""

from __future__ import annotations

import datetime as dt
import gettext
import io
from functools import cache
from importlib import resources

import jdatetime
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from persiantools import digits

LOCALES: tuple[str, ...] = ("fa", "en")
# Each language is offered in its own name and script, whatever language the member reads now.
LANGUAGE_NAMES = {"fa": "فارسی", "en": "English"}
DOMAIN = "coopbot"


def N_(message: str) -> str:
    """Marks a message for extraction where it is defined; it is translated where it is shown."""
    return message


def catalog_path(locale: str) -> resources.abc.Traversable:
    return resources.files("locales") / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def _compiled(locale: str) -> gettext.GNUTranslations:
    with catalog_path(locale).open("rb") as po_file:
        catalog = read_po(po_file, locale=locale, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


class Translator:
    """One locale's texts and formats; handlers get it as `context.t`."""

    def __init__(self, locale: str) -> None:
        if locale not in LOCALES:
            locale = LOCALES[0]
        self.locale = locale
        self._catalog = _compiled(locale)

    def _(self, message: str) -> str:
        return self._catalog.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._catalog.ngettext(singular, plural, n)

    def digits(self, text: str) -> str:
        """Latin digits in `text` as the locale writes them (Persian digits in fa)."""
        return digits.en_to_fa(text) if self.locale == "fa" else text

    def number(self, value: float, decimals: int = 0) -> str:
        pattern = "#,##0" + ("." + "#" * decimals if decimals else "")
        if self.locale == "fa":
            text = format_decimal(value, format=pattern, locale="fa", numbering_system="arabext")
            return digits.en_to_fa(text)
        return format_decimal(value, format=pattern, locale="en")

    def date(self, value: dt.date) -> str:
        """A date in full: Jalali with Persian month names in fa, Gregorian in en."""
        if isinstance(value, dt.datetime):
            value = value.date()
        if self.locale == "fa":
            jalali = jdatetime.date.fromgregorian(date=value, locale="fa_IR")
            return digits.en_to_fa(f"{jalali.day} {jalali.strftime('%B')} {jalali.year}")
        return format_date(value, format="long", locale="en")

    def join(self, items: list[str]) -> str:
        """A list in running text: Persian separates with the Arabic comma."""
        return ("، " if self.locale == "fa" else ", ").join(items)

    def km(self, kilometres: float) -> str:
        decimals = 1 if kilometres < 10 else 0
        return self._("{distance} km").format(distance=self.number(kilometres, decimals))


@cache
def translator(locale: str) -> Translator:
    return Translator(locale)


def all_translations(message: str) -> set[str]:
    """The message in every locale: a reply-keyboard label must be recognised in any language."""
    return {translator(locale)._(message) for locale in LOCALES}
