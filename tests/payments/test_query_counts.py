"""Pages have a bounded number of queries, however much history a customer has."""

from decimal import Decimal

import pytest

from payments import services
from payments.models import BankAccount

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(customer, other_customer):
    source = BankAccount.objects.get(number="1001000011")
    for n in range(30):
        transfer = services.transfer_create(
            user=customer, source=source,
            destination=BankAccount.objects.get(number="1002000017" if n % 2 else "1001000029"),
            amount=Decimal(1000 + n), description=f"n{n}",
        )
        services._draft_start(transfer)
        services._transfer_execute(transfer)
    return transfer


@pytest.mark.parametrize("url", ["/dashboard/", "/transfers/", "/transfers/new/", "/payees/"])
def test_page_queries_are_bounded(customer_client, history, django_assert_max_num_queries, url):
    with django_assert_max_num_queries(10):
        assert customer_client.get(url).status_code == 200


def test_confirm_page_queries_are_bounded(customer_client, customer, other_customer, django_assert_max_num_queries):
    transfer = services.transfer_create(
        user=customer, source=BankAccount.objects.get(number="1001000011"),
        destination=BankAccount.objects.get(number="1002000017"), amount=Decimal("5000"), description="",
    )
    services.transfer_challenge_issue(transfer=transfer)
    with django_assert_max_num_queries(10):
        assert customer_client.get(f"/transfers/{transfer.reference}/confirm/").status_code == 200
