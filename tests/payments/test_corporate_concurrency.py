"""Races on PostgreSQL (issue 11): two approvers at once cannot both fit the company's daily
limit, and one payment approved by two users at once moves money once."""

from decimal import Decimal

import pytest

from accounts.models import Company, corporate_user_id
from payments import exceptions, services
from payments.models import BankAccount, LedgerEntry, Transfer
from tests.conftest import needs_postgres
from tests.factories import BankAccountFactory, UserFactory
from tests.payments.test_concurrency import run_at_once
from tokens.services import code_generator

pytestmark = [needs_postgres, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

A_ACCOUNT, RETAIL = "2001000018", "1002000017"


@pytest.fixture
def users(settings):
    settings.OTP_RESEND_COOLDOWN = 0
    company = Company.objects.create(
        name="PT Maju Bersama", cif="C000123", corporate_id="MAJUBERSAMA", requires_approval=True
    )
    users = [
        UserFactory(
            user_id=corporate_user_id(corporate_id="MAJUBERSAMA", user_id=name), company=company
        )
        for name in ("andi", "rudi", "sari")
    ]
    BankAccountFactory(owner=users[0], company=company, number=A_ACCOUNT, balance="100000000")
    BankAccountFactory(number=RETAIL, balance="0")
    return users


def fresh(payment):
    return Transfer.objects.select_related(
        "source", "destination", "challenge", "initiated_by"
    ).get(pk=payment.pk)


def waiting(maker, amount):
    payment = services.corporate_payment_create(
        user=maker,
        source=BankAccount.objects.get(number=A_ACCOUNT),
        destination=BankAccount.objects.get(number=RETAIL),
        amount=Decimal(amount),
        description="",
    )
    challenge = services.corporate_payment_challenge_issue(payment=payment, user=maker)
    services.corporate_payment_confirm(
        payment=fresh(payment), user=maker, code=code_generator.code(challenge)
    )
    return fresh(payment)


def test_two_approvers_at_once_cannot_both_fit_the_companys_daily_limit(users, settings):
    settings.CORPORATE_DAILY_LIMIT = 15_000_000
    andi, rudi, sari = users
    # Each fits the day's limit alone; both together do not.
    first, second = waiting(andi, "10000000"), waiting(andi, "10000000")
    codes = [
        code_generator.code(services.corporate_payment_challenge_issue(payment=p, user=u))
        for p, u in ((first, rudi), (second, sari))
    ]
    pairs = [(first, rudi), (second, sari)]

    results = run_at_once(
        2,
        lambda i: services.corporate_payment_approve(
            payment=fresh(pairs[i][0]), user=pairs[i][1], code=codes[i]
        ),
    )

    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], exceptions.CompanyDailyLimitExceeded)
    statuses = sorted(
        Transfer.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True)
    )
    assert statuses == [Transfer.Status.COMPLETED, Transfer.Status.FAILED]
    assert BankAccount.objects.get(number=A_ACCOUNT).balance == Decimal("90000000.00")


def test_one_payment_approved_by_two_users_at_once_moves_money_once(users):
    andi, rudi, sari = users
    payment = waiting(andi, "10000000")
    codes = [
        code_generator.code(services.corporate_payment_challenge_issue(payment=payment, user=u))
        for u in (rudi, sari)
    ]
    approvers = [rudi, sari]

    results = run_at_once(
        2,
        lambda i: services.corporate_payment_approve(
            payment=fresh(payment), user=approvers[i], code=codes[i]
        ),
    )

    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], exceptions.NotPending), results
    assert LedgerEntry.objects.filter(transfer=payment).count() == 2
    assert BankAccount.objects.get(number=A_ACCOUNT).balance == Decimal("90000000.00")
    done = Transfer.objects.get(pk=payment.pk)
    assert done.status == Transfer.Status.COMPLETED and done.approved_by in approvers


def test_approve_and_cancel_at_once_end_one_way(users):
    andi, rudi, _ = users
    payment = waiting(andi, "10000000")
    code = code_generator.code(
        services.corporate_payment_challenge_issue(payment=payment, user=rudi)
    )

    def act(i):
        if i == 0:
            return services.corporate_payment_approve(payment=fresh(payment), user=rudi, code=code)
        return services.transfer_cancel(transfer=fresh(payment), user=andi)

    run_at_once(2, act)
    done = Transfer.objects.get(pk=payment.pk)
    moved = LedgerEntry.objects.filter(transfer=payment).count()
    assert (done.status, moved) in ((Transfer.Status.COMPLETED, 2), (Transfer.Status.CANCELLED, 0))
