"""Registering a Mobile Token through the pages (docs/mobile-token-design.md §3.1, §3.2, §4.2):
login, an OTP on the customer's factor (SMS, or the hardware token's code), then the phone's
two POSTs: ``kunci/`` gives a device secret S, ``selesai/`` takes K_u derived from S and the
Unlock Code (computed here with ``tokens.mobile.unlock_key``, as the phone's WebCrypto does).
The server never sees the Unlock Code; trivial ones are refused by trial derivation."""

import base64
import json
import re
from datetime import timedelta
from http.cookies import SimpleCookie
from uuid import UUID

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from django.utils.translation import override
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.models import AuditEvent, User
from tests.conftest import TOKEN_SECRET, needs_postgres, outbox_code
from tests.factories import PASSWORD
from tests.tokens.conftest import oathtool
from tokens import hardware, mobile
from tokens.exceptions import MobileTokenRetailOnly, UnlockCodeTooSimple
from tokens.mobile_forms import MobileRegisterFinishForm
from tokens.mobile_views import SESSION_KEY
from tokens.models import MobileDevice, MobileRegistration, OutboxMessage

pytestmark = pytest.mark.django_db

REGISTER = "/mobile-token/daftar/"
OTP = "/mobile-token/daftar/otp/"
UNLOCK = "/mobile-token/daftar/unlock-code/"
KEY = "/mobile-token/daftar/kunci/"
FINISH = "/mobile-token/daftar/selesai/"
PIN = "482915"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def seed_get(client) -> tuple[UUID, bytes]:
    response = client.post(KEY)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]
    data = json.loads(response.content)
    seed = base64.urlsafe_b64decode(data["seed"] + "=")
    assert len(seed) == 32
    return UUID(data["device"]), seed


def finish(client, device, seed, pin, label="Ponsel Budi"):
    return client.post(
        FINISH, {"unlock_key": b64url(mobile.unlock_key(seed, device, pin)), "label": label}
    )


def sms_confirm(client, run_on_commit):
    """Steps 1 of the page: Generate OTP, the code from the outbox, posted."""
    page = client.get(REGISTER)
    assert page.status_code == 200
    assert "Generate OTP" in page.content.decode()
    response = run_on_commit(client.post, OTP)
    assert response.status_code == 302 and response["Location"] == REGISTER
    response = client.post(REGISTER, {"code": outbox_code()})
    assert response.status_code == 302, response.content.decode()[:3000]
    assert response["Location"] == UNLOCK


def test_sms_customer_registers_and_a_trivial_unlock_code_is_refused_first(
    customer_client, customer, run_on_commit
):
    sms_confirm(customer_client, run_on_commit)
    page = customer_client.get(UNLOCK).content.decode()
    for dom_id in ("mt-unlock-1", "mt-unlock-2"):
        tag = re.search(rf'<input[^>]*id="{dom_id}"[^>]*>', page).group(0)
        assert " name=" not in tag, tag
    assert 'id="mt-register-go"' in page and "csrfmiddlewaretoken" in page
    assert 'aria-live="assertive"' in page
    assert "Mobile Token memerlukan JavaScript" in page  # the <noscript> text, in Indonesian

    device, seed = seed_get(customer_client)
    birth = customer.birth_date.strftime("%d%m%y")
    for trivial in ("000000", "123456", "121212", birth):
        response = finish(customer_client, device, seed, trivial)
        assert response.status_code == 400, trivial
        data = json.loads(response.content)
        assert data["ok"] is False
        with override("id"):
            assert data["error"] == str(UnlockCodeTooSimple.message), data
    assert not MobileDevice.objects.filter(user=customer).exists()

    # The phone asks for a new S after a refusal (the script does so); it is accepted.
    device, seed = seed_get(customer_client)
    response = run_on_commit(finish, customer_client, device, seed, PIN)
    assert response.status_code == 200, response.content
    assert json.loads(response.content) == {"ok": True, "next": "/mobile-token/?registered=1"}

    active = MobileDevice.objects.get(user=customer, revoked_at__isnull=True)
    assert active.public_id == device and active.confirmed and active.name == "Ponsel Budi"
    assert hardware.seed_unseal(active.sealed_key) == mobile.unlock_key(seed, device, PIN)
    customer.refresh_from_db()
    assert customer.confirmation_method == User.ConfirmationMethod.MOBILE_TOKEN
    registration = MobileRegistration.objects.get(user=customer)
    assert registration.sealed_seed == "" and registration.completed_at is not None
    assert SESSION_KEY not in customer_client.session
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.MOBILE_TOKEN_REGISTERED, subject=customer
    ).exists()
    # Told by SMS and e-mail.
    assert "Mobile Token" in OutboxMessage.objects.first().body
    assert any("Mobile Token" in message.body for message in mail.outbox)
    # The Unlock Code is nowhere: not in any row of these tables, not in the audit.
    for model in (MobileDevice, MobileRegistration, AuditEvent, OutboxMessage):
        for row in model.objects.all().values():
            assert PIN not in json.dumps(row, default=str), (model, row)
    # The registration is over: its endpoints refuse.
    assert customer_client.post(KEY).status_code == 400
    assert finish(customer_client, device, seed, "739146").status_code == 400


