"""Four eyes on a staff change of a customer's phone or email: one member of staff asks (with
a reason), a supervisor who is someone else approves, and only then does it take effect; the
customer is told on the old number and by email. Checked on the services and in the admin."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import translation

from accounts import exceptions, models, services
from accounts.models import AuditEvent, User
from tests.accounts.test_admin import admin_login, staff_make
from tests.factories import UserFactory
from tokens import services as otp_services
from tokens.models import OutboxMessage

pytestmark = pytest.mark.django_db

OLD = "+6281234565678"
NEW = "+6281311112222"
CUSTOMERS = "/admin/accounts/user/"
REQUESTS = "/admin/accounts/contactchangerequest/"
REASON = "KTP checked at the branch, old phone stolen"


@pytest.fixture
def branch():
    return staff_make("staf-cabang", "branch")


@pytest.fixture
def supervisor():
    return staff_make("staf-kepala", "supervisor")


def logged_in(staff):
    from django.test import Client

    user, device = staff
    client = Client()
    assert admin_login(client, user, device).status_code == 302
    return client, user


def phone_of(user) -> str:
    return str(User.objects.get(pk=user.pk).phone)


# --- in the admin ---------------------------------------------------------------------------


def test_a_branch_officers_phone_change_waits_for_a_supervisor(
    customer, branch, supervisor, run_on_commit, mailoutbox
):
    client, officer = logged_in(branch)
    response = run_on_commit(
        client.post, f"{CUSTOMERS}{customer.pk}/phone/", {"new_phone": NEW, "reason": REASON}
    )
    assert response.status_code == 302
    # Nothing changed yet, nobody was told yet.
    assert phone_of(customer) == OLD
    assert not OutboxMessage.objects.exists() and not mailoutbox
    request = models.ContactChangeRequest.objects.get()
    assert (request.user, request.kind, str(request.new_phone)) == (customer, "phone", NEW)
    assert (request.requested_by, request.reason, request.state) == (officer, REASON, "pending")
    event = AuditEvent.objects.get(action="contact_change_requested")
    assert event.actor == officer and event.subject == customer and NEW not in str(event.data)
    # The officer cannot approve (no permission) …
    assert client.get(f"{REQUESTS}{request.pk}/approve/").status_code == 403
    assert client.post(f"{REQUESTS}{request.pk}/approve/", {"note": "ok"}).status_code == 403
    assert phone_of(customer) == OLD

    # … a supervisor, another person, does.
    boss_client, boss = logged_in(supervisor)
    listing = boss_client.get(REQUESTS).content.decode()
    assert f"{REQUESTS}{request.pk}/change/" in listing
    page = boss_client.get(f"{REQUESTS}{request.pk}/change/").content.decode()
    assert REASON in page and "staf-cabang" in page
    response = run_on_commit(
        boss_client.post, f"{REQUESTS}{request.pk}/approve/", {"note": "called the customer back"}
    )
    assert response.status_code == 302
    assert phone_of(customer) == NEW
    request.refresh_from_db()
    assert (request.state, request.decided_by) == ("approved", boss)
    changed = AuditEvent.objects.get(action="phone_changed")
    assert changed.actor == boss and changed.data["requested_by"] == "staf-cabang"
    # Told on the old number and by email, once it took effect.
    assert OutboxMessage.objects.filter(to=OLD).count() == 1
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [customer.email]


def test_a_supervisor_cannot_approve_their_own_request(customer, supervisor, run_on_commit):
    client, boss = logged_in(supervisor)
    run_on_commit(client.post, f"{CUSTOMERS}{customer.pk}/phone/", {"new_phone": NEW, "reason": REASON})
    request = models.ContactChangeRequest.objects.get()
    response = run_on_commit(client.post, f"{REQUESTS}{request.pk}/approve/", {"note": "me"})
    assert response.status_code == 200
    with translation.override("en"):
        assert str(exceptions.SecondPersonRequired()) in response.content.decode() or (
            response.context["form"].non_field_errors().as_data()[0].code == "second_person_required"
        )
    assert phone_of(customer) == OLD
    assert models.ContactChangeRequest.objects.get().state == "pending"


def test_a_supervisor_rejects_with_a_reason(customer, branch, supervisor, run_on_commit):
    client, _ = logged_in(branch)
    run_on_commit(client.post, f"{CUSTOMERS}{customer.pk}/phone/", {"new_phone": NEW, "reason": REASON})
    request = models.ContactChangeRequest.objects.get()
    boss_client, boss = logged_in(supervisor)
    assert boss_client.post(f"{REQUESTS}{request.pk}/reject/", {"note": " "}).status_code == 200
    response = boss_client.post(f"{REQUESTS}{request.pk}/reject/", {"note": "KTP photo unreadable"})
    assert response.status_code == 302
    request.refresh_from_db()
    assert (request.state, request.decided_by, request.decision_note) == (
        "rejected", boss, "KTP photo unreadable",
    )
    assert phone_of(customer) == OLD
    assert AuditEvent.objects.filter(action="contact_change_rejected", actor=boss).exists()
    # A decided request is decided once.
    response = boss_client.post(f"{REQUESTS}{request.pk}/approve/", {"note": "changed my mind"})
    assert response.status_code == 200 and phone_of(customer) == OLD


def test_a_staff_email_change_waits_for_a_supervisor_too(
    customer, branch, supervisor, run_on_commit, mailoutbox
):
    old_email = customer.email
    client, _ = logged_in(branch)
    response = run_on_commit(
        client.post, f"{CUSTOMERS}{customer.pk}/email/",
        {"new_email": "budi.baru@example.com", "reason": "signed form at the branch"},
    )
    assert response.status_code == 302
    assert User.objects.get(pk=customer.pk).email == old_email
    request = models.ContactChangeRequest.objects.get()
    boss_client, _ = logged_in(supervisor)
    run_on_commit(boss_client.post, f"{REQUESTS}{request.pk}/approve/", {"note": ""})
    assert User.objects.get(pk=customer.pk).email == "budi.baru@example.com"
    assert AuditEvent.objects.filter(action="email_changed", subject=customer).exists()
    # Told on the phone and at the old address.
    assert OutboxMessage.objects.filter(to=OLD).count() == 1
    assert [m.to for m in mailoutbox] == [[old_email]]


# --- on the services ------------------------------------------------------------------------

APPROVE = {"agent": exceptions.NotPermitted, "branch": exceptions.NotPermitted, "supervisor": "ok"}


@pytest.mark.parametrize("role", ["agent", "branch", "supervisor"])
def test_approval_per_role(customer, branch, role):
    request = services.contact_change_request(
        user=customer, kind="phone", new_value=NEW, actor=branch[0], reason=REASON
    )
    approver, _ = staff_make(f"staf-{role}-2", role)
    if APPROVE[role] == "ok":
        otp_services.contact_change_approve(change_request=request, approver=approver, note="")
        assert phone_of(customer) == NEW
    else:
        with pytest.raises(APPROVE[role]):
            otp_services.contact_change_approve(change_request=request, approver=approver, note="")
        with pytest.raises(APPROVE[role]):
            services.contact_change_reject(change_request=request, approver=approver, note="no")
        assert phone_of(customer) == OLD
        assert models.ContactChangeRequest.objects.get().state == "pending"


def test_the_service_refuses_the_requester_as_approver(customer, supervisor):
    boss = supervisor[0]
    request = services.contact_change_request(
        user=customer, kind="phone", new_value=NEW, actor=boss, reason=REASON
    )
    with pytest.raises(exceptions.SecondPersonRequired):
        otp_services.contact_change_approve(change_request=request, approver=boss, note="")
    with pytest.raises(exceptions.SecondPersonRequired):
        services.contact_change_reject(change_request=request, approver=boss, note="no")
    assert phone_of(customer) == OLD


def test_the_database_refuses_the_requester_as_approver(customer, supervisor):
    boss = supervisor[0]
    request = services.contact_change_request(
        user=customer, kind="phone", new_value=NEW, actor=boss, reason=REASON
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        models.ContactChangeRequest.objects.filter(pk=request.pk).update(state="approved", decided_by=boss)


@pytest.mark.parametrize("role", ["agent", "branch", "supervisor"])
def test_who_may_ask(customer, role):
    actor, _ = staff_make(f"staf-{role}", role)
    if role == "agent":
        with pytest.raises(exceptions.NotPermitted):
            services.contact_change_request(
                user=customer, kind="phone", new_value=NEW, actor=actor, reason=REASON
            )
        assert not models.ContactChangeRequest.objects.exists()
    else:
        services.contact_change_request(
            user=customer, kind="phone", new_value=NEW, actor=actor, reason=REASON
        )
        assert models.ContactChangeRequest.objects.filter(state="pending").count() == 1


def test_requests_need_a_reason_and_a_customer(customer, branch):
    officer = branch[0]
    with pytest.raises(exceptions.ReasonRequired):
        services.contact_change_request(
            user=customer, kind="phone", new_value=NEW, actor=officer, reason="  "
        )
    colleague = UserFactory(is_staff=True)
    with pytest.raises(exceptions.NotACustomer):
        services.contact_change_request(
            user=colleague, kind="email", new_value="x@example.com", actor=officer, reason="x"
        )
    with pytest.raises(exceptions.OwnRecord):
        services.contact_change_request(
            user=officer, kind="email", new_value="x@example.com", actor=officer, reason="x"
        )


def test_a_new_request_replaces_the_pending_one(customer, branch):
    officer = branch[0]
    first = services.contact_change_request(
        user=customer, kind="phone", new_value=NEW, actor=officer, reason=REASON
    )
    services.contact_change_request(
        user=customer, kind="phone", new_value="+6281355556666", actor=officer, reason=REASON
    )
    first.refresh_from_db()
    assert first.state == "voided"
    assert models.ContactChangeRequest.objects.filter(state="pending").count() == 1


def test_approval_says_so_when_the_number_is_the_customers_own_by_then(customer, branch, supervisor):
    request = services.contact_change_request(
        user=customer, kind="phone", new_value=NEW, actor=branch[0], reason=REASON
    )
    User.objects.filter(pk=customer.pk).update(phone=NEW)  # changed meanwhile, another way
    with pytest.raises(exceptions.SamePhone):
        otp_services.contact_change_approve(change_request=request, approver=supervisor[0], note="")
    assert models.ContactChangeRequest.objects.get().state == "pending"
