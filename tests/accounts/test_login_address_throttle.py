"""Password spraying: failed logins are counted per network address too (beside the lock per
User ID), and too many from one address refuse logins from it for a cool-off, with a message
that says so and one audit event. The two-process proof is tests/portal/test_login_spraying.py."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.utils import timezone

from accounts import services
from accounts.models import AuditEvent
from tests.factories import PASSWORD, UserFactory

SPRAYER = "203.0.113.50"


@pytest.fixture(autouse=True)
def small_limit(settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 3
    settings.LOGIN_ADDRESS_WINDOW = 15 * 60
    settings.LOGIN_ADDRESS_COOLOFF = 15 * 60


@pytest.fixture
def english(client):
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def login(client, user_id, password, ip=SPRAYER, path="/login/"):
    return client.post(path, {"username": user_id, "password": password}, REMOTE_ADDR=ip)


def test_spraying_from_one_address_is_refused_after_the_limit(english, customer):
    statuses = [login(english, f"user{n:02d}", "Musim-Hujan-2026").status_code for n in range(3)]
    assert statuses == [200, 200, 200]
    refused = login(english, "user03", "Musim-Hujan-2026")
    assert refused.status_code == 429
    assert refused["Retry-After"] == str(15 * 60)
    assert "Too many failed logins from your network. Try again in 15 minutes." in (
        refused.content.decode()
    )
    assert refused["Cache-Control"].startswith("no-store") or "no-store" in refused["Cache-Control"]
    # The right password from that address is refused too (its password is never compared).
    assert login(english, "budi", PASSWORD).status_code == 429
    # Refused attempts are not failures of those User IDs (no axes count, no audit per try).
    assert AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_FAILED).count() == 3
    locked = AuditEvent.objects.get(action=AuditEvent.Action.LOGIN_ADDRESS_LOCKED)
    assert locked.ip_address == SPRAYER
    assert locked.data == {"address": SPRAYER, "failures": 3, "cooloff_seconds": 15 * 60}
    # Another network is not concerned, and the customer's User ID is not locked.
    assert login(english, "budi", PASSWORD, ip="198.51.100.7").status_code == 302


def test_the_address_may_try_again_after_the_cooloff(client, customer):
    for n in range(4):
        login(client, f"user{n:02d}", "salah")
    assert login(client, "budi", PASSWORD).status_code == 429
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        response = login(client, "budi", PASSWORD)
        assert response.status_code == 429 and response["Retry-After"] == str(5 * 60)
    with time_machine.travel(timezone.now() + timedelta(minutes=15, seconds=1)):
        assert login(client, "budi", PASSWORD).status_code == 302


def test_failures_age_out_of_the_window(client, customer):
    for n in range(3):
        login(client, f"user{n:02d}", "salah")
    with time_machine.travel(timezone.now() + timedelta(minutes=15, seconds=1)):
        assert login(client, "user09", "salah").status_code == 200


def test_successful_logins_do_not_count(customer):
    from django.test import Client

    for _ in range(6):
        assert login(Client(), "budi", PASSWORD).status_code == 302
    assert login(Client(), "user01", "salah").status_code == 200


def test_an_ipv6_network_counts_as_one_address(client, customer):
    for n in range(3):
        login(client, f"user{n:02d}", "salah", ip=f"2001:db8:1:2::{n + 1:x}")
    assert login(client, "budi", PASSWORD, ip="2001:db8:1:2:ffff::9").status_code == 429
    assert login(client, "budi", PASSWORD, ip="2001:db8:1:3::1").status_code == 302
    locked = AuditEvent.objects.get(action=AuditEvent.Action.LOGIN_ADDRESS_LOCKED)
    assert locked.data["address"] == "2001:db8:1:2::/64"


def test_the_admin_login_counts_and_is_refused_too(client, db):
    UserFactory(user_id="staf01", is_staff=True)
    for n in range(3):
        login(client, f"user{n:02d}", "salah", path="/admin/login/")
    assert login(client, "staf01", PASSWORD, path="/admin/login/").status_code == 429
    assert login(client, "staf01", PASSWORD).status_code == 429


def test_attempts_are_counted_before_the_password_is_compared(customer):
    """An attempt is counted when it starts (so parallel requests cannot compare more passwords
    than the limit) and given back when it logs in."""
    assert services.login_address_attempt_begin(ip=SPRAYER) == 0
    assert services.login_address_attempt_begin(ip=SPRAYER) == 0
    assert services.login_address_attempt_begin(ip=SPRAYER) == 0
    assert services.login_address_attempt_begin(ip=SPRAYER) == 15 * 60
    services.login_address_attempt_end(ip=SPRAYER, succeeded=True)
    assert services.login_address_attempt_begin(ip=SPRAYER) == 15 * 60  # locked stays locked


@pytest.mark.django_db
def test_the_wait_never_reads_longer_than_the_cool_off():
    """A lock another process set while this request waited for the row started after this
    request's first clock reading: the wait it shows must still be at most the cool-off (the
    two-process spraying test once read "16 minutes" for a 15-minute lock)."""
    from accounts.models import LoginAddressThrottle

    key = services.login_address_key(SPRAYER)
    now = timezone.now()
    LoginAddressThrottle.objects.create(
        address=key,
        window_started_at=now,
        failures=3,
        locked_until=now + timedelta(seconds=django_settings.LOGIN_ADDRESS_COOLOFF + 30),
    )
    assert services.login_address_attempt_begin(ip=SPRAYER) == 15 * 60
