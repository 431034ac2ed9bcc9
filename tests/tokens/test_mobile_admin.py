"""The Mobile Token in the staff admin (issue 12 item 5, staff part; design §3.5).

Staff see customers' registered phones read-only and never a key (not even sealed); a call-
centre agent de-registers a lost phone with a written reason, which is audited with the actor
and the IP, and the phone's codes are refused from then on. A branch officer, who has no
Mobile Token permission, cannot. The pages are Indonesian by default. A customer blocked by
five wrong Unlock Codes is unblocked by an agent in the admin and can then confirm.
"""

import re
from uuid import UUID

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, User
from tests.accounts.test_admin_i18n import english_in
from tests.conftest import needs_postgres
from tests.payments.test_concurrency import run_at_once
from tests.tokens.conftest import staff_client_make
from tests.tokens.intent import SUMMARY
from tokens import exceptions, hardware, mobile, services
from tokens.models import MobileDevice, SmsMessage

pytestmark = pytest.mark.django_db

LIST = "/admin/tokens/mobiledevice/"
KEY = bytes(range(32))  # K_u of the customer's phone, as the test made it
WRONG_KEY = bytes(range(1, 33))  # what a wrong Unlock Code derives instead
NOW = 1_900_000_005  # a fixed time: codes are made for its step
STEP = NOW // 30


def device_make(user, *, name="Pixel 8 Budi", key=KEY, **fields):
    return MobileDevice.objects.create(
        user=user, sealed_key=hardware.seed_seal(key), name=name, **fields
    )


def deregister_url(device):
    return reverse("admin:tokens_mobiledevice_deregister", args=[device.pk])


def assert_no_key(html: str, device: MobileDevice):
    assert "sealed" not in html.lower()
    assert device.sealed_key[:24] not in html and device.sealed_key[-24:] not in html
    assert KEY.hex() not in html.lower()
    assert "last_t" not in html


@pytest.fixture
def mobile_user(customer):
    customer.confirmation_method = User.ConfirmationMethod.MOBILE_TOKEN
    customer.save(update_fields=["confirmation_method"])
    return customer


def test_list_and_detail_show_the_phone_and_never_a_key(mobile_user, other_customer):
    client, _ = staff_client_make("agent", "agen01")
    old = device_make(
        mobile_user,
        name="Ponsel lama",
        revoked_at=timezone.now(),
        revoke_reason="replaced",
        confirmed=False,
    )
    device = device_make(mobile_user, last_used_at=timezone.now())
    device_make(other_customer, name="iPhone Siti")

    # Search by User ID (exact); filter active / de-registered.
    found = client.get(LIST, {"q": "budi"}).content.decode()
    assert "Pixel 8 Budi" in found and "Ponsel lama" in found and "iPhone Siti" not in found
    assert "budi" in found and "WIB" in found
    for shown in (device, old):
        assert_no_key(found, shown)
    active = client.get(LIST, {"q": "budi", "state": "active"}).content.decode()
    assert "Pixel 8 Budi" in active and "Ponsel lama" not in active
    revoked = client.get(LIST, {"q": "budi", "state": "revoked"}).content.decode()
    assert "Ponsel lama" in revoked and "Pixel 8 Budi" not in revoked

    detail = client.get(f"{LIST}{device.pk}/change/").content.decode()
    assert "Pixel 8 Budi" in detail and deregister_url(device) in detail
    assert_no_key(detail, device)
    # The revoked one has no de-register link.
    assert deregister_url(old) not in client.get(f"{LIST}{old.pk}/change/").content.decode()
    # Nothing is added, changed or deleted through the model forms.
    assert client.get(f"{LIST}add/").status_code == 403
    assert client.post(f"{LIST}{device.pk}/change/", {"name": "x"}).status_code == 403
    assert client.get(f"{LIST}{device.pk}/delete/").status_code == 403
    assert MobileDevice.objects.get(pk=device.pk).name == "Pixel 8 Budi"


