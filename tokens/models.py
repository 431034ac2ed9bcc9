import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device
from phonenumber_field.modelfields import PhoneNumberField


class ChallengeQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(status=Challenge.Status.PENDING, expires_at__gt=timezone.now())


class Challenge(models.Model):
    """A request for one OTP, bound to one intent (purpose + digest of the pending action).

    The code itself is never stored: it is derived from the server key, the id and the salt.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the code")
        CONSUMED = "consumed", _("Used")
        VOIDED = "voided", _("Voided")

    class Channel(models.TextChoices):
        SMS = "sms", _("SMS")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="challenges"
    )
    purpose = models.CharField(max_length=30)
    intent_digest = models.CharField(max_length=64)
    # What the SMS tells the customer (translatable text and masked values); never a secret.
    summary = models.JSONField(default=dict)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.SMS)
    salt = models.CharField(max_length=32, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    consumed_at = models.DateTimeField(null=True, blank=True)

    objects = ChallengeQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "purpose", "created_at"])]

    def __str__(self):
        return f"{self.purpose} {self.pk}"

    @property
    def is_expired(self):
        return timezone.now() >= self.expires_at


class SMSDevice(Device):
    """The customer's registered phone as a django-otp device.

    SMS codes are bound to an intent, so they are verified through
    ``tokens.services.challenge_verify`` rather than ``verify_token``; the device exists so that
    ``django_otp.login`` and ``user.is_verified()`` work for the session policy.
    """

    class Meta(Device.Meta):
        verbose_name = _("SMS device")

    def verify_token(self, token):
        # A bare code is never enough: it must be checked against the challenge of an intent.
        return False


class SmsMessage(models.Model):
    """One SMS the portal asked a provider to deliver, and what became of it (never its text)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENDING = "sending", _("Being sent")
        ACCEPTED = "accepted", _("Accepted by the provider")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        UNDELIVERED = "undelivered", _("Not delivered")
        FAILED = "failed", _("Failed")
        UNKNOWN = "unknown", _("Unknown")

    # Statuses after which the provider's callbacks may still move the message on.
    IN_FLIGHT = (Status.SENDING, Status.ACCEPTED, Status.SENT, Status.UNKNOWN)
    FAILED_STATES = (Status.UNDELIVERED, Status.FAILED)
    FINAL_STATES = (Status.DELIVERED, Status.UNDELIVERED, Status.FAILED)
    # Order of provider statuses: a late callback never moves a message backwards.
    RANK = {
        Status.PENDING: 0,
        Status.SENDING: 1,
        Status.UNKNOWN: 1,
        Status.ACCEPTED: 2,
        Status.SENT: 3,
        Status.DELIVERED: 4,
        Status.UNDELIVERED: 4,
        Status.FAILED: 4,
    }

    challenge = models.OneToOneField(
        Challenge, on_delete=models.CASCADE, related_name="sms", null=True, blank=True
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sms_messages"
    )
    to = PhoneNumberField(region="ID")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    provider_id = models.CharField(max_length=64, null=True, blank=True, unique=True)
    error_code = models.CharField(max_length=16, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "created_at"]),
            models.Index(fields=["to", "created_at"]),
        ]

    def __str__(self):
        return f"SMS {self.pk} {self.status}"

    @property
    def has_failed(self):
        return self.status in self.FAILED_STATES


class OutboxMessage(models.Model):
    """The development phone: what the ``outbox`` SMS backend would have sent.

    The one place an OTP is written down, because it plays the customer's phone; the backend
    is refused in production settings.
    """

    to = PhoneNumberField(region="ID")
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.to} {self.created_at:%H:%M:%S}"
