import uuid

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

user_id_validator = RegexValidator(
    r"^[A-Za-z0-9._-]{4,30}$",
    _("User ID is 4 to 30 letters, digits, dots, dashes or underscores."),
    code="invalid_user_id",
)

# What is stored in User.user_id: a retail User ID, or "<Corporate ID>:<User ID>" for a
# corporate user (see ``User``). ":" is in no retail User ID, so the two never collide.
CORPORATE_SEPARATOR = ":"
stored_user_id_validator = RegexValidator(
    r"^(?:[A-Za-z0-9]{3,20}:)?[A-Za-z0-9._-]{4,30}$",
    _("User ID is 4 to 30 letters, digits, dots, dashes or underscores."),
    code="invalid_user_id",
)
corporate_id_validator = RegexValidator(
    r"^[A-Za-z0-9]{3,20}$",
    _("A Corporate ID is 3 to 20 letters or digits."),
    code="invalid_corporate_id",
)


def corporate_user_id(*, corporate_id: str, user_id: str) -> str:
    """The User ID stored for a corporate user: ``<CORPORATE ID>:<user id>``."""
    return f"{corporate_id.strip().upper()}{CORPORATE_SEPARATOR}{user_id.strip()}"


class Company(models.Model):
    """A corporate customer: its users log in with Corporate ID + User ID + password and see
    only the company's accounts.

    How User IDs stay unique: a corporate user's ``User.user_id`` is stored as
    ``"<CORPORATE ID>:<typed User ID>"`` (``corporate_user_id``). A retail User ID can never
    contain ":", so the one existing constraint on ``Upper(user_id)`` keeps retail User IDs
    unique and makes corporate ones unique within their company (case-insensitively), with
    no second key: ``get_by_natural_key``, django-axes' lock per User ID, the audit log and
    the one-session rule all work on that one string unchanged. The retail login refuses a
    corporate user and the corporate login finds only users of the typed company.
    """

    name = models.CharField(_("company name"), max_length=150)
    cif = models.CharField(_("CIF"), max_length=20)
    corporate_id = models.CharField(
        _("Corporate ID"), max_length=20, validators=[corporate_id_validator]
    )
    requires_approval = models.BooleanField(_("a second user must approve payments"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["cif"], name="accounts_company_cif_unique"),
            models.UniqueConstraint(
                models.functions.Upper("corporate_id"),
                name="accounts_company_corporate_id_upper_unique",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.corporate_id})"

    def save(self, *args, **kwargs):
        # Stored in capitals: it is the prefix of its users' stored User IDs.
        self.corporate_id = self.corporate_id.strip().upper()
        super().save(*args, **kwargs)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, user_id, password=None, **extra_fields):
        if not user_id:
            raise ValueError("A user needs a User ID")
        user = self.model(user_id=user_id, **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, user_id, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self.create_user(user_id, password, **extra_fields)

    def get_by_natural_key(self, username):
        # User IDs are matched without regard to case, as customers type them.
        return self.get(user_id__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in: a customer of the bank or a member of staff."""

    class ConfirmationMethod(models.TextChoices):
        SMS = "sms", _("SMS OTP")
        HARDWARE_TOKEN = "hardware_token", _("Hardware token")
        MOBILE_TOKEN = "mobile_token", _("Mobile Token")

    user_id = models.CharField(
        _("User ID"), max_length=51, unique=True, validators=[stored_user_id_validator]
    )
    # Set for a corporate user (then user_id is "<CORPORATE ID>:<User ID>", see Company).
    company = models.ForeignKey(
        Company,
        verbose_name=_("company"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )
    full_name = models.CharField(_("full name"), max_length=150)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    phone = PhoneNumberField(_("mobile phone"), region="ID", blank=True)
    email = models.EmailField(_("email"), blank=True)
    cif = models.CharField(_("CIF"), max_length=20, blank=True, db_index=True)
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default="id"
    )
    confirmation_method = models.CharField(
        _("confirmation method"),
        max_length=20,
        choices=ConfirmationMethod.choices,
        default=ConfirmationMethod.SMS,
    )
    # Consecutive wrong OTPs across challenges; reaching the limit blocks OTP (AccessBlock).
    otp_failure_count = models.PositiveSmallIntegerField(default=0)
    # Set when the bank chose the password (account opened or password reset by staff): the
    # customer must choose a new one at the next login before anything else.
    must_change_password = models.BooleanField(_("must change password"), default=False)
    # The one session allowed for this user; any other session is ended on its next request.
    session_key = models.CharField(max_length=40, blank=True, editable=False)
    is_staff = models.BooleanField(_("staff status"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "user_id"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(
                models.functions.Upper("user_id"), name="accounts_user_user_id_upper_unique"
            ),
            # One phone, one customer, held by the database: two changes to one number that
            # pass the check in parallel cannot both commit. No phone is stored as "" (the
            # column is NOT NULL), and any number of users may have none.
            models.UniqueConstraint(
                fields=["phone"],
                condition=~models.Q(phone=""),
                name="accounts_user_phone_unique",
            ),
        ]

    def __str__(self):
        return self.user_id

    def get_full_name(self):
        return self.full_name

    def clean(self):
        super().clean()
        from django.core.exceptions import ValidationError

        prefix, separator, _typed = self.user_id.rpartition(CORPORATE_SEPARATOR)
        if self.company_id is None and separator:
            raise ValidationError({"user_id": user_id_validator.message})
        if self.company_id is not None and prefix.upper() != self.company.corporate_id:
            raise ValidationError(
                {"user_id": _("A corporate user's User ID starts with the Corporate ID and ':'.")}
            )

    @property
    def login_user_id(self) -> str:
        """The User ID the person types: without the Corporate ID of a corporate user."""
        return self.user_id.rpartition(CORPORATE_SEPARATOR)[2]

    def get_short_name(self):
        return self.full_name.split(" ")[0] if self.full_name else self.user_id


class AccessBlockQuerySet(models.QuerySet):
    def active(self):
        return self.filter(lifted_at__isnull=True)


class AccessBlock(models.Model):
    """Why a customer cannot log in or confirm, until staff lift it with a reason."""

    class Kind(models.TextChoices):
        OTP_FAILURES = "otp_failures", _("Too many wrong OTPs")
        LOST_PHONE = "lost_phone", _("Lost or stolen phone")
        STAFF_FLAG = "staff_flag", _("Flagged by staff")
        SELF_FLAG = "self_flag", _("Blocked by the customer")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_blocks"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lift_reason = models.TextField(blank=True)

    objects = AccessBlockQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind"],
                condition=models.Q(lifted_at__isnull=True),
                name="accounts_accessblock_one_active_per_kind",
            )
        ]

    def __str__(self):
        return f"{self.user} {self.kind}"

    # Blocks of these kinds stop login as well as confirmations.
    LOGIN_KINDS = (Kind.LOST_PHONE, Kind.STAFF_FLAG, Kind.SELF_FLAG)


class AuditEvent(models.Model):
    """One security-relevant act: who did what to whom, when, from where and why.

    Append-only, and never holds a secret: ``data`` keeps ids, states and masked values only.
    """

    class Action(models.TextChoices):
        LOGIN = "login", _("Logged in")
        LOGIN_FAILED = "login_failed", _("Failed login")
        LOGIN_LOCKED = "login_locked", _("Login locked")
        LOGOUT = "logout", _("Logged out")
        OTP_ISSUED = "otp_issued", _("OTP issued")
        OTP_VERIFIED = "otp_verified", _("OTP verified")
        OTP_FAILED = "otp_failed", _("OTP failed")
        ACCESS_BLOCKED = "access_blocked", _("Access blocked")
        ACCESS_UNBLOCKED = "access_unblocked", _("Access unblocked")
        SMS_ALARM = "sms_alarm", _("SMS rate alarm")
        TRANSFER = "transfer", _("Transfer made")
        PAYEE_ADDED = "payee_added", _("Payee added")
        STAFF_CREATED = "staff_created", _("Staff member created")
        STAFF_DEVICE_ENROLLED = "staff_device_enrolled", _("Staff authenticator enrolled")
        PHONE_CHANGED = "phone_changed", _("Phone number changed")
        EMAIL_CHANGED = "email_changed", _("Email changed")
        CONFIRMATION_METHOD_CHANGED = (
            "confirmation_method_changed",
            _("Confirmation method changed"),
        )
        TOKEN_IMPORTED = "token_imported", _("Tokens imported")
        TOKEN_ASSIGNED = "token_assigned", _("Token assigned")
        TOKEN_ACTIVATED = "token_activated", _("Token activated")
        TOKEN_STATE_CHANGED = "token_state_changed", _("Token state changed")
        TOKEN_RESYNCED = "token_resynced", _("Token resynchronised")
        TOKEN_CODE_REUSED = "token_code_reused", _("Token code used again")
        NOTICE_SENT = "notice_sent", _("Notice sent")
        NOTICE_EMAIL_QUEUED = "notice_email_queued", _("Notice email queued")
        NOTICE_EMAIL_SENT = "notice_email_sent", _("Notice email sent")
        NOTICE_EMAIL_FAILED = "notice_email_failed", _("Notice email failed")
        LOGIN_ADDRESS_LOCKED = "login_address_locked", _("Login locked for a network address")
        CONTACT_CHANGE_REQUESTED = (
            "contact_change_requested",
            _("Staff change of phone or email asked"),
        )
        CONTACT_CHANGE_APPROVED = (
            "contact_change_approved",
            _("Staff change of phone or email approved"),
        )
        CONTACT_CHANGE_REJECTED = (
            "contact_change_rejected",
            _("Staff change of phone or email rejected"),
        )
        CUSTOMER_VIEWED = "customer_viewed", _("Customer's page viewed by staff")
        PHONE_CHANGE_REFUSED = "phone_change_refused", _("Phone number change refused")
        PASSWORD_RESET_ASKED = "password_reset_asked", _("Forgotten password: reset asked")
        PASSWORD_RESET = "password_reset", _("Password reset")
        PASSWORD_CHANGED = "password_changed", _("Password changed")
        PASSWORD_SET_BY_STAFF = "password_set_by_staff", _("Password set by the bank")
        TRANSFER_CANCELLED = "transfer_cancelled", _("Transfer cancelled")
        TRANSFER_EXPIRED = "transfer_expired", _("Transfer expired")
        PAYEE_CHANGED = "payee_changed", _("Payee renamed")
        PAYEE_DELETED = "payee_deleted", _("Payee deleted")
        TOKEN_REPLACED = "token_replaced", _("Token replaced")
        STATEMENT_DOWNLOADED = "statement_downloaded", _("Statement downloaded")
        # Corporate (issue 11): payments made and approved by two users of a company, and the
        # requests (token replacement, phone/email change) staff process in the admin.
        CORPORATE_PAYMENT_SUBMITTED = (
            "corporate_payment_submitted",
            _("Corporate payment submitted for approval"),
        )
        CORPORATE_PAYMENT_APPROVED = "corporate_payment_approved", _("Corporate payment approved")
        CORPORATE_PAYMENT_REJECTED = "corporate_payment_rejected", _("Corporate payment rejected")
        CORPORATE_REQUEST_SUBMITTED = (
            "corporate_request_submitted",
            _("Corporate request submitted"),
        )
        CORPORATE_REQUEST_RETURNED = (
            "corporate_request_returned",
            _("Corporate request returned for correction"),
        )
        CORPORATE_REQUEST_RESUBMITTED = (
            "corporate_request_resubmitted",
            _("Corporate request corrected and resubmitted"),
        )
        CORPORATE_REQUEST_REJECTED = "corporate_request_rejected", _("Corporate request rejected")
        CORPORATE_REQUEST_APPROVED = "corporate_request_approved", _("Corporate request approved")
        CORPORATE_REQUEST_SUPERVISED = (
            "corporate_request_supervised",
            _("Corporate request approved by a supervisor"),
        )
        CORPORATE_DOCUMENT_VIEWED = (
            "corporate_document_viewed",
            _("Signed form of a corporate request viewed"),
        )
        SMS_FALLBACK_ENDED = "sms_fallback_ended", _("SMS OTP fallback ended")
        MOBILE_TOKEN_REGISTERED = "mobile_token_registered", _("Mobile Token registered")
        MOBILE_TOKEN_REVOKED = "mobile_token_revoked", _("Mobile Token de-registered")

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_events",
    )
    action = models.CharField(max_length=30, choices=Action.choices, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    # Nullable on purpose: adding a NOT NULL column makes SQLite rebuild the table, and the
    # rebuild would drop the append-only triggers (accounts/0008).
    user_agent = models.CharField(_("user agent"), max_length=300, null=True, blank=True)
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit log")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        # In TIME_ZONE (Asia/Jakarta), as the admin's lists show it, not the stored UTC.
        when = timezone.localtime(self.created_at)
        about = f" · {self.subject.user_id}" if self.subject_id else ""
        return f"{when:%d/%m/%Y %H:%M:%S %Z} · {self.get_action_display()}{about}"


class ProfileChangeQuerySet(models.QuerySet):
    def open(self):
        return self.filter(
            state__in=[ProfileChange.State.AWAITING_CURRENT, ProfileChange.State.AWAITING_NEW]
        )


class ProfileChange(models.Model):
    """A customer's pending change of a factor (mobile phone or email), in two steps.

    Step 1 confirms the wish with an OTP on the *current* factor (the challenge named by
    ``current_challenge_ref``); step 2 proves the customer holds the *new* one (for a phone,
    the code sent to it, ``new_challenge_ref``; for an email, a signed link sent to it). Only
    then does the user's phone or email change.
    """

    class Kind(models.TextChoices):
        PHONE = "phone", _("Mobile phone")
        EMAIL = "email", _("Email")

    class State(models.TextChoices):
        AWAITING_CURRENT = "awaiting_current", _("Waiting for the OTP on the current factor")
        AWAITING_NEW = "awaiting_new", _("Waiting for the new phone or email to be verified")
        COMPLETED = "completed", _("Completed")
        VOIDED = "voided", _("Voided")
        # The new number could not be used (another customer's, say): found only after both
        # codes, and counted per customer per day (PHONE_CHANGE_REFUSALS_PER_DAY).
        REFUSED = "refused", _("Refused")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile_changes"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    new_phone = PhoneNumberField(_("new mobile phone"), region="ID", blank=True)
    new_email = models.EmailField(_("new email"), blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.AWAITING_CURRENT)
    # The ids of the challenges that ``tokens`` issued for step 1 and step 2: opaque here (no
    # foreign key up the dependency order); the views resolve them through ``tokens``.
    current_challenge_ref = models.UUIDField(null=True, blank=True, editable=False)
    new_challenge_ref = models.UUIDField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    current_confirmed_at = models.DateTimeField(null=True, blank=True)
    # When the verification link was last emailed (a resend waits for the cooldown).
    link_sent_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    refused_at = models.DateTimeField(null=True, blank=True)

    objects = ProfileChangeQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="phone", new_email="") & ~models.Q(new_phone="")
                | models.Q(kind="email", new_phone="") & ~models.Q(new_email=""),
                name="accounts_profilechange_value_fits_kind",
            )
        ]

    def __str__(self):
        return f"{self.kind} change {self.pk} ({self.state})"

    @property
    def new_value(self):
        return self.new_phone if self.kind == self.Kind.PHONE else self.new_email


class EmailMessage(models.Model):
    """One security notice emailed to a customer, and what became of it (the outbox).

    Written in the transaction that decides to tell the customer; the Celery task gets only
    the row's id, claims it (pending → sending) with one conditional UPDATE and records the
    outcome, so it is sent at most once and the audit says what really happened. The text is
    an untranslated notice and its non-secret parameters, rendered when sent.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENDING = "sending", _("Being sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    # Customers are deactivated, never deleted: what they were told stays on record.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="email_messages",
    )
    to = models.EmailField(_("to"))
    notice = models.JSONField(default=dict, blank=True)
    language = models.CharField(max_length=8, default="id")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("email")
        verbose_name_plural = _("emails")
        ordering = ["-created_at"]

    def __str__(self):
        return f"Email {self.pk} {self.state}"


class LoginAddressThrottle(models.Model):
    """Failed logins from one network address (an IPv4 address or an IPv6 /64), counted in
    the database so every web process sees them; too many lock the address for a while.

    ``failures`` counts failed attempts in the window and attempts still being checked (each
    is counted before its password is compared and given back if it logs in), so parallel
    requests cannot compare more passwords than the limit.
    """

    address = models.CharField(max_length=64, unique=True)
    failures = models.PositiveIntegerField(default=0)
    window_started_at = models.DateTimeField(default=timezone.now)
    locked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.address} {self.failures}"


class ContactChangeRequestQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(state=ContactChangeRequest.State.PENDING)


class ContactChangeRequest(models.Model):
    """A staff change of a customer's mobile phone or email, waiting for a second person.

    A member of staff who may ask (``accounts.change_phone`` / ``accounts.change_email``)
    writes the new value and why; a supervisor who is someone else
    (``accounts.approve_contact_change``) approves or rejects it. Only an approval changes the
    customer's phone or email (four eyes); the database refuses an approver who is the
    requester.
    """

    class Kind(models.TextChoices):
        PHONE = "phone", _("Mobile phone")
        EMAIL = "email", _("Email")

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting for approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        VOIDED = "voided", _("Replaced by a later change")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="contact_change_requests",
        verbose_name=_("customer"),
    )
    kind = models.CharField(_("what"), max_length=10, choices=Kind.choices)
    new_phone = PhoneNumberField(_("new mobile phone"), region="ID", blank=True)
    new_email = models.EmailField(_("new email"), blank=True)
    reason = models.TextField(_("reason"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("asked by"),
    )
    requested_at = models.DateTimeField(_("asked at"), default=timezone.now)
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("note of the decision"), blank=True)

    objects = ContactChangeRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("change of phone or email")
        verbose_name_plural = _("changes of phone or email")
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="phone", new_email="") & ~models.Q(new_phone="")
                | models.Q(kind="email", new_phone="") & ~models.Q(new_email=""),
                name="accounts_contactchangerequest_value_fits_kind",
            ),
            # Four eyes, held by the database too: whoever decides is not who asked.
            models.CheckConstraint(
                condition=models.Q(decided_by__isnull=True)
                | ~models.Q(decided_by=models.F("requested_by")),
                name="accounts_contactchangerequest_four_eyes",
            ),
            # Approved or rejected means someone decided; pending means nobody did yet.
            models.CheckConstraint(
                condition=models.Q(state__in=["approved", "rejected"], decided_by__isnull=False)
                | models.Q(state="pending", decided_by__isnull=True)
                | models.Q(state="voided"),
                name="accounts_contactchangerequest_decided_by_someone",
            ),
            models.UniqueConstraint(
                fields=["user", "kind"],
                condition=models.Q(state="pending"),
                name="accounts_contactchangerequest_one_pending_per_kind",
            ),
        ]

    def __str__(self):
        return f"{self.kind} change {self.pk} of {self.user_id} ({self.state})"

    @property
    def new_value(self):
        return self.new_phone if self.kind == self.Kind.PHONE else self.new_email

    @property
    def new_value_masked(self) -> str:
        from portal.formatting import email_masked, phone_masked

        if self.kind == self.Kind.PHONE:
            return phone_masked(self.new_phone)
        return email_masked(self.new_email)


