"""The confirm pages of a Mobile Token customer (issue 12 item 4, design §3.4): a transfer's
page shows the destination's last 8 digits the phone signs ("APPLI 2") and no "Generate OTP";
the code made over them confirms it, a code made over other digits is refused with the Mobile
Token's own words; pages without money (payee, profile change) take a plain (mode 1) code."""

import re
import secrets
import time
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from accounts.models import User
from payments import services as payments
from payments.models import BankAccount, Payee, Transfer
from tokens import hardware, mobile
from tokens.exceptions import MobileCodeReused, MobileWrongCode
from tokens.models import MobileDevice

pytestmark = pytest.mark.django_db

DESTINATION = "1002000017"  # other_customer's account: its last 8 digits, "02000017"


def mobile_device_make(user, *, name="Pixel 8 Budi"):
    """A registered phone as registration leaves it: K_u sealed, the method switched."""
    key = secrets.token_bytes(32)
    device = MobileDevice.objects.create(
        user=user, name=name, sealed_key=hardware.seed_seal(key), confirmed=True
    )
    User.objects.filter(pk=user.pk).update(confirmation_method=User.ConfirmationMethod.MOBILE_TOKEN)
    user.refresh_from_db()
    return device, key


def code_now(device, link=""):
    """What the phone shows now: the key the server keeps, unsealed, over this step."""
    key = hardware.seed_unseal(MobileDevice.objects.get(pk=device.pk).sealed_key)
    return mobile.code_for(key, mobile.step(time.time()), link)


@pytest.fixture
def mobile_user(customer, other_customer):
    device, _key = mobile_device_make(customer)
    return customer, device


@pytest.fixture
def mobile_client(client, mobile_user, password):
    user, _device = mobile_user
    response = client.post("/login/", {"username": user.user_id, "password": password})
    assert response.status_code == 302
    return client


def transfer_new(user, destination=DESTINATION, amount="250000"):
    return payments.transfer_create(
        user=user,
        source=BankAccount.objects.get(number="1001000011"),
        destination=BankAccount.objects.get(number=destination),
        amount=Decimal(amount),
        description="",
    )


def confirm_url(transfer):
    return reverse("payments:transfer-confirm", kwargs={"reference": transfer.reference})


def test_the_transfer_page_shows_the_eight_digits_and_no_generate_otp(mobile_client, mobile_user):
    user, device = mobile_user
    transfer = transfer_new(user)
    page = mobile_client.get(confirm_url(transfer)).content.decode()
    digits = re.search(r'<strong id="mt-link-digits"[^>]*>([^<]*)</strong>', page)
    assert digits is not None, page
    assert digits.group(1) == "0200 0017"
    assert f'data-mt-device="{device.public_id}"' in page
    assert 'data-mt-link="02000017"' in page
    assert "Buka Mobile Token → Transaksi, ketik 8 digit ini:" in page
    assert "periksa rekening yang ditampilkan, masukkan Unlock Code" in page
    # No SMS for a Mobile Token customer: no "Generate OTP" form, no link to it.
    assert "otp-issue" not in page and "Generate OTP" not in page
    assert reverse("payments:transfer-otp", kwargs={"reference": transfer.reference}) not in page
    assert "6 digit yang ditampilkan Mobile Token Anda." in page
    assert "Ponsel hilang? Hapus pendaftaran Mobile Token" in page
    assert f'href="{reverse("accounts:mobile-deregister")}"' in page
    # The draft's note names the Mobile Token, not "your token" (the walk's wording finding).
    assert "dengan kode dari Mobile Token Anda." in page
    # INSTAN: its script is a module, its panel hidden until the script finds the device, and
    # the Unlock Code input has no name (it can never be posted).
    assert re.search(r'<script type="module" src="[^"]*mobile-token-instant\.js"', page)
    assert re.search(r'<div id="mt-instant" class="mt-instant" hidden>', page)
    unlock = re.search(r'<input id="mt-instant-unlock"[^>]*>', page).group(0)
    assert "name=" not in unlock
    assert re.search(r'data-mt-core="[^"]*mobile-token-core\.js"', page)


