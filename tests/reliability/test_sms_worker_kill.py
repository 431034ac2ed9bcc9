"""Item 7 of issue 13: a Celery worker killed (SIGKILL) while the fake Twilio holds its
request. The task was not acknowledged (acks_late), so Redis hands it to a second worker
after the visibility timeout (2 s here); that worker finds the message "sending" past its
lease, asks Twilio before sending, and the provider gets the message exactly once: the
one the dead worker sent when Twilio had taken it, a new one when it had not.
"""

import time

import pytest

from tests.conftest import wait_for
from tests.fakes.twilio import FakeTwilio, Reply
from tests.reliability.test_sms_flaky_provider import (
    ThreadWorker,
    body_of,
    needs_postgres_and_redis,
    worker_env,
)
from tests.tokens.intent import PARAMS, SUMMARY, TEXT
from tokens import services
from tokens.models import SmsMessage

VISIBILITY_TIMEOUT = 2


@needs_postgres_and_redis
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("taken", [True, False], ids=["twilio-took-it", "twilio-did-not"])
def test_worker_killed_while_sending_the_message_is_sent_exactly_once(tmp_path, customer, taken):
    held = Reply(delay=30) if taken else Reply(status=503, delay=30)
    env = {"CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT), "TWILIO_TIMEOUT": "60"}
    with FakeTwilio() as fake:
        fake.script(held)  # the first request hangs; every later one is answered at once
        first = ThreadWorker(tmp_path, worker_env(fake, **env)).wait_ready()
        second = None
        try:
            challenge = services.challenge_issue(
                user=customer, purpose="transfer", summary=SUMMARY, text=TEXT, text_params=PARAMS
            )
            wait_for(lambda: fake.messages(), timeout=20)  # Twilio holds the request
            assert SmsMessage.objects.get(challenge=challenge).status == SmsMessage.Status.SENDING
            first.kill()
            killed_at = time.monotonic()

            # The task comes back once the visibility timeout is over (the second worker looks
            # at start-up, then every 10 s), and the message once its lease is over.
            time.sleep(max(0.0, killed_at + VISIBILITY_TIMEOUT + 0.5 - time.monotonic()))
            second = ThreadWorker(tmp_path, worker_env(fake, **env)).wait_ready()
            done = (SmsMessage.Status.ACCEPTED, SmsMessage.Status.FAILED)
            sms = wait_for(
                lambda: SmsMessage.objects.filter(challenge=challenge, status__in=done).first(),
                timeout=30,
                interval=0.1,
            )
            assert "challenge_sms_send" in second.log_path.read_text()  # it was redelivered
        finally:
            first.stop()
            if second is not None:
                second.stop()

    assert fake.count_by_body()[body_of(challenge)] == 1  # exactly once at the provider
    assert len(fake.created) == 1
    assert sms.status == SmsMessage.Status.ACCEPTED
    assert sms.provider_id == fake.sids[0]
    assert sms.attempts == 2
    assert len(fake.lookups()) == 1  # the second worker asked before sending
    assert len(fake.messages()) == (1 if taken else 2)
