import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device
from phonenumber_field.modelfields import PhoneNumberField


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
        HARDWARE_TOKEN = "hardware_token", _("Hardware token")
        MOBILE_TOKEN = "mobile_token", _("Mobile Token")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="challenges"
    )
    purpose = models.CharField(max_length=30)
    intent_digest = models.CharField(max_length=64)
    # What the SMS tells the customer (translatable text and masked values); never a secret.
    # Empty for a hardware-token challenge: no SMS goes out.
    summary = models.JSONField(default=dict, blank=True)
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.SMS)
    salt = models.CharField(max_length=32, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    consumed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "purpose", "created_at"]),
            # One intent's challenges, newest first, without reading the customer's history of
            # that purpose ("Generate OTP" reads the latest on every press; issue 13, growth).
            models.Index(
                fields=["user", "purpose", "intent_digest", "-created_at"],
                name="tokens_challenge_intent_idx",
            ),
        ]

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
        constraints = [
            # One registered phone, one device: parallel confirmations used to create several,
            # and then every later lookup failed.
            models.UniqueConstraint(fields=["user"], name="tokens_smsdevice_one_per_user")
        ]

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
    # A notice (no challenge): untranslated text and its non-secret parameters, rendered in
    # the customer's language when sent. An OTP's text is never stored.
    notice = models.JSONField(default=dict, blank=True)
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


class HardwareTokenQuerySet(models.QuerySet):
    def usable(self):
        return self.filter(state=HardwareToken.State.ACTIVE)


class HardwareToken(models.Model):
    """An OATH hardware token from the bank's stock (RFC 6030 PSKC), and its life.

    The seed is sealed with ``TOKEN_SEED_KEYS`` (never SECRET_KEY) and never shown. ``counter``
    is the next HOTP counter the server accepts; ``last_t`` the last TOTP step accepted, so a
    code is accepted once; ``drift`` the TOTP steps the token's clock is off, as learnt.
    """

    class Algorithm(models.TextChoices):
        HOTP = "hotp", "HOTP (RFC 4226)"
        TOTP = "totp", "TOTP (RFC 6238)"

    class State(models.TextChoices):
        IN_STOCK = "in_stock", _("In stock")
        ASSIGNED = "assigned", _("Assigned to a customer")
        ACTIVE = "active", _("Active")
        LOST = "lost", _("Lost")
        DAMAGED = "damaged", _("Damaged")
        BATTERY_DEAD = "battery_dead", _("Battery dead")
        REVOKED = "revoked", _("Revoked")

    # What a bank allows: a token goes forward, and a broken or lost one never comes back.
    TRANSITIONS = {
        State.IN_STOCK: {State.ASSIGNED, State.DAMAGED, State.REVOKED},
        State.ASSIGNED: {
            State.ACTIVE,
            State.IN_STOCK,
            State.LOST,
            State.DAMAGED,
            State.BATTERY_DEAD,
            State.REVOKED,
        },
        State.ACTIVE: {State.LOST, State.DAMAGED, State.BATTERY_DEAD, State.REVOKED},
        State.LOST: set(),
        State.DAMAGED: set(),
        State.BATTERY_DEAD: set(),
        State.REVOKED: set(),
    }

    serial = models.CharField(_("serial number"), max_length=32, unique=True)
    algorithm = models.CharField(_("algorithm"), max_length=4, choices=Algorithm.choices)
    digits = models.PositiveSmallIntegerField(_("digits"), default=6)
    step = models.PositiveSmallIntegerField(
        _("time step (s)"), null=True, blank=True, help_text=_("TOTP only")
    )
    t0 = models.BigIntegerField(default=0)
    counter = models.BigIntegerField(default=0)
    last_t = models.BigIntegerField(default=-1)
    drift = models.SmallIntegerField(default=0)
    sealed_seed = models.TextField(editable=False)
    manufacturer = models.CharField(_("manufacturer"), max_length=100, blank=True)
    batch = models.CharField(
        _("batch"), max_length=200, blank=True, help_text=_("the file it came in")
    )
    state = models.CharField(
        _("state"), max_length=12, choices=State.choices, default=State.IN_STOCK
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="hardware_tokens",
    )
    imported_at = models.DateTimeField(_("imported at"), default=timezone.now)
    assigned_at = models.DateTimeField(_("assigned at"), null=True, blank=True)
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)

    objects = HardwareTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("hardware token")
        verbose_name_plural = _("hardware tokens")
        ordering = ["serial"]
        permissions = [
            ("import_tokens", "Can import tokens from PSKC files"),
            ("assign_token", "Can assign a token to a customer"),
            ("change_token_state", "Can mark a token lost, damaged, battery dead or revoked"),
            ("resync_token", "Can resynchronise a token"),
            ("switch_sms_fallback", "Can switch a token holder to SMS OTP"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(digits__in=[6, 8]), name="tokens_hardwaretoken_digits_6_or_8"
            ),
            models.CheckConstraint(
                condition=models.Q(algorithm="hotp", step__isnull=True)
                | models.Q(algorithm="totp", step__in=[30, 60]),
                name="tokens_hardwaretoken_step_fits_algorithm",
            ),
            models.CheckConstraint(
                condition=models.Q(state="in_stock", user__isnull=True)
                | (~models.Q(state="in_stock") & models.Q(user__isnull=False))
                | models.Q(state__in=["damaged", "revoked"], user__isnull=True),
                name="tokens_hardwaretoken_holder_fits_state",
            ),
        ]

    def __str__(self):
        return self.serial

    def may_become(self, state: str) -> bool:
        return state in self.TRANSITIONS[self.State(self.state)]


