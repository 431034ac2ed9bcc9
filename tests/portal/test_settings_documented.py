"""Every environment variable the settings read is named in the README's settings table, so an
operator reading "Settings (environment)" sees every knob (issue 13: 24 were not named)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READ = re.compile(r'(?:env(?:\.\w+)?|_secret|os\.environ\.get|os\.environ\[)\(?\s*["\']([A-Z][A-Z0-9_]+)["\']')


def variables_read() -> set[str]:
    return {
        name
        for path in ("portal/settings.py", "gunicorn.conf.py")
        for name in READ.findall((ROOT / path).read_text())
    }


def settings_table() -> str:
    readme = (ROOT / "README.md").read_text()
    return readme.split("## Settings (environment)\n", 1)[1].split("\n## ", 1)[0]


def test_the_scan_finds_the_variables_it_should():
    # Guards the test itself: a variable on the next line, a secret and gunicorn's.
    found = variables_read()
    assert {"TRANSFER_MAX_AMOUNT", "CSRF_TRUSTED_ORIGINS", "SECRET_KEY", "EMAIL_BACKEND", "WEB_WORKERS", "PORT"} <= found
    assert len(found) > 100


def test_every_variable_read_is_in_the_readme_table():
    table = settings_table()
    missing = sorted(name for name in variables_read() if f"`{name}`" not in table)
    assert not missing, f"not in README's Settings (environment) table: {missing}"
