"""A corporate user sees the company's accounts and payments and nothing of another company's
(issue 11): table-driven over every statement URL, every corporate payment URL, the dashboard
and the Mutasi Rekening index; a retail customer sees none of them either."""

from decimal import Decimal

import pytest
from django.test import Client

from accounts.models import Company, corporate_user_id
from payments import services
from payments.models import BankAccount, Transfer
from tests.factories import PASSWORD, BankAccountFactory, UserFactory
from tokens.models import Challenge
from tokens.services import code_generator

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


def test_corporate_users_are_offered_payments_not_the_retail_transfer(companies):
    """A corporate user's menu leads to Pembayaran and Daftar Pembayaran (and Penerima); a
    retail customer still sees the retail transfer and no corporate page."""
    html = logged_in("MAJUBERSAMA", "andi").get("/dashboard/").content.decode()
    assert 'href="/transfers/new/"' not in html and 'href="/payees/"' in html
    assert 'href="/payments/new/"' in html and 'href="/payments/"' in html
    client = retail_client()
    html = client.get("/dashboard/").content.decode()
    assert 'href="/transfers/new/"' in html and 'href="/payees/"' in html
    assert 'href="/payments/' not in html


def retail_client():
    """budi, a retail customer (created on first use), logged in."""
    if not BankAccount.objects.filter(number="1001000011").exists():
        BankAccountFactory(owner=UserFactory(user_id="budi"), number="1001000011")
    client = Client()
    assert client.post("/login/", {"username": "budi", "password": PASSWORD}).status_code == 302
    return client


# Every corporate payment URL: (method, path, data). {ref} is a payment of company A waiting
# for approval (made by andi), the state in which the most actions are open.
PAYMENT_URLS = [
    ("get", "/payments/{ref}/", None),
    ("get", "/payments/{ref}/confirm/", None),
    ("post", "/payments/{ref}/confirm/", {"code": "123456"}),
    ("post", "/payments/{ref}/otp/", {}),
    ("get", "/payments/{ref}/cancel/", None),
    ("post", "/payments/{ref}/cancel/", {}),
    ("get", "/payments/{ref}/reject/", None),
    ("post", "/payments/{ref}/reject/", {"reason": "not ours"}),
]


@pytest.fixture
def waiting_payment(companies, settings):
    settings.OTP_RESEND_COOLDOWN = 0
    company, andi, _ = companies["A"]
    Company.objects.filter(pk=company.pk).update(requires_approval=True)
    payment = services.corporate_payment_create(
        user=andi,
        source=BankAccount.objects.get(number=A_ACCOUNT),
        destination=BankAccountFactory(number="1003000013"),
        amount=Decimal("1000"),
        description="",
    )
    challenge = services.corporate_payment_challenge_issue(payment=payment, user=andi)
    services.corporate_payment_confirm(
        payment=payment, user=andi, code=code_generator.code(challenge)
    )
    assert payment.status == Transfer.Status.WAITING_APPROVAL
    return payment


@pytest.mark.parametrize("method, path, data", PAYMENT_URLS)
@pytest.mark.parametrize("who", ["BINTANG:bayu", "retail:budi"])
def test_another_companys_payment_is_404_on_every_url(waiting_payment, method, path, data, who):
    client = retail_client() if who == "retail:budi" else logged_in(*who.split(":"))
    url = path.format(ref=waiting_payment.reference)
    response = getattr(client, method)(url, data) if data is not None else client.get(url)
    assert response.status_code == 404
    waiting_payment.refresh_from_db()
    assert waiting_payment.status == Transfer.Status.WAITING_APPROVAL
    assert waiting_payment.rejected_by is None
    assert not Challenge.objects.exclude(user=waiting_payment.initiated_by).exists()


@pytest.mark.parametrize("method, path, data", PAYMENT_URLS)
def test_the_same_urls_open_for_a_user_of_the_company(waiting_payment, method, path, data):
    """The other side of the table: rudi (company A, not the maker) is answered, not 404."""
    client = logged_in("MAJUBERSAMA", "rudi")
    url = path.format(ref=waiting_payment.reference)
    response = getattr(client, method)(url, data) if data is not None else client.get(url)
    assert response.status_code in (200, 302)


@pytest.mark.parametrize("who", ["BINTANG:bayu", "retail:budi"])
def test_the_payment_list_shows_only_the_companys_payments(waiting_payment, who):
    own = logged_in("MAJUBERSAMA", "rudi").get("/payments/").content.decode()
    assert waiting_payment.reference in own
    if who == "retail:budi":
        assert retail_client().get("/payments/").status_code == 404
        assert retail_client().get("/payments/new/").status_code == 404
    else:
        html = logged_in(*who.split(":")).get("/payments/").content.decode()
        assert waiting_payment.reference not in html


def test_the_retail_transfer_pages_do_not_open_a_corporate_payment(waiting_payment):
    """The maker's own payment is not reachable through the retail URLs (which would skip the
    approval): 404 there, and the service refuses it too (test_corporate_payments)."""
    client = logged_in("MAJUBERSAMA", "andi")
    for path in ("/transfers/{ref}/", "/transfers/{ref}/confirm/", "/transfers/{ref}/cancel/"):
        assert client.get(path.format(ref=waiting_payment.reference)).status_code == 404
    response = client.post(f"/transfers/{waiting_payment.reference}/otp/")
    assert response.status_code == 404


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


def test_the_e_statement_of_a_company_account_names_the_company(companies):
    """Found by the new-user walk: the PDF named the logged-in user as the account holder."""
    import io
    import re

    from pypdf import PdfReader

    rudi_client = logged_in("MAJUBERSAMA", "rudi")
    response = rudi_client.get(f"/accounts/{A_ACCOUNT}/mutasi.pdf")
    assert response.status_code == 200
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    text = re.sub(r"\s+", " ", text)
    assert "Pemilik rekening PT MAJUBERSAMA" in text
    assert "Dicetak oleh" in text and companies["A"][2].full_name in text
