"""Corporate payments (issue 11): maker/approver, each step bound to its own OTP, the company's
limits, expiry, cancel and reject, all enforced in the service."""

import base64
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from accounts import services as account_services
from accounts.models import AuditEvent, Company, User, corporate_user_id
from payments import exceptions, services
from payments.models import BankAccount, LedgerEntry, Payee, Transfer
from tests.factories import BankAccountFactory, UserFactory
from tokens import exceptions as otp_exceptions
from tokens import services as otp
from tokens.models import Challenge
from tokens.services import code_generator

pytestmark = pytest.mark.django_db

WIB = ZoneInfo("Asia/Jakarta")
A_ACCOUNT, B_ACCOUNT, RETAIL = "2001000018", "2002000016", "1002000017"


def company_with_users(corporate_id, cif, number, names, *, requires_approval=True):
    company = Company.objects.create(
        name=f"PT {corporate_id.title()}",
        cif=cif,
        corporate_id=corporate_id,
        requires_approval=requires_approval,
    )
    users = [
        UserFactory(
            user_id=corporate_user_id(corporate_id=corporate_id, user_id=name),
            full_name=name.title(),
            company=company,
        )
        for name in names
    ]
    BankAccountFactory(
        owner=users[0], company=company, number=number, product="current", balance="100000000.00"
    )
    return company, users


@pytest.fixture
def corp(db, settings):
    settings.OTP_RESEND_COOLDOWN = 0
    a, (andi, rudi, sari) = company_with_users(
        "MAJUBERSAMA", "C000123", A_ACCOUNT, ["andi", "rudi", "sari"]
    )
    b, (bayu,) = company_with_users("BINTANG", "C000456", B_ACCOUNT, ["bayu"])
    siti = UserFactory(user_id="siti", full_name="Siti Rahayu")
    BankAccountFactory(owner=siti, number=RETAIL, balance="1000000.00")
    return {"a": a, "andi": andi, "rudi": rudi, "sari": sari, "b": b, "bayu": bayu, "siti": siti}


def fresh(payment):
    return Transfer.objects.select_related(
        "source", "destination", "challenge", "initiated_by"
    ).get(pk=payment.pk)


def new_payment(user, amount="1000000", destination=RETAIL, source=A_ACCOUNT):
    return services.corporate_payment_create(
        user=user,
        source=BankAccount.objects.get(number=source),
        destination=BankAccount.objects.get(number=destination),
        amount=Decimal(amount),
        description="Invoice 17",
    )


def maker_confirms(payment):
    challenge = services.corporate_payment_challenge_issue(
        payment=payment, user=payment.initiated_by
    )
    return services.corporate_payment_confirm(
        payment=fresh(payment), user=payment.initiated_by, code=code_generator.code(challenge)
    )


def approver_confirms(payment, approver):
    challenge = services.corporate_payment_challenge_issue(payment=fresh(payment), user=approver)
    return services.corporate_payment_approve(
        payment=fresh(payment), user=approver, code=code_generator.code(challenge)
    )


def balance(number):
    return BankAccount.objects.get(number=number).balance


def submitted(maker, amount="1000000"):
    payment = maker_confirms(new_payment(maker, amount))
    assert payment.status == Transfer.Status.WAITING_APPROVAL
    return payment


def test_without_approval_the_makers_code_moves_the_money(corp):
    Company.objects.filter(pk=corp["a"].pk).update(requires_approval=False)
    payment = maker_confirms(new_payment(corp["andi"]))
    assert payment.status == Transfer.Status.COMPLETED and payment.approved_by is None
    assert balance(A_ACCOUNT) == Decimal("99000000.00")
    assert balance(RETAIL) == Decimal("2000000.00")


def test_with_approval_the_maker_submits_and_nothing_moves(corp):
    payment = submitted(corp["andi"])
    assert balance(A_ACCOUNT) == Decimal("100000000.00")
    assert payment.submitted_at is not None and payment.approval_deadline > payment.submitted_at
    assert LedgerEntry.objects.filter(transfer=payment).count() == 0
    event = AuditEvent.objects.get(action=AuditEvent.Action.CORPORATE_PAYMENT_SUBMITTED)
    assert event.actor == corp["andi"] and event.data["reference"] == payment.reference
    # A double click on the maker's confirmation changes nothing.
    again = services.corporate_payment_confirm(
        payment=fresh(payment), user=corp["andi"], code="000000"
    )
    assert again.status == Transfer.Status.WAITING_APPROVAL


