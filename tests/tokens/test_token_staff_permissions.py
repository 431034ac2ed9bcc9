"""Who may assign, change, resync a token and switch a customer to SMS, checked on the services
in tokens/hardware.py themselves (the admin is only one caller). A refused call raises and
changes nothing: no token write, no audit, no notice."""

import pytest
from django.utils import translation

from accounts.models import AuditEvent, User
from tests.factories import UserFactory
from tests.tokens.conftest import HOTP, staff_make, token_make
from tokens import exceptions, hardware
from tokens.models import HardwareToken, HardwareTokenDevice, SmsMessage

pytestmark = pytest.mark.django_db

OK = "allowed"
REFUSED = "refused"
# Each role as TOKEN_ROLE_PERMISSIONS (tokens/hardware.py) grants it; "none" is a member of
# staff in no group, "inactive" a supervisor whose account was switched off.
ROLES = ("agent", "branch", "supervisor", "none", "inactive")
ASSIGN = {"branch": OK, "supervisor": OK}
STATE_CHANGE = {"branch": OK, "supervisor": OK}
RESYNC = {"branch": OK, "supervisor": OK}
SMS_FALLBACK = {"supervisor": OK}
GROUPS = {"agent": "Call centre agent", "branch": "Branch officer", "supervisor": "Supervisor"}


def expected(table, role):
    return table.get(role, REFUSED)


def staff_of(role) -> User:
    if role == "none":
        return UserFactory(user_id="staf-tanpa-peran", is_staff=True)
    user, _ = staff_make(f"staf-{role}", "supervisor" if role == "inactive" else role)
    if role == "inactive":
        User.objects.filter(pk=user.pk).update(is_active=False)
        user.refresh_from_db()
    return user


def audited(action) -> list:
    return list(AuditEvent.objects.filter(action=action).values_list("actor_id", flat=True))


def refused(call):
    # Staff read the refusal in their language (Indonesian unless they chose English).
    with translation.override("id"), pytest.raises(
        exceptions.TokenActionRefused, match="tidak berwenang"
    ):
        call()


def test_the_tables_say_what_the_role_table_says():
    granted = {role: hardware.TOKEN_ROLE_PERMISSIONS.get(group, []) for role, group in GROUPS.items()}
    for role, codenames in granted.items():
        assert (expected(ASSIGN, role) == OK) == ("assign_token" in codenames)
        assert (expected(STATE_CHANGE, role) == OK) == ("change_token_state" in codenames)
        assert (expected(RESYNC, role) == OK) == ("resync_token" in codenames)
        assert (expected(SMS_FALLBACK, role) == OK) == ("switch_sms_fallback" in codenames)
    assert set(hardware.TOKEN_ROLE_PERMISSIONS) <= set(GROUPS.values())


@pytest.mark.parametrize("role", ROLES)
def test_token_assign_per_role(customer, role):
    actor = staff_of(role)
    token = token_make()

    def assign():
        return hardware.token_assign(token=token, user=customer, actor=actor, reason="r", ip=None)

    stored = HardwareToken.objects.get(pk=token.pk)
    if expected(ASSIGN, role) == OK:
        assign()
        stored.refresh_from_db()
        assert (stored.state, stored.user) == (HardwareToken.State.ASSIGNED, customer)
        assert audited(AuditEvent.Action.TOKEN_ASSIGNED) == [actor.pk]
    else:
        refused(assign)
        stored.refresh_from_db()
        assert (stored.state, stored.user, stored.assigned_at) == (HardwareToken.State.IN_STOCK, None, None)
        assert audited(AuditEvent.Action.TOKEN_ASSIGNED) == []


@pytest.mark.parametrize("role", ROLES)
def test_token_state_change_per_role(customer, role):
    actor = staff_of(role)
    token = token_make(state="active", user=customer)
    device = HardwareTokenDevice.objects.create(user=customer, token=token, name="Token", confirmed=True)

    def report_lost():
        return hardware.token_state_change(token=token, state="lost", actor=actor, reason="r", ip=None)

    if expected(STATE_CHANGE, role) == OK:
        report_lost()
        assert HardwareToken.objects.get(pk=token.pk).state == HardwareToken.State.LOST
        assert not HardwareTokenDevice.objects.get(pk=device.pk).confirmed
        assert audited(AuditEvent.Action.TOKEN_STATE_CHANGED) == [actor.pk]
    else:
        refused(report_lost)
        assert HardwareToken.objects.get(pk=token.pk).state == HardwareToken.State.ACTIVE
        assert HardwareTokenDevice.objects.get(pk=device.pk).confirmed
        assert audited(AuditEvent.Action.TOKEN_STATE_CHANGED) == []


@pytest.mark.parametrize("role", ROLES)
def test_token_resync_staff_per_role(customer, role):
    actor = staff_of(role)
    token = token_make(state="active", user=customer)

    def resync():
        return hardware.token_resync_staff(
            token=token, first=HOTP.at(300), second=HOTP.at(301), actor=actor, reason="r", ip=None
        )

    if expected(RESYNC, role) == OK:
        assert resync()
        assert HardwareToken.objects.get(pk=token.pk).counter == 302
        assert audited(AuditEvent.Action.TOKEN_RESYNCED) == [actor.pk]
    else:
        refused(resync)
        assert HardwareToken.objects.get(pk=token.pk).counter == 0
        assert audited(AuditEvent.Action.TOKEN_RESYNCED) == []


@pytest.mark.parametrize("role", ROLES)
def test_sms_fallback_switch_per_role(customer, role):
    actor = staff_of(role)
    token_make(state="lost", user=customer)
    User.objects.filter(pk=customer.pk).update(
        confirmation_method=User.ConfirmationMethod.HARDWARE_TOKEN
    )
    customer.refresh_from_db()

    def switch():
        return hardware.sms_fallback_switch(user=customer, actor=actor, reason="token lost", ip=None)

    method = User.objects.values_list("confirmation_method", flat=True)
    if expected(SMS_FALLBACK, role) == OK:
        switch()
        assert method.get(pk=customer.pk) == User.ConfirmationMethod.SMS
        assert audited(AuditEvent.Action.CONFIRMATION_METHOD_CHANGED) == [actor.pk]
        assert SmsMessage.objects.filter(user=customer).count() == 1  # the customer is told
    else:
        refused(switch)
        assert method.get(pk=customer.pk) == User.ConfirmationMethod.HARDWARE_TOKEN
        assert audited(AuditEvent.Action.CONFIRMATION_METHOD_CHANGED) == []
        assert not SmsMessage.objects.filter(user=customer).exists()


IMPORT = {"branch": OK, "supervisor": OK}


@pytest.mark.parametrize("role", ROLES)
def test_tokens_import_per_role(role):
    from tests.tokens.test_hardware import PSKC_DIR

    actor = staff_of(role)

    def run():
        return hardware.tokens_import(
            source=str(PSKC_DIR / "rfc6030-figure3.pskcxml"), batch="f3", actor=actor, reason="r"
        )

    if expected(IMPORT, role) == OK:
        assert run().imported
        assert HardwareToken.objects.exists()
    else:
        refused(run)
        assert not HardwareToken.objects.exists()


def test_the_server_imports_without_an_actor():
    from tests.tokens.test_hardware import PSKC_DIR

    hardware.tokens_import(source=str(PSKC_DIR / "rfc6030-figure3.pskcxml"), batch="f3")
    assert HardwareToken.objects.exists()
