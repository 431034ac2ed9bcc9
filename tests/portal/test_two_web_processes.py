"""Web processes are stateless: limits and one-time use hold across two gunicorn processes."""

import os
import re
import socket
import subprocess
import sys
import time
from decimal import Decimal

import pytest
import requests
from django.contrib.auth.hashers import Argon2PasswordHasher

from payments.models import BankAccount, LedgerEntry, Transfer
from tests.conftest import ROOT, database_url
from tests.factories import PASSWORD
from tokens.models import Challenge, OutboxMessage, SmsMessage

pytestmark = pytest.mark.django_db(transaction=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def two_web_processes(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "SMS_BACKEND": "outbox",
        "CELERY_TASK_ALWAYS_EAGER": "True",  # the SMS goes to the outbox inside the request
        "DEBUG": "False",
    }
    processes, bases = [], []
    for name in ("a", "b"):
        port = free_port()
        log = open(tmp_path / f"web-{name}.log", "w")  # noqa: SIM115 - closed below
        processes.append(
            (
                subprocess.Popen(
                    [sys.executable, "-m", "gunicorn", "portal.wsgi", "-b", f"127.0.0.1:{port}",
                     "-w", "1", "--timeout", "30"],
                    cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                ),
                log,
            )
        )
        bases.append(f"http://127.0.0.1:{port}")
    try:
        for base in bases:
            deadline = time.monotonic() + 30
            while True:
                try:
                    requests.get(f"{base}/login/", timeout=2)
                    break
                except requests.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
        yield bases
    finally:
        for process, log in processes:
            process.terminate()
            process.wait(timeout=15)
            log.close()


def post(session, url, data):
    token = session.cookies.get("csrftoken")
    return session.post(
        url, {**data, "csrfmiddlewaretoken": token}, headers={"Referer": url},
        allow_redirects=False, timeout=10,
    )


@pytest.fixture
def argon2_customer(customer):
    """The web processes run the portal's own hashers, not the suite's fast one."""
    customer.password = Argon2PasswordHasher().encode(PASSWORD, Argon2PasswordHasher().salt())
    customer.save(update_fields=["password"])
    return customer


def test_limits_and_one_time_use_hold_across_processes(two_web_processes, argon2_customer, other_customer):
    a, b = two_web_processes
    browser = requests.Session()
    browser.get(f"{a}/login/", timeout=10)
    assert post(browser, f"{a}/login/", {"username": "budi", "password": PASSWORD}).status_code == 302
    response = post(
        browser, f"{a}/transfers/new/",
        {"source": BankAccount.objects.get(number="1001000011").pk, "destination": "other",
         "destination_number": "1002000017", "amount": "1.500.000"},
    )
    assert response.status_code == 302, response.text[:500]
    reference = response.headers["Location"].split("/")[2]
    confirm = f"/transfers/{reference}/confirm/"

    # Generate OTP on A, again at once on B: the cooldown is counted where both see it.
    assert post(browser, f"{a}/transfers/{reference}/otp/", {}).status_code == 302
    assert post(browser, f"{b}/transfers/{reference}/otp/", {}).status_code == 302
    assert SmsMessage.objects.count() == 1
    code = re.search(r"\b(\d{6})\b", OutboxMessage.objects.get().body).group(1)

    # Two wrong tries on A and B, the right code on B: one transfer; the same code on A: nothing more.
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    assert post(browser, f"{a}{confirm}", {"code": wrong}).status_code == 200
    assert post(browser, f"{b}{confirm}", {"code": wrong}).status_code == 200
    assert Challenge.objects.get().attempts == 2
    assert post(browser, f"{b}{confirm}", {"code": code}).status_code == 302
    post(browser, f"{a}{confirm}", {"code": code})
    assert Transfer.objects.get(reference=reference).status == Transfer.Status.COMPLETED
    assert LedgerEntry.objects.count() == 2
    assert BankAccount.objects.get(number="1001000011").balance == Decimal("13500000.00")


def test_login_lockout_holds_across_processes(two_web_processes, argon2_customer):
    a, b = two_web_processes
    statuses = []
    for n in range(6):
        base = (a, b)[n % 2]
        browser = requests.Session()
        browser.get(f"{base}/login/", timeout=10)
        statuses.append(post(browser, f"{base}/login/", {"username": "budi", "password": "salah"}).status_code)
    assert statuses == [200] * 4 + [403] * 2
    for base in (a, b):
        browser = requests.Session()
        browser.get(f"{base}/login/", timeout=10)
        assert post(browser, f"{base}/login/", {"username": "budi", "password": PASSWORD}).status_code == 403
