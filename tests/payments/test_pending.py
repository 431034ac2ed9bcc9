"""Pending transfers: listed as waiting, cancelled by their customer, expired by themselves, and
never confirmed after either (issue 10 item 2)."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.utils import timezone, translation

from accounts.models import AuditEvent
from payments import exceptions, services
from payments.models import BankAccount, LedgerEntry, Transfer
from tests.conftest import TOKEN_HOTP, needs_postgres, outbox_code
from tests.factories import PASSWORD
from tests.payments.test_concurrency import run_at_once
from tokens.models import Challenge, SmsMessage
from tokens.services import code_generator

pytestmark = pytest.mark.django_db

LIFETIME = 300  # TRANSFER_PENDING_LIFETIME's default: OTP_CODE_LIFETIME


def account(number):
    return BankAccount.objects.get(number=number)


def draft(user, amount="1500000", destination="1002000017"):
    return services.transfer_create(
        user=user,
        source=account("1001000011"),
        destination=account(destination),
        amount=Decimal(amount),
        description="Bayar kos",
    )


def fresh(transfer):
    return Transfer.objects.select_related(
        "initiated_by", "source", "destination__owner", "challenge"
    ).get(pk=transfer.pk)


@pytest.fixture
def started(customer, other_customer, django_capture_on_commit_callbacks):
    """A transfer whose customer pressed "Generate OTP": pending, its SMS in the outbox."""
    transfer = draft(customer)
    with django_capture_on_commit_callbacks(execute=True):
        services.transfer_challenge_issue(transfer=transfer)
    return fresh(transfer)


def exc_text(exc_class, **params):
    with translation.override("id"):
        return str(exc_class(**params))


def assert_nothing_moved():
    assert account("1001000011").balance == Decimal("15000000.00")
    assert account("1002000017").balance == Decimal("7500000.00")
    assert not LedgerEntry.objects.exists()


def audits(action):
    return list(AuditEvent.objects.filter(action=action))


# --- Listed ---------------------------------------------------------------------------------


def test_a_draft_says_it_is_not_saved_until_a_code_is_asked(customer_client, customer, other_customer):
    transfer = draft(customer)
    page = customer_client.get(f"/transfers/{transfer.reference}/confirm/").content.decode()
    assert "Belum ada yang disimpan" in page
    assert transfer.reference not in customer_client.get("/transfers/").content.decode()



def test_a_pending_transfer_is_listed_as_waiting_with_its_actions(customer_client, started, customer):
    never_started = draft(customer, amount="2000")  # a draft only showed whom an account is for
    page = customer_client.get("/transfers/").content.decode()
    assert "Menunggu konfirmasi" in page
    assert started.reference in page and never_started.reference not in page
    assert f'href="/transfers/{started.reference}/confirm/"' in page
    assert f'href="/transfers/{started.reference}/cancel/"' in page
    assert ">Batalkan<" in page.replace('<span class="visually-hidden">', "<")


def test_a_completed_transfer_offers_no_cancel(customer_client, started):
    services.transfer_confirm(transfer=started, code=outbox_code())
    page = customer_client.get("/transfers/").content.decode()
    assert f"/transfers/{started.reference}/cancel/" not in page
    assert customer_client.get(f"/transfers/{started.reference}/cancel/").status_code == 302
    response = customer_client.post(f"/transfers/{started.reference}/cancel/", follow=True)
    assert exc_text(exceptions.NotPending) in response.content.decode()
    assert fresh(started).status == Transfer.Status.COMPLETED


# --- Cancelled ------------------------------------------------------------------------------


def test_the_customer_cancels_and_the_old_code_confirms_nothing(customer_client, started):
    code = outbox_code()
    url = f"/transfers/{started.reference}/cancel/"
    page = customer_client.get(url)
    assert page.status_code == 200
    assert "Rp 1.500.000" in page.content.decode() and 'method="post"' in page.content.decode()
    assert fresh(started).status == Transfer.Status.PENDING  # asking is not cancelling

    response = customer_client.post(url, follow=True)
    body = response.content.decode()
    assert "Rp 1.500.000" in body and "1500000" not in body.replace("1.500.000", "")
    assert started.reference in body and "Dibatalkan" in body
    assert "Transfer Rp 1.500.000 ke rekening ****0017 dibatalkan" in body

    transfer = fresh(started)
    assert transfer.status == Transfer.Status.CANCELLED
    assert transfer.challenge.status == Challenge.Status.VOIDED
    [event] = audits(AuditEvent.Action.TRANSFER_CANCELLED)
    assert event.subject_id == event.actor_id == started.initiated_by_id
    assert event.data["reference"] == started.reference

    # The code of the cancelled transfer: refused, by the page and by the service.
    response = customer_client.post(f"/transfers/{started.reference}/confirm/", {"code": code})
    assert response.status_code == 302
    page = customer_client.get(response["Location"]).content.decode()
    assert exc_text(exceptions.TransferCancelled, amount="Rp 1.500.000") in page
    assert 'name="code"' not in page and 'href="/transfers/new/"' in page
    with pytest.raises(exceptions.TransferCancelled):
        services.transfer_confirm(transfer=fresh(started), code=code)
    assert_nothing_moved()
    assert not audits(AuditEvent.Action.TRANSFER)


def test_cancelling_twice_changes_nothing_more(started, customer):
    services.transfer_cancel(transfer=started, user=customer)
    services.transfer_cancel(transfer=fresh(started), user=customer)
    assert len(audits(AuditEvent.Action.TRANSFER_CANCELLED)) == 1


def test_a_cancelled_transfer_gets_no_new_code(customer_client, started, customer, settings):
    settings.OTP_RESEND_COOLDOWN = 0
    services.transfer_cancel(transfer=started, user=customer)
    response = customer_client.post(f"/transfers/{started.reference}/otp/", follow=True)
    assert exc_text(exceptions.TransferCancelled, amount="Rp 1.500.000") in response.content.decode()
    assert SmsMessage.objects.count() == 1
    with pytest.raises(exceptions.TransferCancelled):
        services.transfer_challenge_issue(transfer=started)


def test_only_the_customer_who_started_it_can_cancel(client, started, other_customer):
    assert client.post("/login/", {"username": "siti", "password": PASSWORD}).status_code == 302
    url = f"/transfers/{started.reference}/cancel/"
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    with pytest.raises(Transfer.DoesNotExist):
        services.transfer_cancel(transfer=started, user=other_customer)
    assert fresh(started).status == Transfer.Status.PENDING
    assert not audits(AuditEvent.Action.TRANSFER_CANCELLED)


def test_cancelling_needs_the_csrf_token(started, customer):
    client = Client(enforce_csrf_checks=True)
    client.get("/login/")
    token = client.cookies["csrftoken"].value
    login = {"username": "budi", "password": PASSWORD, "csrfmiddlewaretoken": token}
    assert client.post("/login/", login).status_code == 302
    url = f"/transfers/{started.reference}/cancel/"
    assert client.post(url).status_code == 403
    assert fresh(started).status == Transfer.Status.PENDING
    token = client.cookies["csrftoken"].value  # rotated at login
    assert client.post(url, {"csrfmiddlewaretoken": token}).status_code == 302
    assert fresh(started).status == Transfer.Status.CANCELLED


def test_a_token_code_confirms_no_cancelled_transfer(customer_client, token_user, other_customer):
    transfer = draft(token_user)
    # A wrong code: the transfer went on (pending), nothing moved.
    response = customer_client.post(f"/transfers/{transfer.reference}/confirm/", {"code": "000000"})
    assert response.status_code == 200 and fresh(transfer).status == Transfer.Status.PENDING
    assert customer_client.post(f"/transfers/{transfer.reference}/cancel/").status_code == 302
    response = customer_client.post(
        f"/transfers/{transfer.reference}/confirm/", {"code": TOKEN_HOTP.at(0)}
    )
    assert fresh(transfer).status == Transfer.Status.CANCELLED
    assert_nothing_moved()


def test_the_lock_refuses_a_cancelled_transfer_on_its_own(started, customer, monkeypatch):
    """The check before the code is a courtesy; the one under the transfer's lock is the rule."""
    code = outbox_code()
    Transfer.objects.filter(pk=started.pk).update(status=Transfer.Status.CANCELLED)
    monkeypatch.setattr(services, "_transfer_ended_raise", lambda transfer: None)
    with pytest.raises(exceptions.TransferCancelled):
        services.transfer_confirm(transfer=started, code=code)
    assert fresh(started).status == Transfer.Status.CANCELLED
    assert_nothing_moved()


