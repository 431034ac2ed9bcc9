"""A corporate user sees the company's accounts and nothing of another company's (issue 11):
table-driven over every statement URL, the dashboard and the Mutasi Rekening index; and the
retail transfer is refused to corporate users until the corporate payment flow exists."""

from decimal import Decimal

import pytest
from django.test import Client

from accounts.models import Company, corporate_user_id
from tests.factories import PASSWORD, BankAccountFactory, UserFactory

pytestmark = pytest.mark.django_db

A_ACCOUNT, B_ACCOUNT, OWNER_OWN = "2001000018", "2002000016", "2001000026"
STATEMENT_URLS = [
    "/accounts/{number}/mutasi/",
    "/accounts/{number}/mutasi.csv",
    "/accounts/{number}/mutasi.pdf",
]


def company_with_users(corporate_id, cif, number, names):
    company = Company.objects.create(name=f"PT {corporate_id}", cif=cif, corporate_id=corporate_id)
    users = [
        UserFactory(
            user_id=corporate_user_id(corporate_id=corporate_id, user_id=name),
            company=company,
            email=f"{name}@{corporate_id.lower()}.co.id",
        )
        for name in names
    ]
    BankAccountFactory(owner=users[0], company=company, number=number, product="current")
    return company, users


@pytest.fixture
def companies():
    a, (andi, rudi) = company_with_users("MAJUBERSAMA", "C000123", A_ACCOUNT, ["andi", "rudi"])
    b, (bayu,) = company_with_users("BINTANG", "C000456", B_ACCOUNT, ["bayu"])
    return {"A": (a, andi, rudi), "B": (b, bayu)}


def logged_in(corporate_id, user_id):
    client = Client()
    response = client.post(
        "/corporate/login/",
        {"corporate_id": corporate_id, "username": user_id, "password": PASSWORD},
    )
    assert response.status_code == 302
    return client


@pytest.mark.parametrize("url", STATEMENT_URLS)
@pytest.mark.parametrize(
    "corporate_id, user_id, own, foreign",
    [
        ("MAJUBERSAMA", "andi", A_ACCOUNT, B_ACCOUNT),  # the accounts' owner
        ("MAJUBERSAMA", "rudi", A_ACCOUNT, B_ACCOUNT),  # a second user of the company
        ("BINTANG", "bayu", B_ACCOUNT, A_ACCOUNT),
    ],
)
def test_statements_of_another_company_are_404(companies, url, corporate_id, user_id, own, foreign):
    client = logged_in(corporate_id, user_id)
    assert client.get(url.format(number=own)).status_code == 200
    assert client.get(url.format(number=foreign)).status_code == 404


@pytest.mark.parametrize(
    "corporate_id, user_id, own, foreign",
    [
        ("MAJUBERSAMA", "andi", A_ACCOUNT, B_ACCOUNT),
        ("MAJUBERSAMA", "rudi", A_ACCOUNT, B_ACCOUNT),
        ("BINTANG", "bayu", B_ACCOUNT, A_ACCOUNT),
    ],
)
@pytest.mark.parametrize("page", ["/dashboard/", "/mutasi/"])
def test_pages_list_only_the_companys_accounts(
    companies, page, corporate_id, user_id, own, foreign
):
    client = logged_in(corporate_id, user_id)
    response = client.get(page, follow=True)
    html = response.content.decode()
    assert response.status_code == 200
    assert own in html and foreign not in html


def test_a_corporate_user_does_not_see_the_owners_own_retail_accounts(companies):
    """The owner of the company's account may hold a retail account too (same person, another
    login): a user of the company never sees it."""
    _, andi, _ = companies["A"]
    BankAccountFactory(owner=andi, number=OWNER_OWN)
    html = logged_in("MAJUBERSAMA", "rudi").get("/dashboard/").content.decode()
    assert A_ACCOUNT in html and OWNER_OWN not in html


def test_corporate_users_are_not_offered_the_retail_transfer(companies):
    """Until corporate payments exist, the menu and the dashboard do not lead a corporate user
    to a page that only refuses; a retail customer still sees both."""
    html = logged_in("MAJUBERSAMA", "andi").get("/dashboard/").content.decode()
    assert 'href="/transfers/new/"' not in html and 'href="/payees/"' not in html
    budi = UserFactory(user_id="budi")
    BankAccountFactory(owner=budi, number="1001000011")
    client = Client()
    client.post("/login/", {"username": "budi", "password": PASSWORD})
    html = client.get("/dashboard/").content.decode()
    assert 'href="/transfers/new/"' in html and 'href="/payees/"' in html


def test_retail_customers_still_see_their_own_accounts(companies):
    budi = UserFactory(user_id="budi")
    BankAccountFactory(owner=budi, number="1001000011")
    client = Client()
    assert client.post("/login/", {"username": "budi", "password": PASSWORD}).status_code == 302
    html = client.get("/dashboard/").content.decode()
    assert "1001000011" in html and A_ACCOUNT not in html and B_ACCOUNT not in html


@pytest.mark.django_db(transaction=True)
def test_unapplying_the_company_column_keeps_the_currency_triggers():
    """payments/0006 backwards rebuilds payments_bankaccount on SQLite: the triggers of 0002
    must still refuse a transfer into another currency after the round trip."""
    from django.db import IntegrityError, connection, transaction
    from django.db.migrations.executor import MigrationExecutor

    from payments.models import Transfer

    executor = MigrationExecutor(connection)
    executor.migrate([("payments", "0005_statement_index")])
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    idr = BankAccountFactory(number="1001000011")
    usd = BankAccountFactory(number="1002000025", currency="USD")
    with pytest.raises(IntegrityError, match="currency"), transaction.atomic():
        Transfer.objects.create(
            reference="TRF-CUR-1",
            initiated_by=idr.owner,
            source=idr,
            destination=usd,
            amount=Decimal("1000.00"),
            currency="IDR",
        )
