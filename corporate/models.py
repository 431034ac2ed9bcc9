from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from accounts.models import Company


class CorporateRequestQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status__in=CorporateRequest.OPEN_STATUSES)

    def queue(self):
        """What staff still have to act on: submitted (officer) or waiting for a supervisor."""
        return self.filter(
            status__in=[
                CorporateRequest.Status.SUBMITTED,
                CorporateRequest.Status.AWAITING_SUPERVISOR,
            ]
        )


class CorporateRequest(models.Model):
    """A corporate user's request to the bank, processed by staff in the admin (issue 11):

    * **token replacement** ("Penggantian Hard Token ke SMS OTP", the bank's form): the
      hard token no longer works (battery, lost, damaged); on approval the user confirms with
      SMS OTP until a new token is activated;
    * **phone/email change**: the company's users change their phone or email only this way,
      with a signed data-update form, never by the retail OTP self-service.

    The typed fields are kept as the user typed them (staff compare them with the records);
    ``new_phone`` / ``new_email`` are set only where the typed value differs from the records,
    and then a signed form must be attached (``document_*``: stored under
    ``CORPORATE_UPLOAD_DIR`` by a random name, never served publicly). A branch officer
    processes it; a change of phone or email also needs a supervisor who is someone else
    (the database holds that too).
    """

    class Kind(models.TextChoices):
        TOKEN_REPLACEMENT = "token_replacement", _("Hard token replacement with SMS OTP")
        CONTACT_CHANGE = "contact_change", _("Change of mobile phone or email")

    class Reason(models.TextChoices):
        BATTERY_DEAD = "battery_dead", _("Battery dead or low")
        LOST = "lost", _("Lost")
        DAMAGED = "damaged", _("Damaged")

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        NEEDS_CORRECTION = "needs_correction", _("Needs correction")
        AWAITING_SUPERVISOR = "awaiting_supervisor", _("Waiting for supervisor approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    OPEN_STATUSES = (Status.SUBMITTED, Status.NEEDS_CORRECTION, Status.AWAITING_SUPERVISOR)

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="corporate_requests",
        verbose_name=_("user"),
    )
    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="requests", verbose_name=_("company")
    )
    # What the user typed (the bank's form), checked against the records when submitted.
    company_name = models.CharField(_("company name"), max_length=150)
    cif = models.CharField(_("CIF"), max_length=20)
    corporate_id = models.CharField(_("Corporate ID"), max_length=20)
    typed_user_id = models.CharField(_("User ID"), max_length=30)
    token_serial = models.CharField(_("hard token serial"), max_length=32, blank=True)
    phone = PhoneNumberField(_("registered mobile phone"), region="ID")
    email = models.EmailField(_("registered email"))
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices, blank=True)
    # Set only where the typed value differs from the bank's records when submitted.
    new_phone = PhoneNumberField(_("new mobile phone"), region="ID", blank=True)
    new_email = models.EmailField(_("new email"), blank=True)
    # The signed data-update form: a random file name under CORPORATE_UPLOAD_DIR; the type is
    # what its bytes are (filetype), not its name or the browser's word.
    document_path = models.CharField(max_length=100, blank=True, editable=False)
    document_name = models.CharField(_("file name"), max_length=200, blank=True)
    document_type = models.CharField(_("file type"), max_length=30, blank=True)
    document_size = models.PositiveIntegerField(_("file size (bytes)"), null=True, blank=True)
    document_sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.SUBMITTED
    )
    # The staff's last word to the user (correction asked, reason of a rejection, approval).
    staff_message = models.TextField(_("message from the bank"), blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)
    resubmitted_at = models.DateTimeField(_("resubmitted at"), null=True, blank=True)
    returned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("correction asked by"),
    )
    returned_at = models.DateTimeField(_("correction asked at"), null=True, blank=True)
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("approved by (officer)"),
    )
    officer_at = models.DateTimeField(_("approved by the officer at"), null=True, blank=True)
    supervisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("approved by (supervisor)"),
    )
    supervisor_at = models.DateTimeField(_("approved by the supervisor at"), null=True, blank=True)
    rejected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("rejected by"),
    )
    rejected_at = models.DateTimeField(_("rejected at"), null=True, blank=True)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    # The token the request was about, and the state it was given on approval.
    old_token_state = models.CharField(max_length=20, blank=True, editable=False)

    objects = CorporateRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("corporate request")
        verbose_name_plural = _("corporate requests")
        ordering = ["-submitted_at", "-pk"]
        permissions = [
            ("process_corporaterequest", "Can process corporate requests (officer step)"),
        ]
        constraints = [
            # Four eyes, held by the database too: the supervisor is not the officer.
            models.CheckConstraint(
                condition=models.Q(supervisor__isnull=True)
                | ~models.Q(supervisor=models.F("officer")),
                name="corporate_request_supervisor_is_not_officer",
            ),
            # Waiting for a supervisor means an officer approved.
            models.CheckConstraint(
                condition=~models.Q(status="awaiting_supervisor") | models.Q(officer__isnull=False),
                name="corporate_request_awaiting_supervisor_has_officer",
            ),
            # Approved means an officer approved, and a supervisor too when phone or email
            # change: no change of a factor takes effect on one person's word.
            models.CheckConstraint(
                condition=~models.Q(status="approved")
                | models.Q(officer__isnull=False, new_phone="", new_email="")
                | models.Q(officer__isnull=False, supervisor__isnull=False),
                name="corporate_request_approved_by_enough_people",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="token_replacement")
                | (~models.Q(token_serial="") & ~models.Q(reason="")),
                name="corporate_request_token_kind_has_serial_and_reason",
            ),
            models.CheckConstraint(
                condition=models.Q(new_phone="", new_email="") | ~models.Q(document_path=""),
                name="corporate_request_change_has_signed_form",
            ),
            # One open request per user and kind.
            models.UniqueConstraint(
                fields=["user", "kind"],
                condition=models.Q(
                    status__in=["submitted", "needs_correction", "awaiting_supervisor"]
                ),
                name="corporate_request_one_open_per_user_and_kind",
            ),
        ]

    def __str__(self):
        return f"{self.reference} {self.get_kind_display()} ({self.get_status_display()})"

    @property
    def reference(self) -> str:
        return f"PGJ-{self.pk:06d}" if self.pk else "PGJ-?"

    @property
    def changes_contact(self) -> bool:
        return bool(self.new_phone or self.new_email)

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES
