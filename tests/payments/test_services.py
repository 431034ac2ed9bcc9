"""Transfers and payees through their services; the database refuses bad money."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from payments import exceptions, services
from payments.models import BankAccount, LedgerEntry, Payee, Transfer
from tests.conftest import outbox_code
from tokens import exceptions as otp_exceptions

pytestmark = pytest.mark.django_db


def account(number):
    return BankAccount.objects.get(number=number)


def test_database_refuses_negative_balance(customer):
    with pytest.raises(IntegrityError), transaction.atomic():
        BankAccount.objects.filter(number="1001000011").update(balance=Decimal("-0.01"))


def test_database_refuses_non_positive_transfer(customer, other_customer):
    transfer = services.transfer_create(
        user=customer, source=account("1001000011"), destination=account("1002000017"),
        amount=Decimal("1"), description="",
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Transfer.objects.filter(pk=transfer.pk).update(amount=Decimal("0"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Transfer.objects.filter(pk=transfer.pk).update(destination=transfer.source)


def test_create_refuses_what_cannot_be_paid(customer, other_customer):
    with pytest.raises(exceptions.InsufficientFunds):
        services.transfer_create(
            user=customer, source=account("1001000011"), destination=account("1002000017"),
            amount=Decimal("15000000.01"), description="",
        )
    with pytest.raises(exceptions.SameAccount):
        services.transfer_create(
            user=customer, source=account("1001000011"), destination=account("1001000011"),
            amount=Decimal("1"), description="",
        )
    with pytest.raises(exceptions.AccountNotFound):  # someone else's account as the source
        services.transfer_create(
            user=customer, source=account("1002000017"), destination=account("1001000011"),
            amount=Decimal("1"), description="",
        )
    with pytest.raises(exceptions.AccountNotFound):
        services.account_by_number(number="9999999999")
    assert not Transfer.objects.exists()


def test_transfer_with_a_wrong_code_moves_nothing(customer, other_customer, django_capture_on_commit_callbacks):
    transfer = services.transfer_create(
        user=customer, source=account("1001000011"), destination=account("1002000017"),
        amount=Decimal("250000.50"), description="",
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.transfer_challenge_issue(transfer=transfer)
    code = outbox_code()
    with pytest.raises(otp_exceptions.WrongCode):
        services.transfer_confirm(transfer=transfer, code=f"{(int(code) + 1) % 10**6:06d}")
    assert account("1001000011").balance == Decimal("15000000.00")
    assert not LedgerEntry.objects.exists()
    done = services.transfer_confirm(transfer=transfer, code=code)
    assert done.status == Transfer.Status.COMPLETED
    assert account("1001000011").balance == Decimal("14749999.50")
    legs = {e.account.number: (e.amount, e.balance_after) for e in LedgerEntry.objects.all()}
    assert legs == {
        "1001000011": (Decimal("-250000.50"), Decimal("14749999.50")),
        "1002000017": (Decimal("250000.50"), Decimal("7750000.50")),
    }
    with pytest.raises(exceptions.NotPending):
        services.transfer_challenge_issue(transfer=done)


def test_payee_needs_an_otp(customer_client, customer, other_customer, django_capture_on_commit_callbacks):
    response = customer_client.post(
        "/payees/new/", {"account_number": "1002 000 017", "nickname": "Siti"}
    )
    assert response.status_code == 302
    payee = Payee.objects.get()
    assert payee.status == Payee.Status.PENDING
    # A pending payee is not offered as a destination yet.
    assert "Siti – 1002000017" not in customer_client.get("/transfers/new/").content.decode()
    confirm_url = f"/payees/{payee.pk}/confirm/"
    with django_capture_on_commit_callbacks(execute=True):
        customer_client.post(f"/payees/{payee.pk}/otp/")
    response = customer_client.post(confirm_url, {"code": outbox_code()})
    assert response.status_code == 302 and response["Location"] == "/payees/"
    payee.refresh_from_db()
    assert payee.status == Payee.Status.ACTIVE
    assert "Siti – 1002000017" in customer_client.get("/transfers/new/").content.decode()
    response = customer_client.post("/payees/new/", {"account_number": "1002000017", "nickname": "Lagi"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()


def test_other_customers_actions_are_not_found(customer_client, customer, other_customer):
    theirs = services.transfer_create(
        user=other_customer, source=account("1002000017"), destination=account("1001000011"),
        amount=Decimal("1"), description="",
    )
    for url in (
        f"/transfers/{theirs.reference}/",
        f"/transfers/{theirs.reference}/confirm/",
    ):
        assert customer_client.get(url).status_code == 404
    assert customer_client.post(f"/transfers/{theirs.reference}/otp/").status_code == 404


def test_pages_need_login(client, db):
    for url in ("/dashboard/", "/transfers/", "/transfers/new/", "/payees/", "/payees/new/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")
