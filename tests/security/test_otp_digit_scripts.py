"""The right code written in another script's digits never confirms (issue 13 item 11).

Python reads "١٢٣٤٥٦" (Arabic-Indic), "१२३४५६" (Devanagari) or "１２３４５６" (fullwidth) as
123456 in ``int()`` and matches them with ``\\d`` and ``str.isdigit()``: a code check written
that way takes them. For every "One Time Password" field of the portal, the test gets the right
code (the SMS in the outbox, the hardware token's next HOTP value, the staff member's TOTP),
posts it in each other script and with one digit swapped for another script's, and asserts that
nothing is confirmed; then the same code in ASCII digits confirms, which proves the code was
right and that the refusals did not use it up.
"""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import PasswordReset
from payments.models import Payee, Transfer
from tests.factories import PASSWORD
from tests.security.hostile import FOREIGN_DIGITS, World, in_script
from tests.tokens.conftest import HOTP

pytestmark = pytest.mark.django_db


def foreign_variants(code: str) -> list[str]:
    variants = [in_script(code, script) for script in FOREIGN_DIGITS]
    variants.append(code[:-1] + in_script(code[-1], "arabic-indic"))  # one digit only
    variants.append(in_script(code[:3], "devanagari") + " " + code[3:])
    return variants


def assert_refused_then_accepted(post, code, accepted, extra=None):
    """``post(data)`` gives a response; ``accepted()`` says whether the action happened."""
    extra = extra or {}
    for variant in foreign_variants(code):
        response = post({**extra, "code": variant})
        assert response.status_code in (200, 400), (variant, response.status_code)
        assert not accepted(), f"confirmed with {variant!r}"
    response = post({**extra, "code": code})
    assert response.status_code == 302, response.content.decode()[:3000]
    assert accepted()


@pytest.fixture
def world(db, settings):
    settings.OTP_RESEND_COOLDOWN = 0
    return World()


def sms_code(run_on_commit, client, otp_url):
    from tests.conftest import outbox_code

    response = run_on_commit(client.post, otp_url)
    assert response.status_code == 302, response.content.decode()[:2000]
    return outbox_code()


def test_transfer(world, run_on_commit):
    client, transfer = world.clients["customer"], world.transfer
    code = sms_code(run_on_commit, client, f"/transfers/{transfer.reference}/otp/")
    assert_refused_then_accepted(
        lambda data: run_on_commit(client.post, f"/transfers/{transfer.reference}/confirm/", data),
        code,
        lambda: Transfer.objects.get(pk=transfer.pk).status == Transfer.Status.COMPLETED,
    )


def test_payee(world, run_on_commit):
    client, payee = world.clients["customer"], world.payee
    code = sms_code(run_on_commit, client, f"/payees/{payee.pk}/otp/")
    assert_refused_then_accepted(
        lambda data: run_on_commit(client.post, f"/payees/{payee.pk}/confirm/", data),
        code,
        lambda: Payee.objects.get(pk=payee.pk).status == Payee.Status.ACTIVE,
    )


@pytest.mark.parametrize("kind", ["phone", "email", "password"])
def test_profile_changes(world, run_on_commit, kind):
    from accounts import services as account_services

    client = world.clients["customer"]
    change = {  # a new one: a customer has one open change of phone or email at a time
        "phone": lambda: account_services.phone_change_create(
            user=world.customer, new_phone="+6281311113333"
        ),
        "email": lambda: account_services.email_change_create(
            user=world.customer, new_email="lain@example.com"
        ),
        "password": lambda: world.password_change,
    }[kind]()
    base = f"/profil/{kind}/{change.pk}"
    code = sms_code(run_on_commit, client, f"{base}/otp/")
    before = type(change).objects.get(pk=change.pk).state

    def accepted():
        return type(change).objects.get(pk=change.pk).state != before

    assert_refused_then_accepted(
        lambda data: run_on_commit(client.post, f"{base}/confirm/", data), code, accepted
    )


def test_token_activation(world):
    client = world.clients["customer"]
    from tokens.models import HardwareToken

    assert_refused_then_accepted(
        lambda data: client.post(reverse("tokens:token-activate"), data),
        HOTP.at(0),
        lambda: HardwareToken.objects.get(serial="FT10000001").state == "active",
        extra={"birth_date": "17/08/1988", "serial": "FT10000001"},
    )


