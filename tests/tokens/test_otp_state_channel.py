"""A challenge of another channel is not "the code sent": after a token holder is switched to
SMS OTP, the token challenge left open by a failed try must not make the confirmation page say
"OTP sent to +62…" before any SMS was sent, nor hold "Generate OTP" back (found by the
new-user walk of issue 11)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import UserFactory
from tokens import selectors
from tokens.models import Challenge

pytestmark = pytest.mark.django_db


def test_an_open_token_challenge_is_no_sms_code(settings):
    settings.OTP_RESEND_COOLDOWN = 60
    user = UserFactory(confirmation_method="sms")
    token_challenge = Challenge.objects.create(
        user=user,
        purpose="transfer",
        intent_digest="0" * 64,
        channel=Challenge.Channel.HARDWARE_TOKEN,
        salt="s" * 32,
        expires_at=timezone.now() + timedelta(minutes=5),
    )
    state = selectors.otp_state(user=user, challenge=token_challenge)
    assert state.channel == Challenge.Channel.SMS
    assert state.challenge is None and state.expires_in == 0
    assert state.resend_in == 0  # Generate OTP is offered at once
