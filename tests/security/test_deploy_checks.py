"""Deploy checks (issue 13 item 12): ``check --deploy`` says nothing under production settings,
HSTS in production, and every page answers with the security headers.

The walk is the URLconf's: every URL name, filled with a real object, as the person it is for
(and every page once more as an anonymous visitor, who mostly gets the login page or a 404):
Content-Security-Policy without 'unsafe-inline' (scripts and styles come from static files)
and with frame-ancestors 'none', X-Frame-Options DENY, a Referrer-Policy, nosniff, and
``Cache-Control: no-store`` (every page of the portal shows account data or leads to it).
"""

import json
import os
import re
import subprocess
import sys

import pytest

from tests.portal.test_production_fail_fast import ROOT, SECRETS
from tests.security.hostile import World
from tests.security.test_hostile_input import actors, fuzz_table

pytestmark = pytest.mark.django_db


def production_env() -> dict:
    """The environment of a production process: this one's, less the secrets under test and
    what only tests set (the browser tests' DJANGO_ALLOW_ASYNC_UNSAFE)."""
    drop = {*SECRETS, "DEBUG", "SECURE_HSTS_PRELOAD", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return {
        **{k: v for k, v in os.environ.items() if k not in drop},
        "DJANGO_SETTINGS_MODULE": "portal.settings", "PORTAL_ENV": "production", **SECRETS,
    }


def manage(*args):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=production_env(), capture_output=True, text=True, timeout=120,
    )


def test_check_deploy_prints_no_warning():
    result = manage("check", "--deploy")
    assert result.returncode == 0, result.stderr + result.stdout
    # Two are silenced on purpose (portal/settings.py says why): axes.W006 (lockout per User
    # ID, not per IP) and security.W021 (HSTS preload is the bank's opt-in).
    assert re.fullmatch(
        r"System check identified no issues \(2 silenced\)\.\n", result.stdout
    ), result.stdout
    assert "WARNING" not in result.stderr and "?: (" not in result.stderr, result.stderr


def production_answers(*requests: tuple[str, bool]) -> list[dict]:
    """Ask the production settings' portal for each (path, over HTTPS?) in one new process
    (no database: the pages asked for need none) and return each status and headers."""
    code = (
        "import django, json; django.setup();"
        "from django.test import Client;"
        "c = Client(raise_request_exception=False);"
        f"answers = [c.get(p, secure=s, HTTP_HOST='ibank.example.co.id') for p, s in {requests!r}];"
        "print(json.dumps([{'status': r.status_code, **dict(r.headers.items())} for r in answers]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env=production_env(),
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_sends_hsts_and_redirects_http_to_https():
    # The Twilio webhook refuses a GET (405) without a database or static files, which a
    # process without collectstatic or migrations can answer.
    answer, plain = production_answers(("/sms/status/", True), ("/sms/status/", False))
    assert answer["status"] == 405, answer
    assert answer["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert "'unsafe-inline'" not in answer["Content-Security-Policy"]
    assert plain["status"] == 301
    assert plain["Location"] == "https://ibank.example.co.id/sms/status/"


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def header_problems(response) -> list[str]:
    problems = []
    csp = response.get("Content-Security-Policy")
    if not csp:
        return ["no Content-Security-Policy"]
    directives = csp_directives(csp)
    for name in ("script-src", "style-src"):
        sources = directives.get(name, directives.get("default-src"))
        if sources is None:
            problems.append(f"no {name}")
        elif {"'unsafe-inline'", "'unsafe-eval'", "*"} & set(sources):
            problems.append(f"{name} {' '.join(sources)}")
    if directives.get("frame-ancestors") != ["'none'"]:
        problems.append(f"frame-ancestors {directives.get('frame-ancestors')}")
    if directives.get("object-src") != ["'none'"]:
        problems.append(f"object-src {directives.get('object-src')}")
    expected = {
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "X-Content-Type-Options": "nosniff",
    }
    for name, value in expected.items():
        if response.get(name) != value:
            problems.append(f"{name}: {response.get(name)!r}")
    if "no-store" not in response.get("Cache-Control", ""):
        problems.append(f"Cache-Control: {response.get('Cache-Control')!r}")
    return problems


def test_every_page_answers_with_the_security_headers(settings):
    settings.DEBUG = False
    world = World()
    answers = {}
    for name, params in fuzz_table():
        url = world.url(name, params)
        for actor in {*actors(name), "anonymous"}:
            response = world.clients[actor].get(url)
            answers[(actor, url)] = (response.status_code, header_problems(response))
    # The admin's login page and the portal's own 404 page.
    for actor, url in [("anonymous", "/admin/login/"), ("customer", "/no-such-page/")]:
        response = world.clients[actor].get(url)
        answers[(actor, url)] = (response.status_code, header_problems(response))
    bad = {key: value for key, value in answers.items() if value[1]}
    assert bad == {}
    ok = [key for key, (status, _problems) in answers.items() if status == 200]
    statuses = sorted({status for status, _problems in answers.values()})
    print(f"walked {len(answers)} answers, {len(ok)} pages with 200, statuses {statuses}")
    # The walk reaches real pages of each person, not only the login page's redirects.
    assert len(ok) >= 70, len(ok)
    for actor in ("anonymous", "customer", "corporate", "staff"):
        assert any(key[0] == actor for key in ok), actor
