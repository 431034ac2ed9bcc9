"""Who may flag, unblock, and ask for or approve a change of a customer's phone or email,
checked on the services themselves: the admin is one caller; a management command, a task or
a future view is another, and each must meet the same refusal. A refused call raises the
exact error and changes nothing."""

import pytest
from axes.models import AccessAttempt
from django.test import Client

from accounts import services
from accounts.exceptions import FlagNeedsSupervisor, NotPermitted
from accounts.models import AccessBlock, AuditEvent, ContactChangeRequest, User
from tests.factories import PASSWORD, UserFactory
from tokens import services as otp_services

pytestmark = pytest.mark.django_db

OK = "allowed"
# Each role as ROLE_PERMISSIONS (accounts/services.py) grants it, written out so that a change
# of the role table shows up here (test_the_tables_say_what_the_role_table_says); "none" is a
# member of staff in no group, "inactive" a supervisor whose account was switched off.
ROLES = ("agent", "branch", "supervisor", "none", "inactive")
FLAG = {"agent": OK, "branch": NotPermitted, "supervisor": OK}
UNBLOCK_COUNTERS = {"agent": OK, "branch": NotPermitted, "supervisor": OK}
UNBLOCK_FLAGS = {"agent": FlagNeedsSupervisor, "branch": NotPermitted, "supervisor": OK}
PHONE_CHANGE = {"agent": NotPermitted, "branch": OK, "supervisor": OK}  # asking for one
EMAIL_CHANGE = {"agent": NotPermitted, "branch": OK, "supervisor": OK}  # asking for one
APPROVE_CHANGE = {"agent": NotPermitted, "branch": NotPermitted, "supervisor": OK}
NEW_PHONE = "+6281311112222"


def expected(table, role):
    return table.get(role, NotPermitted)


def staff_of(role) -> User:
    if role == "none":
        return UserFactory(user_id="staf-tanpa-peran", is_staff=True)
    user, _ = services.staff_create(
        user_id=f"staf-{role}",
        full_name=f"Staf {role}",
        password=PASSWORD,
        role="supervisor" if role == "inactive" else role,
    )
    if role == "inactive":
        User.objects.filter(pk=user.pk).update(is_active=False)
        user.refresh_from_db()
    return user


def audited(action) -> list:
    return list(AuditEvent.objects.filter(action=action).values_list("actor_id", flat=True))


def refused(outcome, call):
    """Run ``call`` expecting exactly ``outcome`` (FlagNeedsSupervisor is also a NotPermitted,
    so the type is compared, not caught by its base)."""
    with pytest.raises(outcome) as raised:
        call()
    assert type(raised.value) is outcome


def test_the_tables_say_what_the_role_table_says():
    for role, codenames in services.ROLE_PERMISSIONS.items():
        assert (FLAG[role] == OK) == ("flag_access" in codenames)
        assert (UNBLOCK_COUNTERS[role] == OK) == ("unblock_access" in codenames)
        assert (UNBLOCK_FLAGS[role] == OK) == ({"unblock_access", "unblock_lost_phone"} <= set(codenames))
        assert (PHONE_CHANGE[role] == OK) == ("change_phone" in codenames)
        assert (EMAIL_CHANGE[role] == OK) == ("change_email" in codenames)
        assert (APPROVE_CHANGE[role] == OK) == ("approve_contact_change" in codenames)
    assert set(services.ROLE_PERMISSIONS) == set(FLAG)


@pytest.mark.parametrize("kind", ["lost_phone", "staff_flag"])
@pytest.mark.parametrize("role", ROLES)
def test_access_block_per_role(customer, role, kind):
    actor = staff_of(role)

    def flag():
        return services.access_block(
            user=customer, kind=kind, reason="phone stolen", actor=actor, ip="10.0.0.7"
        )

    outcome = expected(FLAG, role)
    if outcome == OK:
        block = flag()
        assert (block.user, block.kind, block.created_by) == (customer, kind, actor)
        assert audited(AuditEvent.Action.ACCESS_BLOCKED) == [actor.pk]
    else:
        refused(outcome, flag)
        assert not AccessBlock.objects.exists()
        assert audited(AuditEvent.Action.ACCESS_BLOCKED) == []


@pytest.mark.parametrize("kind", ["otp_failures", "self_flag"])
@pytest.mark.parametrize("role", ROLES)
def test_no_role_sets_a_block_only_counters_or_the_customer_set(customer, role, kind):
    actor = staff_of(role)
    refused(
        NotPermitted,
        lambda: services.access_block(user=customer, kind=kind, reason="x", actor=actor),
    )
    assert not AccessBlock.objects.exists()
    assert audited(AuditEvent.Action.ACCESS_BLOCKED) == []


