"""Reads of the OTP core used by pages."""

from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from portal.formatting import phone_masked

from .models import Challenge, SmsMessage


@dataclass(frozen=True)
class OtpState:
    """What the confirmation page tells the customer about their latest code."""

    challenge: Challenge | None
    phone: str
    sms_status: str  # "", or one of SmsMessage.Status
    expires_in: int
    resend_in: int

    @property
    def sms_failed(self):
        return self.sms_status in SmsMessage.FAILED_STATES

    @property
    def sms_pending(self):
        return self.sms_status in (SmsMessage.Status.PENDING, SmsMessage.Status.UNKNOWN)


def otp_state(*, user, challenge: Challenge | None) -> OtpState:
    phone = phone_masked(user.phone)
    if challenge is None or challenge.status != Challenge.Status.PENDING:
        return OtpState(challenge=None, phone=phone, sms_status="", expires_in=0, resend_in=0)
    now = timezone.now()
    sms = SmsMessage.objects.filter(challenge=challenge).only("status").first()
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
        sms_status=status,
        expires_in=expires_in,
        resend_in=resend_in,
    )
