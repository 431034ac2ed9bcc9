"""Profil Saya through the real views: the phone change (OTP on the current factor, then a code
to the new number), the email change (OTP, then a signed link), "Blokir akses saya", and the
staff's phone change in the admin."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone, translation

from accounts import exceptions as account_exceptions
from accounts.models import AccessBlock, AuditEvent, ProfileChange
from tests.conftest import TOKEN_HOTP as HOTP
from tests.conftest import outbox_code
from tests.factories import PASSWORD, UserFactory
from tokens import exceptions
from tokens.models import Challenge, OutboxMessage, SmsMessage

pytestmark = pytest.mark.django_db

OLD = "+6281234565678"
NEW = "+6281311112222"


def text(exc_class, **params):
    with translation.override("id"):
        return str(exc_class(**params))


def wrong(code):
    return f"{(int(code) + 1) % 10**6:06d}"


@pytest.fixture
def long_sessions(settings):
    """Sessions that outlive a code or a link, to see the code or link expire on its own."""
    settings.SESSION_IDLE_TIMEOUT = settings.SESSION_ABSOLUTE_TIMEOUT = 3600


def start_phone_change(client, new=NEW):
    response = client.post("/profil/phone/", {"new_phone": new})
    assert response.status_code == 302, response.content.decode()[:2000]
    return ProfileChange.objects.get(state="awaiting_current")


def step1(client, change, run_on_commit, code=None):
    """Step 1 for an SMS user: Generate OTP (to the current number) and confirm it."""
    run_on_commit(client.post, f"/profil/phone/{change.pk}/otp/")
    code = code or outbox_code(to=OLD)
    return run_on_commit(client.post, f"/profil/phone/{change.pk}/confirm/", {"code": code})


def test_profile_page_shows_masked_data_and_links(customer_client, customer):
    customer.email = "budi.santoso@example.com"
    customer.birth_date = "1985-07-09"
    customer.save()
    page = customer_client.get("/profil/").content.decode()
    assert "budi" in page and "Budi Santoso" in page
    assert "+62 812-****-5678" in page and OLD not in page
    assert "b***o@example.com" in page and "budi.santoso@" not in page
    assert "09/07/1985" in page
    assert 'href="/profil/phone/"' in page and 'href="/profil/email/"' in page
    assert 'href="/profil/block/"' in page
    assert 'href="/profil/"' in customer_client.get("/dashboard/").content.decode()


def test_phone_change_whole_flow(customer_client, customer, run_on_commit):
    change = start_phone_change(customer_client)
    response = step1(customer_client, change, run_on_commit)
    assert response.status_code == 302
    assert response["Location"] == f"/profil/phone/{change.pk}/verify/"
    change.refresh_from_db()
    assert change.state == "awaiting_new"
    # The first SMS went to the current number, naming the (masked) new number; the second
    # went to the new number, at once.
    first = OutboxMessage.objects.filter(to=OLD).order_by("pk").first()
    assert "+62 813-****-2222" in first.body
    assert SmsMessage.objects.filter(to=NEW, challenge__purpose="phone_verify").count() == 1
    customer.refresh_from_db()
    assert str(customer.phone) == OLD  # nothing changes before the new number is verified

    page = customer_client.get(f"/profil/phone/{change.pk}/verify/").content.decode()
    assert "+62 813-****-2222" in page
    response = run_on_commit(
        customer_client.post, f"/profil/phone/{change.pk}/verify/", {"code": outbox_code(to=NEW)}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/profil/phone/{change.pk}/done/"
    customer.refresh_from_db()
    assert str(customer.phone) == NEW
    change.refresh_from_db()
    assert change.state == "completed"
    assert customer_client.get(response["Location"]).status_code == 200

    # The old number is told (a notice, no code in it).
    notice = OutboxMessage.objects.filter(to=OLD).order_by("-pk").first()
    assert "+62 813-****-2222" in notice.body and not re.search(r"\b\d{6}\b", notice.body)
    event = AuditEvent.objects.get(action="phone_changed")
    assert event.data["old"] == "+62 812-****-5678" and event.data["new"] == "+62 813-****-2222"
    # No code, nor a full number, anywhere in the audit log.
    codes = {m for b in OutboxMessage.objects.values_list("body", flat=True) for m in re.findall(r"\b\d{6}\b", b)}
    for row in AuditEvent.objects.values_list("reason", "data"):
        dumped = str(row)
        assert not any(code in dumped for code in codes)
        assert OLD not in dumped and NEW not in dumped


def test_phone_change_with_email_tells_the_email_too(customer_client, customer, run_on_commit):
    customer.email = "budi@example.com"
    customer.save()
    change = start_phone_change(customer_client)
    step1(customer_client, change, run_on_commit)
    run_on_commit(
        customer_client.post, f"/profil/phone/{change.pk}/verify/", {"code": outbox_code(to=NEW)}
    )
    assert [m.to for m in mail.outbox] == [["budi@example.com"]]
    assert "+62 813-****-2222" in mail.outbox[0].body


def test_step1_code_cannot_confirm_step2(customer_client, customer, run_on_commit):
    change = start_phone_change(customer_client)
    run_on_commit(customer_client.post, f"/profil/phone/{change.pk}/otp/")
    first_code = outbox_code(to=OLD)
    run_on_commit(customer_client.post, f"/profil/phone/{change.pk}/confirm/", {"code": first_code})
    response = customer_client.post(f"/profil/phone/{change.pk}/verify/", {"code": first_code})
    assert response.status_code == 200
    assert text(exceptions.WrongCode, remaining=2) in response.content.decode()
    customer.refresh_from_db()
    assert str(customer.phone) == OLD


def test_wrong_reused_and_expired_codes(customer_client, customer, run_on_commit, long_sessions):
    change = start_phone_change(customer_client)
    run_on_commit(customer_client.post, f"/profil/phone/{change.pk}/otp/")
    code = outbox_code(to=OLD)
    response = customer_client.post(f"/profil/phone/{change.pk}/confirm/", {"code": wrong(code)})
    assert text(exceptions.WrongCode, remaining=2) in response.content.decode()
    run_on_commit(customer_client.post, f"/profil/phone/{change.pk}/confirm/", {"code": code})
    # The step-1 code again: the change has moved on, the page goes to step 2.
    response = customer_client.post(f"/profil/phone/{change.pk}/confirm/", {"code": code})
    assert text(account_exceptions.ChangeNotPending) in response.content.decode()
    # The new number's code, too late.
    new_code = outbox_code(to=NEW)
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        response = customer_client.post(f"/profil/phone/{change.pk}/verify/", {"code": new_code})
        assert text(exceptions.ChallengeExpired) in response.content.decode()
    customer.refresh_from_db()
    assert str(customer.phone) == OLD


def test_step2_code_is_used_once(customer_client, customer, run_on_commit):
    change = start_phone_change(customer_client)
    step1(customer_client, change, run_on_commit)
    code = outbox_code(to=NEW)
    run_on_commit(customer_client.post, f"/profil/phone/{change.pk}/verify/", {"code": code})
    response = customer_client.post(f"/profil/phone/{change.pk}/verify/", {"code": code})
    assert response.status_code == 200
    assert text(account_exceptions.ChangeNotPending) in response.content.decode()
    assert AuditEvent.objects.filter(action="phone_changed").count() == 1


def test_change_voids_other_open_changes_and_old_codes(customer_client, customer, run_on_commit):
    email_change = ProfileChange.objects.create(user=customer, kind="email", new_email="x@example.com")
    change = start_phone_change(customer_client)
    step1(customer_client, change, run_on_commit)
    # A code on its way to the old number, for some other action, is pending...
    pending = Challenge.objects.create(
        user=customer, purpose="add_payee", intent_digest="x" * 64, salt="s",
        expires_at=timezone.now() + timedelta(minutes=5),
    )
    SmsMessage.objects.create(challenge=pending, user=customer, to=OLD)
    run_on_commit(
        customer_client.post, f"/profil/phone/{change.pk}/verify/", {"code": outbox_code(to=NEW)}
    )
    pending.refresh_from_db()
    email_change.refresh_from_db()
    assert pending.status == "voided"
    assert email_change.state == "voided"


def test_own_number_refused(customer_client, other_customer):
    # Another customer's number is refused only after both codes (test_phone_change_oracle).
    response = customer_client.post("/profil/phone/", {"new_phone": OLD})
    assert response.status_code == 200
    assert text(account_exceptions.SamePhone) in response.content.decode()
    assert not ProfileChange.objects.exists()


def test_landline_and_garbage_refused(customer_client):
    for value in ["0215551234", "abc", "١٢٣٤٥٦٧٨٩٠", "0812" + "9" * 500, "0812\x00345"]:
        response = customer_client.post("/profil/phone/", {"new_phone": value})
        assert response.status_code == 200
    assert not ProfileChange.objects.exists()


def test_lost_phone_page_points_to_branch(customer_client):
    page = customer_client.get("/profil/phone/").content.decode()
    assert 'class="help lost-phone"' in page


def test_another_customers_change_is_not_found(customer_client, other_customer):
    change = ProfileChange.objects.create(user=other_customer, kind="phone", new_phone=NEW)
    assert customer_client.get(f"/profil/phone/{change.pk}/confirm/").status_code == 404
    assert customer_client.post(f"/profil/phone/{change.pk}/otp/").status_code == 404


def test_phone_change_needs_a_fresh_otp_in_a_verified_session(customer_client, customer, run_on_commit):
    first = start_phone_change(customer_client)
    step1(customer_client, first, run_on_commit)  # the session is now OTP-verified
    second = start_phone_change(customer_client, new="+6281355556666")
    page = customer_client.get(f"/profil/phone/{second.pk}/confirm/").content.decode()
    assert "otp-confirm" in page
    response = customer_client.post(f"/profil/phone/{second.pk}/confirm/", {"code": "123456"})
    assert text(exceptions.NoChallenge) in response.content.decode()




def test_token_user_confirms_step1_with_the_token(customer_client, token_user, run_on_commit):
    change = start_phone_change(customer_client)
    page = customer_client.get(f"/profil/phone/{change.pk}/confirm/").content.decode()
    assert "otp-issue" not in page
    response = run_on_commit(
        customer_client.post, f"/profil/phone/{change.pk}/confirm/", {"code": HOTP.at(0)}
    )
    assert response.status_code == 302
    assert not SmsMessage.objects.filter(to=OLD).exists()
    # The new number still gets its SMS code, and the page offers to send it again.
    page = customer_client.get(f"/profil/phone/{change.pk}/verify/").content.decode()
    assert "otp-issue" in page and "+62 813-****-2222" in page
    run_on_commit(
        customer_client.post, f"/profil/phone/{change.pk}/verify/", {"code": outbox_code(to=NEW)}
    )
    token_user.refresh_from_db()
    assert str(token_user.phone) == NEW


def test_email_change_whole_flow(customer_client, customer, run_on_commit, settings):
    customer.email = "budi@example.com"
    customer.save()
    response = customer_client.post("/profil/email/", {"new_email": "budi.baru@example.com"})
    change = ProfileChange.objects.get()
    assert response["Location"] == f"/profil/email/{change.pk}/confirm/"
    run_on_commit(customer_client.post, f"/profil/email/{change.pk}/otp/")
    assert "b***@e***" in OutboxMessage.objects.get().body  # the SMS spells out no domain
    response = run_on_commit(
        customer_client.post, f"/profil/email/{change.pk}/confirm/", {"code": outbox_code()}
    )
    assert response["Location"] == f"/profil/email/{change.pk}/sent/"
    assert customer_client.get(response["Location"]).status_code == 200
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["budi.baru@example.com"]
    link = re.search(r"https?://\S+", mail.outbox[0].body).group(0)
    path = link.removeprefix(settings.PORTAL_BASE_URL)
    assert customer_client.get(path).status_code == 200
    customer.refresh_from_db()
    assert customer.email == "budi@example.com"  # opening the link alone changes nothing
    response = run_on_commit(customer_client.post, path)
    assert response["Location"] == f"/profil/email/{change.pk}/done/"
    customer.refresh_from_db()
    assert customer.email == "budi.baru@example.com"
    # The old address and the phone are told; audited, masked.
    assert mail.outbox[-1].to == ["budi@example.com"]
    assert "b***u@example.com" in mail.outbox[-1].body
    assert "b***u@example.com" in OutboxMessage.objects.order_by("-pk").first().body
    event = AuditEvent.objects.get(action="email_changed")
    assert event.data["old"] == "b***i@example.com"
    # The link works once.
    response = customer_client.post(path)
    assert text(account_exceptions.LinkInvalid) in response.content.decode()


def test_email_link_expires_and_belongs_to_its_user(
    customer_client, customer, other_customer, run_on_commit, long_sessions, settings
):
    response = customer_client.post("/profil/email/", {"new_email": "budi.baru@example.com"})
    change = ProfileChange.objects.get()
    run_on_commit(customer_client.post, f"/profil/email/{change.pk}/otp/")
    run_on_commit(customer_client.post, f"/profil/email/{change.pk}/confirm/", {"code": outbox_code()})
    path = "/" + re.search(r"https?://[^/]+/(\S+)", mail.outbox[0].body).group(1)
    # Another customer cannot use it.
    other = Client()
    other.post("/login/", {"username": "siti", "password": PASSWORD})
    assert text(account_exceptions.LinkInvalid) in other.post(path).content.decode()
    # A tampered link neither.
    response = customer_client.post(path[:-3] + "xyz/")
    assert text(account_exceptions.LinkInvalid) in response.content.decode()
    # Too late (a shorter lifetime, so that the session itself outlives it).
    settings.EMAIL_CHANGE_LINK_MAX_AGE = 120
    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        response = customer_client.post(path)
        assert text(account_exceptions.LinkInvalid) in response.content.decode()
    customer.refresh_from_db()
    assert customer.email != "budi.baru@example.com"
    assert response.status_code == 200


def test_email_link_resend_waits(customer_client, customer, run_on_commit):
    customer_client.post("/profil/email/", {"new_email": "budi.baru@example.com"})
    change = ProfileChange.objects.get()
    run_on_commit(customer_client.post, f"/profil/email/{change.pk}/otp/")
    run_on_commit(customer_client.post, f"/profil/email/{change.pk}/confirm/", {"code": outbox_code()})
    response = run_on_commit(customer_client.post, f"/profil/email/{change.pk}/sent/", follow=True)
    assert "60" in response.content.decode() or "59" in response.content.decode()
    assert len(mail.outbox) == 1
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        run_on_commit(customer_client.post, f"/profil/email/{change.pk}/sent/")
    assert len(mail.outbox) == 2


def test_self_block_ends_the_session_and_login_is_refused(customer_client, customer, run_on_commit):
    page = customer_client.get("/profil/block/").content.decode()
    assert 'class="warning"' in page
    response = run_on_commit(customer_client.post, "/profil/block/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/login/")
    assert "call the bank" in response.content.decode() or "hubungi" in response.content.decode().lower()
    assert AccessBlock.objects.active().get(user=customer).kind == "self_flag"
    assert customer_client.get("/dashboard/").status_code == 302
    response = customer_client.post("/login/", {"username": "budi", "password": PASSWORD})
    assert response.status_code == 200  # refused with the blocked message
    assert not response.wsgi_request.user.is_authenticated


def test_self_block_ends_other_sessions_too(client, customer, run_on_commit):
    other = Client()
    other.post("/login/", {"username": "budi", "password": PASSWORD})
    first = Client()
    # The newest login is the only session; block from it and the old browser stays out too.
    first.post("/login/", {"username": "budi", "password": PASSWORD})
    run_on_commit(first.post, "/profil/block/")
    assert first.get("/dashboard/").status_code == 302
    assert other.get("/dashboard/").status_code == 302


# --- Staff change the phone in the admin --------------------------------------------------


def staff_client(role):
    from tests.accounts.test_admin import staff_client as make

    return make(role)


@pytest.mark.parametrize(("role", "allowed"), [("agent", False), ("branch", True), ("supervisor", True)])
def test_staff_phone_change_permissions(customer, role, allowed, run_on_commit):
    client, staff = staff_client(role)
    overview = client.get(f"/admin/accounts/user/{customer.pk}/change/").content.decode()
    assert (f"/admin/accounts/user/{customer.pk}/phone/" in overview) is allowed
    data = {"new_phone": NEW, "reason": "KTP checked at the branch, old phone stolen"}
    response = run_on_commit(client.post, f"/admin/accounts/user/{customer.pk}/phone/", data)
    customer.refresh_from_db()
    # Asking changes nothing yet: a supervisor who is someone else approves it
    # (tests/accounts/test_contact_change_approval.py).
    assert str(customer.phone) == OLD
    assert not OutboxMessage.objects.exists()
    if not allowed:
        assert response.status_code == 403
        assert not AuditEvent.objects.filter(action="contact_change_requested").exists()
        return
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="contact_change_requested")
    assert event.actor == staff and event.reason == data["reason"]
    assert event.data["new"] == "+62 813-****-2222"


def test_staff_phone_change_needs_a_reason_and_not_on_staff(customer):
    client, staff = staff_client("supervisor")
    response = client.post(f"/admin/accounts/user/{customer.pk}/phone/", {"new_phone": NEW, "reason": " "})
    assert response.status_code == 200
    customer.refresh_from_db()
    assert str(customer.phone) == OLD
    # One number, one user: the colleague has a number of their own.
    colleague = UserFactory(user_id="kolega", is_staff=True, phone="+6281377778888")
    response = client.post(
        f"/admin/accounts/user/{colleague.pk}/phone/", {"new_phone": NEW, "reason": "x"}
    )
    assert response.status_code in (200, 404)
    colleague.refresh_from_db()
    assert str(colleague.phone) == "+6281377778888"
