"""A NUL byte in a URL's query is refused with the portal's 400 page, before any view reads
it: PostgreSQL text cannot hold NUL, so a staff list filtered by "?status=%00" failed with a
500 (found by the outsider attack of issue 11), and a customer page echoed it back."""

import pytest
from django.test import Client

from tests.corporate.conftest import staff, staff_login

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/admin/corporate/corporaterequest/?status=%00",
        "/admin/corporate/corporaterequest/?kind=%00",
        "/admin/tokens/hardwaretoken/?state=%00",
        "/admin/accounts/auditevent/?q=a%00b",
        "/admin/corporate/corporaterequest/?%00=1",
    ],
)
def test_staff_lists_refuse_a_nul_in_the_query(url):
    client = staff_login(staff("staf-cabang", "branch"))
    response = client.get(url)
    assert response.status_code == 400
    assert "Permintaan tidak dapat dibaca" in response.content.decode()


def test_customer_pages_refuse_a_nul_in_the_query():
    response = Client().get("/login/?next=%00")
    assert response.status_code == 400


def test_an_ordinary_query_still_works():
    assert Client().get("/login/?next=/dashboard/").status_code == 200