class PasswordReset(models.Model):
    """One try at "Lupa Password?": identity asked, an SMS OTP, then a new password.

    A row is written for every try, whether the data matched or not (the tries are counted
    per typed User ID and per network address from these rows, and both kinds of try go
    through the same pages). ``user`` is set only when User ID, birth date and account number
    all matched a customer who may reset; a reset without one can never be verified. The id
    is random and lives in the browser's session; the code's challenge is named by its id
    only (no foreign key up the dependency order).
    """

    class State(models.TextChoices):
        ASKED = "asked", _("Waiting for the code")
        VERIFIED = "verified", _("Code verified, waiting for the new password")
        COMPLETED = "completed", _("Password reset")
        SENT_TO_BANK = "sent_to_bank", _("Sent to the bank (blocked or no phone)")
        THROTTLED = "throttled", _("Refused: too many tries")

    # The states whose page is the code step (a customer sent to the bank sees it too).
    CODE_STEP_STATES = (State.ASKED, State.SENT_TO_BANK)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="password_resets",
    )
    # What the throttle counts: the User ID as typed, in lower case when it names a user,
    # else its keyed hash (accounts.services.login_user_id_resolve); and the network address.
    user_key = models.CharField(max_length=64, db_index=True)
    address = models.CharField(max_length=64, blank=True, db_index=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.ASKED)
    challenge_ref = models.UUIDField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # When the (real or pretended) code was last sent: the resend cooldown and the code's
    # lifetime are shown from it, the same for a reset whose data matched and one whose did not.
    code_sent_at = models.DateTimeField(null=True, blank=True)
    # Wrong codes on the current (pretended) code and in a row: a reset whose data did not
    # match answers like a real one (tries left, voided, blocked) without counting anywhere.
    attempts = models.PositiveSmallIntegerField(default=0)
    failures = models.PositiveSmallIntegerField(default=0)
    verified_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(state__in=["verified", "completed"])
                | models.Q(user__isnull=False, verified_at__isnull=False),
                name="accounts_passwordreset_verified_has_user",
            )
        ]

    def __str__(self):
        return f"Password reset {self.pk} ({self.state})"


class PasswordChange(models.Model):
    """A logged-in customer's change of password, waiting for its OTP ("Ganti Password").

    Holds only the new password's hash (``make_password``), never the password itself; the
    hash becomes the user's password when the OTP confirms, and is then blanked.
    """

    class State(models.TextChoices):
        AWAITING_OTP = "awaiting_otp", _("Waiting for the OTP")
        COMPLETED = "completed", _("Completed")
        VOIDED = "voided", _("Voided")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="password_changes"
    )
    password_hash = models.CharField(max_length=256, blank=True, editable=False)
    state = models.CharField(max_length=20, choices=State.choices, default=State.AWAITING_OTP)
    challenge_ref = models.UUIDField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Password change {self.pk} ({self.state})"
