"""Profil Saya's Mobile Token (issue 12 items 5 and 7): which phone is registered, when it was
registered and last used, and "Hapus pendaftaran" confirmed by an OTP on another factor (an SMS
to the registered number: the phone may be lost, so its own codes never remove it)."""

from http.cookies import SimpleCookie
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent, EmailMessage, User
from tests.conftest import needs_postgres, outbox_code
from tests.corporate.conftest import company_make, corporate_user
from tests.corporate.conftest import login as corporate_login
from tests.payments.test_concurrency import run_at_once
from tests.tokens.test_mobile_confirm_page import code_now, mobile_device_make
from tokens import mobile
from tokens.models import Challenge, MobileDevice, OutboxMessage

pytestmark = pytest.mark.django_db

DEREGISTER = "/profil/mobile-token/hapus/"
DEREGISTER_OTP = "/profil/mobile-token/hapus/otp/"


@pytest.fixture
def device(customer):
    device, _key = mobile_device_make(customer, name="Pixel 8 Budi")
    return device


@pytest.fixture
def client_in(client, customer, device, password):
    response = client.post("/login/", {"username": customer.user_id, "password": password})
    assert response.status_code == 302
    return client


def test_the_urls_are_the_contract():
    assert reverse("accounts:mobile-deregister") == DEREGISTER
    assert reverse("accounts:mobile-deregister-otp") == DEREGISTER_OTP


def test_profile_shows_the_registered_phone(client_in, device):
    page = client_in.get("/profil/").content.decode()
    assert "Mobile Token" in page
    assert "Ponsel terdaftar" in page and "Pixel 8 Budi" in page
    local = device.registered_at.astimezone(ZoneInfo("Asia/Jakarta")).strftime("%d/%m/%Y %H:%M")
    assert f"{local} WIB" in page
    assert "belum pernah dipakai" in page
    assert f'href="{DEREGISTER}"' in page
    assert '<a class="profile-mobile-open" href="/mobile-token/">Buka Mobile Token</a>' in page
    MobileDevice.objects.filter(pk=device.pk).update(
        last_used_at=device.registered_at.replace(year=2026, month=11, day=30, hour=3, minute=5)
    )
    page = client_in.get("/profil/").content.decode()
    assert "belum pernah dipakai" not in page
    assert "30/11/2026 10:05 WIB" in page  # 03:05 UTC in Jakarta


def test_profile_without_a_device_offers_registration(customer_client):
    page = customer_client.get("/profil/").content.decode()
    assert "Ponsel terdaftar" not in page and DEREGISTER not in page
    assert f'href="{reverse("tokens:mobile-register")}"' in page
    assert "Daftar Mobile Token" in page


def test_a_corporate_user_has_no_mobile_token_section(db):
    company = company_make("MAJUBERSAMA", "C000123", "PT Maju Bersama", "2001000018")
    user = corporate_user(company, "andi", "+6281200000001")
    client = corporate_login(user)
    page = client.get("/profil/").content.decode()
    assert "Mobile Token" not in page
    assert client.get(DEREGISTER).status_code == 302


def test_without_a_device_the_page_goes_back_to_the_profile(customer_client):
    response = customer_client.get(DEREGISTER)
    assert response.status_code == 302 and response.url == "/profil/"
    assert customer_client.post(DEREGISTER_OTP).url == "/profil/"
    assert customer_client.post(DEREGISTER, {"code": "123456"}).url == "/profil/"


def test_the_page_asks_for_an_sms_code(client_in, customer):
    page = client_in.get(DEREGISTER).content.decode()
    assert "Hapus Pendaftaran Mobile Token" in page and "Pixel 8 Budi" in page
    assert f'action="{DEREGISTER_OTP}"' in page  # "Generate OTP": by SMS, never the phone
    assert "data-mt-device" not in page and "mobile-token-instant" not in page


def test_the_page_speaks_plainly_and_says_what_to_do_when_the_sms_phone_is_lost(
    client_in, settings
):
    settings.BANK_CALL_CENTRE = "(021) 1500 123"
    page = client_in.get(DEREGISTER).content.decode()
    assert "salinan" not in page
    assert "kode dari ponsel ini tidak diterima lagi" in page
    assert "juga ponsel penerima SMS kode Anda" in page
    assert (
        'Hubungi Call Center di <a href="tel:0211500123" class="nowrap">(021) 1500 123</a>' in page
    )