def test_another_user_of_the_company_approves_with_their_own_code(corp):
    payment = submitted(corp["andi"])
    done = approver_confirms(payment, corp["rudi"])
    assert done.status == Transfer.Status.COMPLETED
    assert done.approved_by == corp["rudi"] and done.approved_at is not None
    assert balance(A_ACCOUNT) == Decimal("99000000.00")
    assert balance(RETAIL) == Decimal("2000000.00")
    event = AuditEvent.objects.get(action=AuditEvent.Action.CORPORATE_PAYMENT_APPROVED)
    assert event.actor == corp["rudi"] and event.subject == corp["andi"]
    # The approver's code went by SMS to the approver's own phone.
    challenge = Challenge.objects.filter(user=corp["rudi"]).get()
    assert challenge.sms.to == corp["rudi"].phone
    # A third user approving afterwards: no longer waiting, nothing moves twice.
    with pytest.raises(exceptions.NotPending):
        approver_confirms(payment, corp["sari"])
    assert balance(A_ACCOUNT) == Decimal("99000000.00")


def test_the_maker_can_never_approve_even_with_a_code_for_the_approval_step(corp):
    """The rule under the payment's lock: a code bound to the approval intent, made for the
    maker by hand, still does not let the maker approve."""
    payment = submitted(corp["andi"])
    with pytest.raises(exceptions.MakerCannotApprove):
        services.corporate_payment_challenge_issue(payment=fresh(payment), user=corp["andi"])
    challenge = otp.challenge_issue(
        user=corp["andi"],
        purpose=services.CORPORATE_PAYMENT_PURPOSE,
        summary=services.corporate_payment_intent(payment, step=services.APPROVER),
        text="x",
        text_params={},
    )
    with pytest.raises(exceptions.MakerCannotApprove):
        services.corporate_payment_approve(
            payment=fresh(payment), user=corp["andi"], code=code_generator.code(challenge)
        )
    assert fresh(payment).status == Transfer.Status.WAITING_APPROVAL
    assert balance(A_ACCOUNT) == Decimal("100000000.00")
    challenge.refresh_from_db()
    assert challenge.status == Challenge.Status.PENDING  # rolled back with the refusal


@pytest.mark.parametrize("who", ["bayu", "siti"])
def test_a_user_of_another_company_or_a_retail_customer_can_never_approve(corp, who):
    payment = submitted(corp["andi"])
    outsider = corp[who]
    assert services.corporate_payment_step(payment=fresh(payment), user=outsider) is None
    challenge = otp.challenge_issue(
        user=outsider,
        purpose=services.CORPORATE_PAYMENT_PURPOSE,
        summary=services.corporate_payment_intent(payment, step=services.APPROVER),
        text="x",
        text_params={},
    )
    with pytest.raises(exceptions.AccountNotFound):
        services.corporate_payment_approve(
            payment=fresh(payment), user=outsider, code=code_generator.code(challenge)
        )
    with pytest.raises(exceptions.AccountNotFound):
        services.corporate_payment_reject(payment=fresh(payment), user=outsider, reason="no")
    assert fresh(payment).status == Transfer.Status.WAITING_APPROVAL
    assert balance(A_ACCOUNT) == Decimal("100000000.00")


def test_an_approval_code_is_bound_to_its_payment(corp):
    first, second = submitted(corp["andi"]), submitted(corp["andi"], "2000000")
    challenge = services.corporate_payment_challenge_issue(payment=fresh(first), user=corp["rudi"])
    with pytest.raises(otp_exceptions.OtpError):
        services.corporate_payment_approve(
            payment=fresh(second), user=corp["rudi"], code=code_generator.code(challenge)
        )
    assert fresh(second).status == Transfer.Status.WAITING_APPROVAL


