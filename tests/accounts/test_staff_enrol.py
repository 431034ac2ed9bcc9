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


# --- issue 9 item 1: no admin page before a confirmed TOTP device ---------------------------


def test_a_session_verified_by_another_device_does_not_open_the_admin(
    newcomer, django_capture_on_commit_callbacks
):
    """A member of staff with a phone but no TOTP device verifies a session with an SMS code
    (a customer page's OTP): django-otp calls the session verified, yet the admin wants the
    staff member's own confirmed TOTP device."""
    from accounts.models import ProfileChange
    from tests.conftest import outbox_code

    newcomer.phone = "+6281234565678"
    newcomer.save()
    client = Client()
    assert client.post("/login/", {"username": "stafbaru", "password": PASSWORD}).status_code == 302
    client.post("/profil/phone/", {"new_phone": "+6281311112222"})
    change = ProfileChange.objects.get(user=newcomer)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/profil/phone/{change.pk}/otp/")
    response = client.post(f"/profil/phone/{change.pk}/confirm/", {"code": outbox_code()})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/accounts/user/").status_code == 302


def test_first_admin_login_goes_straight_to_enrolment(newcomer):
    client = Client()
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "stafbaru", "password": PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == ENROL
    # Logged in by the password alone: the enrolment page, and no admin page.
    assert client.get(ENROL).status_code == 200
    for page in ("/admin/", "/admin/accounts/user/", "/admin/login/"):
        again = client.get(page, follow=True)
        assert again.redirect_chain[-1][0] == ENROL, page
    # The wrong password does not get there.
    other = Client()
    refused = other.post("/admin/login/", {"username": "stafbaru", "password": "salah-sekali"})
    assert refused.status_code == 200 and other.get(ENROL).status_code == 302


def test_enrolment_without_a_login_goes_to_the_staff_login(client, db):
    response = client.get(ENROL)
    assert response.status_code == 302 and response["Location"].startswith(
        f"/admin/login/?next={ENROL}"
    )


def test_each_enrolment_draws_a_fresh_key(newcomer):
    first = Client()
    first.post("/login/", {"username": "stafbaru", "password": PASSWORD})
    first_uri = otpauth_uri(first.get(ENROL).content.decode())
    # The same session sees the same key on a reload.
    assert otpauth_uri(first.get(ENROL).content.decode()) == first_uri
    second = Client()
    second.post("/login/", {"username": "stafbaru", "password": PASSWORD})
    second_uri = otpauth_uri(second.get(ENROL).content.decode())
    assert pyotp.parse_uri(second_uri).secret != pyotp.parse_uri(first_uri).secret
    # One unconfirmed device: the older one (and its key) is gone.
    device = TOTPDevice.objects.get(user=newcomer)
    assert device.config_url == second_uri and not device.confirmed
    # The first session's key enrols nothing any more (and that session ended at the new
    # login: one session per user).
    response = first.post(ENROL, {"code": pyotp.parse_uri(first_uri).now()})
    assert response.status_code == 302 and response["Location"] != "/admin/"
    assert list(TOTPDevice.objects.filter(user=newcomer)) == [device]


def test_wrong_enrolment_codes_are_throttled_like_login_codes(newcomer):
    import time_machine
    from django.utils import timezone

    client = Client()
    client.post("/login/", {"username": "stafbaru", "password": PASSWORD})
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        totp = pyotp.parse_uri(otpauth_uri(client.get(ENROL).content.decode()))
        right = totp.now()
        wrong = f"{(int(right) + 1) % 10**6:06d}"
        assert client.post(ENROL, {"code": wrong}).status_code == 200
        device = TOTPDevice.objects.get(user=newcomer)
        # Counted and committed although the request failed (django-otp's ThrottlingMixin).
        assert device.throttling_failure_count == 1
        # Within the back-off even the right code is refused.
        response = client.post(ENROL, {"code": right})
        assert response.status_code == 200
        assert response.context["form"].errors.as_data()["code"][0].code == "enrolment_throttled"
        assert client.post(ENROL, {"code": wrong}).status_code == 200
        traveller.shift(timedelta(seconds=2))
        assert client.post(ENROL, {"code": wrong}).status_code == 200
        device.refresh_from_db()
        assert not device.confirmed and device.throttling_failure_count == 2
        # Starting a new enrolment does not clear the count.
        other = Client()
        other.post("/login/", {"username": "stafbaru", "password": PASSWORD})
        other.get(ENROL)
        assert TOTPDevice.objects.get(user=newcomer).throttling_failure_count == 2
        traveller.shift(timedelta(seconds=31))
        code = pyotp.parse_uri(otpauth_uri(other.get(ENROL).content.decode())).now()
        assert other.post(ENROL, {"code": code}).status_code == 302
    device = TOTPDevice.objects.get(user=newcomer)
    assert device.confirmed and device.throttling_failure_count == 0


def test_the_enrolment_notes_the_session_key_it_cycles_away(newcomer_client, newcomer):
    """So that a logout from another tab still carrying the old key ends the session (F2, as
    for customers; tests/accounts/test_admin.py has the logout side)."""
    from django.core.cache import cache

    from accounts import services

    totp = pyotp.parse_uri(otpauth_uri(newcomer_client.get(ENROL).content.decode()))
    old_key = newcomer_client.session.session_key
    response = newcomer_client.post(ENROL, {"code": totp.now()})
    assert response.status_code == 302
    assert newcomer_client.session.session_key != old_key
    assert cache.get(services._session_cycled_note_key(old_key)) == newcomer.pk
