"""A token's life through the services: assignment, the transitions a bank allows, a lost token
that stops at once, SMS fallback, and a token code used twice."""

from decimal import Decimal

import pytest
from django.utils import translation

from accounts.models import AuditEvent, User
from payments import services as payment_services
from payments.models import BankAccount, Transfer
from tests.tokens.conftest import HOTP, staff_make, token_make
from tokens import exceptions, hardware
from tokens.models import HardwareToken, SmsMessage

pytestmark = pytest.mark.django_db
S = HardwareToken.State


@pytest.fixture
def officer():
    return staff_make("cabang01", "branch")[0]


@pytest.fixture
def supervisor():
    return staff_make("kepala01", "supervisor")[0]


def text(exc_class):
    with translation.override("id"):
        return str(exc_class())


ALL = [s.value for s in S]
ALLOWED = {
    "in_stock": {"damaged", "revoked"},  # assigned only through token_assign
    "assigned": {"in_stock", "lost", "damaged", "battery_dead", "revoked"},  # active: activation
    "active": {"lost", "damaged", "battery_dead", "revoked"},
    "lost": set(), "damaged": set(), "battery_dead": set(), "revoked": set(),
}


@pytest.mark.parametrize("start", ALL)
@pytest.mark.parametrize("target", ALL)
def test_transitions_table(customer, officer, start, target):
    token = token_make(state=start, user=None if start == "in_stock" else customer)
    if target in ALLOWED[start]:
        hardware.token_state_change(token=token, state=target, actor=officer, reason="r", ip="10.0.0.9")
        token.refresh_from_db()
        assert token.state == target
        event = AuditEvent.objects.get(action=AuditEvent.Action.TOKEN_STATE_CHANGED)
        assert (event.actor, event.reason, event.ip_address) == (officer, "r", "10.0.0.9")
        assert event.data == {"serial": token.serial, "from": start, "to": target}
        if target == "in_stock":
            assert token.user is None
    else:
        with pytest.raises(exceptions.TokenActionRefused):
            hardware.token_state_change(token=token, state=target, actor=officer, reason="r", ip=None)
        assert HardwareToken.objects.get(pk=token.pk).state == start
        assert not AuditEvent.objects.filter(action=AuditEvent.Action.TOKEN_STATE_CHANGED).exists()


@pytest.mark.parametrize("state", ["assigned", "active", "lost", "revoked"])
def test_only_stock_is_assigned(customer, other_customer, officer, state):
    token = token_make(state=state, user=other_customer)
    with pytest.raises(exceptions.TokenActionRefused):
        hardware.token_assign(token=token, user=customer, actor=officer, reason="r", ip=None)
    assert HardwareToken.objects.get(pk=token.pk).user == other_customer


def test_assign_is_audited_and_refuses_staff_and_agents(customer, officer):
    token = token_make()
    agent = staff_make("agen01", "agent")[0]
    with pytest.raises(exceptions.TokenActionRefused):
        hardware.token_assign(token=token, user=customer, actor=agent, reason="r", ip=None)
    with pytest.raises(exceptions.TokenActionRefused):
        hardware.token_assign(token=token, user=agent, actor=officer, reason="r", ip=None)
    hardware.token_assign(token=token, user=customer, actor=officer, reason="at branch", ip="10.1.1.1")
    token.refresh_from_db()
    assert (token.state, token.user, token.assigned_at is not None) == ("assigned", customer, True)
    event = AuditEvent.objects.get(action=AuditEvent.Action.TOKEN_ASSIGNED)
    assert (event.subject, event.actor, event.reason, event.ip_address) == (
        customer, officer, "at branch", "10.1.1.1"
    )


@pytest.fixture
def token_user(customer, other_customer):
    token_make(state="active", user=customer)
    User.objects.filter(pk=customer.pk).update(confirmation_method="hardware_token")
    customer.refresh_from_db()
    return customer


def new_transfer(user):
    return payment_services.transfer_create(
        user=user, source=BankAccount.objects.get(number="1001000011"),
        destination=BankAccount.objects.get(number="1002000017"), amount=Decimal("100000"),
        description="",
    )


def test_lost_token_stops_at_once_and_sms_only_after_fallback(customer_client, token_user, officer, supervisor):
    transfer = new_transfer(token_user)
    page = customer_client.get(f"/transfers/{transfer.reference}/confirm/").content.decode()
    assert 'autocomplete="one-time-code"' in page  # the open page works with the token...
    hardware.token_state_change(
        token=HardwareToken.objects.get(), state="lost", actor=officer, reason="customer called", ip=None
    )
    # ... and the next submission from that same open session is refused.
    response = customer_client.post(f"/transfers/{transfer.reference}/confirm/", {"code": HOTP.at(0)})
    assert text(exceptions.NoUsableToken) in response.content.decode()
    assert Transfer.objects.get(pk=transfer.pk).status == Transfer.Status.PENDING
    token_user.refresh_from_db()
    assert token_user.confirmation_method == "hardware_token"  # no silent downgrade
    # Only a supervisor may switch SMS on; the customer is told.
    with pytest.raises(exceptions.TokenActionRefused):
        hardware.sms_fallback_switch(user=token_user, actor=officer, reason="r", ip=None)
    hardware.sms_fallback_switch(user=token_user, actor=supervisor, reason="token lost", ip="10.2.2.2")
    token_user.refresh_from_db()
    assert token_user.confirmation_method == "sms"
    event = AuditEvent.objects.get(action=AuditEvent.Action.CONFIRMATION_METHOD_CHANGED)
    assert (event.actor, event.reason, event.data) == (
        supervisor, "token lost", {"from": "hardware_token", "to": "sms"}
    )
    assert SmsMessage.objects.filter(user=token_user, challenge__isnull=True).count() == 1
    page = customer_client.get(f"/transfers/{transfer.reference}/confirm/").content.decode()
    assert "otp-issue" in page
    with pytest.raises(exceptions.TokenActionRefused):  # already on SMS
        hardware.sms_fallback_switch(user=token_user, actor=supervisor, reason="r", ip=None)


