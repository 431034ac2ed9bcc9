"""Profil Saya → Aktivasi Token: one generic error, every wrong try counted, PSKC stock activated
with codes computed outside the portal (oathtool)."""

import threading
from pathlib import Path

import pskc
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import translation

from accounts.models import AuditEvent, User
from tests.conftest import needs_postgres
from tests.tokens.conftest import ACTIVATE, HOTP, oathtool, staff_make, token_make
from tokens import exceptions, hardware
from tokens.models import HardwareToken, HardwareTokenDevice, SmsMessage

pytestmark = pytest.mark.django_db
PSKC_DIR = Path(__file__).resolve().parents[1] / "data" / "pskc"
BIRTH = "17/08/1988"  # tests.factories.UserFactory


def text(exc_class):
    with translation.override("id"):
        return str(exc_class())


@pytest.fixture
def tokens(customer, other_customer):
    mine = token_make("FT10000001", state="assigned", user=customer)
    theirs = token_make("FT20000002", state="assigned", user=other_customer)
    return mine, theirs


def post(client, birth_date=BIRTH, serial="FT10000001", code=None):
    return client.post(
        ACTIVATE,
        {"birth_date": birth_date, "serial": serial, "code": HOTP.at(0) if code is None else code},
        HTTP_ACCEPT_LANGUAGE="en",
    )


GENERIC = "generic"
FORM = "form"


@pytest.mark.parametrize(
    "case, fields, outcome",
    [
        ("all right", {}, "active"),
        ("birth date with spaces", {"birth_date": " 17 / 08 / 1988 "}, "active"),
        ("serial with spaces, dashes, lower case", {"serial": " ft10-000 001 "}, "active"),
        ("wrong birth date", {"birth_date": "18/08/1988"}, GENERIC),
        ("birth date the other way round", {"birth_date": "08/17/1988"}, FORM),
        ("serial of another customer", {"serial": "FT20000002"}, GENERIC),
        ("unknown serial", {"serial": "ZZ99999999"}, GENERIC),
        ("wrong code", {"code": HOTP.at(50)}, GENERIC),
        ("non-ASCII digits in the birth date", {"birth_date": "١٧/٠٨/١٩٨٨"}, FORM),
        ("non-ASCII digits in the code", {"code": "٧٥٥٢٢٤"}, FORM),
        ("empty serial", {"serial": "  "}, FORM),
        ("NUL byte in the serial", {"serial": "FT1000\x000001"}, FORM),
        ("huge field", {"serial": "F" * 5000}, FORM),
    ],
)
def test_activation_table(customer_client, customer, tokens, case, fields, outcome):
    response = post(customer_client, **fields)
    customer.refresh_from_db()
    mine, theirs = (HardwareToken.objects.get(pk=t.pk) for t in tokens)
    failures = AuditEvent.objects.filter(action=AuditEvent.Action.OTP_FAILED, subject=customer)
    activated = AuditEvent.objects.filter(action=AuditEvent.Action.TOKEN_ACTIVATED)
    assert theirs.state == "assigned" and theirs.user_id != customer.pk
    if outcome == "active":
        assert response.status_code == 302, case
        assert mine.state == "active" and mine.activated_at is not None
        assert customer.confirmation_method == User.ConfirmationMethod.HARDWARE_TOKEN
        assert HardwareTokenDevice.objects.get(token=mine).confirmed
        assert (customer.otp_failure_count, failures.count(), activated.count()) == (0, 0, 1)
        notice = SmsMessage.objects.get(user=customer, challenge__isnull=True)
        assert notice.notice["params"] == {"serial": "FT10000001"}
        return
    assert response.status_code == 200, case
    page = response.content.decode()
    assert mine.state == "assigned" and activated.count() == 0
    assert not HardwareTokenDevice.objects.exists()
    assert customer.confirmation_method == User.ConfirmationMethod.SMS
    if outcome == GENERIC:
        assert text(exceptions.ActivationFailed) in page, case
        assert fields.get("code", HOTP.at(0)) not in page  # a tried code is not shown again
        assert customer.otp_failure_count == 1
        event = failures.get()
        assert event.data["reason"] == "activation" and event.ip_address == "127.0.0.1"
        assert HOTP.at(0) not in str(event.data)
    else:
        assert text(exceptions.ActivationFailed) not in page
        assert 'aria-invalid="true"' in page
        assert (customer.otp_failure_count, failures.count()) == (0, 0)


def test_generic_error_is_the_same_page_whatever_failed(customer_client, tokens):
    """Unknown serial, someone else's serial, wrong birth date, wrong code: one answer."""
    pages = set()
    for fields in (
        {"serial": "ZZ99999999"}, {"serial": "FT20000002"}, {"birth_date": "01/01/1970"},
        {"code": HOTP.at(50)},
    ):
        page = post(customer_client, **fields).content.decode()
        assert 'class="form-errors"' in page, (fields, page[-3000:])
        start = page.index('class="form-errors"')
        pages.add(page[start:page.index("</div>", start)])
    assert len(pages) == 1, pages


@pytest.mark.parametrize("state", ["in_stock", "active", "lost", "damaged", "battery_dead", "revoked"])
def test_token_in_the_wrong_state_is_not_activated(customer_client, customer, state):
    token = token_make("FT10000001", state=state, user=None if state == "in_stock" else customer)
    response = post(customer_client)
    assert text(exceptions.ActivationFailed) in response.content.decode()
    assert HardwareToken.objects.get(pk=token.pk).state == state
    customer.refresh_from_db()
    assert customer.otp_failure_count == 1