def test_sms_code_deregisters(client_in, customer, device, run_on_commit):
    response = run_on_commit(client_in.post, DEREGISTER_OTP)
    assert response.status_code == 302 and response.url == DEREGISTER
    sms = OutboxMessage.objects.get()
    assert sms.to == customer.phone and "Mobile Token" in sms.body
    challenge = Challenge.objects.get(user=customer, purpose="mobile_deregistration")
    assert challenge.channel == Challenge.Channel.SMS
    code = outbox_code()
    response = run_on_commit(client_in.post, DEREGISTER, {"code": code})
    assert response.status_code == 302 and response.url == "/profil/", response.content[:2000]
    device.refresh_from_db()
    assert device.revoked_at is not None and device.revoke_reason == "customer"
    assert device.revoked_by_id == customer.pk and not device.confirmed
    customer.refresh_from_db()
    assert customer.confirmation_method == User.ConfirmationMethod.SMS
    event = AuditEvent.objects.get(action=AuditEvent.Action.MOBILE_TOKEN_REVOKED)
    assert event.subject_id == customer.pk and event.data["device"] == str(device.public_id)
    assert event.data["reason"] == "customer" and event.ip_address == "127.0.0.1"
    assert event.actor_id == customer.pk
    # The customer is told by SMS and email (the notice).
    notice = OutboxMessage.objects.exclude(body__contains=code).first()
    assert notice is not None and "Pixel 8 Budi" in notice.body
    assert EmailMessage.objects.filter(user=customer).exists()
    page = client_in.get("/profil/").content.decode()
    assert "Pendaftaran Mobile Token di Pixel 8 Budi telah dihapus" in page
    assert "Ponsel terdaftar" not in page
    # Its codes are refused from now on: the confirm pages are back to SMS.
    assert mobile.device_code_verify(device=device, code=code_now(device), link="") is False


def test_a_wrong_code_is_counted_and_removes_nothing(client_in, customer, device, run_on_commit):
    run_on_commit(client_in.post, DEREGISTER_OTP)
    code = outbox_code()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    response = client_in.post(DEREGISTER, {"code": wrong})
    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.otp_failure_count == 1
    device.refresh_from_db()
    assert device.revoked_at is None
    assert customer.confirmation_method == User.ConfirmationMethod.MOBILE_TOKEN


def test_the_phone_cannot_remove_itself(client_in, customer, device, run_on_commit):
    """The Mobile Token's own code (what a thief with the phone and the Unlock Code has) is no
    SMS code: refused."""
    run_on_commit(client_in.post, DEREGISTER_OTP)
    response = client_in.post(DEREGISTER, {"code": code_now(device)})
    assert response.status_code == 200
    device.refresh_from_db()
    assert device.revoked_at is None


def test_another_users_device_is_untouched(
    client_in, customer, device, other_customer, run_on_commit
):
    theirs, _key = mobile_device_make(other_customer, name="iPhone Siti")
    run_on_commit(client_in.post, DEREGISTER_OTP)
    run_on_commit(client_in.post, DEREGISTER, {"code": outbox_code()})
    device.refresh_from_db()
    theirs.refresh_from_db()
    assert device.revoked_at is not None
    assert theirs.revoked_at is None and theirs.confirmed
    other_customer.refresh_from_db()
    assert other_customer.confirmation_method == User.ConfirmationMethod.MOBILE_TOKEN


def test_a_code_sent_for_the_old_phone_does_not_remove_the_new_one(
    client_in, customer, device, run_on_commit
):
    """The code is bound to the device: an SMS code for a phone already replaced is not the
    new phone's (its intent differs)."""
    run_on_commit(client_in.post, DEREGISTER_OTP)
    code = outbox_code()
    # Replaced meanwhile (here directly: the registration flow is tested elsewhere).
    MobileDevice.objects.filter(pk=device.pk).update(
        revoked_at=device.registered_at, revoke_reason="replaced", confirmed=False
    )
    new, _key = mobile_device_make(customer, name="Galaxy Budi")
    response = client_in.post(DEREGISTER, {"code": code})
    assert response.status_code == 200
    new.refresh_from_db()
    assert new.revoked_at is None


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_submits_of_the_code_deregister_once(customer, password, run_on_commit):
    """A double click (or eight): one removal, one audit event, one notice; the other requests
    land on Profil Saya."""
    device, _key = mobile_device_make(customer)
    client = Client()
    assert client.post("/login/", {"username": customer.user_id, "password": password}).url
    run_on_commit(client.post, DEREGISTER_OTP)
    code = outbox_code()
    sms_before = OutboxMessage.objects.count()

    def submit(_):
        browser = Client()
        browser.cookies = SimpleCookie(client.cookies)
        return browser.post(DEREGISTER, {"code": code})

    results = run_at_once(8, submit)

    assert all(getattr(r, "status_code", None) == 302 for r in results), results
    assert {r.url for r in results} == {"/profil/"}
    device.refresh_from_db()
    assert device.revoked_at is not None
    revoked = AuditEvent.objects.filter(action=AuditEvent.Action.MOBILE_TOKEN_REVOKED)
    assert revoked.count() == 1
    assert OutboxMessage.objects.count() - sms_before == 1  # one notice (sent on commit)
    customer.refresh_from_db()
    assert customer.otp_failure_count == 0