def test_reused_code_is_refused_logged_and_the_holder_told(customer_client, token_user):
    first, second = new_transfer(token_user), new_transfer(token_user)
    assert customer_client.post(f"/transfers/{first.reference}/confirm/", {"code": HOTP.at(0)}).status_code == 302
    response = customer_client.post(f"/transfers/{second.reference}/confirm/", {"code": HOTP.at(0)})
    assert text(exceptions.TokenCodeReused) in response.content.decode()
    assert Transfer.objects.get(pk=second.pk).status == Transfer.Status.PENDING
    event = AuditEvent.objects.get(action=AuditEvent.Action.TOKEN_CODE_REUSED)
    assert event.subject == token_user and event.data["serial"] == "FT10000001"
    assert HOTP.at(0) not in str(event.data)
    # A merely wrong code is not called a replay.
    response = customer_client.post(f"/transfers/{second.reference}/confirm/", {"code": HOTP.at(60)})
    assert text(exceptions.TokenCodeReused) not in response.content.decode()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.TOKEN_CODE_REUSED).count() == 1


def test_reused_totp_code_is_detected(customer, token_user):
    import base64

    import pyotp
    import time_machine

    HardwareToken.objects.update(algorithm="totp", step=30)
    token = HardwareToken.objects.get()
    totp = pyotp.TOTP(base64.b32encode(b"12345678901234567890").decode())
    with time_machine.travel(1_900_000_000, tick=False):
        code = totp.now()
        assert hardware.token_code_verify(token=token, code=code)
        assert not hardware.token_code_verify(token=token, code=code)
        assert hardware.token_code_reused(token=token, code=code)
        assert not hardware.token_code_reused(token=token, code=totp.at(1_900_000_000 + 30))


def test_resync_by_staff_is_audited(customer, officer):
    token = token_make(state="active", user=customer)
    agent = staff_make("agen01", "agent")[0]
    with pytest.raises(exceptions.TokenActionRefused):
        hardware.token_resync_staff(token=token, first=HOTP.at(300), second=HOTP.at(301), actor=agent, reason="r", ip=None)
    assert hardware.token_resync_staff(
        token=token, first=HOTP.at(300), second=HOTP.at(301), actor=officer, reason="drifted", ip=None
    )
    assert HardwareToken.objects.get(pk=token.pk).counter == 302
    event = AuditEvent.objects.get(action=AuditEvent.Action.TOKEN_RESYNCED)
    assert event.data == {"serial": token.serial, "resynchronised": True}


def test_demo_token_for_dewi_and_token_code_command(settings, capsys):
    import datetime

    import time_machine
    from django.core.management import CommandError, call_command

    from payments.management.commands.demo_data import DEMO_TOKEN
    from tests.tokens.conftest import oathtool

    settings.DEBUG = True
    call_command("demo_data")
    call_command("demo_data")  # idempotent
    token = HardwareToken.objects.get(serial="DEMO0000001")
    dewi = User.objects.get(user_id="dewi")
    assert (token.state, token.user, token.algorithm, token.step) == ("assigned", dewi, "totp", 30)
    assert dewi.birth_date == datetime.date(1992, 3, 5)
    capsys.readouterr()
    with time_machine.travel(1_900_000_015, tick=False):
        call_command("token_code", "demo-0000001")
        printed = capsys.readouterr().out.strip()
    assert printed == oathtool(DEMO_TOKEN["seed_hex"], totp_step=30, at=1_900_000_015)
    now_code = oathtool(DEMO_TOKEN["seed_hex"], totp_step=30)
    hardware.token_activate(
        user=dewi, birth_date=datetime.date(1992, 3, 5), serial="DEMO0000001", code=now_code, ip=None
    )
    assert HardwareToken.objects.get(pk=token.pk).state == "active"
    # The cabang officer may assign after demo_data (token permissions survive staff_create).
    assert User.objects.get(user_id="cabang").has_perm("tokens.assign_token")
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("token_code", "DEMO0000001")


def test_creating_staff_keeps_the_token_permissions_of_the_roles(db):
    from django.contrib.auth.models import Group

    from accounts.services import staff_create
    from tokens import hardware

    hardware.token_roles_grant()
    staff_create(user_id="cabang02", full_name="Petugas Cabang", password="Cabang-Uji-2026", role="branch")
    branch = Group.objects.get(name="Branch officer")
    assert branch.permissions.filter(content_type__app_label="tokens", codename="assign_token").exists()
