"""Corporate payments through the real pages (issue 11): the seed's steps ("Generate OTP",
"One Time Password", "Konfirmasi Pembayaran", "Selesai") for the maker and the approver, the
token user without "Generate OTP", reject, cancel, Daftar Pembayaran and its filters, and the
company named as the counterparty in Mutasi Rekening."""

import base64
from decimal import Decimal

import pyotp
import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import AuditEvent, Company, User, corporate_user_id
from payments.models import BankAccount, Transfer
from tests.conftest import outbox_code
from tests.factories import PASSWORD, BankAccountFactory, UserFactory
from tokens import hardware
from tokens.models import HardwareToken, SmsMessage

pytestmark = pytest.mark.django_db

A_ACCOUNT, RETAIL = "2001000018", "1002000017"
TOKEN_SEED = b"Andi-Test-Token-0001"


@pytest.fixture
def company(settings):
    settings.OTP_RESEND_COOLDOWN = 0
    company = Company.objects.create(
        name="PT Maju Bersama", cif="C000123", corporate_id="MAJUBERSAMA", requires_approval=True
    )
    users = {
        name: UserFactory(
            user_id=corporate_user_id(corporate_id="MAJUBERSAMA", user_id=name),
            full_name=full_name,
            company=company,
            phone=phone,
        )
        for name, full_name, phone in [
            ("andi", "Andi Wijaya", "+6281277001122"),
            ("rudi", "Rudi Hartono", "+6281277003344"),
        ]
    }
    BankAccountFactory(
        owner=users["andi"], company=company, number=A_ACCOUNT, balance="250000000.00"
    )
    siti = UserFactory(user_id="siti", full_name="Siti Rahayu")
    BankAccountFactory(owner=siti, number=RETAIL, balance="1000000.00")
    return company


def login(name):
    client = Client()
    response = client.post(
        "/corporate/login/",
        {"corporate_id": "MAJUBERSAMA", "username": name, "password": PASSWORD},
    )
    assert response.status_code == 302
    return client