def test_the_makers_code_is_bound_to_the_maker_step(corp):
    """A code sent for the maker's step cannot be replayed as an approval by anyone."""
    payment = new_payment(corp["andi"])
    maker_challenge = services.corporate_payment_challenge_issue(payment=payment, user=corp["andi"])
    code = code_generator.code(maker_challenge)
    services.corporate_payment_confirm(payment=fresh(payment), user=corp["andi"], code=code)
    with pytest.raises(otp_exceptions.OtpError):
        services.corporate_payment_approve(payment=fresh(payment), user=corp["rudi"], code=code)


def test_reject_with_a_reason_is_audited_and_ends_the_payment(corp):
    payment = submitted(corp["andi"])
    rudi_challenge = services.corporate_payment_challenge_issue(
        payment=fresh(payment), user=corp["rudi"]
    )
    with pytest.raises(exceptions.MakerCannotApprove):
        services.corporate_payment_reject(payment=fresh(payment), user=corp["andi"], reason="x")
    done = services.corporate_payment_reject(
        payment=fresh(payment), user=corp["sari"], reason="  Wrong invoice  "
    )
    assert done.status == Transfer.Status.REJECTED
    assert done.rejected_by == corp["sari"] and done.rejection_reason == "Wrong invoice"
    event = AuditEvent.objects.get(action=AuditEvent.Action.CORPORATE_PAYMENT_REJECTED)
    assert event.actor == corp["sari"] and event.reason == "Wrong invoice"
    rudi_challenge.refresh_from_db()
    assert rudi_challenge.status == Challenge.Status.VOIDED
    with pytest.raises(exceptions.PaymentRejected):
        services.corporate_payment_approve(
            payment=fresh(payment), user=corp["rudi"], code=code_generator.code(rudi_challenge)
        )
    assert balance(A_ACCOUNT) == Decimal("100000000.00")


def test_the_maker_cancels_a_payment_waiting_for_approval(corp):
    payment = submitted(corp["andi"])
    rudi_challenge = services.corporate_payment_challenge_issue(
        payment=fresh(payment), user=corp["rudi"]
    )
    with pytest.raises(Transfer.DoesNotExist):
        services.transfer_cancel(transfer=fresh(payment), user=corp["rudi"])
    services.transfer_cancel(transfer=fresh(payment), user=corp["andi"])
    assert fresh(payment).status == Transfer.Status.CANCELLED
    rudi_challenge.refresh_from_db()
    assert rudi_challenge.status == Challenge.Status.VOIDED
    with pytest.raises(exceptions.TransferCancelled):
        services.corporate_payment_approve(
            payment=fresh(payment), user=corp["rudi"], code=code_generator.code(rudi_challenge)
        )


@pytest.mark.parametrize(
    "submitted_at, deadline",
    [
        (datetime(2026, 12, 1, 9, 0, tzinfo=WIB), datetime(2026, 12, 2, 23, 59, 59, tzinfo=WIB)),
        # Friday → Monday; Saturday → Monday
        (datetime(2026, 12, 4, 16, 0, tzinfo=WIB), datetime(2026, 12, 7, 23, 59, 59, tzinfo=WIB)),
        (datetime(2026, 12, 5, 10, 0, tzinfo=WIB), datetime(2026, 12, 7, 23, 59, 59, tzinfo=WIB)),
    ],
)
def test_approval_waits_until_the_end_of_the_next_business_day(submitted_at, deadline):
    assert services.approval_deadline(submitted_at) == deadline


def test_a_payment_not_approved_in_time_expires(corp):
    with time_machine.travel(datetime(2026, 12, 4, 16, 0, tzinfo=WIB), tick=False):
        payment = submitted(corp["andi"])
        rudi_challenge = services.corporate_payment_challenge_issue(
            payment=fresh(payment), user=corp["rudi"]
        )
    with time_machine.travel(datetime(2026, 12, 7, 23, 59, tzinfo=WIB), tick=False):
        assert not fresh(payment).is_overdue
    with time_machine.travel(datetime(2026, 12, 8, 0, 0, tzinfo=WIB), tick=False):
        assert services.transfers_expire(company_id=corp["a"].pk) == 1
        assert fresh(payment).status == Transfer.Status.EXPIRED
        with pytest.raises(exceptions.TransferExpired):
            services.corporate_payment_approve(
                payment=fresh(payment), user=corp["rudi"], code=code_generator.code(rudi_challenge)
            )
    assert balance(A_ACCOUNT) == Decimal("100000000.00")


