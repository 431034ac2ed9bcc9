"""1,000 double-submitted confirmations across two gunicorn processes (issue 13 item 10):
every transfer's confirmation is posted twice at the same moment, once to each process. Each
transfer moves money exactly once, and afterwards every balance is its opening balance plus
the sum of its ledger entries.

The pending transfers and their codes are made in the test process: each customer's first
transfer by the services (``transfer_create``, ``transfer_challenge_issue``: the customer's
"Generate OTP"), the others as copies of it with their own reference, amount, challenge salt and
intent digest (1,000 service calls, each sending its SMS, would take a minute of the suite); the
code is derived as the SMS worker derives it. Only the confirmations go over HTTP. A customer's transfers are confirmed one after another (the session
key is cycled after each OTP, as one browser tab would follow it); customers run in parallel."""

import copy
import secrets
import threading
import uuid
from collections import Counter
from decimal import Decimal

import pytest
import requests
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.db.models import Sum

from accounts.models import User
from payments import services
from payments.models import BankAccount, LedgerEntry, Transfer
from tests.conftest import needs_postgres
from tests.conftest import web_post as post
from tests.factories import PASSWORD, BankAccountFactory, UserFactory
from tokens.models import Challenge
from tokens.services import code_generator, intent_digest

pytestmark = [needs_postgres, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CUSTOMERS = 20
TRANSFERS_EACH = 50  # 1,000 in all
OPENING = Decimal("100000000.00")


@pytest.fixture
def pending(settings):
    """CUSTOMERS customers with one account each, each with TRANSFERS_EACH pending transfers
    to the next customer (a ring: every account is debited and credited at once), with codes."""
    settings.OTP_RESEND_COOLDOWN = 0
    settings.OTP_SMS_USER_LIMIT = settings.OTP_SMS_PHONE_LIMIT = 10**6
    settings.OTP_SMS_GLOBAL_ALARM = 10**6
    hashed = Argon2PasswordHasher().encode(PASSWORD, Argon2PasswordHasher().salt())
    users = [UserFactory(user_id=f"ganda{n:02d}") for n in range(CUSTOMERS)]
    User.objects.filter(pk__in=[u.pk for u in users]).update(password=hashed)
    accounts = [BankAccountFactory(owner=user, balance=OPENING) for user in users]
    work = {user.user_id: [] for user in users}
    for n, (user, source) in enumerate(zip(users, accounts, strict=True)):
        destination = accounts[(n + 1) % CUSTOMERS]
        first = services.transfer_create(
            user=user, source=source, destination=destination, amount=Decimal(10_000 + n),
            description="",
        )
        services.transfer_challenge_issue(transfer=first)
        first = Transfer.objects.select_related("challenge", "source", "destination").get(pk=first.pk)
        transfers, challenges = [first], []
        for i in range(1, TRANSFERS_EACH):
            transfer, challenge = copy.copy(first), copy.copy(first.challenge)
            challenge.id, challenge.salt = uuid.uuid4(), secrets.token_hex(16)
            transfer.pk, transfer.challenge = None, challenge
            transfer.reference = services._reference_new()
            transfer.amount = Decimal(10_000 + 100 * i + n)
            challenge.intent_digest = intent_digest(
                purpose=challenge.purpose, summary=services.transfer_intent(transfer)
            )
            transfers.append(transfer)
            challenges.append(challenge)
        Challenge.objects.bulk_create(challenges)
        Transfer.objects.bulk_create(transfers[1:])
        work[user.user_id] = [(t.reference, code_generator.code(t.challenge)) for t in transfers]
    return work


def test_each_of_1000_double_submitted_confirmations_moves_money_once(
    two_web_processes, pending, tmp_path
):
    a, b = two_web_processes
    statuses = Counter()
    failures = []

    # Logged in one after another (Argon2 costs CPU), half of them on each process.
    csrf_of = {}
    for n, user_id in enumerate(pending):
        base = (a, b)[n % 2]
        browser = requests.Session()
        browser.get(f"{base}/login/", timeout=10)
        response = post(browser, f"{base}/login/", {"username": user_id, "password": PASSWORD})
        assert response.status_code == 302, response.text[:300]
        csrf_of[user_id] = browser.cookies["csrftoken"]

    def customer_lane(user_id, transfers):
        csrf = csrf_of[user_id]
        for reference, code in transfers:
            session_key = User.objects.values_list("session_key", flat=True).get(user_id=user_id)
            cookies = {"sessionid": session_key, "csrftoken": csrf}
            answers = [None, None]

            def submit(slot, base):
                url = f"{base}/transfers/{reference}/confirm/"
                try:
                    answers[slot] = requests.post(
                        url, {"code": code, "csrfmiddlewaretoken": csrf}, cookies=cookies,
                        headers={"Referer": url}, allow_redirects=False, timeout=60,
                    ).status_code
                except requests.RequestException as exc:
                    answers[slot] = repr(exc)

            other = threading.Thread(target=submit, args=(1, b))
            other.start()
            submit(0, a)
            other.join()
            statuses.update(answers)
            if 302 not in answers:
                failures.append((reference, answers))

    def run(user_id, transfers):
        try:
            customer_lane(user_id, transfers)
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append((user_id, repr(exc)))
        finally:
            from django.db import connection

            connection.close()

    lanes = [threading.Thread(target=run, args=item) for item in pending.items()]
    for lane in lanes:
        lane.start()
    for lane in lanes:
        lane.join(timeout=300)

    assert not failures, failures[:10]
    assert set(statuses) <= {200, 302}, statuses
    total = CUSTOMERS * TRANSFERS_EACH
    assert Transfer.objects.filter(status=Transfer.Status.COMPLETED).count() == total
    assert LedgerEntry.objects.count() == 2 * total
    per_transfer = Counter(LedgerEntry.objects.values_list("transfer_id", flat=True))
    assert set(per_transfer.values()) == {2}
    sums = dict(
        LedgerEntry.objects.values_list("account").annotate(total=Sum("amount"))
    )
    for account in BankAccount.objects.filter(owner__user_id__startswith="ganda"):
        assert account.balance == OPENING + sums[account.pk], account.number
    assert sum(sums.values()) == 0
    for log in ("web-a.log", "web-b.log"):
        output = (tmp_path / log).read_text()
        assert "Internal Server Error" not in output and "Traceback" not in output, output[-3000:]
