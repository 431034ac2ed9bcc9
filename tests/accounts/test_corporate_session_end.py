"""A corporate user whose session ended is sent back to Login Corporate, not to the retail
login page where their User ID is refused (found by the new-user walk of issue 11): by the
session checks themselves, and, when the session is gone altogether, by a cookie that only says
which login page this browser used last (no User ID, nothing secret)."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from accounts.models import Company, corporate_user_id
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def andi(db):
    company = Company.objects.create(name="PT Maju", cif="C000123", corporate_id="MAJU")
    return UserFactory(
        user_id=corporate_user_id(corporate_id="MAJU", user_id="andi"), company=company
    )


def corporate_client():
    client = Client()
    response = client.post(
        "/corporate/login/", {"corporate_id": "MAJU", "username": "andi", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert client.cookies["portal_login"].value == "corporate"
    assert client.cookies["portal_login"]["httponly"]
    return client


def test_an_idle_corporate_session_ends_on_login_corporate_with_the_reason(andi, settings):
    client = corporate_client()
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.SESSION_IDLE_TIMEOUT + 5)):
        response = client.get("/payments/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/corporate/login/")
    assert "Sesi Anda berakhir" in response.content.decode()


def test_a_corporate_browser_without_a_session_is_sent_to_login_corporate(andi):
    client = corporate_client()
    client.cookies.pop("sessionid")
    response = client.get("/payments/")
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")
    response = client.get(response["Location"])
    assert response.status_code == 302
    assert response["Location"] == "/corporate/login/?next=%2Fpayments%2F"


def test_the_retail_login_page_opened_on_purpose_stays(andi):
    client = corporate_client()
    client.cookies.pop("sessionid")
    assert client.get("/login/").status_code == 200


def test_a_retail_login_forgets_the_corporate_page():
    customer = UserFactory(user_id="budi")
    client = Client()
    client.cookies["portal_login"] = "corporate"
    response = client.post("/login/", {"username": customer.user_id, "password": PASSWORD})
    assert response.status_code == 302
    assert client.cookies["portal_login"].value == ""
