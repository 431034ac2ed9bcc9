"""The hard-token-to-SMS-OTP replacement in a real browser (issue 11): rudi, whose token's
battery died, logs in with his password, files the bank's form from Profil Saya with a NEW
mobile number and a signed PDF; a branch officer approves in the admin, a supervisor (another
person) approves too; rudi's Profil Saya then shows SMS OTP (temporary) and the new number, and
the SMS on the new number says he can transact again. Then he does: he approves the payment andi
submitted meanwhile with the seed's steps ("Generate OTP", the code from the SMS on his new
number in "One Time Password", "Konfirmasi Pembayaran", "Selesai"). Screenshots in
/tmp/req-shots/.
"""

import io
import re
from decimal import Decimal
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import expect
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from accounts.models import Company, User
from corporate.models import CorporateRequest
from payments import services as payment_services
from payments.models import BankAccount, Transfer
from tests.conftest import needs_chromium, outbox_code
from tests.corporate.conftest import company_make, corporate_user, staff
from tests.e2e.conftest import PHONE
from tests.factories import PASSWORD, BankAccountFactory, UserFactory
from tests.tokens.conftest import token_make
from tokens.models import HardwareToken, OutboxMessage
from tokens.services import code_generator

pytestmark = [pytest.mark.e2e, needs_chromium, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/req-shots")
NEW_PHONE = "081377778888"


def shoot(page, name, *, phone=False):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-desktop.png"), full_page=True)
    if phone:
        size = page.viewport_size
        page.set_viewport_size(PHONE)
        try:
            page.screenshot(path=str(SHOTS / f"{name}-phone.png"), full_page=True)
        finally:
            page.set_viewport_size(size)


def signed_form_pdf() -> bytes:
    """A one-page "Formulir Pengkinian Data" as a customer would scan it (made by reportlab)."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.drawString(72, 770, "Formulir Pengkinian Data - PT Maju Bersama - User ID rudi")
    pdf.drawString(72, 750, f"Ponsel baru: {NEW_PHONE}   Tanda tangan: Rudi Hartono")
    pdf.save()
    return buffer.getvalue()


def submitted_payment(company):
    """andi (on SMS OTP here) makes a payment of the company and confirms his step: with
    approval required it waits for another user, and rudi's token is dead."""
    Company.objects.filter(pk=company.pk).update(requires_approval=True)
    andi = corporate_user(company, "andi", "+6281299990001", full_name="Andi Wijaya")
    source = BankAccountFactory(
        owner=andi, company=company, number="2001000018", balance=Decimal("250000000.00")
    )
    siti = UserFactory(user_id="siti", full_name="Siti Rahayu", phone="+6281299990002")
    destination = BankAccountFactory(owner=siti, number="1002000017", balance="0.00")
    payment = payment_services.corporate_payment_create(
        user=andi,
        source=source,
        destination=destination,
        amount=Decimal("12500000"),
        description="Faktur 17",
    )
    challenge = payment_services.corporate_payment_challenge_issue(payment=payment, user=andi)
    payment = payment_services.corporate_payment_confirm(
        payment=Transfer.objects.get(pk=payment.pk), user=andi, code=code_generator.code(challenge)
    )
    assert payment.status == Transfer.Status.WAITING_APPROVAL
    return payment


def staff_page(new_page, base, staff_pair):
    user, device = staff_pair
    page = new_page()
    page.goto(f"{base}/admin/login/")
    page.locator("#id_username").fill(user.user_id)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("#id_otp_token").fill(pyotp.TOTP(_b32(device.bin_key)).now())
    page.locator("#login-form input[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
    return page


def _b32(key: bytes) -> str:
    from base64 import b32encode

    return b32encode(key).decode()


def test_dead_token_replacement_with_a_new_phone_approved_by_two_staff(
    new_page, live_server, settings, tmp_path
):
    settings.CORPORATE_UPLOAD_DIR = tmp_path / "uploads"
    base = live_server.url
    company = company_make("MAJUBERSAMA", "C000123", "PT Maju Bersama", "2001000018")
    rudi = corporate_user(company, "rudi", "+6281200000002", full_name="Rudi Hartono")
    token_make("CT10000002", state="active", user=rudi)
    User.objects.filter(pk=rudi.pk).update(confirmation_method="hardware_token")
    officer_pair, supervisor_pair = (
        staff("staf-cabang", "branch"),
        staff("staf-kepala", "supervisor"),
    )
    payment = submitted_payment(company)

    # rudi: password only (his token is dead), Profil Saya, the bank's form.
    page = new_page(locale="id-ID")
    page.goto(f"{base}/corporate/login/")
    page.get_by_label("ID Corporate").fill("MAJUBERSAMA")
    page.get_by_label("User ID").fill("rudi")
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    page.goto(f"{base}/profil/")
    expect(page.locator(".profile-token")).to_contain_text("CT10000002")
    shoot(page, "01-profile-before", phone=True)
    page.get_by_role("link", name="Ajukan penggantian token").click()
    expect(page.get_by_role("heading", name="Penggantian Hard Token ke SMS OTP")).to_be_visible()
    expect(page.get_by_label("Nama Perusahaan")).to_have_value("PT Maju Bersama")
    expect(page.get_by_label("Seri Hard Token")).to_have_value("CT10000002")
    shoot(page, "02-form-prefilled", phone=True)

    # A new number without the signed form is refused, with the exact words.
    page.get_by_label("Ponsel Terdaftar").fill(NEW_PHONE)
    page.get_by_label("Baterai habis / berdaya rendah").check()
    page.get_by_role("button", name="Kirim pengajuan").click()
    expect(page.locator(".field-error")).to_contain_text(
        "lampirkan formulir pengkinian data yang Anda tanda tangani"
    )
    shoot(page, "03-form-needs-signed-form", phone=True)

    page.get_by_label("Formulir pengkinian data (bertanda tangan)").set_input_files(
        files=[
            {
                "name": "pengkinian-data-rudi.pdf",
                "mimeType": "application/pdf",
                "buffer": signed_form_pdf(),
            }
        ]
    )
    page.get_by_label("Baterai habis / berdaya rendah").check()
    page.get_by_role("button", name="Kirim pengajuan").click()
    expect(page).to_have_url(re.compile(r"/corporate/pengajuan/PGJ-\d+/$"))
    expect(page.locator(".request-status")).to_have_text("Diajukan")
    # andi's payment waits for rudi: he reads it can be approved once the bank approves.
    expect(page.locator(".approvals-waiting")).to_contain_text(
        "dapat disetujui setelah pengajuan ini disetujui bank"
    )
    expect(page.get_by_role("link", name="Kembali ke rekening saya")).to_be_visible()
    shoot(page, "04-request-submitted", phone=True)
    item = CorporateRequest.objects.get()
    assert item.document_type == "application/pdf" and str(item.new_phone) == "+6281377778888"

    # The branch officer: queue, the request, the signed form, approve.
    officer = staff_page(new_page, base, officer_pair)
    officer.goto(f"{base}/admin/corporate/corporaterequest/")
    shoot(officer, "05-admin-queue")
    officer.get_by_role("link", name=item.reference).click()
    expect(officer.locator(".contact-change-new")).to_contain_text("+6281377778888")
    with officer.expect_download() as download:
        officer.get_by_role("link", name=re.compile("^(download|unduh)", re.I)).click()
    assert download.value.suggested_filename == f"{item.reference}.pdf"
    shoot(officer, "06-admin-request-officer")
    officer.locator("input[type=submit][formaction$='/approve/']").click()
    expect(officer.locator(".messagelist")).to_contain_text(item.reference)
    item.refresh_from_db()
    assert item.status == "awaiting_supervisor"
    officer.goto(f"{base}/admin/corporate/corporaterequest/{item.pk}/change/")
    shoot(officer, "07-admin-waiting-for-supervisor")
    # rudi reads the customers' words for the supervisor's step.
    page.goto(f"{base}/corporate/pengajuan/")
    expect(page.locator(".request-status").first).to_have_text("Sedang diproses bank")
    shoot(page, "07b-request-being-processed", phone=True)

    # The supervisor, another person, approves: it takes effect.
    boss = staff_page(new_page, base, supervisor_pair)
    boss.goto(f"{base}/admin/corporate/corporaterequest/{item.pk}/change/")
    shoot(boss, "08-admin-request-supervisor")
    boss.locator("textarea").fill("KTP dan tanda tangan cocok")
    boss.locator("input[type=submit][formaction$='/approve/']").click()
    expect(boss.locator(".messagelist")).to_contain_text(item.reference)
    shoot(boss, "09-admin-approved")

    rudi.refresh_from_db()
    assert rudi.confirmation_method == "sms" and str(rudi.phone) == "+6281377778888"
    assert HardwareToken.objects.get(serial="CT10000002").state == "battery_dead"
    told = OutboxMessage.objects.filter(to="+6281377778888").first()
    assert told is not None and "dapat bertransaksi kembali" in told.body

    # rudi sees SMS OTP (temporary) and the new number.
    page.goto(f"{base}/profil/")
    expect(page.locator(".profile-method")).to_contain_text("SMS OTP sementara")
    expect(page.locator(".profile-phone")).to_contain_text("8888")
    shoot(page, "10-profile-sms-fallback", phone=True)
    page.goto(f"{base}/corporate/pengajuan/")
    expect(page.locator(".request-status").first).to_have_text("Disetujui")
    shoot(page, "11-request-status", phone=True)

    # And he can transact again: he approves andi's payment with an SMS OTP on his new number.
    page.goto(f"{base}/payments/?status=approval")
    page.locator(f"a[href='/payments/{payment.reference}/confirm/']").click()
    expect(page.get_by_role("button", name="Generate OTP")).to_be_visible()
    page.get_by_role("button", name="Generate OTP").click()
    expect(page.locator(".otp-status")).to_contain_text("8888")
    page.get_by_role("textbox", name="One Time Password").fill(outbox_code(to="+6281377778888"))
    shoot(page, "12-approve-with-sms-otp", phone=True)
    page.get_by_role("button", name="Konfirmasi Pembayaran").click()
    expect(page.get_by_role("heading", name="Selesai")).to_be_visible()
    shoot(page, "13-selesai", phone=True)
    payment.refresh_from_db()
    assert payment.status == Transfer.Status.COMPLETED and payment.approved_by_id == rudi.pk
    assert BankAccount.objects.get(number="2001000018").balance == Decimal("237500000.00")


def test_correction_round_and_staff_pages_after_the_walk(new_page, live_server, settings, tmp_path):
    """The round of a correction: the officer forgets the reason (marked on the field), asks
    for a correction; the user sees "Perlu perbaikan" with Perbaiki, resubmits with another
    signed form; staff see the inline form, the replaced one named, the company page and its
    audit trail."""
    settings.CORPORATE_UPLOAD_DIR = tmp_path / "uploads"
    base = live_server.url
    company = company_make("MAJUBERSAMA", "C000123", "PT Maju Bersama", "2001000018")
    rudi = corporate_user(company, "rudi", "+6281200000002", full_name="Rudi Hartono")
    token_make("CT10000002", state="active", user=rudi)
    User.objects.filter(pk=rudi.pk).update(confirmation_method="hardware_token")
    officer_pair = staff("staf-cabang", "branch")
    supervisor_pair = staff("staf-kepala", "supervisor")

    page = new_page(locale="id-ID")
    page.goto(f"{base}/corporate/login/")
    page.get_by_label("ID Corporate").fill("MAJUBERSAMA")
    page.get_by_label("User ID").fill("rudi")
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    page.goto(f"{base}/corporate/pengajuan/baru/token/")
    # Every refusal in one round: no reason and no signed form for a new number.
    page.get_by_label("Ponsel Terdaftar").fill(NEW_PHONE)
    page.get_by_role("button", name="Kirim pengajuan").click()
    expect(page.locator(".field-error")).to_have_count(2)
    shoot(page, "21-form-all-errors", phone=True)
    page.get_by_label("Formulir pengkinian data (bertanda tangan)").set_input_files(
        files=[{"name": "pertama.pdf", "mimeType": "application/pdf", "buffer": signed_form_pdf()}]
    )
    page.get_by_label("Hilang").check()
    page.get_by_role("button", name="Kirim pengajuan").click()
    expect(page).to_have_url(re.compile(r"/corporate/pengajuan/PGJ-\d+/$"))
    item = CorporateRequest.objects.get()

    officer = staff_page(new_page, base, officer_pair)
    officer.goto(f"{base}/admin/corporate/corporaterequest/{item.pk}/change/")
    expect(officer.locator(".corporate-compare tr.differs")).to_have_count(1)
    officer.locator("input[type=submit][formaction$='/reject/']").click()
    expect(officer.locator("textarea[aria-invalid=true]")).to_be_visible()
    shoot(officer, "22-admin-reason-missing")
    officer.locator("textarea").fill("Tanda tangan tidak terbaca, lampirkan ulang.")
    officer.locator("input[type=submit][formaction$='/return/']").click()
    expect(officer.locator(".messagelist")).to_contain_text(item.reference)

    page.goto(f"{base}/corporate/pengajuan/")
    expect(page.locator(".request-status").first).to_have_text("Perlu perbaikan")
    shoot(page, "23-list-needs-correction", phone=True)
    page.get_by_role("link", name="Perbaiki").click()
    page.get_by_label("Formulir pengkinian data (bertanda tangan)").set_input_files(
        files=[{"name": "kedua.pdf", "mimeType": "application/pdf", "buffer": signed_form_pdf()}]
    )
    page.get_by_label("Hilang").check()
    page.get_by_role("button", name="Kirim ulang").click()
    expect(page.locator(".resubmitted-at")).to_be_visible()
    expect(page.locator(".staff-message-earlier")).to_contain_text("Tanda tangan tidak terbaca")
    shoot(page, "24-detail-resubmitted", phone=True)

    officer.goto(f"{base}/admin/corporate/corporaterequest/{item.pk}/change/")
    expect(officer.locator(".document-replaced")).to_contain_text("pertama.pdf")
    shoot(officer, "25-admin-replaced-form")
    inline = officer.request.get(
        f"{base}/admin/corporate/corporaterequest/{item.pk}/document/view/"
    )
    assert inline.status == 200 and inline.headers["content-disposition"].startswith("inline")
    assert inline.headers["content-security-policy"] == "sandbox; default-src 'none'"
    officer.goto(f"{base}/admin/corporate/corporaterequest/?queue=supervisor")
    shoot(officer, "26-admin-supervisor-filter")

    boss = staff_page(new_page, base, supervisor_pair)
    boss.goto(f"{base}/admin/accounts/company/{company.pk}/change/")
    expect(boss.get_by_role("link", name="rudi", exact=True)).to_be_visible()
    shoot(boss, "27-admin-company")
    boss.goto(f"{base}/admin/corporate/corporaterequest/company-audit/?company={company.pk}")
    expect(boss.locator(".company-audit")).to_contain_text("rudi (MAJUBERSAMA)")
    shoot(boss, "28-admin-company-audit")