# --- Expired --------------------------------------------------------------------------------


def later(seconds):
    return time_machine.travel(timezone.now() + timedelta(seconds=seconds))


def test_an_expired_transfer_is_refused_and_marked(started):
    code = outbox_code()
    with later(LIFETIME + 1), pytest.raises(exceptions.TransferExpired) as refused:
        services.transfer_confirm(transfer=started, code=code)
    with translation.override("id"):
        assert str(refused.value) == (
            "Transfer Rp 1.500.000 kedaluwarsa sebelum dikonfirmasi. Tidak ada dana yang "
            "dipindahkan; silakan buat transfer baru."
        )
    transfer = fresh(started)
    assert transfer.status == Transfer.Status.EXPIRED
    assert transfer.challenge.status == Challenge.Status.VOIDED
    [event] = audits(AuditEvent.Action.TRANSFER_EXPIRED)
    assert event.data["reference"] == started.reference and event.actor is None
    assert_nothing_moved()
    # Expiry costs the customer nothing: no failed code was counted.
    assert not audits(AuditEvent.Action.OTP_FAILED)
    assert transfer.initiated_by.otp_failure_count == 0


def test_a_new_code_keeps_its_transfer_waiting_as_long_as_the_code(started, django_capture_on_commit_callbacks):
    """A code sent later (after wrong tries voided the first) is valid for its whole lifetime:
    the transfer does not expire under it."""
    first_deadline = fresh(started).expires_at
    with later(LIFETIME - 60):
        with django_capture_on_commit_callbacks(execute=True):
            services.transfer_challenge_issue(transfer=fresh(started))
        code = outbox_code()
    moved = (fresh(started).expires_at - first_deadline).total_seconds()
    assert LIFETIME - 60 <= moved < LIFETIME - 50
    with later(LIFETIME + 60):
        services.transfer_confirm(transfer=fresh(started), code=code)
    assert fresh(started).status == Transfer.Status.COMPLETED