def start_payment(client, amount="12.500.000"):
    response = client.post(
        "/payments/new/",
        {
            "source": BankAccount.objects.get(number=A_ACCOUNT).pk,
            "destination": "other",
            "destination_number": RETAIL,
            "amount": amount,
            "description": "Invoice 17",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return Transfer.objects.get(reference=response["Location"].split("/")[2])


def sms_confirm(client, payment, run_on_commit):
    """The seed's steps: Generate OTP, the code from the SMS, Konfirmasi Pembayaran."""
    url = f"/payments/{payment.reference}/confirm/"
    page = client.get(url).content.decode()
    assert "Generate OTP" in page
    assert '<label for="id_code">One Time Password</label>' in page
    assert "Konfirmasi Pembayaran" in page
    run_on_commit(client.post, f"/payments/{payment.reference}/otp/")
    return client.post(url, {"code": outbox_code()})


def test_maker_submits_approver_approves_and_sees_selesai(company, run_on_commit):
    andi = login("andi")
    payment = start_payment(andi)
    response = sms_confirm(andi, payment, run_on_commit)
    assert response["Location"] == f"/payments/{payment.reference}/"
    page = andi.get(response["Location"]).content.decode()
    assert "Menunggu persetujuan" in page and "menunggu persetujuan pengguna lain" in page
    assert BankAccount.objects.get(number=A_ACCOUNT).balance == Decimal("250000000.00")

    rudi = login("rudi")
    listing = rudi.get("/payments/").content.decode()
    assert "Daftar Pembayaran" in listing and payment.reference in listing
    assert f'href="/payments/{payment.reference}/confirm/"' in listing and "Setujui" in listing
    confirm_page = rudi.get(f"/payments/{payment.reference}/confirm/").content.decode()
    assert "Andi Wijaya membuat pembayaran ini" in confirm_page
    assert "+62 812-****-3344" in confirm_page  # rudi's own phone
    response = sms_confirm(rudi, payment, run_on_commit)
    assert response["Location"] == f"/payments/{payment.reference}/"
    receipt = rudi.get(response["Location"]).content.decode()
    assert "<h1>Selesai</h1>" in receipt
    for text in (payment.reference, "Rp 12.500.000", "Siti Rahayu", A_ACCOUNT, "Andi Wijaya"):
        assert text in receipt
    assert "Pembuat" in receipt and "Penyetuju" in receipt and "Rudi Hartono" in receipt
    assert BankAccount.objects.get(number=A_ACCOUNT).balance == Decimal("237500000.00")
    # Each confirming user's code went by SMS to their own phone.
    phones = set(SmsMessage.objects.filter(challenge__isnull=False).values_list("to", flat=True))
    assert phones == {"+6281277001122", "+6281277003344"}


def test_the_maker_sees_no_approve_button_on_their_own_payment(company, run_on_commit):
    andi = login("andi")
    payment = start_payment(andi)
    sms_confirm(andi, payment, run_on_commit)
    listing = andi.get("/payments/").content.decode()
    assert f'href="/payments/{payment.reference}/confirm/"' not in listing
    # The confirm page sends the maker to the payment; a POST there approves nothing.
    response = andi.get(f"/payments/{payment.reference}/confirm/")
    assert response.status_code == 302
    assert andi.get(f"/payments/{payment.reference}/reject/").status_code == 302
    response = andi.post(f"/payments/{payment.reference}/reject/", {"reason": "mine"})
    assert Transfer.objects.get(pk=payment.pk).status == Transfer.Status.WAITING_APPROVAL


def test_a_token_user_types_the_token_code_without_generate_otp(company):
    andi_user = User.objects.get(user_id="MAJUBERSAMA:andi")
    HardwareToken.objects.create(
        serial="FT2000000002",
        algorithm="totp",
        step=30,
        digits=6,
        state="active",
        user=andi_user,
        sealed_seed=hardware.seed_seal(TOKEN_SEED),
    )
    andi_user.confirmation_method = User.ConfirmationMethod.HARDWARE_TOKEN
    andi_user.save()
    andi = login("andi")
    payment = start_payment(andi)
    url = f"/payments/{payment.reference}/confirm/"
    page = andi.get(url).content.decode()
    assert "Generate OTP" not in page
    assert '<label for="id_code">One Time Password</label>' in page
    assert "Konfirmasi Pembayaran" in page
    # A dead token (seed 001): the way to ask for SMS OTP, which needs no token, is offered.
    assert 'href="/corporate/pengajuan/baru/token/"' in page
    assert "saat Anda mengonfirmasinya dengan kode dari token Anda" in page
    assert "Token tidak berfungsi" in page
    code = pyotp.TOTP(base64.b32encode(TOKEN_SEED).decode()).now()
    response = andi.post(url, {"code": code})
    assert response.status_code == 302
    assert Transfer.objects.get(pk=payment.pk).status == Transfer.Status.WAITING_APPROVAL


def test_reject_with_a_reason(company, run_on_commit):
    andi = login("andi")
    payment = start_payment(andi)
    sms_confirm(andi, payment, run_on_commit)
    rudi = login("rudi")
    page = rudi.post(f"/payments/{payment.reference}/reject/", {"reason": " "})
    assert "Tuliskan alasan Anda menolak pembayaran ini." in page.content.decode()
    response = rudi.post(f"/payments/{payment.reference}/reject/", {"reason": "Invoice salah"})
    assert response["Location"] == "/payments/"
    detail = andi.get(f"/payments/{payment.reference}/").content.decode()
    assert "Ditolak" in detail and "Alasan penolakan" in detail and "Invoice salah" in detail
    event = AuditEvent.objects.get(action=AuditEvent.Action.CORPORATE_PAYMENT_REJECTED)
    assert event.reason == "Invoice salah"


def test_the_maker_cancels_while_it_waits_for_approval(company, run_on_commit):
    andi = login("andi")
    payment = start_payment(andi)
    sms_confirm(andi, payment, run_on_commit)
    rudi = login("rudi")
    assert rudi.get(f"/payments/{payment.reference}/cancel/").status_code == 302
    response = rudi.post(f"/payments/{payment.reference}/cancel/", follow=True)
    assert "Hanya pengguna yang membuat pembayaran ini" in response.content.decode()
    assert Transfer.objects.get(pk=payment.pk).status == Transfer.Status.WAITING_APPROVAL
    assert andi.get(f"/payments/{payment.reference}/cancel/").status_code == 200
    response = andi.post(f"/payments/{payment.reference}/cancel/")
    assert response["Location"] == "/payments/"
    assert Transfer.objects.get(pk=payment.pk).status == Transfer.Status.CANCELLED


def test_payment_list_filters_by_status_date_and_maker(company, run_on_commit):
    andi, rudi = login("andi"), login("rudi")
    by_andi = start_payment(andi, "1.000.000")
    sms_confirm(andi, by_andi, run_on_commit)
    by_rudi = start_payment(rudi, "2.000.000")
    run_on_commit(rudi.post, f"/payments/{by_rudi.reference}/otp/")  # pending, not submitted
    draft = start_payment(rudi, "3.000.000")  # a draft is listed nowhere
    today = timezone.localdate().strftime("%d/%m/%Y")

    def listed(query=""):
        html = andi.get(f"/payments/{query}").content.decode()
        return {p.reference for p in (by_andi, by_rudi, draft) if p.reference in html}

    assert listed() == {by_andi.reference, by_rudi.reference}
    assert listed("?status=approval") == {by_andi.reference}
    rudi_pk = User.objects.get(user_id="MAJUBERSAMA:rudi").pk
    assert listed(f"?maker={rudi_pk}") == {by_rudi.reference}
    assert listed(f"?start={today}&end={today}") == {by_andi.reference, by_rudi.reference}
    assert listed("?start=01/01/2020&end=02/01/2020") == set()
    page = andi.get("/payments/?start=40/01/2026").content.decode()
    assert "DD/MM/YYYY" in page


def test_mutasi_names_the_company_as_counterparty(company, run_on_commit):
    Company.objects.filter(pk=company.pk).update(requires_approval=False)
    andi = login("andi")
    payment = start_payment(andi)
    sms_confirm(andi, payment, run_on_commit)
    assert Transfer.objects.get(pk=payment.pk).status == Transfer.Status.COMPLETED
    siti = Client()
    assert siti.post("/login/", {"username": "siti", "password": PASSWORD}).status_code == 302
    statement = siti.get(f"/accounts/{RETAIL}/mutasi/").content.decode()
    assert "PT Maju Bersama" in statement and "Andi Wijaya" not in statement


def test_corporate_users_get_payments_and_payees_in_the_menu(company):
    html = login("rudi").get("/dashboard/").content.decode()
    assert 'href="/payments/new/"' in html and 'href="/payments/"' in html
    assert 'href="/payees/"' in html
    assert 'href="/transfers/new/"' not in html
    assert login("rudi").get("/transfers/new/")["Location"] == "/payments/new/"


@pytest.fixture
def many_payments(company):
    """25 payments of the company waiting for approval, made by andi and rudi in turns."""
    from payments import services

    users = list(User.objects.filter(company=company).order_by("user_id"))
    source = BankAccount.objects.get(number=A_ACCOUNT)
    destination = BankAccount.objects.get(number=RETAIL)
    for n in range(25):
        payment = services.corporate_payment_create(
            user=users[n % 2],
            source=source,
            destination=destination,
            amount=Decimal(1000 + n),
            description=f"n{n}",
        )
        services._draft_start(payment)
        services._corporate_payment_submit(payment)


@pytest.mark.parametrize("url", ["/payments/", "/payments/?status=approval&start=01/01/2026"])
def test_payment_list_queries_are_bounded(many_payments, django_assert_max_num_queries, url):
    client = login("rudi")
    with django_assert_max_num_queries(12):
        response = client.get(url)
    assert response.status_code == 200
    assert response.content.decode().count("data-reference=") == 20  # one page


@pytest.mark.parametrize(
    "query",
    [
        "?start=١٢/٠١/٢٠٢٦",
        "?start=31/02/2026",
        "?start=01/01/0001&end=31/12/9999",
        "?start=02/01/2026&end=01/01/2026",
        "?maker=abc",
        "?maker=999999",
        "?status=bogus",
        "?start=%00",
        "?status=" + "x" * 5000,
        "?page=99999",
    ],
)
def test_odd_filters_never_fail_the_list(company, query):
    response = login("andi").get(f"/payments/{query}")
    # 404: a page number past the end; 400: a NUL byte in the query (refused before any view)
    assert response.status_code in (200, 400, 404)


def test_dates_out_of_range_are_said(company):
    page = login("andi").get("/payments/?start=01/01/0001&end=31/12/9999").content.decode()
    assert "Pilih tanggal antara 01/01/2000 dan" in page


@pytest.mark.parametrize(
    "query",
    ["?status=rejected&start=31/02/2026", "?start=02/01/2026&end=01/01/2026", "?maker=abc"],
)
def test_a_filter_in_error_lists_nothing_until_it_is_fixed(company, run_on_commit, query):
    """Found by the new-user walk: an error in one field dropped every filter and listed all
    payments under the customer's filter words."""
    andi = login("andi")
    payment = start_payment(andi)
    sms_confirm(andi, payment, run_on_commit)
    assert payment.reference in andi.get("/payments/").content.decode()
    page = andi.get(f"/payments/{query}").content.decode()
    assert payment.reference not in page
    assert 'class="field-error' in page or "form-errors" in page


@pytest.mark.parametrize(
    "reason, error",
    [
        ("", "Tuliskan alasan Anda menolak pembayaran ini."),
        ("   ", "Tuliskan alasan Anda menolak pembayaran ini."),
        ("x" * 201, "200"),
        ("salah\x00", "Null"),
    ],
)
def test_bad_reject_reasons_are_refused_with_a_message(company, run_on_commit, reason, error):
    andi = login("andi")
    payment = start_payment(andi)
    sms_confirm(andi, payment, run_on_commit)
    response = login("rudi").post(f"/payments/{payment.reference}/reject/", {"reason": reason})
    assert response.status_code == 200
    assert Transfer.objects.get(pk=payment.pk).status == Transfer.Status.WAITING_APPROVAL
    assert 'class="field-error"' in response.content.decode()


def test_a_single_company_account_is_not_offered_as_destination(company):
    """Found by the new-user walk: the only account was offered as "Rekening tujuan", then
    refused as the same account."""
    page = login("andi").get("/payments/new/").content.decode()
    destination = page.split('name="destination"', 1)[1].split("</select>", 1)[0]
    assert f'value="{A_ACCOUNT}"' not in destination
    assert 'value="other"' in destination
