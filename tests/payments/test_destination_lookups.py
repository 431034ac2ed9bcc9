"""Whom an account belongs to is shown before confirming (right for Indonesian banks), but it
cannot be harvested: look-ups are limited per customer per day, names may be masked, and a
look-up that went no further leaves no pending transfer behind."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from payments import exceptions, services
from payments.models import BankAccount, DestinationLookup, Payee, Transfer
from tests.factories import BankAccountFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def strangers(db):
    return [
        BankAccountFactory(owner=UserFactory(user_id=f"orang{n}", full_name=f"Orang Asing {n}"))
        for n in range(4)
    ]


def draft(customer, destination, amount="1000"):
    return services.transfer_create(
        user=customer, source=BankAccount.objects.get(number="1001000011"),
        destination=destination, amount=Decimal(amount), description="",
    )


def test_new_destinations_are_limited_per_day(customer, strangers, settings):
    settings.TRANSFER_LOOKUP_DAILY_LIMIT = 3
    for account in strangers[:3]:
        draft(customer, account)
    with pytest.raises(exceptions.LookupLimitReached):
        draft(customer, strangers[3])
    with pytest.raises(exceptions.LookupLimitReached):
        services.payee_create(user=customer, account=strangers[3], nickname="x")
    # An account already looked up today, the customer's own accounts and confirmed payees
    # are no new look-ups.
    draft(customer, strangers[0])
    draft(customer, BankAccount.objects.get(number="1001000029"))
    payee = Payee.objects.create(owner=customer, account=strangers[3], nickname="teman", status="active")
    draft(customer, payee.account)
    assert DestinationLookup.objects.filter(user=customer).count() == 3
    # A new day, a new allowance.
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        draft(customer, BankAccountFactory())


def test_the_limit_is_told_on_the_form(customer_client, customer, strangers, settings):
    settings.TRANSFER_LOOKUP_DAILY_LIMIT = 1
    draft(customer, strangers[0])
    response = customer_client.post(
        "/transfers/new/",
        {"source": BankAccount.objects.get(number="1001000011").pk, "destination": "other",
         "destination_number": strangers[1].number, "amount": "1.000"},
    )
    assert response.status_code == 200
    assert 'class="form-errors"' in response.content.decode()
    assert not Transfer.objects.filter(destination=strangers[1]).exists()


def test_a_look_up_that_went_no_further_leaves_no_pending_transfer(
    customer_client, customer, strangers, settings
):
    settings.OTP_CODE_LIFETIME = 300
    looked = draft(customer, strangers[0])
    assert looked.status == Transfer.Status.DRAFT
    page = customer_client.get("/transfers/").content.decode()
    assert looked.reference not in page  # not in the history: nothing was started
    with time_machine.travel(timezone.now() + timedelta(seconds=301)):
        fresh = draft(customer, strangers[1])
    assert not Transfer.objects.filter(pk=looked.pk).exists()  # discarded
    assert Transfer.objects.filter(pk=fresh.pk).exists()


def test_going_on_makes_a_draft_pending(customer, strangers):
    transfer = draft(customer, strangers[0])
    services.transfer_challenge_issue(transfer=transfer)
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.PENDING
    assert Transfer.objects.started().filter(pk=transfer.pk).exists()


def test_names_can_be_shown_partly_masked(customer_client, customer, strangers, settings):
    transfer = draft(customer, strangers[0])
    url = f"/transfers/{transfer.reference}/confirm/"
    assert "Orang Asing 0" in customer_client.get(url).content.decode()
    settings.RECIPIENT_NAME_MASKED = True
    page = customer_client.get(url).content.decode()
    assert "Orang Asing" not in page and "Or*** As*** 0" in page
