"""Fill a catalog from a {msgid: translation} dict in a Python file: a translator's convenience.

Usage: python scripts/fill-catalog.py LOCALE FILE.py [NAME]  (NAME defaults to the upper-cased locale)
"""

import runpy
import sys

from babel.messages.pofile import read_po, write_po

locale, source = sys.argv[1], sys.argv[2]
table = runpy.run_path(source)[sys.argv[3] if len(sys.argv) > 3 else locale.upper()]
path = f"locales/{locale}/LC_MESSAGES/coopbot.po"
with open(path, "rb") as handle:
    catalog = read_po(handle, locale=locale)
for message in catalog:
    key = message.id[0] if message.pluralizable else message.id
    if key and key in table:
        # Persian has one plural form; a plural message takes a one-item tuple.
        message.string = (table[key],) if message.pluralizable else table[key]
        message.flags.discard("fuzzy")
with open(path, "wb") as handle:
    write_po(handle, catalog, width=100, omit_header=False)