def test_registering_again_replaces_the_first_phone(customer_client, customer, run_on_commit):
    sms_confirm(customer_client, run_on_commit)
    device, seed = seed_get(customer_client)
    assert finish(customer_client, device, seed, PIN).status_code == 200
    # Registering again: an SMS still (the Mobile Token never approves its own replacement).
    sms_confirm(customer_client, run_on_commit)
    assert (
        "Mobile Token di ponsel lain berhenti berfungsi"
        in customer_client.get(UNLOCK).content.decode()
    )
    second, seed2 = seed_get(customer_client)
    assert second != device
    assert finish(customer_client, second, seed2, "739146").status_code == 200
    first = MobileDevice.objects.get(public_id=device)
    assert first.revoked_at is not None and first.revoke_reason == "replaced"
    assert MobileDevice.objects.get(user=customer, revoked_at__isnull=True).public_id == second


def test_key_endpoint_is_post_only_and_needs_the_otp(customer_client, customer, run_on_commit):
    assert customer_client.get(KEY).status_code == 405
    assert customer_client.get(FINISH).status_code == 405
    customer_client.get(REGISTER)  # a registration, its OTP not yet confirmed
    response = customer_client.post(KEY)
    assert response.status_code == 400 and json.loads(response.content)["ok"] is False
    assert MobileRegistration.objects.get(user=customer).seeds_issued == 0
    # Nor does the Unlock Code page open before the OTP.
    response = customer_client.get(UNLOCK)
    assert response.status_code == 302 and response["Location"] == REGISTER


def test_wrong_otp_is_refused_and_the_unlock_page_stays_closed(
    customer_client, customer, run_on_commit
):
    customer_client.get(REGISTER)
    run_on_commit(customer_client.post, OTP)
    code = outbox_code()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    response = customer_client.post(REGISTER, {"code": wrong})
    assert response.status_code == 200
    assert MobileRegistration.objects.get(user=customer).otp_confirmed_at is None
    assert customer_client.get(UNLOCK).status_code == 302
    assert customer_client.post(KEY).status_code == 400


def test_another_users_registration_in_the_session_is_not_used(
    customer_client, customer, other_customer
):
    theirs = mobile.registration_start(user=other_customer)
    MobileRegistration.objects.filter(pk=theirs.pk).update(otp_confirmed_at=timezone.now())
    session = customer_client.session
    session[SESSION_KEY] = str(theirs.pk)
    session.save()
    response = customer_client.post(KEY)
    assert response.status_code == 400
    assert customer_client.get(UNLOCK).status_code == 302
    theirs.refresh_from_db()
    assert theirs.seeds_issued == 0 and theirs.sealed_seed == ""
    # The register page starts the customer's own registration instead.
    assert customer_client.get(REGISTER).status_code == 200
    assert customer_client.session[SESSION_KEY] != str(theirs.pk)
    assert MobileRegistration.objects.filter(user=customer).count() == 1


def test_bad_keys_expired_registration_and_the_seed_limit(
    customer_client, customer, run_on_commit, settings
):
    sms_confirm(customer_client, run_on_commit)
    device, seed = seed_get(customer_client)
    for bad in ("", b64url(bytes(31)), b64url(bytes(32)) + "A", "!" * 43):
        response = customer_client.post(FINISH, {"unlock_key": bad})
        assert response.status_code == 400, bad
        assert json.loads(response.content)["ok"] is False
    for _ in range(settings.MOBILE_TOKEN_SEEDS_PER_REGISTRATION - 1):
        seed_get(customer_client)
    response = customer_client.post(KEY)  # one seed too many: the registration is over
    assert response.status_code == 400
    assert not MobileDevice.objects.filter(user=customer).exists()