def test_a_code_over_the_destination_confirms_the_transfer(mobile_client, mobile_user):
    user, device = mobile_user
    transfer = transfer_new(user)
    before = BankAccount.objects.get(number=DESTINATION).balance
    response = mobile_client.post(confirm_url(transfer), {"code": code_now(device, "02000017")})
    assert response.status_code == 302, response.content.decode()[:3000]
    assert response.url == reverse(
        "payments:transfer-detail", kwargs={"reference": transfer.reference}
    )
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.COMPLETED
    assert BankAccount.objects.get(number=DESTINATION).balance == before + Decimal("250000")
    device.refresh_from_db()
    assert device.last_used_at is not None


def test_a_code_over_other_digits_is_refused_with_the_mobile_token_message(
    mobile_client, mobile_user
):
    user, device = mobile_user
    transfer = transfer_new(user)
    # Made for another account (the last digit differs): as malware changing the payee would.
    response = mobile_client.post(confirm_url(transfer), {"code": code_now(device, "02000018")})
    assert response.status_code == 200
    page = response.content.decode()
    with translation.override("id"):
        message = str(MobileWrongCode.message)
    assert message.split(":")[0] in page
    transfer.refresh_from_db()
    assert transfer.status in (Transfer.Status.DRAFT, Transfer.Status.PENDING)
    user.refresh_from_db()
    assert user.otp_failure_count == 1
    # A mode-1 code (no transaction data) is no APPLI 2 code either.
    response = mobile_client.post(confirm_url(transfer), {"code": code_now(device)})
    assert response.status_code == 200
    transfer.refresh_from_db()
    assert transfer.status in (Transfer.Status.DRAFT, Transfer.Status.PENDING)


def test_a_payee_is_confirmed_with_a_plain_code(mobile_client, mobile_user):
    user, device = mobile_user
    payee = payments.payee_create(
        user=user, account=BankAccount.objects.get(number=DESTINATION), nickname="Siti"
    )
    url = reverse("payments:payee-confirm", kwargs={"pk": payee.pk})
    page = mobile_client.get(url).content.decode()
    assert "Buka Mobile Token → Kode OTP" in page
    assert "mt-link-digits" not in page and "Generate OTP" not in page
    assert 'data-mt-link=""' in page
    response = mobile_client.post(url, {"code": code_now(device)})
    assert response.status_code == 302, response.content.decode()[:3000]
    payee.refresh_from_db()
    assert payee.status == Payee.Status.ACTIVE


def test_a_profile_change_page_works_for_a_mobile_user(mobile_client, mobile_user):
    user, device = mobile_user
    response = mobile_client.post("/profil/email/", {"new_email": "budi.baru@example.co.id"})
    assert response.status_code == 302
    page = mobile_client.get(response.url).content.decode()
    assert "Buka Mobile Token → Kode OTP" in page and "Generate OTP" not in page
    response = mobile_client.post(response.url, {"code": code_now(device)})
    assert response.status_code == 302, response.content.decode()[:3000]
    assert "/sent/" in response.url


def test_an_sms_customer_sees_no_mobile_token(customer_client, customer, other_customer):
    transfer = transfer_new(customer)
    page = customer_client.get(confirm_url(transfer)).content.decode()
    assert "Generate OTP" in page or "otp-issue" in page
    assert "data-mt-device" not in page and "mobile-token-instant" not in page
    assert "Mobile Token" not in page


