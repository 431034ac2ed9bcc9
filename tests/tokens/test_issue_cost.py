"""The cost of "Generate OTP" and its SMS limits in Redis (issue 13, item 1).

The limits are counted in Redis when the cache is Redis (production, CI): exact across
processes, rebuilt from the database when Redis lost them, and a Redis that does not answer
refuses the code with a clear message rather than sending it unchecked."""

import threading

import pytest
from django.db import connection

from payments.models import BankAccount, Transfer
from tests.conftest import needs_postgres
from tests.tokens.intent import PARAMS, SUMMARY, TEXT
from tokens import exceptions, limits, services
from tokens.models import Challenge, SmsMessage

needs_redis = pytest.mark.skipif(
    limits.redis_client() is None, reason="needs the Redis cache (CACHE_URL); CI runs it"
)


def issue(user, reference="R1", to=None):
    return services.challenge_issue(
        user=user,
        purpose="transfer",
        summary={**SUMMARY, "reference": reference},
        text=TEXT,
        text_params=PARAMS,
        to=to,
    )


def test_generate_otp_runs_at_most_ten_queries(
    customer_client, customer, other_customer, django_assert_max_num_queries, settings
):
    """One press of "Generate OTP" on a new transfer: session and user, the transfer, the
    customer's lock, one read of block and intent, three INSERTs, one UPDATE, commit. With the
    laptop's defaults (sessions and limits in the database) a few reads more."""
    source = BankAccount.objects.get(number="1001000011")
    response = customer_client.post(
        "/transfers/new/",
        {"source": source.pk, "destination": "other", "destination_number": "1002000017",
         "amount": "150.000"},
    )
    reference = response.headers["Location"].split("/")[2]
    bound = 10 if limits.redis_client() is not None else 14
    with django_assert_max_num_queries(bound):
        response = customer_client.post(f"/transfers/{reference}/otp/")
    assert response.status_code == 302
    assert Transfer.objects.get(reference=reference).challenge.sms.status == "pending"
    assert not list(response.wsgi_request._messages)


@needs_redis
def test_limits_are_rebuilt_from_the_database_when_redis_lost_them(customer, settings):
    settings.OTP_RESEND_COOLDOWN = 0
    settings.OTP_SMS_PHONE_LIMIT = 100
    for n in range(settings.OTP_SMS_USER_LIMIT):
        issue(customer, reference=f"R{n}")
    # Redis restarted empty: no log and no "since" mark. The database still knows.
    limits.redis_limits_reset(authoritative_since=None)
    with pytest.raises(exceptions.SmsLimitReached):
        issue(customer, reference="R9")
    assert SmsMessage.objects.count() == settings.OTP_SMS_USER_LIMIT


@needs_redis
def test_a_code_that_was_never_queued_is_not_counted(customer, settings):
    settings.OTP_RESEND_COOLDOWN = 0
    settings.OTP_SMS_USER_LIMIT = 1
    challenge = issue(customer)
    with pytest.raises(exceptions.SmsNotQueued):
        services._sms_schedule_failed(challenge_id=challenge.pk, user=customer, phone=customer.phone)
    assert Challenge.objects.get(pk=challenge.pk).status == Challenge.Status.VOIDED
    assert issue(customer, reference="R2")


@needs_postgres
@needs_redis
@pytest.mark.django_db(transaction=True)
def test_the_number_limit_holds_for_parallel_issuers_of_several_customers(
    customer, other_customer, settings
):
    """Two customers verifying the same new number at once (``to=``): their issuers do not
    share a row lock, so the script in Redis alone keeps the per-number limit exact."""
    settings.OTP_RESEND_COOLDOWN = 0
    settings.OTP_SMS_USER_LIMIT = 100
    settings.OTP_SMS_PHONE_LIMIT = 3
    number = "+6281200001111"
    barrier = threading.Barrier(8)
    outcomes = []

    def press(user, n):
        try:
            barrier.wait(timeout=10)
            issue(user, reference=f"P{n}", to=number)
            outcomes.append("sent")
        except exceptions.SmsLimitReached:
            outcomes.append("limit")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=press, args=(customer if n % 2 else other_customer, n))
        for n in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["limit"] * 5 + ["sent"] * 3
    assert SmsMessage.objects.filter(to=number).count() == 3


def test_a_silent_redis_refuses_the_code_and_counts_nothing(customer, settings, silent_server):
    """The limits cannot be checked: no code is sent unchecked, none is counted, and the
    customer is told to try again (in Indonesian by default)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": silent_server,
            "OPTIONS": {"socket_timeout": 0.3, "socket_connect_timeout": 0.3},
        }
    }
    with pytest.raises(exceptions.SmsLimitsUnavailable) as refused:
        issue(customer)
    assert str(refused.value) == (
        "Kode OTP tidak dapat dikirim saat ini. Silakan coba beberapa saat lagi."
    )
    assert not Challenge.objects.exists() and not SmsMessage.objects.exists()


@pytest.fixture
def silent_server():
    from tests.portal.test_silent_redis import SilentRedis

    server = SilentRedis()
    yield server.url(0)
    server.close()
