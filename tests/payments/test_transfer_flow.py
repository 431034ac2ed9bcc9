"""The transfer flow through the real views, SMS through the outbox."""

from decimal import Decimal

import pytest

from payments.models import BankAccount, LedgerEntry, Transfer
from tests.conftest import outbox_code


def start_transfer(client, amount="1.500.000", destination="other", number="1002000017"):
    response = client.post(
        "/transfers/new/",
        {
            "source": BankAccount.objects.get(number="1001000011").pk,
            "destination": destination,
            "destination_number": number,
            "amount": amount,
            "description": "Bayar kos",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return Transfer.objects.get(reference=response["Location"].split("/")[2])


@pytest.mark.django_db
def test_transfer_confirmed_with_sms_otp_moves_money_once(
    customer_client, other_customer, django_capture_on_commit_callbacks
):
    transfer = start_transfer(customer_client)
    confirm_url = f"/transfers/{transfer.reference}/confirm/"
    page = customer_client.get(confirm_url).content.decode()
    assert "Generate OTP" in page and 'autocomplete="one-time-code"' in page
    assert 'inputmode="numeric"' in page

    with django_capture_on_commit_callbacks(execute=True):
        response = customer_client.post(f"/transfers/{transfer.reference}/otp/")
    assert response.status_code == 302
    page = customer_client.get(confirm_url).content.decode()
    assert "+62 812-****-5678" in page
    code = outbox_code()

    response = customer_client.post(confirm_url, {"code": f"{code[:3]} {code[3:]}"})
    assert response.status_code == 302
    assert response["Location"] == f"/transfers/{transfer.reference}/"
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.COMPLETED
    assert BankAccount.objects.get(number="1001000011").balance == Decimal("13500000.00")
    assert BankAccount.objects.get(number="1002000017").balance == Decimal("9000000.00")
    assert sum(e.amount for e in LedgerEntry.objects.filter(transfer=transfer)) == 0

    # A second submission of the same code (double click) moves nothing more.
    response = customer_client.post(confirm_url, {"code": code})
    assert response.status_code == 302
    assert BankAccount.objects.get(number="1001000011").balance == Decimal("13500000.00")
    receipt = customer_client.get(f"/transfers/{transfer.reference}/").content.decode()
    assert transfer.reference in receipt and "Rp 1.500.000" in receipt


@pytest.mark.django_db
def test_session_key_cycles_after_otp_and_stays_the_only_one(
    customer_client, customer, other_customer, django_capture_on_commit_callbacks
):
    transfer = start_transfer(customer_client)
    with django_capture_on_commit_callbacks(execute=True):
        customer_client.post(f"/transfers/{transfer.reference}/otp/")
    before = customer_client.cookies["sessionid"].value
    response = customer_client.post(
        f"/transfers/{transfer.reference}/confirm/", {"code": outbox_code()}
    )
    assert response.status_code == 302
    after = customer_client.cookies["sessionid"].value
    assert after != before
    customer.refresh_from_db()
    assert customer.session_key == after
    assert customer_client.get("/dashboard/").status_code == 200
