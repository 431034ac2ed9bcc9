"""Ganti Password (Profil Saya, issue 10 item 6) through the real views: current password, new
password twice, an OTP on the customer's channel; other sessions end, the customer is told,
audited; a wrong current password counts toward the login lock; a password the bank chose
must be changed at the first login."""

import re

import pytest
from django.core import mail
from django.test import Client

from accounts.models import AuditEvent, PasswordChange, User
from tests.conftest import TOKEN_HOTP as HOTP
from tests.conftest import outbox_code
from tests.factories import PASSWORD
from tokens.models import Challenge, OutboxMessage

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Sandi-Baru-Budi-77"
FORM = {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}


def wrong(code):
    return f"{(int(code) + 1) % 10**6:06d}"


def start(client, form=FORM):
    response = client.post("/profil/password/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    return PasswordChange.objects.get(state="awaiting_otp")


def test_profile_links_to_password_change(customer_client):
    assert 'href="/profil/password/"' in customer_client.get("/profil/").content.decode()


def test_whole_flow(customer_client, customer, run_on_commit):
    change = start(customer_client)
    # The new password waits only as a hash.
    assert NEW_PASSWORD not in change.password_hash and change.password_hash.startswith("md5$")
    customer.refresh_from_db()
    assert customer.check_password(PASSWORD)  # nothing changed before the OTP

    old_cookie = customer_client.cookies["sessionid"].value
    run_on_commit(customer_client.post, f"/profil/password/{change.pk}/otp/")
    assert Challenge.objects.get().purpose == "password_change"
    mail.outbox.clear()
    response = run_on_commit(
        customer_client.post, f"/profil/password/{change.pk}/confirm/", {"code": outbox_code()}
    )
    assert response.status_code == 302 and response["Location"] == f"/profil/password/{change.pk}/done/"

    customer.refresh_from_db()
    assert customer.check_password(NEW_PASSWORD)
    change.refresh_from_db()
    assert change.state == "completed" and change.password_hash == ""
    # This session stays, with a new key; a browser still holding the old key is logged out.
    assert customer_client.cookies["sessionid"].value != old_cookie
    assert customer_client.get("/dashboard/").status_code == 200
    stale = Client()
    stale.cookies["sessionid"] = old_cookie
    assert stale.get("/dashboard/").status_code == 302
    # Told by SMS and email, audited.
    notice = OutboxMessage.objects.first()
    assert "kata sandi" in notice.body.lower() and not re.search(r"\b\d{6}\b", notice.body)
    assert [m.to for m in mail.outbox] == [[customer.email]]
    assert AuditEvent.objects.filter(action=AuditEvent.Action.PASSWORD_CHANGED, subject=customer).exists()
    assert customer_client.get(f"/profil/password/{change.pk}/done/").status_code == 200


def test_other_logged_in_browser_is_logged_out(client, customer, run_on_commit):
    """The browser that changes the password stays; the other one ends."""
    other = Client()
    assert other.post("/login/", {"username": "budi", "password": PASSWORD}).status_code == 302
    session_key = other.cookies["sessionid"].value
    # The same customer's session now in "client" (as if the cookie were in a second tab).
    client.cookies["sessionid"] = session_key
    change = start(client)
    run_on_commit(client.post, f"/profil/password/{change.pk}/otp/")
    run_on_commit(client.post, f"/profil/password/{change.pk}/confirm/", {"code": outbox_code()})
    assert client.get("/dashboard/").status_code == 200
    assert other.get("/dashboard/").status_code == 302


def test_wrong_otp_changes_nothing_and_counts(customer_client, customer, run_on_commit):
    change = start(customer_client)
    run_on_commit(customer_client.post, f"/profil/password/{change.pk}/otp/")
    response = customer_client.post(
        f"/profil/password/{change.pk}/confirm/", {"code": wrong(outbox_code())}
    )
    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.check_password(PASSWORD) and customer.otp_failure_count == 1


def test_code_of_another_change_or_purpose_does_not_work(customer_client, customer, run_on_commit):
    from tokens import services as otp_services

    change = start(customer_client)
    other = otp_services.challenge_issue(
        user=customer, purpose="password_reset", summary={"password_reset": "x"}, text="x", text_params={}
    )
    response = customer_client.post(
        f"/profil/password/{change.pk}/confirm/",
        {"code": otp_services.code_generator.code(other)},
    )
    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.check_password(PASSWORD)


def test_wrong_current_password_counts_toward_the_login_lock(customer_client, customer, settings):
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        response = customer_client.post("/profil/password/", {**FORM, "old_password": "salah"})
        assert response.status_code == 200
        # The customer is warned how many tries are left before the User ID locks.
        left = settings.AXES_FAILURE_LIMIT - 1 - n
        assert f"Setelah {left} kali lagi salah kata sandi, User ID Anda terkunci." in (
            response.content.decode()
        )
    assert not PasswordChange.objects.exists()
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.LOGIN_FAILED, subject=customer, data__where="password_change"
    ).count() == settings.AXES_FAILURE_LIMIT - 1
    # The last allowed wrong one locks the User ID and ends the session: django-axes answers
    # with its lockout page (the login page saying the User ID is locked).
    response = customer_client.post("/profil/password/", {**FORM, "old_password": "salah"})
    assert response.status_code == 403 and 'action="/login/"' in response.content.decode()
    assert customer_client.get("/dashboard/").status_code == 302
    # Locked like after wrong passwords at login: even the right password does not log in.
    assert Client().post("/login/", {"username": "budi", "password": PASSWORD}).status_code != 302