def test_just_before_its_time_it_still_confirms(started):
    code = outbox_code()
    with later(LIFETIME - 5):
        assert services.transfer_confirm(transfer=started, code=code).status == "completed"


def test_the_waiting_time_is_the_setting(started, settings):
    settings.TRANSFER_PENDING_LIFETIME = 60
    code = outbox_code()
    with later(61), pytest.raises(exceptions.TransferExpired):
        services.transfer_confirm(transfer=started, code=code)
    assert fresh(started).status == Transfer.Status.EXPIRED


def test_the_waiting_time_runs_from_when_it_was_started(customer, other_customer, django_capture_on_commit_callbacks):
    transfer = draft(customer)
    with later(240):  # the customer read the confirmation page for four minutes
        with django_capture_on_commit_callbacks(execute=True):
            services.transfer_challenge_issue(transfer=transfer)
        code = outbox_code()
    with later(240 + LIFETIME - 10):
        assert services.transfer_confirm(transfer=fresh(transfer), code=code).status == "completed"


def test_the_lock_refuses_an_expired_transfer_on_its_own(started, monkeypatch):
    """With the early check gone, the check under the lock still refuses, and marks it."""
    code = outbox_code()
    monkeypatch.setattr(services, "_transfer_ended_raise", lambda transfer: None)
    # The code outlives the transfer here (a setting may differ), so only the lock can say no.
    Challenge.objects.filter(pk=started.challenge_id).update(
        expires_at=timezone.now() + timedelta(seconds=LIFETIME * 2)
    )
    with later(LIFETIME + 1), pytest.raises(exceptions.TransferExpired):
        services.transfer_confirm(transfer=started, code=code)
    assert fresh(started).status == Transfer.Status.EXPIRED
    assert_nothing_moved()


