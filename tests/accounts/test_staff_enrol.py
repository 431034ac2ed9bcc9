"""A member of staff without a TOTP device enrols one: QR code drawn by the portal, first code."""

import re
from datetime import timedelta
from html import unescape
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest
import segno
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AuditEvent
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

ENROL = "/staff/otp/enrol/"


@pytest.fixture
def newcomer(db):
    from django.contrib.auth.models import Group

    user = UserFactory(user_id="stafbaru", is_staff=True, phone="")
    user.groups.add(Group.objects.get(name="Call centre agent"))
    return user


@pytest.fixture
def newcomer_client(newcomer):
    client = Client()
    assert client.post("/login/", {"username": "stafbaru", "password": PASSWORD}).status_code == 302
    return client


def otpauth_uri(page: str) -> str:
    return unescape(re.search(r'href="(otpauth://[^"]+)"', page).group(1))


def test_admin_login_page_points_to_enrolment(client, db):
    page = client.get("/admin/login/").content.decode()
    assert f'href="{ENROL}"' in page


def test_enrolment_needs_a_login(client, db):
    response = client.get(ENROL)
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


def test_enrol_with_the_qr_code_and_a_first_code(newcomer_client, newcomer):
    response = newcomer_client.get(ENROL)
    assert response.status_code == 200
    page = response.content.decode()
    # The QR code is inline SVG made here: no script, no style attribute, no external service.
    svg = re.search(r"<svg.*?</svg>", page, re.S).group(0)
    assert "style=" not in svg and "<script" not in svg and "http" not in svg.replace("http://www.w3.org", "")
    uri = otpauth_uri(page)
    device = TOTPDevice.objects.get(user=newcomer)
    assert not device.confirmed and uri == device.config_url
    assert svg == segno.make(uri, error="m").svg_inline(scale=4, title=None, border=2)
    totp = pyotp.parse_uri(uri)  # an authenticator app accepts it
    assert parse_qs(urlparse(uri).query)["secret"][0] in page
    # The admin stays closed until the device is confirmed.
    assert newcomer_client.get("/admin/").status_code == 302

    wrong = newcomer_client.post(ENROL, {"code": f"{(int(totp.now()) + 1) % 10**6:06d}"})
    assert wrong.status_code == 200 and not TOTPDevice.objects.get(pk=device.pk).confirmed
    assert newcomer_client.post(ENROL, {"code": "١٢٣٤٥٦"}).status_code == 200

    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    code = totp.now()
    response = newcomer_client.post(ENROL, {"code": code})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert TOTPDevice.objects.get(pk=device.pk).confirmed
    assert newcomer_client.get("/admin/").status_code == 200
    assert newcomer_client.get("/admin/accounts/user/").status_code == 200
    event = AuditEvent.objects.filter(subject=newcomer, action="staff_device_enrolled").get()
    assert event.data["device"] == "totp" and code not in str(event.data)
    # Once enrolled, the page does not show a seed again.
    again = newcomer_client.get(ENROL)
    assert again.status_code == 302 and again["Location"] == "/admin/"


def test_enrolled_staff_log_into_the_admin_with_the_new_device(newcomer_client, newcomer):
    uri = otpauth_uri(newcomer_client.get(ENROL).content.decode())
    totp = pyotp.parse_uri(uri)
    assert newcomer_client.post(ENROL, {"code": totp.now()}).status_code == 302
    import time_machine
    from django.utils import timezone

    with time_machine.travel(timezone.now() + timedelta(seconds=60)):
        client = Client()
        response = client.post(
            "/admin/login/?next=/admin/",
            {"username": "stafbaru", "password": PASSWORD, "otp_token": totp.now()},
        )
        assert response.status_code == 302
        assert client.get("/admin/").status_code == 200
