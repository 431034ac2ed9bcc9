"""Each login, OTP and transfer event records the client's address and browser, and audit times
read in Asia/Jakarta everywhere (issue 10 item 11).

The address and User-Agent come from ``portal.middleware.AuditClientMiddleware``, which names
the client of each request for ``accounts.services.audit_log`` (a context variable), so events
written deep in a service carry them too.
"""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.utils import translation

from accounts import services
from accounts.admin import AuditEventAdmin
from accounts.models import AuditEvent
from payments import services as payment_services
from payments.models import BankAccount, Transfer
from tests.conftest import outbox_code
from tests.factories import PASSWORD
from tests.tokens.conftest import staff_client_make

pytestmark = pytest.mark.django_db
BROWSER = "Mozilla/5.0 (Linux; Android 14; SM-A556E) Chrome/131.0 Mobile Safari/537.36"
A = AuditEvent.Action


def browser_client(address="203.0.113.7", agent=BROWSER):
    return Client(REMOTE_ADDR=address, HTTP_USER_AGENT=agent)


def client_of(event):
    return (event.ip_address, event.user_agent)


def test_login_and_failed_login_record_address_and_browser(customer):
    client = browser_client()
    client.post("/login/", {"username": "budi", "password": "wrong-password"})
    assert client_of(AuditEvent.objects.get(action=A.LOGIN_FAILED)) == ("203.0.113.7", BROWSER)
    assert client.post("/login/", {"username": "budi", "password": PASSWORD}).status_code == 302
    assert client_of(AuditEvent.objects.get(action=A.LOGIN)) == ("203.0.113.7", BROWSER)


def test_otp_issued_failed_verified_and_the_transfer_record_them(
    customer, other_customer, django_capture_on_commit_callbacks
):
    client = browser_client(address="198.51.100.20")
    assert client.post("/login/", {"username": "budi", "password": PASSWORD}).status_code == 302
    transfer = payment_services.transfer_create(
        user=customer,
        source=BankAccount.objects.get(number="1001000011"),
        destination=BankAccount.objects.get(number="1002000017"),
        amount=Decimal("1500000"),
        description="",
    )
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/transfers/{transfer.reference}/otp/")
    code = outbox_code()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    client.post(f"/transfers/{transfer.reference}/confirm/", {"code": wrong})
    client.post(f"/transfers/{transfer.reference}/confirm/", {"code": code})
    assert Transfer.objects.get(pk=transfer.pk).status == Transfer.Status.COMPLETED
    for action in (A.OTP_ISSUED, A.OTP_FAILED, A.OTP_VERIFIED, A.TRANSFER):
        event = AuditEvent.objects.get(action=action)
        assert client_of(event) == ("198.51.100.20", BROWSER), action


def test_a_long_user_agent_is_cut_and_outside_a_request_nothing_is_guessed(customer):
    client = browser_client(agent="X" * 5000)
    client.post("/login/", {"username": "budi", "password": PASSWORD})
    assert AuditEvent.objects.get(action=A.LOGIN).user_agent == "X" * 300
    # After the request (a Celery task, a command) the client is no longer known.
    event = services.audit_log(action=A.SMS_ALARM)
    assert client_of(event) == (None, None)


def test_an_address_given_by_the_caller_wins():
    token = services.audit_client_bind(ip="203.0.113.7", user_agent="UA")
    try:
        event = services.audit_log(action=A.SMS_ALARM, ip="10.0.0.1")
    finally:
        services.audit_client_unbind(token)
    assert client_of(event) == ("10.0.0.1", "UA")


def test_the_audit_admin_shows_them_in_jakarta_time(customer):
    with time_machine.travel(datetime(2026, 12, 1, 23, 30, tzinfo=UTC), tick=False):
        browser_client().post("/login/", {"username": "budi", "password": PASSWORD})
    event = AuditEvent.objects.get(action=A.LOGIN)
    # 23:30 UTC is 06:30 the next day in Jakarta (UTC+7): title, list and __str__ agree.
    with translation.override("id"):
        assert str(event) == "02/12/2026 06:30:00 WIB · Masuk · budi"
    client, _ = staff_client_make("supervisor", "kepala01")
    client.cookies.pop("django_language", None)
    listing = client.get("/admin/accounts/auditevent/?q=budi").content.decode()
    assert ">02/12/2026 06:30:00<" in listing
    # The browser is on the event's own page only (the list must fit 1280 px).
    assert "203.0.113.7" in listing and "Mozilla/5.0" not in listing
    page = client.get(f"/admin/accounts/auditevent/{event.pk}/change/").content.decode()
    assert "Catatan audit 02/12/2026 06:30:00 WIB: Masuk" in page
    assert '<div class="readonly">02/12/2026 06:30:00</div>' in page
    overview = client.get(f"/admin/accounts/user/{customer.pk}/change/").content.decode()
    assert "<td>02/12/2026 06:30:00</td>" in overview
    assert BROWSER in page
    assert "user_agent" in AuditEventAdmin.fields