def test_an_expired_transfer_is_shown_so_without_a_code_field(customer_client, started):
    with later(LIFETIME + 1):
        customer_client.cookies.clear()
        customer_client.post("/login/", {"username": "budi", "password": PASSWORD})
        page = customer_client.get(f"/transfers/{started.reference}/confirm/").content.decode()
        assert "Transfer kedaluwarsa" in page and "Konfirmasi sebelum" not in page
        assert 'name="code"' not in page and "otp-issue" not in page
        assert 'href="/transfers/new/"' in page
        assert fresh(started).status == Transfer.Status.EXPIRED
        listed = customer_client.get("/transfers/").content.decode()
        assert "Kedaluwarsa" in listed and "Menunggu konfirmasi" not in listed
        assert f"/transfers/{started.reference}/cancel/" not in listed
        detail = customer_client.get(f"/transfers/{started.reference}/").content.decode()
        assert "Kedaluwarsa" in detail
        response = customer_client.post(f"/transfers/{started.reference}/otp/", follow=True)
        assert exc_text(exceptions.TransferExpired, amount="Rp 1.500.000") in (
            response.content.decode()
        )
    assert SmsMessage.objects.count() == 1  # no code for an expired transfer
    assert len(audits(AuditEvent.Action.TRANSFER_EXPIRED)) == 1


def test_cancelling_an_expired_transfer_says_it_expired(started, customer):
    with later(LIFETIME + 1), pytest.raises(exceptions.TransferExpired):
        services.transfer_cancel(transfer=started, user=customer)
    assert fresh(started).status == Transfer.Status.EXPIRED
    assert not audits(AuditEvent.Action.TRANSFER_CANCELLED)


def test_listing_expires_what_waited_too_long_once(started, customer, other_customer):
    theirs = services.transfer_create(
        user=other_customer, source=account("1002000017"), destination=account("1001000011"),
        amount=Decimal("1000"), description="",
    )
    services._draft_start(theirs)
    with later(LIFETIME + 1):
        assert services.transfers_expire(user=customer) == 1
        assert services.transfers_expire(user=customer) == 0
        assert fresh(theirs).status == Transfer.Status.PENDING  # only the customer's
        assert services.transfers_expire() == 1
    assert len(audits(AuditEvent.Action.TRANSFER_EXPIRED)) == 2


def test_a_completed_transfer_never_expires(started):
    services.transfer_confirm(transfer=started, code=outbox_code())
    with later(LIFETIME + 1):
        assert services.transfers_expire() == 0
        assert not services.transfer_expire(transfer=started)
    assert fresh(started).status == Transfer.Status.COMPLETED


def test_a_transfer_pending_from_before_it_was_started_at_expires_by_its_creation(started):
    Transfer.objects.filter(pk=started.pk).update(started_at=None)
    assert Transfer.objects.waiting().filter(pk=started.pk).exists()
    with later(LIFETIME + 1):
        assert Transfer.objects.overdue().filter(pk=started.pk).exists()
        assert not Transfer.objects.waiting().filter(pk=started.pk).exists()


# --- The database keeps its rules through the migration -------------------------------------


def test_the_currency_triggers_survive_migration_0004():
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        else:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        names = {row[0] for row in cursor.fetchall()}
    assert {
        "payments_transfer_currency_insert",
        "payments_transfer_currency_update",
        "payments_bankaccount_currency_fixed",
    } <= names


# --- Races on PostgreSQL --------------------------------------------------------------------


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(6))
def test_cancel_and_confirm_at_once_exactly_one_wins(customer, other_customer, round_):
    transfer = draft(customer)
    services.transfer_challenge_issue(transfer=transfer)
    code = code_generator.code(fresh(transfer).challenge)

    def act(i):
        mine = fresh(transfer)
        if (i + round_) % 2:
            return services.transfer_cancel(transfer=mine, user=customer)
        return services.transfer_confirm(transfer=mine, code=code)

    results = run_at_once(2, act)

    status = fresh(transfer).status
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1, results
    legs = LedgerEntry.objects.filter(transfer=transfer).count()
    if status == Transfer.Status.COMPLETED:
        assert type(errors[0]) is exceptions.NotPending, errors
        assert legs == 2 and account("1001000011").balance == Decimal("13500000.00")
    else:
        assert status == Transfer.Status.CANCELLED
        # Even when its code was already being checked, the loser hears what happened.
        assert isinstance(errors[0], exceptions.TransferCancelled), errors
        assert legs == 0 and account("1001000011").balance == Decimal("15000000.00")
