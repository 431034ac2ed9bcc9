"""Companies and corporate users (issue 11, first slice): the stored User ID
"<CORPORATE ID>:<User ID>", the corporate login and its protections, and the separation of the
retail and corporate logins."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client

from accounts import services
from accounts.models import AuditEvent, Company, User, corporate_user_id
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

WRONG = "ID Corporate, User ID atau password salah."


@pytest.fixture
def company():
    return Company.objects.create(name="PT Maju Bersama", cif="C000123", corporate_id="majubersama")


@pytest.fixture
def andi(company):
    return UserFactory(
        user_id=corporate_user_id(corporate_id=company.corporate_id, user_id="andi"),
        company=company,
        full_name="Andi Wijaya",
        email="andi@majubersama.co.id",
    )


def corporate_login(client, corporate_id, user_id, password):
    return client.post(
        "/corporate/login/",
        {"corporate_id": corporate_id, "username": user_id, "password": password},
    )


# --- Model rules ---------------------------------------------------------------------------


def test_corporate_id_is_stored_in_capitals_and_unique_without_regard_to_case(company):
    assert company.corporate_id == "MAJUBERSAMA"
    with pytest.raises(IntegrityError), transaction.atomic():
        Company.objects.create(name="Other", cif="C000999", corporate_id="MajuBersama")
    with pytest.raises(IntegrityError), transaction.atomic():
        Company.objects.create(name="Other", cif="C000123", corporate_id="LAIN")


def test_requires_approval_is_off_by_default(company):
    assert company.requires_approval is False


def test_user_id_unique_within_a_company_but_free_across_companies_and_retail(company, andi):
    other = Company.objects.create(name="PT Lain", cif="C000777", corporate_id="LAIN")
    # The same typed User ID in another company and as a retail User ID: all three coexist.
    UserFactory(user_id=corporate_user_id(corporate_id="LAIN", user_id="andi"), company=other)
    UserFactory(user_id="andi")
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(
            user_id=corporate_user_id(corporate_id="majubersama", user_id="ANDI"),
            company=company,
        )
    assert User.objects.filter(user_id__iexact="andi").count() == 1  # the retail one


def test_corporate_prefix_must_match_the_company_and_retail_ids_have_none(company, andi):
    andi.full_clean()
    assert andi.login_user_id == "andi"
    retail = User(user_id="MAJUBERSAMA:tono", full_name="Tono")
    with pytest.raises(ValidationError) as error:
        retail.full_clean(exclude=["password"])
    assert "user_id" in error.value.message_dict
    wrong = User(user_id="LAIN:tono", full_name="Tono", company=company)
    with pytest.raises(ValidationError):
        wrong.full_clean(exclude=["password"])


def test_a_company_with_users_cannot_be_deleted(company, andi):
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        company.delete()


# --- Corporate login --------------------------------------------------------------------------


def test_corporate_login_page(client):
    page = client.get("/corporate/login/").content.decode()
    assert "Login Corporate" in page
    assert 'name="corporate_id"' in page and 'name="username"' in page
    assert 'autocomplete="current-password"' in page
    retail = client.get("/login/").content.decode()
    assert 'href="/corporate/login/"' in retail and "Nasabah Corporate? Login di sini" in retail


def test_corporate_login_cycles_the_session_and_audits_the_company(client, andi):
    client.get("/corporate/login/")
    before = client.session.session_key
    response = corporate_login(client, "majubersama", "ANDI", PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    andi.refresh_from_db()
    assert andi.session_key and andi.session_key != before
    assert andi.session_key == client.session.session_key
    event = AuditEvent.objects.get(action="login", subject=andi)
    assert event.data == {"company": "MAJUBERSAMA"}
    assert client.get("/dashboard/").status_code == 200


def test_one_session_rule_holds_for_corporate_users(andi):
    first, second = Client(), Client()
    assert corporate_login(first, "MAJUBERSAMA", "andi", PASSWORD).status_code == 302
    assert corporate_login(second, "MAJUBERSAMA", "andi", PASSWORD).status_code == 302
    assert second.get("/dashboard/").status_code == 200
    assert first.get("/dashboard/").status_code == 302  # the older session is ended


@pytest.mark.parametrize(
    "corporate_id, user_id, password",
    [
        ("MAJUBERSAMA", "andi", "salah-sekali"),  # wrong password
        ("MAJUBERSAMA", "tidakada", PASSWORD),  # unknown User ID
        ("TIDAKADA", "andi", PASSWORD),  # unknown Corporate ID
        ("MAJUBERSAMA:andi", "x", PASSWORD),  # no smuggled separator
    ],
)
def test_corporate_errors_never_say_what_exists(client, andi, corporate_id, user_id, password):
    response = corporate_login(client, corporate_id, user_id, password)
    page = response.content.decode()
    assert response.status_code == 200
    assert WRONG in page
    assert "_auth_user_id" not in client.session


def test_corporate_wrong_passwords_lock_the_user_like_retail(client, andi):
    statuses = [
        corporate_login(client, "MAJUBERSAMA", "andi", "salah").status_code for _ in range(6)
    ]
    assert statuses == [200] * 4 + [403] * 2
    locked = corporate_login(client, "majubersama", "ANDI", PASSWORD)
    assert locked.status_code == 403
    assert "terkunci" in locked.content.decode()
    assert 'name="corporate_id"' in locked.content.decode()  # the corporate page, not retail
    # The lock is the user's: the same user typed on the retail page is locked too, and a
    # user of the same company is not.
    from axes.models import AccessAttempt

    assert AccessAttempt.objects.filter(username="majubersama:andi").exists()
    event = AuditEvent.objects.filter(action="login_failed").first()
    assert event.subject == andi and event.data["user_id"] == "MAJUBERSAMA:andi"


def test_unknown_corporate_user_locks_the_same_way(client, andi):
    known = [corporate_login(client, "MAJUBERSAMA", "andi", "x").status_code for _ in range(6)]
    unknown = [corporate_login(client, "MAJUBERSAMA", "tiada", "x").status_code for _ in range(6)]
    assert known == unknown == [200] * 4 + [403] * 2


def test_corporate_login_is_throttled_per_address(client, andi, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 3
    for n in range(3):
        corporate_login(client, "MAJUBERSAMA", f"tebak{n}", "x")
    refused = corporate_login(client, "MAJUBERSAMA", "andi", PASSWORD)
    assert refused.status_code == 429
    assert 'name="corporate_id"' in refused.content.decode()
    assert "_auth_user_id" not in client.session


# --- Retail and corporate stay apart -------------------------------------------------------------


def test_corporate_user_cannot_log_in_on_the_retail_page(client, andi):
    for typed in ("andi", "MAJUBERSAMA:andi"):
        response = client.post("/login/", {"username": typed, "password": PASSWORD})
        assert response.status_code == 200
        assert "User ID atau password salah." in response.content.decode()
        assert "_auth_user_id" not in client.session


def test_retail_user_cannot_log_in_on_the_corporate_page(client, company):
    UserFactory(user_id="budi")
    for corporate_id in ("MAJUBERSAMA", "budi"):
        response = corporate_login(client, corporate_id, "budi", PASSWORD)
        assert response.status_code == 200 and WRONG in response.content.decode()
        assert "_auth_user_id" not in client.session
    assert client.post("/login/", {"username": "budi", "password": PASSWORD}).status_code == 302


def test_roles_may_view_companies():
    groups = services.roles_sync()
    for group in groups.values():
        assert group.permissions.filter(codename="view_company").exists()


# --- Staff admin ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["agent", "branch", "supervisor"])
def test_staff_see_companies_with_users_and_accounts_in_indonesian(company, andi, role):
    from django.conf import settings
    from django.urls import reverse

    from tests.accounts.test_admin_i18n import english_in
    from tests.factories import BankAccountFactory
    from tests.tokens.conftest import staff_client_make

    BankAccountFactory(owner=andi, company=company, number="2001000018", product="current")
    client, _ = staff_client_make(role, f"staf-{role}")
    client.cookies.pop(settings.LANGUAGE_COOKIE_NAME, None)
    changelist = reverse("admin:accounts_company_changelist")
    for query in ("", "?q=Maju", "?q=C000123", "?q=majubersama"):
        html = client.get(changelist + query).content.decode()
        assert "PT Maju Bersama" in html, query
        assert english_in(html, data=("PT Maju Bersama", "MAJUBERSAMA")) == []
    assert "PT Maju Bersama" not in client.get(changelist + "?q=C000999").content.decode()
    response = client.get(reverse("admin:accounts_company_change", args=[company.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Andi Wijaya" in html and "2001000018" in html and "Rp 10.000.000" in html
    assert 'name="_save"' not in html  # read only
    found = english_in(html, data=("PT Maju Bersama", "MAJUBERSAMA", "Andi Wijaya", "majubersama"))
    assert found == []


def test_profile_shows_the_company_and_the_typed_user_id(client, andi):
    corporate_login(client, "MAJUBERSAMA", "andi", PASSWORD)
    html = client.get("/profil/").content.decode()
    assert "PT Maju Bersama" in html and "MAJUBERSAMA" in html
    assert "MAJUBERSAMA:andi" not in html and "<dd>andi</dd>" in html
