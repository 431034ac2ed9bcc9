"""Reads of the OTP core used by pages."""

from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from accounts import selectors as account_selectors
from portal.formatting import phone_masked

from .exceptions import NoUsableToken
from .models import Challenge, SmsMessage


@dataclass(frozen=True)
class OtpState:
    """What the confirmation page tells the customer about their latest code."""

    challenge: Challenge | None
    phone: str
    channel: str  # Challenge.Channel, or "" when the customer has no usable way to confirm
    sms_status: str  # "", or one of SmsMessage.Status
    expires_in: int
    resend_in: int

    @property
    def sms_failed(self):
        return self.sms_status in SmsMessage.FAILED_STATES

    sms_delayed: bool = False
    # OTP is blocked for the customer: the page says so and offers no form.
    blocked: bool = False


def otp_state(*, user, challenge: Challenge | None, to=None) -> OtpState:
    """``to``: a number being verified (``challenge_issue(to=...)``): its code goes by SMS,
    whatever the customer's confirmation method."""
    from .services import confirmation_channel

    if account_selectors.otp_blocked(user=user):
        return OtpState(
            challenge=None, phone=phone_masked(to or user.phone), channel="", sms_status="",
            expires_in=0, resend_in=0, blocked=True,
        )
    phone = phone_masked(to or user.phone)
    try:
        channel = Challenge.Channel.SMS if to else confirmation_channel(user=user)
    except NoUsableToken:
        channel = ""
    if channel != Challenge.Channel.SMS or challenge is None or (
        challenge.status != Challenge.Status.PENDING
    ):
        return OtpState(
            challenge=None, phone=phone, channel=channel, sms_status="", expires_in=0, resend_in=0
        )
    now = timezone.now()
    sms = (
        SmsMessage.objects.filter(challenge=challenge)
        .only("status", "attempts", "created_at")
        .first()
    )
    status = sms.status if sms else ""
    expires_in = max(0, int((challenge.expires_at - now).total_seconds()))
    resend_in = max(
        0, settings.OTP_RESEND_COOLDOWN - int((now - challenge.created_at).total_seconds())
    )
    if status in SmsMessage.FAILED_STATES:
        resend_in = 0
    return OtpState(
        challenge=challenge if expires_in else None,
        phone=phone,
        channel=channel,
        sms_status=status,
        expires_in=expires_in,
        resend_in=resend_in,
        sms_delayed=sms is not None and _delayed(sms, now),
    )


def _delayed(sms: SmsMessage, now) -> bool:
    """Honest about an SMS that may not arrive soon: its fate is unknown, it is being retried
    after provider errors, or it has waited longer than a customer would."""
    if sms.status == SmsMessage.Status.UNKNOWN:
        return True
    if sms.status not in (SmsMessage.Status.PENDING, SmsMessage.Status.SENDING):
        return False
    tried_before = sms.attempts > (0 if sms.status == SmsMessage.Status.PENDING else 1)
    waited = (now - sms.created_at).total_seconds() > settings.SMS_DELAYED_AFTER
    return tried_before or waited


def challenge_for(*, user, challenge_id) -> Challenge | None:
    """The user's challenge with this id (an opaque reference another app kept), or None."""
    if challenge_id is None:
        return None
    return Challenge.objects.filter(user=user, pk=challenge_id).first()
