"""Password spraying over two gunicorn processes: 50 User IDs with one password from one
address compare at most LOGIN_ADDRESS_FAILURE_LIMIT (30) passwords, whichever process answers,
even when sent in parallel; the address is refused with a message, another network is not."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from accounts.models import AuditEvent
from tests.conftest import web_post as post
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)
SPRAYER = "203.0.113.50"


@pytest.fixture
def behind_proxy(monkeypatch):
    """The web processes believe X-Forwarded-For from 127.0.0.1 (the test plays the proxy)."""
    monkeypatch.setenv("TRUSTED_PROXIES", "127.0.0.1")


@pytest.fixture
def web(behind_proxy, two_web_processes):
    return two_web_processes


def attempt(base, user_id, password, address):
    browser = requests.Session()
    browser.headers["X-Forwarded-For"] = address
    browser.cookies.set("django_language", "en")
    browser.get(f"{base}/login/", timeout=10)
    return post(browser, f"{base}/login/", {"username": user_id, "password": password})


def test_spraying_is_throttled_across_processes(web, argon2_customer):
    a, b = web
    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(
            pool.map(
                lambda n: attempt((a, b)[n % 2], f"nasabah{n:02d}", "Musim-Hujan-2026", SPRAYER),
                range(50),
            )
        )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] * 30 + [429] * 20
    assert AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_FAILED).count() == 30
    assert AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_ADDRESS_LOCKED).count() == 1
    refused = next(r for r in responses if r.status_code == 429)
    assert "Too many failed logins from your network. Try again in 15 minutes." in refused.text

    for base in (a, b):
        assert attempt(base, "budi", PASSWORD, SPRAYER).status_code == 429
    assert attempt(b, "budi", PASSWORD, "198.51.100.7").status_code == 302