def test_expired_registration_is_refused(customer_client, customer, run_on_commit):
    sms_confirm(customer_client, run_on_commit)
    device, seed = seed_get(customer_client)
    MobileRegistration.objects.filter(user=customer).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert finish(customer_client, device, seed, PIN).status_code == 400
    assert customer_client.post(KEY).status_code == 400
    assert not MobileDevice.objects.filter(user=customer).exists()


def test_hardware_token_user_confirms_with_the_tokens_code(client, token_user):
    response = client.post("/login/", {"username": token_user.user_id, "password": PASSWORD})
    assert response.status_code == 302
    page = client.get(REGISTER).content.decode()
    assert "Generate OTP" not in page
    # No SMS for a token user: the token makes the code.
    client.post(OTP)
    assert not OutboxMessage.objects.exists()
    # The token's first code, from Debian's oathtool (outside the portal entirely).
    response = client.post(REGISTER, {"code": oathtool(TOKEN_SECRET.hex(), counter=0)})
    assert response.status_code == 302, response.content.decode()[:3000]
    assert response["Location"] == UNLOCK
    device, seed = seed_get(client)
    assert finish(client, device, seed, PIN).status_code == 200
    token_user.refresh_from_db()
    assert token_user.confirmation_method == User.ConfirmationMethod.MOBILE_TOKEN


def test_not_logged_in(client):
    response = client.get(REGISTER)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={REGISTER}"
    assert client.post(OTP).status_code == 302
    response = client.post(KEY)
    assert response.status_code == 403 and json.loads(response.content)["ok"] is False
    assert client.post(FINISH, {"unlock_key": "A" * 43}).status_code == 403


def test_corporate_user_is_told_the_mobile_token_is_for_retail_customers(customer_client, customer):
    from accounts.models import Company

    company = Company.objects.create(name="PT Uji", cif="C000999", corporate_id="PTUJI")
    User.objects.filter(pk=customer.pk).update(company=company)
    response = customer_client.get(REGISTER)
    assert response.status_code == 200
    page = response.content.decode()
    with override("id"):
        assert str(MobileTokenRetailOnly.message) in page
    assert "otp-box" not in page and "Generate OTP" not in page
    for method in (customer_client.get, customer_client.post):
        response = method(OTP)
        assert response.status_code == 302 and response["Location"] == REGISTER
    assert not OutboxMessage.objects.exists()
    assert not MobileRegistration.objects.exists()


def _clients_like(client, count):
    """``count`` clients carrying ``client``'s cookies: one browser, parallel requests."""
    clients = []
    for _ in range(count):
        other = Client()
        other.cookies = SimpleCookie(client.cookies.output(header="", sep=";"))
        clients.append(other)
    return clients


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_seed_requests_and_completions_make_one_device(
    customer_client, customer, run_on_commit, settings
):
    from tests.payments.test_concurrency import run_at_once

    sms_confirm(customer_client, run_on_commit)
    limit = settings.MOBILE_TOKEN_SEEDS_PER_REGISTRATION
    clients = _clients_like(customer_client, limit + 3)
    answers = run_at_once(len(clients), lambda i: clients[i].post(KEY))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] * limit + [400] * 3, answers
    ended = MobileRegistration.objects.get(user=customer)
    assert ended.seeds_issued == limit and ended.is_expired and ended.sealed_seed == ""
    # A new registration (the last one ended with its seeds): its key, sent 8 times at once.
    sms_confirm(customer_client, run_on_commit)
    seed_get(customer_client)
    registration = MobileRegistration.objects.get(user=customer, completed_at__isnull=True)
    seed = hardware.seed_unseal(registration.sealed_seed)
    key = b64url(mobile.unlock_key(seed, registration.device_id, PIN))
    clients = _clients_like(customer_client, 8)
    answers = run_at_once(8, lambda i: clients[i].post(FINISH, {"unlock_key": key}))
    assert sorted(answer.status_code for answer in answers) == [200] + [400] * 7, answers
    assert MobileDevice.objects.filter(user=customer).count() == 1
    assert AuditEvent.objects.filter(action=AuditEvent.Action.MOBILE_TOKEN_REGISTERED).count() == 1


