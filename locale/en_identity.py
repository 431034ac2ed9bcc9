"""English is the source language: copy every msgid to its msgstr in locale/en.

Needed because Django falls back to LANGUAGE_CODE ("id") for a string the active language's
catalogue lacks, so an empty English msgstr would show Indonesian on an English page.
Run by ``make messages``.
"""

from pathlib import Path

import polib

for path in Path(__file__).parent.glob("en/LC_MESSAGES/*.po"):
    catalogue = polib.pofile(str(path))
    for entry in catalogue:
        entry.msgstr = entry.msgid
        if entry.msgid_plural:
            entry.msgstr_plural = {0: entry.msgid, 1: entry.msgid_plural}
        if "fuzzy" in entry.flags:
            entry.flags.remove("fuzzy")
    catalogue.metadata.update({"Language": "en", "Content-Type": "text/plain; charset=UTF-8"})
    catalogue.save()
