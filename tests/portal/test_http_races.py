"""Parallel requests over HTTP against two gunicorn processes (threads) on PostgreSQL:
the OTP block and one-time use hold, and a race never turns into an error page."""

import threading
from decimal import Decimal

import pytest
import requests

from accounts.models import AuditEvent, User
from payments.models import BankAccount, LedgerEntry, Transfer
from tests.conftest import TOKEN_HOTP as HOTP
from tests.conftest import TOKEN_SECRET as SECRET
from tests.conftest import needs_postgres, outbox_code, web_post
from tests.factories import PASSWORD
from tokens import hardware
from tokens.models import HardwareToken, SMSDevice

pytestmark = [needs_postgres, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def logged_in(base) -> requests.Session:
    browser = requests.Session()
    browser.get(f"{base}/login/", timeout=10)
    assert web_post(browser, f"{base}/login/", {"username": "budi", "password": PASSWORD}).status_code == 302
    return browser


def transfer_start(browser, base, amount="250.000") -> str:
    response = web_post(
        browser, f"{base}/transfers/new/",
        {"source": BankAccount.objects.get(number="1001000011").pk, "destination": "other",
         "destination_number": "1002000017", "amount": amount},
    )
    assert response.status_code == 302, response.text[:500]
    return response.headers["Location"].split("/")[2]


def post_at_once(browser, urls_and_data):
    """POST each (url, data) from its own thread, all released together; the status codes."""
    barrier = threading.Barrier(len(urls_and_data))
    statuses = [None] * len(urls_and_data)

    def send(i, url, data):
        own = requests.Session()
        own.cookies.update(browser.cookies)
        barrier.wait()
        try:
            statuses[i] = web_post(own, url, data).status_code
        except requests.RequestException as exc:
            statuses[i] = repr(exc)

    threads = [
        threading.Thread(target=send, args=(i, url, data))
        for i, (url, data) in enumerate(urls_and_data)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return statuses


def test_forty_parallel_wrong_codes_across_two_processes_compare_at_most_five(
    two_web_processes, argon2_customer, other_customer
):
    HardwareToken.objects.create(
        serial="FT1000000001", algorithm="hotp", digits=6, state="active", user=argon2_customer,
        sealed_seed=hardware.seed_seal(SECRET),
    )
    User.objects.filter(pk=argon2_customer.pk).update(
        confirmation_method=User.ConfirmationMethod.HARDWARE_TOKEN
    )
    a, b = two_web_processes
    browser = logged_in(a)
    reference = transfer_start(browser, a)
    wrong = f"{(int(HOTP.at(0)) + 1) % 10**6:06d}"
    confirm = f"/transfers/{reference}/confirm/"

    statuses = post_at_once(
        browser, [(f"{(a, b)[n % 2]}{confirm}", {"code": wrong}) for n in range(40)]
    )

    assert all(s == 200 for s in statuses), statuses  # each refused on the page, none a 500
    failed = AuditEvent.objects.filter(action=AuditEvent.Action.OTP_FAILED, subject=argon2_customer)
    assert failed.count() == 5
    assert User.objects.get(pk=argon2_customer.pk).otp_failure_count == 5
    page = web_post(browser, f"{b}{confirm}", {"code": HOTP.at(0)})
    assert page.status_code == 200
    assert Transfer.objects.get(reference=reference).status == Transfer.Status.PENDING
    assert not LedgerEntry.objects.exists()
    assert HardwareToken.objects.get().counter == 0


def test_twenty_parallel_right_codes_move_money_once_and_never_fail(
    two_web_processes, argon2_customer, other_customer
):
    a, b = two_web_processes
    browser = logged_in(a)
    reference = transfer_start(browser, a, amount="1.500.000")
    assert web_post(browser, f"{a}/transfers/{reference}/otp/", {}).status_code == 302
    code = outbox_code()
    confirm = f"/transfers/{reference}/confirm/"

    statuses = post_at_once(
        browser, [(f"{(a, b)[n % 2]}{confirm}", {"code": code}) for n in range(20)]
    )

    assert not [s for s in statuses if not isinstance(s, int) or s >= 500], statuses
    assert Transfer.objects.get(reference=reference).status == Transfer.Status.COMPLETED
    assert LedgerEntry.objects.count() == 2
    assert BankAccount.objects.get(number="1001000011").balance == Decimal("13500000.00")
    assert SMSDevice.objects.filter(user=argon2_customer).count() == 1

    # The customer goes on confirming: no error page on the next transfer either.
    browser = logged_in(b)
    reference = transfer_start(browser, b, amount="1.000")
    assert web_post(browser, f"{b}/transfers/{reference}/otp/", {}).status_code == 302
    response = web_post(browser, f"{a}/transfers/{reference}/confirm/", {"code": outbox_code()})
    assert response.status_code == 302
    assert Transfer.objects.get(reference=reference).status == Transfer.Status.COMPLETED