@pytest.fixture
def locked_out(customer):
    """The customer after wrong OTPs (a block and a count) and two wrong passwords (axes)."""
    services.access_block(user=customer, kind="otp_failures", reason="5 consecutive wrong OTPs")
    User.objects.filter(pk=customer.pk).update(otp_failure_count=5)
    browser = Client()
    for _ in range(2):
        browser.post("/login/", {"username": customer.user_id, "password": "salah-sekali"})
    assert AccessAttempt.objects.filter(username=customer.user_id).exists()
    customer.refresh_from_db()
    return customer


def counters_of(customer):
    return (
        sorted(AccessBlock.objects.active().filter(user=customer).values_list("kind", flat=True)),
        User.objects.get(pk=customer.pk).otp_failure_count,
        list(AccessAttempt.objects.filter(username=customer.user_id).values_list("failures_since_start", flat=True)),
    )


@pytest.mark.parametrize("role", ROLES)
def test_access_unblock_of_counters_per_role(locked_out, role):
    actor = staff_of(role)
    before = counters_of(locked_out)

    def unblock():
        return services.access_unblock(
            user=locked_out, reason="ID checked by phone", actor=actor, ip="10.0.0.7"
        )

    outcome = expected(UNBLOCK_COUNTERS, role)
    if outcome == OK:
        assert sorted(unblock()) == ["login_lockout", "otp_failures"]
        assert counters_of(locked_out) == ([], 0, [])
        assert audited(AuditEvent.Action.ACCESS_UNBLOCKED) == [actor.pk]
    else:
        refused(outcome, unblock)
        assert counters_of(locked_out) == before
        assert audited(AuditEvent.Action.ACCESS_UNBLOCKED) == []


@pytest.mark.parametrize("kind", ["lost_phone", "staff_flag", "self_flag"])
@pytest.mark.parametrize("role", ROLES)
def test_access_unblock_of_a_flag_per_role(locked_out, role, kind):
    services.access_block(user=locked_out, kind=kind, reason="set by a person")
    actor = staff_of(role)
    before = counters_of(locked_out)

    def unblock():
        return services.access_unblock(user=locked_out, reason="ID checked", actor=actor)

    outcome = expected(UNBLOCK_FLAGS, role)
    if outcome == OK:
        assert sorted(unblock()) == sorted(["login_lockout", "otp_failures", kind])
        assert counters_of(locked_out) == ([], 0, [])
        assert audited(AuditEvent.Action.ACCESS_UNBLOCKED) == [actor.pk]
    else:
        # An agent may lift what counters caused, but not with a flag a person set beside it:
        # nothing at all is lifted, not even the counters.
        refused(outcome, unblock)
        assert counters_of(locked_out) == before
        assert audited(AuditEvent.Action.ACCESS_UNBLOCKED) == []


@pytest.mark.parametrize("kind", ["phone", "email"])
@pytest.mark.parametrize("role", ROLES)
def test_asking_for_a_change_of_phone_or_email_per_role(customer, role, kind):
    actor = staff_of(role)
    new_value = NEW_PHONE if kind == "phone" else "budi.baru@example.com"

    def ask():
        return services.contact_change_request(
            user=customer, kind=kind, new_value=new_value, actor=actor, reason="lost phone, ID seen"
        )

    outcome = expected(PHONE_CHANGE if kind == "phone" else EMAIL_CHANGE, role)
    if outcome == OK:
        change_request = ask()
        assert (change_request.requested_by, change_request.state) == (actor, "pending")
        assert audited(AuditEvent.Action.CONTACT_CHANGE_REQUESTED) == [actor.pk]
    else:
        refused(outcome, ask)
        assert not ContactChangeRequest.objects.exists()
        assert audited(AuditEvent.Action.CONTACT_CHANGE_REQUESTED) == []
    # Asking never changes the customer's phone or email by itself.
    assert str(User.objects.get(pk=customer.pk).phone) == str(customer.phone)
    assert User.objects.get(pk=customer.pk).email == customer.email


@pytest.mark.parametrize("role", ROLES)
def test_approving_a_change_per_role(customer, role):
    asker, _ = services.staff_create(
        user_id="staf-peminta", full_name="Staf Peminta", password=PASSWORD, role="branch"
    )
    change_request = services.contact_change_request(
        user=customer, kind="phone", new_value=NEW_PHONE, actor=asker, reason="lost phone"
    )
    actor = staff_of(role)

    def approve():
        return otp_services.contact_change_approve(
            change_request=change_request, approver=actor, note="ok"
        )

    outcome = expected(APPROVE_CHANGE, role)
    if outcome == OK:
        approve()
        assert str(User.objects.get(pk=customer.pk).phone) == NEW_PHONE
        assert audited(AuditEvent.Action.PHONE_CHANGED) == [actor.pk]
    else:
        refused(outcome, approve)
        assert str(User.objects.get(pk=customer.pk).phone) == str(customer.phone)
        assert ContactChangeRequest.objects.get().state == "pending"
        assert audited(AuditEvent.Action.PHONE_CHANGED) == []
