"""Profil Saya of a corporate user: company, Corporate ID, User ID, phone, email, token and
method, with links to the requests; the retail self-service change of phone or email (OTP
only) is neither offered nor allowed to them (refused in the service)."""

import pytest

from accounts import exceptions as account_exceptions
from accounts import services as account_services
from accounts.models import ProfileChange, User
from tests.corporate.conftest import corporate_user, login
from tests.tokens.conftest import token_make

pytestmark = pytest.mark.django_db

REFUSED = (
    "Pengguna corporate mengubah nomor ponsel atau e-mail melalui pengajuan bertanda tangan ke "
    "bank: Profil Saya, lalu Ajukan perubahan ponsel/email."
)


def test_corporate_profile_shows_company_token_and_request_links(andi):
    page = login(andi).get("/profil/").content.decode()
    for text in (
        "PT Maju Bersama",
        "MAJUBERSAMA",
        "andi",
        "CT10000001",
        "Aktif",
        "Hard token",
        "Ajukan penggantian token",
        "Ajukan perubahan ponsel/email",
        "Status pengajuan",
    ):
        assert text in page, text
    assert 'href="/corporate/pengajuan/baru/token/"' in page
    assert 'href="/corporate/pengajuan/baru/kontak/"' in page
    assert 'href="/corporate/pengajuan/"' in page
    # His token is active already: nothing to activate.
    assert "Aktivasi Token" not in page
    # The retail OTP change is not offered.
    assert 'href="/profil/phone/"' not in page and 'href="/profil/email/"' not in page


def test_retail_profile_unchanged(customer_client):
    page = customer_client.get("/profil/").content.decode()
    assert 'href="/profil/phone/"' in page and "Ajukan penggantian token" not in page


def test_the_service_refuses_the_retail_change_to_corporate_users(andi):
    with pytest.raises(account_exceptions.ProfileChangeError) as refused:
        account_services.phone_change_create(user=andi, new_phone="+6281399990000")
    assert str(refused.value) == REFUSED
    with pytest.raises(account_exceptions.ProfileChangeError):
        account_services.email_change_create(user=andi, new_email="baru@example.co.id")
    assert not ProfileChange.objects.exists()


def test_the_retail_change_page_says_so(andi):
    client = login(andi)
    response = client.post("/profil/phone/", {"new_phone": "081399990000"})
    assert response.status_code == 200 and REFUSED in response.content.decode()
    response = client.post("/profil/email/", {"new_email": "baru@example.co.id"})
    assert REFUSED in response.content.decode()
    assert not ProfileChange.objects.exists()


def test_sms_otp_user_is_not_offered_a_token_replacement_and_told_why(andi):
    User.objects.filter(pk=andi.pk).update(confirmation_method="sms")
    page = login(andi).get("/profil/").content.decode()
    assert 'href="/corporate/pengajuan/baru/token/"' not in page
    assert "Anda sudah mengonfirmasi dengan SMS OTP, jadi penggantian token tidak diperlukan." in (
        page
    )
    assert 'href="/corporate/pengajuan/baru/kontak/"' in page


def test_token_activation_offered_only_for_an_assigned_token(company):
    user = corporate_user(company, "sari", "+6281200000009")
    token_make("CT10000009", state="assigned", user=user)
    page = login(user).get("/profil/").content.decode()
    assert "Aktivasi Token" in page and 'href="/profil/aktivasi-token/"' in page