def test_replayed_code_is_refused(customer_client, customer, tokens):
    # HOTP counter 0 was accepted already (by a resync, say): its code is a replay now.
    HardwareToken.objects.filter(pk=tokens[0].pk).update(counter=1)
    response = post(customer_client, code=HOTP.at(0))
    assert text(exceptions.ActivationFailed) in response.content.decode()
    assert HardwareToken.objects.get(pk=tokens[0].pk).state == "assigned"
    # The first code after it works.
    assert post(customer_client, code=HOTP.at(1)).status_code == 302


def test_each_wrong_try_counts_until_the_block(customer_client, customer, tokens):
    for _ in range(settings.OTP_MAX_CONSECUTIVE_FAILURES - 1):
        assert text(exceptions.ActivationFailed) in post(customer_client, serial="X1234567").content.decode()
    page = post(customer_client, serial="X1234567").content.decode()
    assert text(exceptions.OtpBlocked) in page
    # Blocked: even the right answer activates nothing now.
    page = post(customer_client).content.decode()
    assert text(exceptions.OtpBlocked) in page
    assert HardwareToken.objects.get(pk=tokens[0].pk).state == "assigned"


def test_new_token_ends_sms_fallback_and_revokes_the_old_one(customer_client, customer):
    old = token_make("OLD0000001", state="active", user=customer)
    User.objects.filter(pk=customer.pk).update(confirmation_method="sms")  # staff fallback
    token_make("FT10000001", state="assigned", user=customer)
    assert post(customer_client).status_code == 302
    customer.refresh_from_db()
    assert customer.confirmation_method == "hardware_token"
    assert HardwareToken.objects.get(pk=old.pk).state == "revoked"
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.CONFIRMATION_METHOD_CHANGED, subject=customer
    ).exists()


def test_page_needs_login_and_is_accessible(customer_client):
    assert Client().get(ACTIVATE).status_code == 302
    page = customer_client.get(ACTIVATE, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for name in ("birth_date", "serial", "code"):
        assert f'<label for="id_{name}">' in page
    assert 'autocomplete="one-time-code"' in page and 'inputmode="numeric"' in page


# --- PSKC stock, from file to an active token --------------------------------------------


def pskc_secret_hex(name, serial, options):
    """The secret as python-pskc reads it (not the portal's import)."""
    document = pskc.PSKC(str(PSKC_DIR / name))
    if options.get("psk"):
        document.encryption.key = bytes.fromhex(options["psk"])
    if options.get("password"):
        document.encryption.derive_key(options["password"])
    return next(k for k in document.keys if (k.serial or "").upper() == serial).secret.hex()


@pytest.mark.parametrize(
    "name, options, serial",
    [
        ("rfc6030-figure3.pskcxml", {}, "987654321"),
        ("rfc6030-figure5.pskcxml", {}, "987654321"),
        ("rfc6030-figure6.pskcxml", {"psk": "12345678901234567890123456789012"}, "987654321"),
        ("rfc6030-figure7.pskcxml", {"password": "qwerty"}, "987654321"),
        ("feitian-20120919-test001-4282.xml", {}, "2600215704919"),  # TOTP, 60 s step
        ("feitian-20120919-test001-4282.xml", {}, "1000117803294"),  # HOTP
        ("feitian-file1.pskcxml", {}, None),  # every serial of a 13-digit vendor file
    ],
)
def test_pskc_file_imported_assigned_and_activated(customer_client, customer, name, options, serial):
    report = hardware.tokens_import(source=str(PSKC_DIR / name), batch=name, **options)
    officer, _ = staff_make("cabang01", "branch")
    serials = [serial] if serial else report.imported[:2]
    for current in serials:
        token = HardwareToken.objects.get(serial=current)
        # A second token replaces the first (one token per customer, tokens.hardware.token_assign).
        hardware.token_assign(
            token=token, user=customer, actor=officer, reason="at the branch", ip="10.0.0.1",
            replace=None if current == serials[0] else "damaged",
        )
        secret = pskc_secret_hex(name, current, options)
        code = oathtool(secret, totp_step=token.step, digits=token.digits, counter=token.counter)
        response = post(customer_client, serial=current, code=code)
        assert response.status_code == 302, response.content.decode()[-2000:]
        token.refresh_from_db()
        assert token.state == "active"
        if token.step:
            assert token.step == 60 or name.startswith("rfc")
    customer.refresh_from_db()
    assert customer.confirmation_method == "hardware_token"
    assert HardwareToken.objects.filter(user=customer, state="active").count() == 1


# --- Concurrency --------------------------------------------------------------------------


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_same_code_twice_in_parallel_activates_once(customer):
    token = token_make("FT10000001", state="assigned", user=customer)
    barrier, results = threading.Barrier(2), []
    birth_date = User.objects.get(pk=customer.pk).birth_date

    def submit():
        try:
            barrier.wait()
            user = User.objects.get(pk=customer.pk)
            hardware.token_activate(
                user=user, birth_date=birth_date, serial="FT10000001", code=HOTP.at(0), ip=None
            )
            results.append("active")
        except exceptions.ActivationFailed:
            results.append("failed")
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == ["active", "failed"]
    assert HardwareToken.objects.get(pk=token.pk).state == "active"
    assert HardwareTokenDevice.objects.count() == 1
    assert AuditEvent.objects.filter(action=AuditEvent.Action.TOKEN_ACTIVATED).count() == 1
