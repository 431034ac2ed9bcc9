"""Web processes are stateless: limits and one-time use hold across two gunicorn processes."""

import re
from decimal import Decimal

import pytest
import requests

from payments.models import BankAccount, LedgerEntry, Transfer
from tests.conftest import web_post as post
from tests.factories import PASSWORD
from tokens.models import Challenge, OutboxMessage, SmsMessage

pytestmark = pytest.mark.django_db(transaction=True)


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
