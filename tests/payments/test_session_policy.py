"""OTP policy per purpose (``OTP_POLICY``): ``per_session`` asks for one OTP per login
session (the Citibank flow); money always needs its own OTP, bound to amount and payee."""

import pytest

from accounts.models import AuditEvent
from payments.models import BankAccount, Payee, Transfer
from tests.conftest import outbox_code
from tests.factories import PASSWORD, BankAccountFactory, UserFactory
from tests.payments.test_transfer_flow import start_transfer
from tokens.models import SmsMessage

pytestmark = pytest.mark.django_db
SESSION_NOTE = "tidak perlu kode baru"  # the page speaks Indonesian


@pytest.fixture
def payees_per_session(settings):
    settings.OTP_POLICY = {**settings.OTP_POLICY, "add_payee": "per_session"}


@pytest.fixture
def payee_accounts(db):
    owners = [UserFactory(user_id=f"penerima{n}") for n in range(3)]
    return [BankAccountFactory(owner=o, number=f"100900000{n}") for n, o in enumerate(owners)]


def payee_start(client, number, nickname):
    response = client.post("/payees/new/", {"account_number": number, "nickname": nickname})
    assert response.status_code == 302, response.content.decode()[:1000]
    return Payee.objects.get(account__number=number, status=Payee.Status.PENDING)


def payee_confirm_with_sms(client, payee, run):
    run(client.post, f"/payees/{payee.pk}/otp/")
    return client.post(f"/payees/{payee.pk}/confirm/", {"code": outbox_code()})


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    def call(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return call


def test_per_session_purpose_asks_for_one_otp_per_login_session(
    client, customer, payee_accounts, payees_per_session, run
):
    assert client.post("/login/", {"username": "budi", "password": PASSWORD}).status_code == 302
    first = payee_start(client, payee_accounts[0].number, "Satu")
    assert SESSION_NOTE not in client.get(f"/payees/{first.pk}/confirm/").content.decode()
    assert payee_confirm_with_sms(client, first, run).status_code == 302
    first.refresh_from_db()
    assert first.status == Payee.Status.ACTIVE
    sent = SmsMessage.objects.count()

    # The same login session: the OTP already typed covers the next payee.
    second = payee_start(client, payee_accounts[1].number, "Dua")
    page = client.get(f"/payees/{second.pk}/confirm/").content.decode()
    assert SESSION_NOTE in page and "Generate OTP" not in page
    assert client.post(f"/payees/{second.pk}/confirm/", {}).status_code == 302
    second.refresh_from_db()
    assert second.status == Payee.Status.ACTIVE
    assert SmsMessage.objects.count() == sent
    verified = AuditEvent.objects.filter(action=AuditEvent.Action.OTP_VERIFIED).first()
    assert verified.data["policy"] == "per_session"

    # A new login session needs a new OTP.
    client.post("/logout/")
    assert client.post("/login/", {"username": "budi", "password": PASSWORD}).status_code == 302
    third = payee_start(client, payee_accounts[2].number, "Tiga")
    assert SESSION_NOTE not in client.get(f"/payees/{third.pk}/confirm/").content.decode()
    response = client.post(f"/payees/{third.pk}/confirm/", {})
    assert response.status_code == 200
    third.refresh_from_db()
    assert third.status == Payee.Status.PENDING


def test_per_transaction_purpose_needs_its_own_otp_in_a_verified_session(
    customer_client, payee_accounts, run
):
    first = payee_start(customer_client, payee_accounts[0].number, "Satu")
    assert payee_confirm_with_sms(customer_client, first, run).status_code == 302
    second = payee_start(customer_client, payee_accounts[1].number, "Dua")
    assert SESSION_NOTE not in customer_client.get(f"/payees/{second.pk}/confirm/").content.decode()
    assert customer_client.post(f"/payees/{second.pk}/confirm/", {}).status_code == 200
    second.refresh_from_db()
    assert second.status == Payee.Status.PENDING


def test_money_needs_its_own_otp_even_if_settings_say_per_session(
    customer_client, other_customer, payee_accounts, settings, run
):
    settings.OTP_POLICY = {**settings.OTP_POLICY, "transfer": "per_session", "add_payee": "per_session"}
    payee = payee_start(customer_client, payee_accounts[0].number, "Satu")
    assert payee_confirm_with_sms(customer_client, payee, run).status_code == 302  # verified

    transfer = start_transfer(customer_client)
    confirm = f"/transfers/{transfer.reference}/confirm/"
    page = customer_client.get(confirm).content.decode()
    assert SESSION_NOTE not in page and 'autocomplete="one-time-code"' in page
    assert customer_client.post(confirm, {}).status_code == 200
    assert customer_client.post(confirm, {"code": ""}).status_code == 200
    transfer.refresh_from_db()
    assert transfer.status in (Transfer.Status.DRAFT, Transfer.Status.PENDING)
    assert BankAccount.objects.get(number="1001000011").balance == 15_000_000


@pytest.mark.parametrize("policy", ["per_transaction", "per_session"])
def test_the_service_itself_refuses_money_without_a_code(customer, other_customer, settings, policy):
    from payments import services
    from tokens import exceptions

    settings.OTP_POLICY = {**settings.OTP_POLICY, "transfer": policy}
    transfer = services.transfer_create(
        user=customer, source=BankAccount.objects.get(number="1001000011"),
        destination=BankAccount.objects.get(number="1002000017"), amount=1000, description="",
    )
    with pytest.raises(exceptions.NoChallenge):
        services.transfer_confirm(transfer=transfer, code=None, session_verified=True)
    assert Transfer.objects.get(pk=transfer.pk).status in (Transfer.Status.DRAFT, Transfer.Status.PENDING)


def test_the_service_itself_refuses_a_per_transaction_payee_without_a_code(customer, payee_accounts):
    from payments import services
    from tokens import exceptions

    payee = services.payee_create(user=customer, account=payee_accounts[0], nickname="Satu")
    with pytest.raises(exceptions.NoChallenge):
        services.payee_confirm(payee=payee, code=None, session_verified=True)
    assert Payee.objects.get(pk=payee.pk).status == Payee.Status.PENDING


@pytest.mark.parametrize("purpose", ["phone_change", "phone_verify", "email_change"])
def test_a_change_of_authenticator_always_needs_its_own_otp(purpose, settings):
    """DESIGN: changing the phone or email needs a fresh OTP, whatever OTP_POLICY says."""
    from tokens import services as otp

    settings.OTP_POLICY = {**settings.OTP_POLICY, purpose: "per_session"}
    assert otp.policy_for(purpose) == "per_transaction"
    assert not otp.session_covers(purpose=purpose, session_verified=True)


def test_a_phone_change_in_a_verified_session_still_asks_for_a_code(
    customer_client, customer, payee_accounts, settings, run
):
    settings.OTP_POLICY = {**settings.OTP_POLICY, "add_payee": "per_session", "phone_change": "per_session"}
    payee = payee_start(customer_client, payee_accounts[0].number, "Satu")
    assert payee_confirm_with_sms(customer_client, payee, run).status_code == 302  # verified
    customer_client.post("/profil/phone/", {"new_phone": "+6281311112222"})
    from accounts.models import ProfileChange

    change = ProfileChange.objects.get()
    page = customer_client.get(f"/profil/phone/{change.pk}/confirm/").content.decode()
    assert SESSION_NOTE not in page
    assert customer_client.post(f"/profil/phone/{change.pk}/confirm/", {}).status_code == 200
    change.refresh_from_db()
    assert change.state == ProfileChange.State.AWAITING_CURRENT
