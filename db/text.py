"""Text normalisation shared by member input, imported spreadsheets and stored search keys.

Persian keyboards, Arabic keyboards and copy-pasted text disagree on digits, on ی/ک and on invisible
marks; members should never be told a code or a name is wrong because of that.
"""

from __future__ import annotations

import re
import unicodedata

from persiantools import characters, digits

ZWNJ = "\u200c"
# Harakat, tanwin, superscript alef, tatweel: decoration, never meaning, in what members type.
_DIACRITICS = re.compile("[\u064b-\u065f\u0670\u0640]")
# Bidi controls, ZWJ, BOM, soft hyphen, other zero-width marks that arrive with pasted text.
_INVISIBLE = re.compile("[\u200b\u200d-\u200f\u202a-\u202e\u2066-\u2069\ufeff\u00ad]")
# A ZWNJ is meaningful only between two letters ("می‌خواهم"); elsewhere it is a stray.
_ZWNJ_RUN = re.compile(f"{ZWNJ}{{2,}}")
_STRAY_ZWNJ = re.compile(f"(?<!\\w){ZWNJ}|{ZWNJ}(?!\\w)")
_SPACES = re.compile(r"\s+")


def storable(text: str, limit: int | None = None) -> str:
    """Text from a person as a column can hold it: cut to `limit`, and without NUL characters,
    which PostgreSQL's text types refuse (a fuzzer's first name, a pasted binary string)."""
    return text.replace("\x00", "")[:limit]


def to_ascii_digits(text: str) -> str:
    """Persian (۰-۹) and Arabic-Indic (٠-٩) digits to ASCII digits."""
    return digits.fa_to_en(digits.ar_to_fa(text))


def normalize(text: str) -> str:
    """The canonical form of a member's input: ASCII digits, Persian letters, tidy spaces."""
    text = unicodedata.normalize("NFC", text)
    text = to_ascii_digits(text)
    text = characters.ar_to_fa(text).replace("ة", "ه")
    text = _DIACRITICS.sub("", text)
    text = _INVISIBLE.sub("", text)
    text = _STRAY_ZWNJ.sub("", _ZWNJ_RUN.sub(ZWNJ, text))
    return _SPACES.sub(" ", text).strip()


def search_key(text: str) -> str:
    """A looser form for matching names: also folds آ/ا, ئ/ی, and ZWNJ/space, and lowercases Latin."""
    text = normalize(text).replace(ZWNJ, " ").replace("آ", "ا").replace("ئ", "ی").replace("أ", "ا")
    text = text.replace("إ", "ا").replace("ؤ", "و").casefold()
    return _SPACES.sub(" ", text).strip()


# Unicode puts پ چ ژ گ after the Arabic letters; Persian dictionaries put each beside its sister.
_PERSIAN_ALPHABET = "اآبپتثجچحخدذرزژسشصضطظعغفقکگلمنوهی"
_PERSIAN_ORDER = {letter: index for index, letter in enumerate(_PERSIAN_ALPHABET)}


def sort_key(text: str) -> tuple[int | str, ...]:
    """A key that sorts Persian names in dictionary order (Latin names sort as usual)."""
    return tuple(
        _PERSIAN_ORDER.get(ch, ch) if ch in _PERSIAN_ORDER else 100 + ord(ch)
        for ch in search_key(text)
    )
