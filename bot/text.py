"""Input normalisation: every text a member sends is read through `normalize` first.

The rules live in db/text.py, because the database stores searchable text in the same form and db/
imports nothing from bot/; this module is where handlers take them from.
"""

from db.text import ZWNJ, normalize, search_key, sort_key, to_ascii_digits

__all__ = ["ZWNJ", "normalize", "search_key", "sort_key", "to_ascii_digits"]