def test_new_password_rules(customer_client):
    for form in (
        {**FORM, "new_password2": "Lain-Sandi-88x"},
        {**FORM, "new_password1": "budi", "new_password2": "budi"},
        {**FORM, "new_password1": PASSWORD, "new_password2": PASSWORD},
    ):
        assert customer_client.post("/profil/password/", form).status_code == 200
    assert not PasswordChange.objects.exists()


def test_token_user_confirms_with_the_token(customer_client, token_user, run_on_commit):
    change = start(customer_client)
    response = run_on_commit(
        customer_client.post, f"/profil/password/{change.pk}/confirm/", {"code": HOTP.at(0)}
    )
    assert response.status_code == 302
    token_user.refresh_from_db()
    assert token_user.check_password(NEW_PASSWORD)


def test_a_change_is_confirmed_once(customer_client, customer, run_on_commit):
    change = start(customer_client)
    run_on_commit(customer_client.post, f"/profil/password/{change.pk}/otp/")
    code = outbox_code()
    run_on_commit(customer_client.post, f"/profil/password/{change.pk}/confirm/", {"code": code})
    again = customer_client.post(f"/profil/password/{change.pk}/confirm/", {"code": code})
    assert again.status_code in (200, 302)
    assert AuditEvent.objects.filter(action=AuditEvent.Action.PASSWORD_CHANGED).count() == 1


def test_another_customers_change_is_not_found(customer_client, other_customer):
    change = PasswordChange.objects.create(user=other_customer, password_hash="md5$x$y")
    assert customer_client.get(f"/profil/password/{change.pk}/confirm/").status_code == 404


def test_bank_chosen_password_must_be_changed_first(client, customer, run_on_commit):
    User.objects.filter(pk=customer.pk).update(must_change_password=True)
    response = client.post("/login/", {"username": "budi", "password": PASSWORD})
    assert response.status_code == 302
    for path in ("/dashboard/", "/transfers/new/", "/profil/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"] == "/profil/password/", path
    assert client.get("/profil/password/").status_code == 200
    change = start(client)
    run_on_commit(client.post, f"/profil/password/{change.pk}/otp/")
    run_on_commit(client.post, f"/profil/password/{change.pk}/confirm/", {"code": outbox_code()})
    customer.refresh_from_db()
    assert not customer.must_change_password
    assert client.get("/dashboard/").status_code == 200


def test_logout_works_while_a_password_change_is_due(client, customer):
    User.objects.filter(pk=customer.pk).update(must_change_password=True)
    client.post("/login/", {"username": "budi", "password": PASSWORD})
    response = client.post("/logout/")
    assert response.status_code == 302 and response["Location"] != "/profil/password/"
