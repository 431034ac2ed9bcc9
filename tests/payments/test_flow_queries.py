"""Each step of a whole transfer reads and writes a bounded number of times (issue 13: the
confirmation throughput is bounded by its queries; ``python -m bench.confirm`` reports them).

Counted for a customer's first transfer (the session not yet verified by OTP) and for the next
ones (verified: django-otp reads the device on every page), with history behind them. Inside a
test every transaction is a savepoint, so the counts include SAVEPOINT/RELEASE statements that
a real request does not send.
"""

from decimal import Decimal

import pytest
from django.conf import settings

from payments import services
from payments.models import BankAccount, Transfer
from tests.conftest import outbox_code

pytestmark = pytest.mark.django_db

# The most each step may take, for a customer going on with a verified session, on
# PostgreSQL with Redis-cached sessions (CI). Measured today: these.
BOUNDS = {
    "form GET": 4,  # session's user, OTP device, accounts, payees
    "form POST": 12,
    "confirm GET": 6,
    "confirm POST": 24,
    "receipt GET": 4,
}


def bound(step, *, first=False):
    extra = 0
    if not settings.SESSION_ENGINE.endswith("cached_db"):
        extra += 1  # the session row is read from the database (no shared cache)
    if first and step == "confirm POST":
        extra += 3  # the customer's SMS device is created, with its savepoint
    if first and step != "confirm POST":
        extra -= 1  # no OTP device yet: django-otp reads none
    return BOUNDS[step] + extra


@pytest.fixture
def history(customer, other_customer):
    source = BankAccount.objects.get(number="1001000011")
    destination = BankAccount.objects.get(number="1002000017")
    for n in range(10):
        transfer = services.transfer_create(
            user=customer, source=source, destination=destination,
            amount=Decimal(1000 + n), description=f"n{n}",
        )
        services._draft_start(transfer)
        services._transfer_execute(transfer)


def whole_transfer(client, run_on_commit, assert_max, amount, *, first):
    def limit(step):
        return assert_max(bound(step, first=first))

    source = BankAccount.objects.get(number="1001000011").pk
    with limit("form GET"):
        assert client.get("/transfers/new/").status_code == 200
    with limit("form POST"):
        answer = client.post(
            "/transfers/new/",
            {"source": source, "destination": "other", "destination_number": "1002000017",
             "amount": amount, "description": "kos"},
        )
    assert answer.status_code == 302
    confirm_url = answer["Location"]
    reference = confirm_url.split("/")[2]
    with limit("confirm GET"):
        assert client.get(confirm_url).status_code == 200
    # "Generate OTP" is bounded by its own test (tokens); not counted here.
    assert run_on_commit(client.post, f"/transfers/{reference}/otp/").status_code == 302
    code = outbox_code()
    with limit("confirm POST"):
        answer = client.post(confirm_url, {"code": code})
    assert answer.status_code == 302 and answer["Location"] == f"/transfers/{reference}/"
    with limit("receipt GET"):
        page = client.get(f"/transfers/{reference}/")
    assert page.status_code == 200 and reference in page.content.decode()
    assert Transfer.objects.get(reference=reference).status == Transfer.Status.COMPLETED


def test_each_step_of_a_whole_transfer_has_bounded_queries(
    customer_client, history, run_on_commit, django_assert_max_num_queries
):
    # The first (session verified by it) and the next one, as a customer goes on.
    whole_transfer(customer_client, run_on_commit, django_assert_max_num_queries, "15.000", first=True)
    whole_transfer(customer_client, run_on_commit, django_assert_max_num_queries, "16.000", first=False)
    source = BankAccount.objects.get(number="1001000011")
    assert source.balance == Decimal("15000000.00") - sum(
        Decimal(1000 + n) for n in range(10)
    ) - Decimal("31000")