def test_a_branch_officer_without_the_permission_cannot_de_register(mobile_user):
    client, officer = staff_client_make("branch", "cabang01")
    assert not officer.has_perm("tokens.deregister_mobile_device")
    device = device_make(mobile_user)
    assert client.get(deregister_url(device)).status_code == 403
    response = client.post(deregister_url(device), {"reason": "ponsel hilang"})
    assert response.status_code == 403
    device.refresh_from_db()
    assert device.revoked_at is None and device.confirmed
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.MOBILE_TOKEN_REVOKED).exists()
    # Nor does the service let them (it checks the permission again).
    with pytest.raises(exceptions.TokenActionRefused):
        mobile.device_revoke(device=device, actor=officer, reason="ponsel hilang", ip="10.0.0.9")
    device.refresh_from_db()
    assert device.revoked_at is None


def test_an_agent_de_registers_a_lost_phone_audited_and_its_codes_are_refused(mobile_user):
    client, agent = staff_client_make("agent", "agen01")
    client.cookies.pop(settings.LANGUAGE_COOKIE_NAME, None)  # Indonesian, the default
    device = device_make(mobile_user)
    page = client.get(deregister_url(device)).content.decode()
    assert "Batalkan registrasi (ponsel hilang)" in page and "Pixel 8 Budi" in page
    assert_no_key(page, device)
    # A reason is required: nothing changes without one.
    assert client.post(deregister_url(device), {"reason": ""}).status_code == 200
    assert MobileDevice.objects.get(pk=device.pk).revoked_at is None

    response = client.post(
        deregister_url(device),
        {"reason": "Nasabah menelepon: ponsel dicuri di bus"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == f"{LIST}{device.pk}/change/"
    assert "Registrasi Mobile Token budi di Pixel 8 Budi dibatalkan" in (response.content.decode())
    # The device's page shows what the agent wrote, for the next agent on the phone.
    assert "Nasabah menelepon: ponsel dicuri di bus" in response.content.decode()
    device.refresh_from_db()
    assert device.revoked_at is not None and not device.confirmed
    assert (device.revoke_reason, device.revoked_by) == ("staff", agent)

    event = AuditEvent.objects.get(action=AuditEvent.Action.MOBILE_TOKEN_REVOKED)
    assert (event.actor, event.subject, event.ip_address) == (agent, mobile_user, "127.0.0.1")
    assert event.reason == "Nasabah menelepon: ponsel dicuri di bus"
    assert event.data["reason"] == "staff" and UUID(event.data["device"]) == device.public_id
    assert device.sealed_key not in str(event.data) and KEY.hex() not in str(event.data)

    # The phone's right code is refused from now on, through the same path as a transfer.
    with time_machine.travel(NOW, tick=False):
        link = mobile.link_for(purpose="transfer", summary=SUMMARY)
        code = mobile.code_for(KEY, STEP, link)
        with (
            pytest.raises(exceptions.OtpError),
            services.challenge_verify(
                user=mobile_user, purpose="transfer", summary=SUMMARY, code=code
            ),
        ):
            pass
        assert not mobile.device_code_verify(device=device, code=code, link=link)

    # Once de-registered, the page only says so; a second post changes nothing.
    response = client.post(deregister_url(device), {"reason": "lagi"}, follow=True)
    assert "sudah dibatalkan" in response.content.decode()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.MOBILE_TOKEN_REVOKED).count() == 1


def test_another_customer_s_or_a_missing_device_is_not_found(mobile_user):
    client, _ = staff_client_make("agent", "agen01")
    assert client.get(f"{LIST}999999/deregister/").status_code == 404
    assert client.post(f"{LIST}999999/deregister/", {"reason": "x"}).status_code == 404
    assert client.get(f"{LIST}abc/deregister/").status_code == 404


def test_the_customer_page_shows_the_mobile_token_through_its_page_part(mobile_user):
    client, _ = staff_client_make("agent", "agen01")
    client.cookies.pop(settings.LANGUAGE_COOKIE_NAME, None)
    device_make(
        mobile_user,
        name="Ponsel lama",
        revoked_at=timezone.now(),
        revoke_reason="replaced",
        confirmed=False,
    )
    device = device_make(mobile_user)
    html = client.get(reverse("admin:accounts_user_change", args=[mobile_user.pk])).content.decode()
    part = html[html.index('id="customer-mobile-token"') :]
    part = part[: part.index("</section>")]
    assert "Pixel 8 Budi" in part and "Ponsel lama" in part and "Diganti ponsel baru" in part
    assert deregister_url(device) in part and "belum" in part  # not used yet
    assert_no_key(html, device)
    # A branch officer (no Mobile Token permission) sees the phones but no link to act.
    officer_client, _ = staff_client_make("branch", "cabang01")
    html = officer_client.get(
        reverse("admin:accounts_user_change", args=[mobile_user.pk])
    ).content.decode()
    assert "Pixel 8 Budi" in html and deregister_url(device) not in html
    assert reverse("admin:tokens_mobiledevice_change", args=[device.pk]) not in html


def test_the_mobile_token_staff_pages_are_indonesian(mobile_user):
    client, _ = staff_client_make("supervisor", "kepala01")
    client.cookies.pop(settings.LANGUAGE_COOKIE_NAME, None)
    device = device_make(mobile_user, last_used_at=timezone.now())
    revoked = device_make(
        mobile_user,
        name="Ponsel lama",
        revoked_at=timezone.now(),
        revoke_reason="customer",
        confirmed=False,
        revoked_by=mobile_user,
    )
    data = ("Pixel 8 Budi", "Ponsel lama", "Budi Santoso", "budi", "Staf supervisor")
    urls = [
        LIST,
        LIST + "?state=active",
        LIST + "?state=revoked",
        f"{LIST}{device.pk}/change/",
        f"{LIST}{revoked.pk}/change/",
        deregister_url(device),
        reverse("admin:accounts_user_change", args=[mobile_user.pk]),
        reverse("admin:index"),
    ]
    english = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert '<html lang="id"' in html
        found = english_in(html, data=data)
        if found:
            english[url] = found
    assert english == {}
    # English is one click away.
    client.post("/language/", {"language": "en", "next": LIST})
    html = client.get(f"{LIST}{device.pk}/change/").content.decode()
    assert "De-register (lost phone)" in html and "phone name" in html.lower()


def test_the_audit_shows_the_de_registration_as_sentences(mobile_user):
    from django.utils import translation

    from accounts.admin import audit_details

    client, agent = staff_client_make("agent", "agen01")
    device = device_make(mobile_user)
    client.post(deregister_url(device), {"reason": "ponsel hilang"})
    event = AuditEvent.objects.get(action=AuditEvent.Action.MOBILE_TOKEN_REVOKED)
    with translation.override("id"):
        shown = dict(audit_details(event))
    assert "Dibatalkan oleh bank" in shown.values()
    with translation.override("en"):
        assert "De-registered by the bank" in dict(audit_details(event)).values()


def test_five_wrong_unlock_codes_block_and_an_agent_s_unblock_restores(mobile_user):
    """Wrong Unlock Code -> a wrong key -> codes the server refuses, counted toward the OTP
    block; after five, even the right code is refused until a call-centre agent unblocks in
    the admin; then the phone's right code confirms."""
    client, agent = staff_client_make("agent", "agen01")
    device_make(mobile_user)
    link = mobile.link_for(purpose="transfer", summary=SUMMARY)
    assert link == "02000017"

    def confirm(code):
        with services.challenge_verify(
            user=mobile_user, purpose="transfer", summary=SUMMARY, code=code
        ):
            pass

    with time_machine.travel(NOW, tick=False):
        wrong = mobile.code_for(WRONG_KEY, STEP, link)
        right = mobile.code_for(KEY, STEP, link)
        assert wrong != right
        for _ in range(settings.OTP_MAX_CONSECUTIVE_FAILURES - 1):
            with pytest.raises(exceptions.OtpError) as refused:
                confirm(wrong)
            assert not isinstance(refused.value, exceptions.OtpBlocked)
        with pytest.raises(exceptions.OtpBlocked):
            confirm(wrong)
        with pytest.raises(exceptions.OtpBlocked):
            confirm(right)  # blocked: the right code is refused too

    overview = reverse("admin:accounts_user_change", args=[mobile_user.pk])
    html = client.get(overview).content.decode()
    assert re.search(r"OTP blocked|OTP diblokir|can log in but cannot confirm", html)
    response = client.post(
        reverse("admin:accounts_user_unblock", args=[mobile_user.pk]),
        {"reason": "Identitas dicek lewat telepon"},
    )
    assert response.status_code == 302
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.ACCESS_UNBLOCKED, subject=mobile_user, actor=agent
    ).exists()

    with time_machine.travel(NOW + 30, tick=False):
        confirm(mobile.code_for(KEY, STEP + 1, link))
    device = MobileDevice.objects.get(user=mobile_user)
    assert device.last_t == STEP + 1 and device.last_used_at is not None


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_staff_de_registering_at_once_revoke_once(mobile_user):
    """An agent and a supervisor press at the same moment: the phone is revoked once, one
    audit event, one notice to the customer; the other sees a refusal or "already"."""
    agent_client, agent = staff_client_make("agent", "agen01")
    boss_client, boss = staff_client_make("supervisor", "kepala01")
    device = device_make(mobile_user)
    clients = [agent_client, boss_client]
    results = run_at_once(
        2, lambda i: clients[i].post(deregister_url(device), {"reason": f"ponsel hilang {i}"})
    )
    assert sorted(r.status_code for r in results) in ([200, 302], [302, 302]), results
    assert AuditEvent.objects.filter(action=AuditEvent.Action.MOBILE_TOKEN_REVOKED).count() == 1
    assert SmsMessage.objects.filter(user=mobile_user).count() == 1
    device.refresh_from_db()
    assert device.revoked_by in (agent, boss) and not device.confirmed


