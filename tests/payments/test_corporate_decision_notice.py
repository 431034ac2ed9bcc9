"""The maker of a corporate payment is told by email when another user of the company approves
or rejects it (it may have waited a day), and the dashboard tells a user how many payments of
the company wait for their approval."""

from django.test import Client

from accounts.models import EmailMessage, corporate_user_id
from payments import services
from tests.factories import PASSWORD
from tests.payments.test_corporate_payments import approver_confirms, fresh, submitted
from tests.payments.test_corporate_payments import corp as corp  # noqa: F401 (a fixture)


def emails_to(user):
    return list(EmailMessage.objects.filter(user=user).order_by("pk"))


def test_the_maker_is_told_by_email_when_the_payment_is_approved(corp, run_on_commit):
    payment = submitted(corp["andi"])
    before = len(emails_to(corp["andi"]))
    approver_confirms(payment, corp["rudi"])
    (email,) = emails_to(corp["andi"])[before:]
    assert email.notice["params"]["reference"] == payment.reference
    assert email.notice["params"]["approver"] == "Rudi"
    assert "approved" in email.notice["text"]


def test_the_maker_is_told_by_email_when_the_payment_is_rejected_with_the_reason(corp):
    payment = submitted(corp["andi"])
    before = len(emails_to(corp["andi"]))
    services.corporate_payment_reject(
        payment=fresh(payment), user=corp["rudi"], reason="Nomor faktur salah"
    )
    (email,) = emails_to(corp["andi"])[before:]
    assert email.notice["params"]["reason"] == "Nomor faktur salah"
    assert email.notice["params"]["approver"] == "Rudi"
    assert "rejected" in email.notice["text"]


def test_the_dashboard_counts_the_payments_waiting_for_my_approval(corp):
    submitted(corp["andi"])
    submitted(corp["andi"], amount="2000000")
    client = Client()
    response = client.post(
        "/corporate/login/",
        {"corporate_id": "MAJUBERSAMA", "username": "rudi", "password": PASSWORD},
    )
    assert response.status_code == 302
    page = client.get("/dashboard/").content.decode()
    assert "2 pembayaran menunggu persetujuan Anda" in page
    assert "Rekening PT Majubersama" in page  # the company's accounts, named so
    assert "/payments/?status=approval" in page
    # The maker approves none of their own: nothing to say to them.
    maker = Client()
    maker.force_login(corp["andi"])
    assert "menunggu persetujuan Anda" not in maker.get("/dashboard/").content.decode()
    assert corp["andi"].user_id == corporate_user_id(corporate_id="MAJUBERSAMA", user_id="andi")
