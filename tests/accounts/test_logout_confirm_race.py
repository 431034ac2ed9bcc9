"""F2: a logout in one tab must win over an OTP confirmation in flight in another. The
confirmation cycles the session key; binding the new key to the user is a compare-and-set
from the old one, so a session a logout (or a newer login) ended is never brought back."""

from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse

from accounts import services
from accounts.models import User
from payments.models import BankAccount, LedgerEntry, Transfer
from tests.conftest import outbox_code

SESSION = settings.SESSION_COOKIE_NAME


def session_of(client):
    return client.session.__class__(session_key=client.cookies[SESSION].value)


@pytest.mark.django_db
def test_logout_between_cycle_key_and_rebind_wins(customer_client, customer):
    session = session_of(customer_client)
    old_key = session.session_key
    assert User.objects.get(pk=customer.pk).session_key == old_key

    session.cycle_key()  # the confirming request
    services.session_end(user=customer, ip=None)  # the logout in the other tab
    rebound = services.session_rebind(
        user=customer, old_key=old_key, session_key=session.session_key
    )

    assert rebound is False
    assert User.objects.get(pk=customer.pk).session_key == ""


@pytest.mark.django_db
def test_new_login_between_cycle_key_and_rebind_keeps_the_new_login(customer_client, customer):
    session = session_of(customer_client)
    old_key = session.session_key
    session.cycle_key()
    services.session_start(user=customer, session_key="n" * 32, ip=None, language="id")
    assert not services.session_rebind(
        user=customer, old_key=old_key, session_key=session.session_key
    )
    assert User.objects.get(pk=customer.pk).session_key == "n" * 32


@pytest.mark.django_db
def test_rebind_follows_the_key_when_the_session_is_still_the_users(customer_client, customer):
    session = session_of(customer_client)
    old_key = session.session_key
    session.cycle_key()
    assert services.session_rebind(user=customer, old_key=old_key, session_key=session.session_key)
    assert User.objects.get(pk=customer.pk).session_key == session.session_key


def test_logout_during_the_confirm_request_ends_it_and_the_transfer_stays_done(
    customer_client, customer, other_customer, run_on_commit
):
    """The logout lands inside the confirming request, right after its ``cycle_key`` (the DELETE
    of the old session row): the money has moved, the browser gets the login page and no session."""
    client = customer_client
    response = client.post(
        "/transfers/new/",
        {
            "source": BankAccount.objects.get(number="1001000011").pk,
            "destination": "other",
            "destination_number": "1002000017",
            "amount": "250.000",
        },
    )
    assert response.status_code == 302, response.content[:500]
    reference = response.headers["Location"].split("/")[2]
    run_on_commit(client.post, f"/transfers/{reference}/otp/")
    code = outbox_code()

    fired = []

    def logout_elsewhere(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not fired and sql.startswith('DELETE FROM "django_session"'):
            fired.append(sql)
            services.session_end(user=customer, ip=None)
        return result

    with connection.execute_wrapper(logout_elsewhere):
        response = client.post(f"/transfers/{reference}/confirm/", {"code": code})

    assert fired, "the confirmation never cycled its session key"
    assert response.status_code == 302
    assert response.headers["Location"] == reverse(settings.LOGIN_URL)
    assert not client.cookies[SESSION].value  # the cookie is deleted, no new session
    assert User.objects.get(pk=customer.pk).session_key == ""
    assert client.get("/dashboard/").status_code == 302
    page = client.get(reverse(settings.LOGIN_URL))
    assert "Sesi Anda telah berakhir. Silakan login kembali." in page.content.decode()

    transfer = Transfer.objects.get(reference=reference)
    assert transfer.status == Transfer.Status.COMPLETED
    assert LedgerEntry.objects.count() == 2
    assert BankAccount.objects.get(number="1001000011").balance == Decimal("14750000.00")


@pytest.mark.django_db
def test_logout_with_the_key_a_confirmation_just_cycled_away_still_ends_the_session(
    customer_client, customer
):
    """The logout is read after the confirmation's ``cycle_key`` (its row is gone, the request is
    anonymous) and the rebind has already moved the user to the new key: the logout still ends it."""
    session = session_of(customer_client)
    old_key = session.session_key
    services.session_cycle_note(user=customer, old_key=old_key)
    session.cycle_key()
    assert services.session_rebind(user=customer, old_key=old_key, session_key=session.session_key)
    session.save()
    new_key = session.session_key

    response = customer_client.post("/logout/")  # still carries the old key

    assert response.status_code == 302
    assert User.objects.get(pk=customer.pk).session_key == ""
    customer_client.cookies[SESSION] = new_key
    assert customer_client.get("/dashboard/").status_code == 302
