"""Companies, their users and tokens, staff roles, and small files for corporate requests."""

import base64

import pyotp
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts.models import Company, User, corporate_user_id
from corporate import services
from tests.accounts.test_admin import admin_login
from tests.factories import PASSWORD, BankAccountFactory, UserFactory
from tests.tokens.conftest import staff_make as token_staff_make
from tests.tokens.conftest import token_make

SECRET = b"12345678901234567890"
HOTP = pyotp.HOTP(base64.b32encode(SECRET).decode())
# The smallest file each check sees as what it is (filetype reads the first bytes).
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n" + b"0" * 200 + b"\n%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + b"\0" * 200
JPG = bytes.fromhex("ffd8ffe000104a46494600") + b"\0" * 200
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\0" * 200
NEW_PHONE = "+6281377778888"


def upload(content=PDF, name="formulir.pdf", content_type="application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def company_make(corporate_id, cif, name, number):
    company = Company.objects.create(name=name, cif=cif, corporate_id=corporate_id)
    return company


def corporate_user(company, name, phone, **fields):
    fields = {
        "full_name": f"{name.title()} Corp",
        "email": f"{name}@{company.corporate_id.lower()}.co.id",
        **fields,
    }
    return UserFactory(
        user_id=corporate_user_id(corporate_id=company.corporate_id, user_id=name),
        company=company,
        phone=phone,
        **fields,
    )


@pytest.fixture(autouse=True)
def _uploads(settings, tmp_path):
    settings.CORPORATE_UPLOAD_DIR = tmp_path / "corporate-uploads"


@pytest.fixture
def company(db):
    company = company_make("MAJUBERSAMA", "C000123", "PT Maju Bersama", "2001000018")
    return company


@pytest.fixture
def andi(company):
    user = corporate_user(company, "andi", "+6281200000001")
    token_make("CT10000001", state="active", user=user)
    User.objects.filter(pk=user.pk).update(confirmation_method="hardware_token")
    user.refresh_from_db()
    BankAccountFactory(owner=user, company=company, number="2001000018", product="current")
    return user


@pytest.fixture
def rudi(company):
    """A user whose token's battery died: the bank still has it as active."""
    user = corporate_user(company, "rudi", "+6281200000002")
    token_make("CT10000002", state="active", user=user)
    User.objects.filter(pk=user.pk).update(confirmation_method="hardware_token")
    user.refresh_from_db()
    return user


@pytest.fixture
def company_b(db):
    return company_make("BINTANG", "C000456", "PT Bintang", "2002000016")


@pytest.fixture
def bayu(company_b):
    user = corporate_user(company_b, "bayu", "+6281200000003")
    token_make("CT20000001", state="active", user=user)
    User.objects.filter(pk=user.pk).update(confirmation_method="hardware_token")
    user.refresh_from_db()
    return user


def login(user) -> Client:
    client = Client()
    response = client.post(
        "/corporate/login/",
        {
            "corporate_id": user.company.corporate_id,
            "username": user.login_user_id,
            "password": PASSWORD,
        },
    )
    assert response.status_code == 302, response.content[:300]
    return client


def staff(user_id, role):
    user, device = token_staff_make(user_id, role)
    services.corporate_roles_grant()
    return user, device


def staff_login(staff_pair) -> Client:
    user, device = staff_pair
    client = Client()
    assert admin_login(client, user, device).status_code == 302
    return client


@pytest.fixture
def officer(db):
    return staff("staf-cabang", "branch")[0]


@pytest.fixture
def supervisor(db):
    return staff("staf-kepala", "supervisor")[0]


@pytest.fixture
def supervisor2(db):
    return staff("staf-kepala2", "supervisor")[0]


def form_data(user, **changes):
    """The bank's form as prefilled from the records, with ``changes``."""
    data = services.records_of(user)
    data["phone"] = str(data["phone"])
    data["reason"] = "battery_dead"
    data.update(changes)
    return data
