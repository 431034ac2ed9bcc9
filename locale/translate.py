"""Add Indonesian translations and refresh the catalogues, safely beside other people's edits.

    .venv/bin/python locale/translate.py strings.json

``strings.json`` maps English msgids to Indonesian msgstrs (for a plural, the msgstr is a list of
two). Under one lock file it runs ``make messages`` (extract, English identity, compile), fills
the given strings into ``locale/id``, clears their fuzzy flags and compiles again, so two
sessions translating at once cannot lose each other's entries.
"""

import fcntl
import json
import subprocess
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "locale/id/LC_MESSAGES/django.po"


def main(path: str) -> int:
    strings = json.loads(Path(path).read_text(encoding="utf-8"))
    (ROOT / "var").mkdir(exist_ok=True)
    with open(ROOT / "var" / "locale.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        # A developer's tool with fixed arguments, run in the checkout.
        subprocess.run(  # noqa: S603
            ["make", "-s", "messages"],  # noqa: S607
            cwd=ROOT, check=True, capture_output=True,
        )
        catalogue = polib.pofile(str(CATALOGUE))
        missing = []
        for msgid, msgstr in strings.items():
            entry = catalogue.find(msgid)
            if entry is None:
                missing.append(msgid)
                continue
            if entry.msgid_plural:
                forms = msgstr if isinstance(msgstr, list) else [msgstr, msgstr]
                entry.msgstr_plural = {0: forms[0], 1: forms[-1]}
            else:
                entry.msgstr = msgstr
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
        catalogue.save()
        subprocess.run(  # noqa: S603
            [str(ROOT / ".venv/bin/python"), "manage.py", "compilemessages", "--ignore", ".venv/*"],
            cwd=ROOT, check=True, capture_output=True,
        )
    for msgid in missing:
        print(f"not in the source (yet): {msgid!r}", file=sys.stderr)
    untranslated = [e.msgid for e in polib.pofile(str(CATALOGUE)) if not e.translated()]
    print(f"{len(strings) - len(missing)} filled; {len(untranslated)} untranslated in locale/id")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