def test_the_list_reads_a_fixed_number_of_queries(mobile_user, django_assert_max_num_queries):
    client, agent = staff_client_make("agent", "agen01")
    for i in range(29):
        device_make(
            mobile_user,
            name=f"Ponsel {i}",
            revoked_at=timezone.now(),
            revoke_reason="staff",
            revoked_by=agent,
            confirmed=False,
        )
    device_make(mobile_user, name="Ponsel baru")
    with django_assert_max_num_queries(12):
        html = client.get(LIST, {"q": mobile_user.user_id}).content.decode()
    assert "Ponsel baru" in html and "Ponsel 28" in html and "agen01" in html


def test_the_list_shows_no_customer_without_an_exact_user_id(mobile_user, other_customer):
    """Staff look customers up one at a time (README, For bank staff): the Mobile Token list
    is empty without a search, as the customer list is, and a partial User ID finds nobody."""
    client, _ = staff_client_make("agent", "agen01")
    device_make(mobile_user)
    device_make(other_customer, name="iPhone Siti")
    for query in ({}, {"state": "active"}, {"q": mobile_user.user_id[:-1]}, {"q": " "}):
        html = client.get(LIST, query).content.decode()
        assert "Pixel 8 Budi" not in html and "iPhone Siti" not in html, query


def test_opening_a_phone_is_audited_as_a_look_at_the_customer(mobile_user):
    client, agent = staff_client_make("agent", "agen01")
    device = device_make(mobile_user)
    assert client.get(f"{LIST}{device.pk}/change/").status_code == 200
    looked = AuditEvent.objects.filter(action=AuditEvent.Action.CUSTOMER_VIEWED)
    assert list(looked.values_list("subject", "actor")) == [(mobile_user.pk, agent.pk)]


