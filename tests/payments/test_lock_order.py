"""The two accounts of a transfer are locked in one statement, in primary-key order, whichever
way the money goes. test_concurrency.py catches a wrong order only when the race happens; the
SQL shows it every time. PostgreSQL only: on SQLite Django leaves FOR UPDATE out."""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from payments import services
from payments.models import BankAccount, Transfer
from tests.conftest import needs_postgres
from tokens.services import code_generator

pytestmark = [needs_postgres, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TABLE = f'"{BankAccount._meta.db_table}"'
PK = f'{TABLE}."{BankAccount._meta.pk.column}"'
# FOR UPDATE at the end of the statement, with the tables it names if it says OF.
LOCK = re.compile(r"\bFOR (?:NO KEY )?UPDATE(?: OF (?P<of>.+?))?(?: NOWAIT| SKIP LOCKED)?\s*$")


def account_locks(queries) -> list[str]:
    """The statements that lock bank-account rows: FOR UPDATE naming the table, or without OF
    on a statement that reads it (PostgreSQL then locks the rows of every table in it)."""
    locks = []
    for query in queries:
        sql = query["sql"]
        match = LOCK.search(sql)
        if match is None:
            continue
        of = match.group("of")
        reads_accounts = f"FROM {TABLE}" in sql or f"JOIN {TABLE}" in sql
        if (TABLE in of) if of is not None else reads_accounts:
            locks.append(sql)
    return locks


def confirm_capturing(user, source_number, destination_number):
    source = BankAccount.objects.get(number=source_number)
    destination = BankAccount.objects.get(number=destination_number)
    transfer = services.transfer_create(
        user=user, source=source, destination=destination, amount=Decimal("1000"), description=""
    )
    services.transfer_challenge_issue(transfer=transfer)
    transfer = Transfer.objects.select_related(
        "source", "destination", "challenge", "initiated_by"
    ).get(pk=transfer.pk)
    code = code_generator.code(transfer.challenge)
    with CaptureQueriesContext(connection) as captured:
        done = services.transfer_confirm(transfer=transfer, code=code)
    assert done.status == Transfer.Status.COMPLETED
    return source, destination, account_locks(captured.captured_queries)


@pytest.mark.parametrize(
    ("payer", "source_number", "destination_number"),
    [
        ("customer", "1001000011", "1002000017"),  # the destination's key is the higher
        ("other_customer", "1002000017", "1001000011"),  # the destination's key is the lower
    ],
)
def test_both_accounts_locked_in_one_statement_in_key_order(
    request, payer, source_number, destination_number, customer, other_customer
):
    source, destination, locks = confirm_capturing(
        request.getfixturevalue(payer), source_number, destination_number
    )
    assert (destination.pk > source.pk) == (payer == "customer")  # both directions are covered

    assert len(locks) == 1, locks
    (lock,) = locks
    ids = {int(i) for i in re.search(rf"{re.escape(PK)} IN \(([^)]*)\)", lock).group(1).split(",")}
    assert ids == {source.pk, destination.pk}, lock
    order_by = lock.split(" ORDER BY ", 1)[1]
    assert order_by.startswith(f"{PK} ASC"), lock