def test_a_phone_change_takes_the_mobile_code_then_an_sms_to_the_new_number(
    mobile_client, mobile_user, run_on_commit
):
    """Step 1 (the current factor) is the Mobile Token's plain code; step 2 proves the new
    number by SMS, whatever the method: no Mobile Token block there."""
    user, device = mobile_user
    response = mobile_client.post("/profil/phone/", {"new_phone": "081399990000"})
    assert response.status_code == 302
    page = mobile_client.get(response.url).content.decode()
    assert "Buka Mobile Token → Kode OTP" in page and "data-mt-device" in page
    response = run_on_commit(mobile_client.post, response.url, {"code": code_now(device)})
    assert response.status_code == 302 and "/verify/" in response.url, response.content[:2000]
    page = mobile_client.get(response.url).content.decode()
    assert "otp-issue" in page  # "Generate OTP" for the new number
    assert "data-mt-device" not in page and "mobile-token-instant" not in page
    assert "Buka Mobile Token" not in page


def test_a_password_change_takes_the_mobile_code(mobile_client, mobile_user, password):
    user, device = mobile_user
    new = "Sandi-Baru-Budi-77"
    response = mobile_client.post(
        "/profil/password/",
        {"old_password": password, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    page = mobile_client.get(response.url).content.decode()
    assert "Buka Mobile Token → Kode OTP" in page and "Generate OTP" not in page
    response = mobile_client.post(response.url, {"code": code_now(device)})
    assert response.status_code == 302 and response.url.endswith("/done/")
    user.refresh_from_db()
    assert user.check_password(new)


def test_the_same_code_for_a_second_transfer_is_refused_as_used(mobile_client, mobile_user):
    """One code per 30-second step: a copy of a code already used confirms nothing, even for
    a transfer to the same account (the page says to wait for the next code)."""
    user, device = mobile_user
    first = transfer_new(user)
    code = code_now(device, "02000017")
    assert mobile_client.post(confirm_url(first), {"code": code}).status_code == 302
    second = transfer_new(user, amount="100000")
    response = mobile_client.post(confirm_url(second), {"code": code})
    assert response.status_code == 200
    with translation.override("id"):
        message = str(MobileCodeReused())
    assert message in response.content.decode()
    second.refresh_from_db()
    assert second.status != Transfer.Status.COMPLETED


def test_the_manual_path_is_open_and_the_instant_panel_names_the_account(
    mobile_client, mobile_user
):
    """Without INSTAN (any browser but the registered phone's) the code field shows as ever:
    the <details> is open and its summary hidden until the INSTAN script finds the phone."""
    user, _device = mobile_user
    page = mobile_client.get(confirm_url(transfer_new(user))).content.decode()
    assert '<details id="mt-manual" class="mt-manual" open>' in page
    assert re.search(r'<summary id="mt-manual-summary" class="mt-manual-summary" hidden>', page)
    assert "Atau ketik kode dari Mobile Token" in page
    assert re.search(
        r'class="mt-instant-for">Untuk rekening berakhiran <strong[^>]*>0200 0017', page
    )
    assert page.index('id="mt-manual"') < page.index('name="code"') < page.index("</details>")


def test_a_code_instant_sent_is_refused_by_the_instant_field_only(mobile_client, mobile_user):
    """INSTAN's code (a wrong Unlock Code) refused: one message, by the INSTAN field; the
    manual field is neither red nor described by an error. A typed code keeps the old way."""
    user, device = mobile_user
    transfer = transfer_new(user)
    wrong = code_now(device, "02000018")
    page = mobile_client.post(confirm_url(transfer), {"code": wrong, "via": "instant"})
    page = page.content.decode()
    assert "Unlock Code salah atau kode ditolak" in page
    assert 'id="otp-error"' not in page and "has-error" not in page.split('id="mt-manual"')[1]
    assert re.search(r'id="mt-instant-unlock"[^>]*aria-invalid="true"', page)
    assert 'data-refused="1"' in page
    page = mobile_client.post(confirm_url(transfer), {"code": wrong}).content.decode()
    assert 'id="otp-error"' in page and "Unlock Code salah atau kode ditolak" not in page
    user.refresh_from_db()
    assert user.otp_failure_count == 2