def test_mobile_token_registration(world, run_on_commit):
    from tokens.models import MobileRegistration

    client = world.clients["customer"]
    code = sms_code(run_on_commit, client, reverse("tokens:mobile-register-otp"))
    assert_refused_then_accepted(
        lambda data: run_on_commit(client.post, reverse("tokens:mobile-register"), data),
        code,
        lambda: MobileRegistration.objects.filter(otp_confirmed_at__isnull=False).exists(),
    )


def test_mobile_token_deregistration(world, run_on_commit):
    from tests.tokens.test_mobile_confirm_page import mobile_device_make

    device, _key = mobile_device_make(world.customer)
    client = world.clients["customer"]
    code = sms_code(run_on_commit, client, reverse("accounts:mobile-deregister-otp"))

    def accepted():
        device.refresh_from_db()
        return device.revoked_at is not None

    assert_refused_then_accepted(
        lambda data: run_on_commit(client.post, reverse("accounts:mobile-deregister"), data),
        code,
        accepted,
    )


def test_password_reset(world, run_on_commit):
    client = Client()
    response = client.post(
        reverse("accounts:password-reset"),
        {"user_id": "budi", "birth_date": "17/08/1988", "account_number": "1001000011"},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    code = sms_code(run_on_commit, client, reverse("accounts:password-reset-otp"))
    assert_refused_then_accepted(
        lambda data: run_on_commit(client.post, reverse("accounts:password-reset-confirm"), data),
        code,
        lambda: PasswordReset.objects.filter(state=PasswordReset.State.VERIFIED).exists(),
    )


def test_corporate_payment(world, run_on_commit):
    client, payment = world.clients["corporate"], world.payment
    assert_refused_then_accepted(
        lambda data: run_on_commit(client.post, f"/payments/{payment.reference}/confirm/", data),
        HOTP.at(0),
        lambda: Transfer.objects.get(pk=payment.pk).status
        in (Transfer.Status.COMPLETED, Transfer.Status.WAITING_APPROVAL),
    )


def test_staff_admin_login(world):
    """django-otp's TOTP check does ``int(token)``, which reads other scripts' digits."""
    from tests.accounts.test_admin import totp_now
    from tests.tokens.conftest import staff_make

    staff, device = staff_make("staf-baru", "agent")  # no code of this device used yet
    client = Client()

    def post(data):
        # Each wrong code makes django-otp wait longer before it checks the next one: reset
        # that wait, so every variant reaches the comparison of the code itself.
        device.refresh_from_db()
        device.throttle_reset()
        return client.post(
            "/admin/login/?next=/admin/",
            {"username": staff.user_id, "password": PASSWORD, "otp_token": data["code"]},
        )

    assert_refused_then_accepted(
        post, totp_now(device), lambda: "_auth_user_id" in client.session
    )


def test_corporate_payment_approval(world, run_on_commit):
    """The second user of a company that requires approval confirms with their own token."""
    from tests.factories import UserFactory
    from tests.tokens.conftest import token_make

    rudi = UserFactory(
        user_id="MAJUBERSAMA:rudi", full_name="Rudi Hartono", company=world.company,
        phone="+6281277003344", confirmation_method="hardware_token",
    )
    token_make("CT10000002", state="active", user=rudi)
    payment, maker = world.payment, world.clients["corporate"]
    response = run_on_commit(
        maker.post, f"/payments/{payment.reference}/confirm/", {"code": HOTP.at(0)}
    )
    assert response.status_code == 302
    assert Transfer.objects.get(pk=payment.pk).status == Transfer.Status.WAITING_APPROVAL
    approver = Client()
    response = approver.post(
        "/corporate/login/",
        {"corporate_id": "MAJUBERSAMA", "username": "rudi", "password": PASSWORD},
    )
    assert response.status_code == 302
    assert_refused_then_accepted(
        lambda data: run_on_commit(
            approver.post, f"/payments/{payment.reference}/confirm/", data
        ),
        HOTP.at(0),
        lambda: Transfer.objects.get(pk=payment.pk).status == Transfer.Status.COMPLETED,
    )
