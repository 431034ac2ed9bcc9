"""The dashboard: each account with its last five movements, money in as well as out, and a
link to its full statement; a bounded number of queries however much history there is."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import TestCase

from payments import services
from payments.models import BankAccount
from tests.conftest import outbox_code
from tests.factories import PASSWORD, BankAccountFactory

pytestmark = pytest.mark.django_db

WIB = ZoneInfo("Asia/Jakarta")
START = datetime(2026, 11, 2, 9, 0, tzinfo=WIB)


def move(source, destination, amount, description="", *, when):
    with time_machine.travel(when, tick=False):
        transfer = services.transfer_create(
            user=source.owner, source=source, destination=destination,
            amount=Decimal(amount), description=description,
        )
        with TestCase.captureOnCommitCallbacks(execute=True):
            services.transfer_challenge_issue(transfer=transfer)
        services.transfer_confirm(transfer=transfer, code=outbox_code())
    return transfer


@pytest.fixture
def accounts(customer, other_customer):
    return {account.number: account for account in BankAccount.objects.select_related("owner")}


def test_the_recipient_sees_money_received(client, accounts):
    transfer = move(accounts["1001000011"], accounts["1002000017"], "1500000", "Bayar kos", when=START)
    client.post("/login/", {"username": "siti", "password": PASSWORD})
    response = client.get("/dashboard/")
    (line,) = response.context["accounts"][0].recent_movements
    assert (line.reference, line.amount, line.counterparty_name) == (
        transfer.reference, Decimal("1500000"), "Budi Santoso",
    )
    html = response.content.decode()
    assert "+Rp 1.500.000" in html and "Transfer masuk" in html and "Bayar kos" in html
    assert 'href="/accounts/1002000017/mutasi/"' in html
    assert "Mutasi terakhir" in html


def test_five_newest_movements_per_account_and_only_the_customers(customer_client, accounts):
    savings, current, siti = (accounts[n] for n in ("1001000011", "1001000029", "1002000017"))
    made = [
        move(savings, siti, 1000 + n, f"n{n}", when=START + timedelta(hours=2 * n)) for n in range(7)
    ]
    own = move(current, savings, "5000", "antar rekening", when=START + timedelta(days=1))
    # Siti's movement with a third party is not budi's business.
    third = BankAccountFactory(owner=siti.owner, number="1002000025")
    hidden = move(siti, third, "7000", "rahasia siti", when=START + timedelta(days=2))

    response = customer_client.get("/dashboard/")
    by_number = {a.number: a.recent_movements for a in response.context["accounts"]}
    assert [m.reference for m in by_number["1001000011"]] == [
        own.reference, *[t.reference for t in reversed(made[2:])][:4]
    ]
    assert by_number["1001000011"][0].amount == Decimal("5000")  # the credit from current
    assert [m.reference for m in by_number["1001000029"]] == [own.reference]
    html = response.content.decode()
    assert hidden.reference not in html and "rahasia siti" not in html
    assert made[0].reference not in html and made[1].reference not in html
    for number in ("1001000011", "1001000029"):
        assert f'href="/accounts/{number}/mutasi/"' in html


def test_an_account_without_movements_says_so(customer_client):
    html = customer_client.get("/dashboard/").content.decode()
    assert html.count("Belum ada mutasi.") == 2


def test_dashboard_queries_do_not_grow_with_accounts_or_history(
    customer_client, customer, accounts, django_assert_max_num_queries
):
    savings, siti = accounts["1001000011"], accounts["1002000017"]
    extra = [BankAccountFactory(owner=customer) for _ in range(4)]
    for n, account in enumerate([savings, *extra] * 3):
        move(account, siti, 1000 + n, when=START + timedelta(hours=n))
    with django_assert_max_num_queries(8):
        response = customer_client.get("/dashboard/")
    assert response.status_code == 200
    assert all(len(a.recent_movements) == 3 for a in response.context["accounts"][2:])