class HardwareTokenDevice(Device):
    """A customer's activated hardware token as a django-otp device (``user.is_verified()``)."""

    token = models.OneToOneField(HardwareToken, on_delete=models.PROTECT, related_name="device")

    class Meta(Device.Meta):
        verbose_name = _("hardware token device")

    def verify_token(self, token):
        # A bare code is never enough for an action: see tokens.services.challenge_verify.
        return False


class MobileDevice(Device):
    """A customer's registered phone running the Mobile Token (issue 12), as a django-otp device.

    The phone keeps the device secret; the server keeps only ``K_u``, the key derived from it
    and the Unlock Code (``tokens.mobile``), sealed with ``TOKEN_SEED_KEYS``, never shown. One
    active device per customer; a revoked one keeps its row for the audit trail and has
    ``confirmed=False`` so django-otp drops it from every session at once.
    """

    class RevokeReason(models.TextChoices):
        REPLACED = "replaced", _("Replaced by a new phone")
        CUSTOMER = "customer", _("De-registered by the customer")
        STAFF = "staff", _("De-registered by the bank")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    sealed_key = models.TextField(editable=False)
    last_t = models.BigIntegerField(default=-1)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)
    registered_at = models.DateTimeField(_("registered at"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("de-registered at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    revoke_reason = models.CharField(
        _("reason"), max_length=20, choices=RevokeReason.choices, blank=True
    )

    class Meta(Device.Meta):
        verbose_name = _("Mobile Token")
        verbose_name_plural = _("Mobile Tokens")
        ordering = ["-registered_at"]
        permissions = [("deregister_mobile_device", "Can de-register a customer's Mobile Token")]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(revoked_at__isnull=True),
                name="tokens_mobiledevice_one_active_per_user",
            )
        ]

    def __str__(self):
        return self.name or str(self.public_id)

    @property
    def is_active(self):
        return self.revoked_at is None

    def verify_token(self, token):
        # A bare code is never enough: see tokens.services.challenge_verify.
        return False


class MobileRegistration(models.Model):
    """A Mobile Token registration under way: after its OTP, the device secret waits here
    (sealed) until the phone sends ``K_u``; emptied in the transaction that stores ``K_u``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mobile_registrations"
    )
    device_id = models.UUIDField(default=uuid.uuid4, editable=False)
    sealed_seed = models.TextField(blank=True, editable=False)
    challenge = models.ForeignKey(
        Challenge, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    otp_confirmed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    seeds_issued = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Mobile Token registration {self.pk}"

    @property
    def is_expired(self):
        return timezone.now() >= self.expires_at