def test_per_payment_limit(corp, settings):
    settings.CORPORATE_TRANSFER_MAX_AMOUNT = 5_000_000
    with pytest.raises(exceptions.TransferLimitExceeded):
        new_payment(corp["andi"], "5000001")
    payment = submitted(corp["andi"], "5000000")
    settings.CORPORATE_TRANSFER_MAX_AMOUNT = 4_000_000  # lowered while it waits: checked again
    with pytest.raises(exceptions.TransferLimitExceeded):
        approver_confirms(payment, corp["rudi"])
    assert fresh(payment).status == Transfer.Status.FAILED
    assert fresh(payment).failure_reason == "transfer_limit"
    assert balance(A_ACCOUNT) == Decimal("100000000.00")


def test_company_daily_limit_counts_every_users_payments(corp, settings):
    """andi's payment approved by rudi and rudi's approved by sari count for one company: the
    third does not fit, whoever made it."""
    settings.CORPORATE_DAILY_LIMIT = 5_000_000
    first, second = submitted(corp["andi"], "2000000"), submitted(corp["rudi"], "2000000")
    third = submitted(corp["sari"], "2000000")  # told at creation: still fits then
    approver_confirms(first, corp["rudi"])
    approver_confirms(second, corp["sari"])
    with pytest.raises(exceptions.CompanyDailyLimitExceeded) as error:
        approver_confirms(third, corp["andi"])
    assert fresh(third).status == Transfer.Status.FAILED
    assert fresh(third).failure_reason == "company_daily_limit"
    assert balance(A_ACCOUNT) == Decimal("96000000.00")
    assert "Rp 1.000.000" in str(error.value)
    # Another company's limit is its own.
    b_payment = maker_confirms(new_payment(corp["bayu"], "2000000", source=B_ACCOUNT))
    assert b_payment.status == Transfer.Status.WAITING_APPROVAL


def test_the_retail_confirmation_never_moves_a_corporate_payment(corp):
    payment = new_payment(corp["andi"])
    with pytest.raises(exceptions.CorporatePaymentOnly):
        services.transfer_challenge_issue(transfer=fresh(payment))
    with pytest.raises(exceptions.CorporatePaymentOnly):
        services.transfer_confirm(transfer=fresh(payment), code="123456")
    assert balance(A_ACCOUNT) == Decimal("100000000.00")


def test_transfer_create_for_a_corporate_user_is_a_corporate_payment(corp):
    payment = services.transfer_create(
        user=corp["rudi"],
        source=BankAccount.objects.get(number=A_ACCOUNT),
        destination=BankAccount.objects.get(number=RETAIL),
        amount=Decimal("1000"),
        description="",
    )
    assert payment.is_corporate and payment.status == Transfer.Status.DRAFT
    with pytest.raises(exceptions.AccountNotFound):  # another company's account
        new_payment(corp["andi"], source=B_ACCOUNT)


def test_a_company_account_is_no_payee_of_its_users_but_others_are(corp):
    with pytest.raises(exceptions.SameAccount):
        services.payee_create(
            user=corp["rudi"], account=BankAccount.objects.get(number=A_ACCOUNT), nickname="Own"
        )
    payee = services.payee_create(
        user=corp["rudi"], account=BankAccount.objects.get(number=RETAIL), nickname="Siti"
    )
    assert payee.status == Payee.Status.PENDING


