"""A new user's walk of the staff admin (issue 10): the audit list fits, every reason the
system writes reads in the staff's language, the staff login says how long to wait, and every
time on a staff page looks the same (dd/mm/YYYY HH:MM:SS WIB)."""

import ast
import re
from base64 import b32encode
from datetime import UTC, datetime
from pathlib import Path

import pyotp
import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from accounts.admin import AUDIT_REASONS, SYSTEM_REASONS, audit_reason_display
from accounts.models import AuditEvent
from tests.factories import PASSWORD
from tests.tokens.conftest import staff_client_make, staff_make
from tokens.models import SmsMessage

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
STAFF_TIME = re.compile(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d WIB")
AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chromium/131"


def indonesian_client(role="supervisor"):
    client, user = staff_client_make(role, f"staf-{role}")
    client.cookies.pop(settings.LANGUAGE_COOKIE_NAME, None)  # the default: Indonesian
    return client, user


# --- 1. The audit list: no browser column, the browser on the event's own page --------------


def test_audit_list_leaves_the_browser_to_the_event_page(customer):
    client, _ = indonesian_client()
    services.audit_log(
        action=AuditEvent.Action.LOGIN, subject=customer, actor=customer, ip="10.1.2.3",
        user_agent=AGENT, reason="Changed by the customer (current password and an OTP)",
    )
    event = AuditEvent.objects.get(user_agent=AGENT)
    listed = client.get(reverse("admin:accounts_auditevent_changelist")).content.decode()
    assert "10.1.2.3" in listed
    assert "Chromium/131" not in listed and "Mozilla/5.0" not in listed
    assert "Diubah oleh nasabah (kata sandi saat ini dan OTP)" in listed
    page = client.get(reverse("admin:accounts_auditevent_change", args=[event.pk])).content
    assert AGENT in page.decode()


# --- 2. Every reason the system writes reads in the staff's language --------------------------


def _written_reasons() -> tuple[set[str], set[str]]:
    """Every ``reason=`` the code of accounts, tokens and payments passes as a literal (plain or
    in ``gettext_noop``), and every f-string reason with its values filled by ``3``."""
    literals, formatted = set(), set()
    for app in ("accounts", "tokens", "payments"):
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                for keyword in node.keywords:
                    if keyword.arg != "reason":
                        continue
                    value = keyword.value
                    if (
                        isinstance(value, ast.Call)
                        and getattr(value.func, "id", "") in ("gettext_noop", "_")
                        and value.args
                    ):
                        value = value.args[0]
                    if isinstance(value, ast.Constant) and isinstance(value.value, str):
                        literals.add(value.value)
                    elif isinstance(value, ast.JoinedStr):
                        formatted.add("".join(
                            part.value if isinstance(part, ast.Constant) else "3"
                            for part in value.values
                        ))
    return literals, formatted


def test_every_reason_the_system_writes_is_shown_in_indonesian():
    literals, formatted = _written_reasons()
    # The walk finds the reasons a new user saw in English (a walk that found nothing would
    # prove nothing).
    assert {
        "Changed by the customer (current password and an OTP)",
        "Forgotten password: User ID, birth date, account number and an SMS OTP",
        "Changed by the customer (OTP on the old number, code to the new one)",
        "token activated",
    } <= literals
    assert "3 consecutive wrong OTPs" in formatted and "role 3" in formatted
    for reason in literals:
        assert reason in SYSTEM_REASONS or reason in AUDIT_REASONS, reason
    untranslated = []
    for reason in literals | formatted:
        with translation.override("id"):
            shown = audit_reason_display(reason)
        if shown == reason or not shown:
            untranslated.append(reason)
    assert untranslated == []
    with translation.override("en"):
        assert audit_reason_display("token activated") == "token activated"


def test_staff_free_text_reasons_are_shown_as_written():
    with translation.override("id"):
        assert audit_reason_display("ganti SIM di cabang") == "ganti SIM di cabang"


def test_forgotten_password_reason_reads_in_indonesian_on_the_customer_page(customer):
    """The reason stored by the service itself (not a copy in the test) is what staff read."""
    customer.set_password(PASSWORD)
    customer.save()
    services.audit_log(
        action=AuditEvent.Action.PASSWORD_CHANGED, subject=customer,
        reason="Forgotten password: User ID, birth date, account number and an SMS OTP",
    )
    client, _ = indonesian_client()
    page = client.get(reverse("admin:accounts_user_change", args=[customer.pk])).content.decode()
    assert "Lupa kata sandi: User ID, tanggal lahir" in page
    assert "Forgotten password" not in page


# --- 3. The staff login says how long a throttled code waits ---------------------------------


def test_throttled_staff_login_says_the_exact_wait():
    user, device = staff_make("staf-lambat", "agent")
    device = TOTPDevice.objects.get(pk=device.pk)
    now = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    device.throttling_failure_count = 10  # django-otp waits 2**9 = 512 s: 9 minutes
    device.throttling_failure_timestamp = now
    device.save()
    client = Client()
    with time_machine.travel(now, tick=False):
        response = client.post(
            "/admin/login/?next=/admin/",
            {
                "username": user.user_id,
                "password": PASSWORD,
                "otp_token": pyotp.TOTP(b32encode(device.bin_key).decode()).now(),
            },
        )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Coba lagi dalam 9 menit." in page, page
    assert "sebentar" not in page
    assert not response.wsgi_request.user.is_authenticated


# --- 4. One time format on every staff page ---------------------------------------------------


def test_customer_page_shows_sms_and_audit_times_alike(customer):
    at = datetime(2026, 12, 1, 10, 45, 7, tzinfo=UTC)  # 17:45:07 WIB
    with time_machine.travel(at, tick=False):
        SmsMessage.objects.create(
            user=customer, to=customer.phone, notice={"text": "x", "params": {}}
        )
        services.access_block(user=customer, kind="self_flag", reason="customer request")
    client, _ = indonesian_client()
    page = client.get(reverse("admin:accounts_user_change", args=[customer.pk])).content.decode()
    # The SMS (sent, updated) and the block as dd/mm/YYYY HH:MM:SS WIB; the audit table the
    # same, its zone in the column's title ("Waktu (WIB)"), as in the audit list.
    assert page.count("01/12/2026 17:45:07 WIB") >= 3, STAFF_TIME.findall(page)
    assert "<td>01/12/2026 17:45:07</td>" in page
    assert "Des." not in page and "17.45" not in page


def test_audit_event_page_titles_its_time_in_the_staff_format(customer):
    at = datetime(2026, 12, 1, 10, 50, 31, tzinfo=UTC)
    with time_machine.travel(at, tick=False):
        services.audit_log(action=AuditEvent.Action.LOGIN, subject=customer, actor=customer)
    event = AuditEvent.objects.get()
    client, _ = indonesian_client()
    listed = client.get(reverse("admin:accounts_auditevent_changelist")).content.decode()
    assert ">01/12/2026 17:50:31<" in listed  # the zone is in the column's title
    assert "Waktu (WIB)" in listed
    page = client.get(reverse("admin:accounts_auditevent_change", args=[event.pk])).content
    assert "01/12/2026 17:50:31 WIB" in page.decode()
