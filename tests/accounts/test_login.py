"""Login with User ID + password, lockout, no user enumeration, unblock, one session per user."""

from datetime import timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from accounts import services
from accounts.models import AccessBlock, AuditEvent
from tests.factories import PASSWORD


def login(client, user_id, password):
    return client.post("/login/", {"username": user_id, "password": password})


def test_login_page_is_indonesian_by_default(client, db):
    page = client.get("/login/").content.decode()
    assert '<html lang="id">' in page
    assert 'autocomplete="username"' in page and 'autocomplete="current-password"' in page


def test_login_and_logout(client, customer):
    response = login(client, "budi", PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200
    assert client.get("/logout/").status_code == 405  # logout is POST only
    assert client.post("/logout/").status_code == 302
    assert client.get("/dashboard/").status_code == 302
    actions = list(AuditEvent.objects.filter(subject=customer).values_list("action", flat=True))
    assert actions == ["logout", "login"]


def test_user_id_is_case_insensitive(client, customer):
    assert login(client, "BUDI", PASSWORD).status_code == 302


def test_passwords_are_hashed_with_argon2(client, customer, settings):
    import portal.settings

    # The suite swaps in a fast hasher; the portal's own first hasher is Argon2.
    assert portal.settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    assert login(client, "budi", PASSWORD).status_code == 302
    customer.refresh_from_db()
    assert customer.password.startswith("argon2$")  # upgraded on login to the first hasher


def test_wrong_password_and_unknown_user_look_the_same(client, customer):
    wrong = login(client, "budi", "salah-sekali")
    unknown = login(client, "tidakada", "salah-sekali")
    assert wrong.status_code == unknown.status_code == 200
    wrong_errors = wrong.context["form"].non_field_errors()
    assert wrong_errors == unknown.context["form"].non_field_errors()
    assert AuditEvent.objects.filter(action="login_failed").count() == 2


def test_five_wrong_passwords_lock_until_unblocked(client, customer):
    for _ in range(5):
        login(client, "budi", "salah-sekali")
    locked = login(client, "budi", PASSWORD)
    assert locked.status_code == 403
    assert "User ID ini terkunci setelah 5 kali salah kata sandi" in locked.content.decode()
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        assert login(client, "budi", PASSWORD).status_code == 403  # no cool-off

    call_command("unblock", "budi", reason="identity checked by phone")
    assert login(client, "budi", PASSWORD).status_code == 302
    event = AuditEvent.objects.filter(action="access_unblocked").get()
    assert event.reason == "identity checked by phone"
    assert event.data["lifted"] == ["login_lockout"]


def test_unknown_user_id_locks_the_same_way(client, customer):
    known = [login(client, "budi", "x").status_code for _ in range(6)]
    unknown = [login(client, "tidakada", "x").status_code for _ in range(6)]
    assert known == unknown == [200] * 4 + [403] * 2


def test_failures_must_be_in_a_row(client, customer):
    for _ in range(4):
        login(client, "budi", "salah")
    assert login(client, "budi", PASSWORD).status_code == 302
    client.post("/logout/")
    for _ in range(4):
        login(client, "budi", "salah")
    assert login(client, "budi", PASSWORD).status_code == 302


def test_unblock_needs_a_reason_and_a_user(customer):
    with pytest.raises(CommandError):
        call_command("unblock", "budi", reason="  ")
    with pytest.raises(CommandError):
        call_command("unblock", "nobody", reason="x")


def test_unblock_lifts_flags_and_otp_counters(client, customer):
    services.access_block(user=customer, kind=AccessBlock.Kind.STAFF_FLAG, reason="lost phone")
    customer.otp_failure_count = 5
    customer.save()
    response = login(client, "budi", PASSWORD)
    assert response.status_code == 200
    assert "access_blocked" in [e.code for e in response.context["form"].non_field_errors().as_data()]
    call_command("unblock", "budi", reason="new phone")
    customer.refresh_from_db()
    assert customer.otp_failure_count == 0
    assert not AccessBlock.objects.active().filter(user=customer).exists()
    assert login(client, "budi", PASSWORD).status_code == 302


def test_flag_ends_the_open_session(customer_client, customer):
    assert customer_client.get("/dashboard/").status_code == 200
    services.access_block(user=customer, kind=AccessBlock.Kind.STAFF_FLAG, reason="stolen")
    response = customer_client.get("/dashboard/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_new_login_ends_the_old_session(customer):
    first, second = Client(), Client()
    assert login(first, "budi", PASSWORD).status_code == 302
    assert login(second, "budi", PASSWORD).status_code == 302
    assert second.get("/dashboard/").status_code == 200
    assert first.get("/dashboard/").status_code == 302


def test_session_key_cycles_at_login(client, customer):
    client.get("/login/")
    before = client.cookies.get("sessionid")
    login(client, "budi", PASSWORD)
    assert client.cookies["sessionid"].value != (before.value if before else None)


def test_idle_timeout(customer_client):
    with time_machine.travel(timezone.now() + timedelta(seconds=299)):
        assert customer_client.get("/dashboard/").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(seconds=299 + 301)):
        response = customer_client.get("/dashboard/")
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_absolute_timeout(customer_client):
    start = timezone.now()
    for minute in range(4, 36, 4):
        with time_machine.travel(start + timedelta(minutes=minute)):
            response = customer_client.get("/dashboard/")
    assert response.status_code == 302


def test_security_headers(client, db):
    response = client.get("/login/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert "no-cache" in response.get("Cache-Control", "") or response.status_code == 200
