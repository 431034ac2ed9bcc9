"""One service changes a customer's mobile number (``tokens.services.phone_number_change``),
whoever asked for it: the customer (Profil Saya, step 2) or staff. Each way voids the codes
still on their way to the old number, audits, and tells the old number and the email."""

from unittest import mock

import pytest
from django.utils.translation import gettext_noop

from accounts.models import AuditEvent, ProfileChange, User
from tests.accounts.test_admin import staff_client
from tests.conftest import outbox_code
from tokens import services as otp_services
from tokens.models import Challenge, OutboxMessage

pytestmark = pytest.mark.django_db

OLD = "+6281234565678"
NEW = "+6281311112222"
CUSTOMERS = "/admin/accounts/user/"


@pytest.fixture
def code_on_its_way(customer, run_on_commit):
    """A transfer's code sent to the customer's current (old) number, not yet typed."""
    return run_on_commit(
        otp_services.challenge_issue,
        user=customer,
        purpose="transfer",
        summary={"amount": "1500000", "to": "1002000017"},
        text=gettext_noop("transfer %(amount)s"),
        text_params={"amount": "Rp 1.500.000"},
    )


def staff_phone_change(customer, run_on_commit, new=NEW):
    """Staff change the customer's number in the admin (the lost-phone case): a branch officer
    asks, a supervisor approves. Returns the supervisor, who made it take effect."""
    from accounts.models import ContactChangeRequest

    client, _ = staff_client("branch")
    data = {"new_phone": new, "reason": "KTP checked at the branch, old phone stolen"}
    response = run_on_commit(client.post, f"{CUSTOMERS}{customer.pk}/phone/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    change_request = ContactChangeRequest.objects.get(user=customer, state="pending")
    boss_client, boss = staff_client("supervisor")
    response = run_on_commit(
        boss_client.post,
        f"/admin/accounts/contactchangerequest/{change_request.pk}/approve/",
        {"note": "form checked"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return boss


def customer_phone_change(customer_client, run_on_commit, new=NEW):
    """Profil Saya: OTP on the old number, then the code sent to the new one."""
    customer_client.post("/profil/phone/", {"new_phone": new})
    change = ProfileChange.objects.get(state="awaiting_current")
    run_on_commit(customer_client.post, f"/profil/phone/{change.pk}/otp/")
    run_on_commit(
        customer_client.post, f"/profil/phone/{change.pk}/confirm/", {"code": outbox_code(to=OLD)}
    )
    response = run_on_commit(
        customer_client.post, f"/profil/phone/{change.pk}/verify/", {"code": outbox_code(to=new)}
    )
    assert response.status_code == 302 and response["Location"].endswith("/done/")


def test_staff_change_voids_the_codes_sent_to_the_old_number(
    customer, code_on_its_way, run_on_commit, mailoutbox
):
    staff = staff_phone_change(customer, run_on_commit)
    assert str(User.objects.get(pk=customer.pk).phone) == NEW
    code_on_its_way.refresh_from_db()
    assert code_on_its_way.status == Challenge.Status.VOIDED
    event = AuditEvent.objects.get(action="phone_changed", subject=customer)
    assert event.actor == staff
    # Told on the old number, and by email.
    assert OutboxMessage.objects.filter(to=OLD).count() == 2  # the code, then the notice
    assert any("+62 813-****-2222" in m.body for m in mailoutbox)


@pytest.mark.parametrize("path", ["customer", "staff"])
def test_both_ways_change_the_number_through_one_service(
    path, customer, customer_client, code_on_its_way, run_on_commit
):
    one_service = mock.patch.object(
        otp_services, "phone_number_change", wraps=otp_services.phone_number_change
    )
    with one_service as spy:
        if path == "customer":
            customer_phone_change(customer_client, run_on_commit)
        else:
            staff_phone_change(customer, run_on_commit)
    assert spy.call_count == 1
    assert str(User.objects.get(pk=customer.pk).phone) == NEW
    code_on_its_way.refresh_from_db()
    assert code_on_its_way.status == Challenge.Status.VOIDED
    assert AuditEvent.objects.filter(action="phone_changed", subject=customer).count() == 1