def test_five_wrong_codes_block_a_corporate_user_and_staff_unblock_restores(corp, settings):
    settings.OTP_SMS_USER_LIMIT = settings.OTP_SMS_PHONE_LIMIT = 100
    payment = submitted(corp["andi"])
    rudi = corp["rudi"]
    for _ in range(settings.OTP_MAX_CONSECUTIVE_FAILURES):
        challenge = services.corporate_payment_challenge_issue(payment=fresh(payment), user=rudi)
        wrong = "000000" if code_generator.code(challenge) != "000000" else "111111"
        with pytest.raises(otp_exceptions.OtpError):
            services.corporate_payment_approve(payment=fresh(payment), user=rudi, code=wrong)
    with pytest.raises(otp_exceptions.OtpBlocked):
        services.corporate_payment_challenge_issue(payment=fresh(payment), user=rudi)
    account_services.access_unblock(user=User.objects.get(pk=rudi.pk), reason="ID checked")
    assert approver_confirms(payment, rudi).status == Transfer.Status.COMPLETED


def test_demo_company_has_a_working_and_a_dead_token(db, settings, capsys):
    """demo_data: PT Maju Bersama requires approval; andi's token DEMO0000002 confirms with
    codes from its printed seed, rudi's DEMO0000003 is active but no printed code fits it."""
    import pyotp
    from django.core.management import call_command

    from payments.management.commands.demo_data import DEMO_CORPORATE_TOKENS
    from tokens import selectors as otp_selectors
    from tokens.models import HardwareToken

    settings.DEBUG = True
    call_command("demo_data")
    call_command("demo_data")  # idempotent
    out = capsys.readouterr().out
    company = Company.objects.get(corporate_id="MAJUBERSAMA")
    assert company.requires_approval
    andi = User.objects.get(user_id="MAJUBERSAMA:andi")
    rudi = User.objects.get(user_id="MAJUBERSAMA:rudi")
    for user, serial in ((andi, "DEMO0000002"), (rudi, "DEMO0000003")):
        token = HardwareToken.objects.get(serial=serial)
        assert (token.user, token.state) == (user, HardwareToken.State.ACTIVE)
        assert user.confirmation_method == User.ConfirmationMethod.HARDWARE_TOKEN
        assert otp_selectors.confirmation_channel(user=user) == Challenge.Channel.HARDWARE_TOKEN
    seed_hex = DEMO_CORPORATE_TOKENS[0]["seed_hex"]
    assert f"oathtool --totp -s 30s {seed_hex}" in out
    assert "DEMO0000003 (active) for MAJUBERSAMA:rudi: dead" in out
    # andi makes a payment with his token; it waits for a second user.
    code = pyotp.TOTP(base64.b32encode(bytes.fromhex(seed_hex)).decode()).now()
    payment = services.corporate_payment_create(
        user=andi,
        source=BankAccount.objects.get(number="2001000018"),
        destination=BankAccount.objects.get(number="1002000017"),
        amount=Decimal("1000000"),
        description="",
    )
    done = services.corporate_payment_confirm(payment=fresh(payment), user=andi, code=code)
    assert done.status == Transfer.Status.WAITING_APPROVAL


def test_a_lost_phone_flag_stops_a_corporate_user_and_staff_unblock_restores(corp, settings):
    """As for retail customers: a phone reported lost stops the user's codes and logins (no
    code goes to a phone someone else holds) until staff lift the flag with a reason."""
    from django.test import Client

    from accounts.models import AccessBlock
    from tests.factories import PASSWORD

    payment = submitted(corp["andi"])
    rudi = corp["rudi"]
    account_services.access_block(
        user=rudi, kind=AccessBlock.Kind.LOST_PHONE, reason="Ponsel hilang, lapor via telepon"
    )
    with pytest.raises(otp_exceptions.OtpError):
        services.corporate_payment_challenge_issue(payment=fresh(payment), user=rudi)
    login = {"corporate_id": "MAJUBERSAMA", "username": "rudi", "password": PASSWORD}
    assert Client().post("/corporate/login/", login).status_code != 302
    account_services.access_unblock(user=User.objects.get(pk=rudi.pk), reason="ID checked")
    assert Client().post("/corporate/login/", login).status_code == 302
    assert approver_confirms(payment, User.objects.get(pk=rudi.pk)).status == (
        Transfer.Status.COMPLETED
    )
