"""The SMS pipeline through a real broker and a real ``celery worker`` process.

The test process issues the challenge (on_commit fires for real: the test is transactional),
the task goes through the configured broker, and the worker sends with the real twilio SDK to
the fake Twilio this test started.
"""

import time

import pytest

from tests.conftest import wait_for
from tests.fakes.twilio import FakeTwilio, Reply
from tests.tokens.intent import PARAMS, SUMMARY, TEXT
from tokens import services
from tokens.models import SmsMessage

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]



@pytest.fixture
def fake():
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
def twilio_worker(celery_worker_factory, fake):
    return celery_worker_factory(
        {
            "SMS_BACKEND": "twilio",
            "TWILIO_API_BASE_URL": fake.base_url,
            "TWILIO_TIMEOUT": "2",
            "SMS_SEND_RETRY_BASE": "0.01",
        }
    )


def issue(user):
    return services.challenge_issue(
        user=user, purpose="transfer", summary=SUMMARY, text=TEXT, text_params=PARAMS
    )


def status_of(challenge):
    return SmsMessage.objects.get(challenge=challenge).status


def test_worker_sends_the_sms_once(customer, fake, twilio_worker):
    challenge = issue(customer)  # commits: on_commit queues the task on the broker

    wait_for(lambda: fake.messages())
    wait_for(lambda: status_of(challenge) == SmsMessage.Status.ACCEPTED)
    message = SmsMessage.objects.get(challenge=challenge)
    assert message.provider_id == fake.sids[0]
    assert message.attempts == 1
    body = fake.messages()[0].form["Body"]
    assert services.code_generator.code(challenge) in body
    assert "Rp 1.500.000" in body and "****0017" in body
    time.sleep(0.3)  # anything sent twice would have arrived by now
    assert len(fake.messages()) == 1


def test_worker_retries_through_the_broker(customer, fake, twilio_worker):
    fake.script(Reply(status=503))
    challenge = issue(customer)

    wait_for(lambda: status_of(challenge) == SmsMessage.Status.ACCEPTED)
    first, second = fake.messages()
    assert first.form["Body"] == second.form["Body"]
    # The retry waited its countdown (at least a second) in the broker, not in a loop.
    assert second.at - first.at >= 0.9
    message = SmsMessage.objects.get(challenge=challenge)
    assert message.provider_id == fake.sids[0]
    assert message.attempts == 2 and message.error_code == ""
    assert "retry" in twilio_worker.log_path.read_text().lower()
