"""Staff find a customer by an identifier, never by browsing, and every look at a customer's
page is audited (who, whom, when, from which IP)."""

import pytest

from accounts.models import AuditEvent
from tests.accounts.test_admin import staff_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CUSTOMERS = "/admin/accounts/user/"


@pytest.mark.parametrize("role", ["agent", "branch", "supervisor"])
def test_no_customer_is_listed_without_a_search_term(role, customer, other_customer):
    UserFactory.create_batch(3)
    client, _ = staff_client(role)
    for params in ({}, {"q": ""}, {"q": "   "}, {"p": 2}, {"o": "1"}, {"is_active": "1"},
                   {"user_id__startswith": "b"}, {"phone__isnull": "False"}):
        response = client.get(CUSTOMERS, params)
        # A filter given in the URL is refused (400): it would list customers by browsing.
        assert response.status_code in (200, 400), params
        if response.status_code == 200:
            page = response.content.decode()
            assert ">budi<" not in page and ">siti<" not in page, params
            assert list(response.context["cl"].result_list) == [], params


def test_a_partial_user_id_or_name_lists_nobody(customer, other_customer):
    client, _ = staff_client("agent")
    for term in ["bud", "i", "Santoso", "Budi Santoso", "%", "a"]:
        page = client.get(CUSTOMERS, {"q": term}).content.decode()
        assert ">budi<" not in page and ">siti<" not in page, term


def test_search_by_user_id_account_number_or_phone(customer, other_customer):
    client, _ = staff_client("agent")
    for term in ["budi", "BUDI", " budi ", "1001000029", "0812-3456-5678", "+62 812 3456 5678",
                 customer.cif]:
        page = client.get(CUSTOMERS, {"q": term}).content.decode()
        assert ">budi<" in page and ">siti<" not in page, term


@pytest.mark.parametrize("role", ["agent", "branch", "supervisor"])
def test_every_look_at_a_customer_is_audited(role, customer):
    client, staff = staff_client(role)
    for _ in range(2):
        assert client.get(f"{CUSTOMERS}{customer.pk}/change/", REMOTE_ADDR="10.1.2.3").status_code == 200
    events = AuditEvent.objects.filter(action="customer_viewed")
    assert events.count() == 2
    for event in events:
        assert (event.actor, event.subject, event.ip_address) == (staff, customer, "10.1.2.3")


def test_a_refused_look_is_not_audited_as_a_view(customer):
    client, staff = staff_client("agent")
    assert client.get(f"{CUSTOMERS}{staff.pk}/change/").status_code == 404  # staff: not a customer
    assert not AuditEvent.objects.filter(action="customer_viewed").exists()


@pytest.mark.parametrize("page", ["flag", "unblock", "history", "phone", "email"])
def test_every_page_of_a_customer_record_is_audited(page, customer):
    """An outsider walked guessed ids through the flag, unblock and history pages, which
    showed names and block states without an audit entry."""
    client, staff = staff_client("supervisor")
    response = client.get(f"{CUSTOMERS}{customer.pk}/{page}/", REMOTE_ADDR="10.1.2.3")
    assert response.status_code in (200, 403)
    if response.status_code == 200:
        assert AuditEvent.objects.filter(
            action="customer_viewed", actor=staff, subject=customer, ip_address="10.1.2.3"
        ).count() == 1