@given(st.text(max_size=60), st.text(max_size=80))
@hypothesis_settings(max_examples=300, deadline=None)
def test_finish_form_gives_32_bytes_or_a_form_error(unlock_key, label):
    """Whatever the phone (or anyone) posts, the form gives K_u as exactly 32 bytes and a
    one-line label, or errors; never another exception."""
    form = MobileRegisterFinishForm({"unlock_key": unlock_key, "label": label})
    if form.is_valid():
        key = form.cleaned_data["unlock_key"]
        assert isinstance(key, bytes) and len(key) == 32
        assert b64url(key) == unlock_key
        assert "\n" not in form.cleaned_data["label"] and len(form.cleaned_data["label"]) <= 64
    else:
        assert "unlock_key" in form.errors or "label" in form.errors


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "A" * 42,
        "A" * 44,
        "+" * 43,
        "/" * 43,
        "A" * 42 + "=",
        "Ａ" * 43,
        "A" * 42 + "\x00",
        "A" * 42 + "B",
    ],
)
def test_finish_form_refuses_keys_of_the_wrong_shape(bad):
    assert not MobileRegisterFinishForm({"unlock_key": bad}).is_valid()


def test_a_registration_confirmed_in_one_session_is_not_handed_to_another_login(
    customer_client, customer, run_on_commit
):
    """Attack finding F1: the OTP-confirmed registration was the user's, not the session's; a
    second login with the password alone (the owner had stopped, or logged out) was sent
    straight to the Unlock Code and registered its own phone without an SMS code."""
    sms_confirm(customer_client, run_on_commit)
    customer_client.post("/logout/")
    stranger = Client()
    response = stranger.post("/login/", {"username": customer.user_id, "password": PASSWORD})
    assert response.status_code == 302
    page = stranger.get(REGISTER)
    assert page.status_code == 200 and "Generate OTP" in page.content.decode()
    assert stranger.get(UNLOCK)["Location"] == REGISTER
    assert stranger.post(KEY).status_code == 400
    response = stranger.post(FINISH, {"unlock_key": b64url(bytes(32)), "label": "x"})
    assert response.status_code == 400
    assert not MobileDevice.objects.filter(user=customer).exists()


def test_after_the_last_seed_the_customer_starts_again_at_once(
    customer_client, customer, run_on_commit, settings
):
    """Attack finding F3: after the last device secret the registration stayed open until it
    expired, and the page kept sending the customer to the Unlock Code step that refused."""
    sms_confirm(customer_client, run_on_commit)
    for _ in range(settings.MOBILE_TOKEN_SEEDS_PER_REGISTRATION):
        seed_get(customer_client)
    assert customer_client.post(KEY).status_code == 400
    page = customer_client.get(REGISTER)
    assert page.status_code == 200 and "Generate OTP" in page.content.decode()
    sms_confirm(customer_client, run_on_commit)
    device, seed = seed_get(customer_client)
    assert json.loads(finish(customer_client, device, seed, PIN).content)["ok"] is True


def test_a_registration_that_is_over_says_so_with_a_restart_field(
    customer_client, customer, run_on_commit, settings
):
    """The page offers "Mulai lagi" only on this field: the last seed spent, or an expired
    registration, is no refusal that another Unlock Code could fix."""
    sms_confirm(customer_client, run_on_commit)
    device, seed = seed_get(customer_client)
    response = finish(customer_client, device, seed, "123456")  # trivial: try again, no restart
    assert response.status_code == 400 and "restart" not in json.loads(response.content)
    for _ in range(settings.MOBILE_TOKEN_SEEDS_PER_REGISTRATION - 1):
        seed_get(customer_client)
    data = json.loads(customer_client.post(KEY).content)
    assert data["ok"] is False and data["restart"] is True
    assert "kedaluwarsa" in data["error"]
    data = json.loads(finish(customer_client, device, seed, PIN).content)
    assert data["restart"] is True and "login" not in data


def test_an_ended_session_gets_json_with_a_login_link(customer_client, customer, run_on_commit):
    sms_confirm(customer_client, run_on_commit)
    customer_client.post("/logout/")
    for response in (
        customer_client.post(KEY),
        customer_client.post(FINISH, {"unlock_key": b64url(bytes(32))}),
    ):
        assert response.status_code == 403
        data = json.loads(response.content)
        assert data["ok"] is False and data["error"].startswith("Sesi Anda")
        assert data["login"] == "/login/?next=%2Fmobile-token%2Fdaftar%2F"