def test_a_de_registered_phone_is_not_listed_as_a_device_waiting_for_confirmation(mobile_user):
    """The generic devices table named a de-registered phone "belum dikonfirmasi" (django-otp's
    ``confirmed=False``, which revocation sets): only the Mobile Token part shows it, as
    de-registered."""
    client, _ = staff_client_make("agent", "agen01")
    client.cookies.pop(settings.LANGUAGE_COOKIE_NAME, None)
    device_make(
        mobile_user,
        name="Ponsel lama",
        revoked_at=timezone.now(),
        revoke_reason="replaced",
        confirmed=False,
    )
    html = client.get(reverse("admin:accounts_user_change", args=[mobile_user.pk])).content.decode()
    part = html[html.index('id="customer-mobile-token"') :]
    part = part[: part.index("</section>")]
    assert "Ponsel lama" in part
    assert "Ponsel lama" not in html.replace(part, "")


@pytest.mark.parametrize("page", ["deregister", "history"])
def test_every_page_of_a_phone_is_audited_as_a_look_at_the_customer(mobile_user, page):
    """Re-check finding N1/N2: the de-register page (customer's User ID, name, phone, dates)
    and the history page were shown without an audit event, so walking the device ids listed
    every holder unaudited."""
    client, agent = staff_client_make("agent", "agen01")
    device = device_make(mobile_user)
    assert client.get(f"{LIST}{device.pk}/{page}/").status_code == 200
    looked = AuditEvent.objects.filter(action=AuditEvent.Action.CUSTOMER_VIEWED)
    assert list(looked.values_list("subject", "actor")) == [(mobile_user.pk, agent.pk)]
