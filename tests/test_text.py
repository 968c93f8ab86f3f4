"""Input normalisation: what members type reaches the handlers in one canonical form."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.text import normalize, search_key, sort_key, to_ascii_digits


def test_persian_and_arabic_indic_digits_become_ascii() -> None:
    assert to_ascii_digits("۱۲۳۴٥٦٧") == "1234567"
    assert normalize(" کد ۱۲۳-٤٥٦ ") == "کد 123-456"


def test_arabic_yeh_and_kaf_become_persian() -> None:
    assert normalize("علي كرماني") == "علی کرمانی"


def test_diacritics_tatweel_and_bidi_marks_are_dropped() -> None:
    assert normalize("سَلامٌ") == "سلام"
    assert normalize("کـــرمان") == "کرمان"
    assert normalize("\u200fکرمان\u200e") == "کرمان"


def test_zwnj_is_kept_inside_words_and_dropped_where_stray() -> None:
    assert normalize("می\u200cخواهم") == "می\u200cخواهم"
    assert normalize("می\u200c\u200cخواهم") == "می\u200cخواهم"
    assert normalize("\u200cسلام\u200c") == "سلام"
    assert normalize("وام \u200c بانکی") == "وام بانکی"


def test_spaces_are_folded_and_trimmed() -> None:
    assert normalize("  وام \n\t بانکی  ") == "وام بانکی"


def test_search_key_folds_what_spellings_disagree_on() -> None:
    assert search_key("قائم\u200cشهر") == search_key("قایم شهر")
    assert search_key("آزادشهر") == search_key("ازادشهر")
    assert search_key("Kerman") == search_key("KERMAN")


def test_persian_sorts_in_dictionary_order() -> None:
    names = ["گلستان", "کرمان", "تهران", "پارس", "بوشهر", "چابهار", "آبادان"]
    assert sorted(names, key=sort_key) == [
        "آبادان",
        "بوشهر",
        "پارس",
        "تهران",
        "چابهار",
        "کرمان",
        "گلستان",
    ]


@given(st.text())
def test_normalize_is_idempotent_and_never_fails(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once
