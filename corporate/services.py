"""Corporate requests (issue 11): a company's user asks the bank to replace a hard token with
SMS OTP, or to change their phone or email, with a signed form when phone or email change;
staff process it in the admin (officer; a supervisor who is someone else when phone or email
change). Every rule is checked here, under the locks it guards, and every step is audited.
"""

import hashlib
import os
import secrets
import unicodedata
from pathlib import Path

import filetype
import phonenumbers
from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Prefetch, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from accounts import exceptions as account_exceptions
from accounts import services as account_services
from accounts.models import AuditEvent, User
from portal.formatting import email_masked, phone_masked
from tokens import hardware
from tokens import services as otp_services
from tokens.exceptions import TokenActionRefused
from tokens.hardware.lifecycle import sms_fallback_set
from tokens.models import HardwareToken

from . import exceptions
from .models import CorporateRequest

PERM_VIEW = "corporate.view_corporaterequest"
PERM_PROCESS = "corporate.process_corporaterequest"
# The supervisor's step reuses the permission of the staff four-eyes change of phone/email.
PERM_SUPERVISE = account_services.PERM_APPROVE_CHANGE
# What each staff role may do with corporate requests (migration corporate 0002 holds a
# frozen copy): a branch officer and a supervisor process them; the supervisor's second
# approval needs accounts.approve_contact_change, which only supervisors have.
CORPORATE_ROLE_PERMISSIONS = {
    "Branch officer": ["view_corporaterequest", "process_corporaterequest"],
    "Supervisor": ["view_corporaterequest", "process_corporaterequest"],
}
# Signed forms: what their bytes may be, and the extension a stored file gets.
DOCUMENT_TYPES = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}

APPROVED_TOKEN_TEXT = gettext_noop(
    "Bank Nusantara: request %(reference)s approved, you can transact again with SMS OTP to "
    "%(phone)s until a new token is active. Not you? Call the bank."
)
APPROVED_CONTACT_TEXT = gettext_noop(
    "Bank Nusantara: your request %(reference)s was approved and your mobile number or email "
    "was changed as you asked. Not you? Call the bank."
)
# The reason the system writes on the changes an approval makes (shown to staff in their
# language through accounts.admin.AUDIT_REASONS, extended by corporate.admin).
APPROVED_REASON = "corporate request approved"
RETURNED_TEXT = gettext_noop(
    "Bank Nusantara: your request %(reference)s needs a correction. See Request status in "
    "Internet Banking."
)
# To the registered phone and email when a request is filed: the real owner hears of a request
# someone else filed with their password before staff act on it.
SUBMITTED_TEXT = gettext_noop(
    "Bank Nusantara: we received request %(reference)s about your token, phone or email. "
    "Not you? Call the bank at once."
)
REJECTED_TEXT = gettext_noop(
    "Bank Nusantara: your request %(reference)s was rejected. See Request status in Internet "
    "Banking for the reason."
)


def corporate_roles_grant() -> None:
    """Give the staff roles their corporate permissions (idempotent; adds, never removes).

    Migration 0002 does this on ``migrate``; call it again after
    ``accounts.services.staff_create`` on a database whose groups were flushed.
    """
    from django.contrib.auth.models import Group, Permission

    for group_name, codenames in CORPORATE_ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="corporate", codename__in=codenames)
        )


# --- What the bank knows (the form's prefill and the checks) ---------------------------------


def _tokens_held_first():
    """Tokens in the order ``token_of`` picks: the newest held (active or assigned) first,
    then the one assigned last; never one revoked by a newer activation, nor one in stock."""
    held = Q(state__in=hardware.HELD_STATES)
    return HardwareToken.objects.exclude(
        state__in=[HardwareToken.State.REVOKED, HardwareToken.State.IN_STOCK]
    ).order_by(
        Case(When(held, then=Value(0)), default=Value(1)),
        Case(When(held, then=F("pk"))).desc(),
        F("assigned_at").desc(nulls_last=True),
        "-pk",
    )


def token_of(user: User) -> HardwareToken | None:
    """The hard token the user holds (active or assigned), else the one they held last (lost,
    damaged, battery dead); never one revoked by a newer activation."""
    return _tokens_held_first().filter(user=user).first()


def tokens_prefetch() -> Prefetch:
    """For a list of users: each one's tokens as ``tokens_held_first``, ``token_of``'s pick
    first, in one query for the list."""
    return Prefetch("hardware_tokens", queryset=_tokens_held_first(), to_attr="tokens_held_first")


def records_of(user: User) -> dict:
    """The bank's records of a corporate user, as the form's fields name them."""
    company = user.company  # None for a user who left the company since filing
    token = token_of(user)
    return {
        "company_name": company.name if company else "",
        "cif": company.cif if company else "",
        "corporate_id": company.corporate_id if company else "",
        "user_id": user.login_user_id,
        "token_serial": token.serial if token else "",
        "phone": user.phone,
        "email": user.email,
    }


def _same_text(a: str, b: str) -> bool:
    """Equal as people write names: case, runs of spaces and full-width forms aside."""

    def norm(text):
        return " ".join(unicodedata.normalize("NFKC", text or "").split()).casefold()

    return norm(a) == norm(b)


def _typed_check(*, user: User, kind: str, data: dict) -> tuple[dict, list]:
    """Check what the user typed against the bank's records; collect every mismatch. Returns
    the fields to store (the typed values, and the new phone/email where they differ from the
    records) and the refusals, which the caller raises together with its own as
    RequestRefused."""
    company = user.company
    errors = []
    if not _same_text(data["company_name"], company.name):
        errors.append(exceptions.CompanyNameMismatch())
    if data["cif"].strip().upper() != company.cif.upper():
        errors.append(exceptions.CifMismatch())
    if data["corporate_id"].strip().upper() != company.corporate_id:
        errors.append(exceptions.CorporateIdMismatch())
    if data["user_id"].strip().casefold() != user.login_user_id.casefold():
        errors.append(exceptions.UserIdMismatch())
    fields = {
        "company_name": data["company_name"].strip(),
        "cif": data["cif"].strip(),
        "corporate_id": data["corporate_id"].strip(),
        "typed_user_id": data["user_id"].strip(),
        "phone": data["phone"],
        "email": data["email"].strip(),
        "token_serial": "",
        "reason": "",
    }
    if kind == CorporateRequest.Kind.TOKEN_REPLACEMENT:
        serial = hardware.serial_normalise(data.get("token_serial"))
        token = token_of(user)
        if token is None or not serial or token.serial != serial:
            errors.append(exceptions.SerialMismatch())
        if data.get("reason") not in CorporateRequest.Reason.values:
            errors.append(exceptions.ReasonRequired())
        fields["token_serial"], fields["reason"] = serial, data.get("reason") or ""
    phone, email = data["phone"], data["email"].strip()
    fields["new_phone"] = "" if user.phone and str(user.phone) == str(phone) else phone
    fields["new_email"] = "" if user.email and user.email.lower() == email.lower() else email
    if fields["new_phone"]:
        number = phonenumbers.parse(str(phone), "ID")
        if phonenumbers.number_type(number) not in (
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        ):
            errors.append(exceptions.PhoneNotMobile())
    if kind == CorporateRequest.Kind.CONTACT_CHANGE and not (
        fields["new_phone"] or fields["new_email"]
    ):
        errors.append(exceptions.NothingChanged())
    return fields, errors


# --- The signed form ----------------------------------------------------------------------------


def document_max_mb() -> str:
    """``CORPORATE_UPLOAD_MAX_BYTES`` in MB as the user reads it ("5")."""
    return f"{settings.CORPORATE_UPLOAD_MAX_BYTES / (1024 * 1024):g}"


def document_check(document) -> str:
    """The content type of an uploaded signed form, decided by its bytes (``filetype``), never
    by its name or what the browser said: PDF, JPG or PNG, not empty, at most
    ``CORPORATE_UPLOAD_MAX_BYTES``. Raises DocumentEmpty, DocumentTooLarge or
    DocumentWrongType."""
    if not document.size:
        raise exceptions.DocumentEmpty()
    if document.size > settings.CORPORATE_UPLOAD_MAX_BYTES:
        raise exceptions.DocumentTooLarge(max=document_max_mb())
    document.seek(0)
    head = document.read(8192)
    document.seek(0)
    kind = filetype.guess(head)
    if kind is None or kind.mime not in DOCUMENT_TYPES:
        raise exceptions.DocumentWrongType()
    return kind.mime


def _document_store(document) -> dict:
    """Check the form and write it under ``CORPORATE_UPLOAD_DIR`` by a random name (readable
    by the portal only); returns the request's document fields."""
    mime = document_check(document)
    folder = Path(settings.CORPORATE_UPLOAD_DIR)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = secrets.token_hex(16) + DOCUMENT_TYPES[mime]
    digest, size = hashlib.sha256(), 0
    descriptor = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        for chunk in document.chunks():
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    if size > settings.CORPORATE_UPLOAD_MAX_BYTES:  # the size the browser announced lied
        (folder / name).unlink(missing_ok=True)
        raise exceptions.DocumentTooLarge(max=document_max_mb())
    return {
        "document_path": name,
        "document_name": Path(document.name or "").name[:200],
        "document_type": mime,
        "document_size": size,
        "document_sha256": digest.hexdigest(),
    }


def document_file(corporate_request: CorporateRequest) -> Path:
    return Path(settings.CORPORATE_UPLOAD_DIR) / corporate_request.document_path


def document_open(
    *,
    corporate_request: CorporateRequest,
    actor: User,
    ip: str | None = None,
    inline: bool = False,
):
    """Open a request's signed form for a member of staff who processes requests (the officer
    or supervisor permission), audited as CORPORATE_DOCUMENT_VIEWED (``inline``: shown in the
    browser rather than downloaded, said in the audit). Returns a binary file."""
    _staff_check(actor=actor, user=corporate_request.user)
    if not (actor.has_perm(PERM_PROCESS) or actor.has_perm(PERM_SUPERVISE)):
        raise account_exceptions.NotPermitted()
    if not corporate_request.document_path:
        raise FileNotFoundError
    handle = open(document_file(corporate_request), "rb")  # noqa: SIM115 (the response closes it)
    account_services.audit_log(
        action=AuditEvent.Action.CORPORATE_DOCUMENT_VIEWED,
        subject=corporate_request.user,
        actor=actor,
        ip=ip,
        data={
            "request": corporate_request.pk,
            "sha256": corporate_request.document_sha256,
            "shown": "inline" if inline else "download",
        },
    )
    return handle


# --- The company's user ---------------------------------------------------------------------


def _audit_data(corporate_request: CorporateRequest) -> dict:
    data = {"request": corporate_request.pk, "kind": corporate_request.kind}
    if corporate_request.new_phone:
        data["new_phone"] = phone_masked(corporate_request.new_phone)
    if corporate_request.new_email:
        data["new_email"] = email_masked(corporate_request.new_email)
    if corporate_request.reason:
        data["reason"] = corporate_request.reason
    return data


def _fields_apply(*, user: User, kind: str, data: dict, document, previous=None) -> dict:
    """The typed fields checked, and the signed form checked and stored when one is needed.

    A correction keeps the form it attached before only for the same new phone and email:
    the form was signed for those values, and another value needs a form signed for it.
    """
    fields, errors = _typed_check(user=user, kind=kind, data=data)
    changes = bool(fields["new_phone"] or fields["new_email"])
    # Every refusal in one round: a missing reason does not hide a missing signed form.
    if document is None and changes and not _signed_for(previous, fields):
        errors.append(exceptions.DocumentRequired())
    if errors:
        raise exceptions.RequestRefused(errors)
    if document is not None:
        fields.update(_document_store(document))
    return fields


def _signed_for(previous: CorporateRequest | None, fields: dict) -> bool:
    """The earlier request's signed form covers these typed values."""
    return (
        previous is not None
        and bool(previous.document_path)
        and str(previous.new_phone or "") == str(fields["new_phone"] or "")
        and (previous.new_email or "").casefold() == (fields["new_email"] or "").casefold()
    )


@transaction.atomic
def request_submit(
    *, user: User, kind: str, data: dict, document=None, ip: str | None = None
) -> CorporateRequest:
    """A company's user submits a request (the bank's form): the fields must match the bank's
    records (the serial the user's token), a signed form is attached when the phone or email
    typed differ from the records, and a user has one open request of a kind at a time.

    Needs no token: a user whose token died logs in with the password and files this. Under
    the lock of the user's row (with a database constraint behind it). Audited.
    """
    if user.company_id is None or user.is_staff:
        raise exceptions.NotCorporate()
    user = User.objects.select_for_update().get(pk=user.pk)
    open_request = CorporateRequest.objects.open().filter(user=user, kind=kind).first()
    if open_request is not None:
        raise exceptions.OpenRequestExists(corporate_request=open_request)
    if kind == CorporateRequest.Kind.TOKEN_REPLACEMENT and (
        user.confirmation_method == User.ConfirmationMethod.SMS
    ):
        raise exceptions.AlreadySms()
    fields = _fields_apply(user=user, kind=kind, data=data, document=document)
    corporate_request = CorporateRequest(kind=kind, user=user, company=user.company, **fields)
    corporate_request.full_clean()
    corporate_request.save()
    account_services.audit_log(
        action=AuditEvent.Action.CORPORATE_REQUEST_SUBMITTED,
        subject=user,
        actor=user,
        ip=ip,
        data=_audit_data(corporate_request),
    )
    otp_services.notice_send(
        user=user, text=SUBMITTED_TEXT, params={"reference": corporate_request.reference}
    )
    return corporate_request


@transaction.atomic
def request_resubmit(
    *,
    corporate_request: CorporateRequest,
    user: User,
    data: dict,
    document=None,
    ip: str | None = None,
) -> CorporateRequest:
    """The user corrects a request staff returned ("Perlu perbaikan") and submits it again:
    the same checks as a new one; a signed form attached before is kept unless a new one is
    attached. Only the request's own user, only while it needs correction. Audited."""
    user = User.objects.select_for_update().get(pk=user.pk)
    locked = CorporateRequest.objects.select_for_update().get(pk=corporate_request.pk)
    if locked.user_id != user.pk or locked.status != CorporateRequest.Status.NEEDS_CORRECTION:
        raise exceptions.NotCorrectable()
    fields = _fields_apply(
        user=user, kind=locked.kind, data=data, document=document, previous=locked
    )
    # The request keeps the last signed form only: the one it replaces is named in the audit
    # (its name and digest), which staff read on the request's page.
    replaced = {}
    if "document_path" in fields and locked.document_path:
        replaced = {
            "replaced_document": locked.document_name,
            "replaced_sha256": locked.document_sha256,
        }
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.status, locked.resubmitted_at = CorporateRequest.Status.SUBMITTED, timezone.now()
    locked.full_clean()
    locked.save()
    account_services.audit_log(
        action=AuditEvent.Action.CORPORATE_REQUEST_RESUBMITTED,
        subject=user,
        actor=user,
        ip=ip,
        data={**_audit_data(locked), **replaced},
    )
    otp_services.notice_send(user=user, text=SUBMITTED_TEXT, params={"reference": locked.reference})
    return locked


# --- Staff ----------------------------------------------------------------------------------


def _staff_check(*, actor: User, user: User) -> None:
    if actor is None or not (actor.is_active and actor.is_staff):
        raise account_exceptions.NotPermitted()
    if actor.pk == user.pk:
        raise account_exceptions.OwnRecord()


def _locked(corporate_request: CorporateRequest) -> CorporateRequest:
    """The user's row, then the request's: the order every change of a phone or email locks."""
    User.objects.select_for_update().only("pk").get(pk=corporate_request.user_id)
    return (
        CorporateRequest.objects.select_for_update(of=("self",))
        .select_related("user", "company")
        .get(pk=corporate_request.pk)
    )


def _step_permission(*, locked: CorporateRequest, actor: User) -> None:
    """Who may act on a request in its current step: the officer step (submitted) needs
    PERM_PROCESS, the supervisor step PERM_SUPERVISE."""
    _staff_check(actor=actor, user=locked.user)
    if locked.status == CorporateRequest.Status.SUBMITTED:
        needed = PERM_PROCESS
    elif locked.status == CorporateRequest.Status.AWAITING_SUPERVISOR:
        needed = PERM_SUPERVISE
    else:
        raise exceptions.RequestNotInStep()
    if not actor.has_perm(needed):
        raise account_exceptions.NotPermitted()


def request_return(
    *, corporate_request: CorporateRequest, actor: User, message: str, ip: str | None = None
) -> CorporateRequest:
    """Staff ask the user to correct the request, with a message the user reads; the officer
    step starts again when it is resubmitted. Audited; the user is told."""

    def returned(locked):
        locked.returned_by, locked.returned_at = actor, timezone.now()
        locked.officer, locked.officer_at = None, None

    return _staff_decision(
        corporate_request=corporate_request,
        actor=actor,
        message=message,
        ip=ip,
        status=CorporateRequest.Status.NEEDS_CORRECTION,
        record=returned,
        action=AuditEvent.Action.CORPORATE_REQUEST_RETURNED,
        text=RETURNED_TEXT,
    )


def request_reject(
    *, corporate_request: CorporateRequest, actor: User, message: str, ip: str | None = None
) -> CorporateRequest:
    """Staff reject the request with a reason the user reads; nothing changes for the user.
    Audited; the user is told."""

    def rejected(locked):
        locked.rejected_by, locked.rejected_at = actor, timezone.now()

    return _staff_decision(
        corporate_request=corporate_request,
        actor=actor,
        message=message,
        ip=ip,
        status=CorporateRequest.Status.REJECTED,
        record=rejected,
        action=AuditEvent.Action.CORPORATE_REQUEST_REJECTED,
        text=REJECTED_TEXT,
    )


@transaction.atomic
def _staff_decision(
    *, corporate_request, actor, message, ip, status, record, action, text
) -> CorporateRequest:
    """A staff decision with a message the user reads (a correction asked, a rejection):
    under the request's lock, by whoever may act in its step; audited; the user is told."""
    if not message.strip():
        raise account_exceptions.ReasonRequired()
    locked = _locked(corporate_request)
    _step_permission(locked=locked, actor=actor)
    locked.status, locked.staff_message = status, message.strip()
    record(locked)
    locked.save()
    account_services.audit_log(
        action=action,
        subject=locked.user,
        actor=actor,
        ip=ip,
        reason=locked.staff_message,
        data=_audit_data(locked),
    )
    otp_services.notice_send(user=locked.user, text=text, params={"reference": locked.reference})
    return locked


@transaction.atomic
def request_approve(
    *, corporate_request: CorporateRequest, actor: User, message: str = "", ip: str | None = None
) -> CorporateRequest:
    """Approve the request in its current step.

    Officer step (``PERM_PROCESS``): a request that changes the phone or email then waits for
    a supervisor; one that does not takes effect now. Supervisor step (``PERM_SUPERVISE``,
    someone other than the officer; the database refuses the same person too): it takes
    effect. Taking effect is one transaction (``_request_complete``); if any part fails,
    nothing of it happened. Audited.
    """
    locked = _locked(corporate_request)
    _step_permission(locked=locked, actor=actor)
    now = timezone.now()
    if locked.status == CorporateRequest.Status.SUBMITTED:
        # The officer's word replaces the message of a correction asked before (the audit
        # trail keeps that one): the user must not read an old correction as the answer.
        locked.staff_message = message.strip()
        locked.officer, locked.officer_at = actor, now
        account_services.audit_log(
            action=AuditEvent.Action.CORPORATE_REQUEST_APPROVED,
            subject=locked.user,
            actor=actor,
            ip=ip,
            reason=message.strip(),
            data=_audit_data(locked),
        )
        if locked.changes_contact:
            locked.status = CorporateRequest.Status.AWAITING_SUPERVISOR
            locked.save()
            return locked
    else:
        if actor.pk == locked.officer_id:
            raise exceptions.SupervisorMustDiffer()
        if message.strip():
            locked.staff_message = message.strip()
        locked.supervisor, locked.supervisor_at = actor, now
        account_services.audit_log(
            action=AuditEvent.Action.CORPORATE_REQUEST_SUPERVISED,
            subject=locked.user,
            actor=actor,
            ip=ip,
            reason=message.strip(),
            data={**_audit_data(locked), "officer": locked.officer.user_id},
        )
    _request_complete(locked=locked, actor=actor, ip=ip)
    return locked


def _still_applies(locked: CorporateRequest) -> None:
    """Refuse an approval whose request no longer fits the user (``ApprovalRefused``):
    they left the company, or they activated another token since (the SMS fallback would
    undo it)."""
    user = locked.user
    if user.company_id != locked.company_id:
        raise exceptions.ApprovalRefused(
            detail=gettext("the user no longer belongs to the company of the request")
        )
    if (
        locked.kind == CorporateRequest.Kind.TOKEN_REPLACEMENT
        and HardwareToken.objects.filter(user=user, state=HardwareToken.State.ACTIVE)
        .exclude(serial=locked.token_serial)
        .exists()
    ):
        raise exceptions.ApprovalRefused(
            detail=gettext("the user activated another token since the request was filed")
        )


def _request_complete(*, locked: CorporateRequest, actor: User, ip: str | None) -> None:
    """The approved request takes effect, inside the approval's transaction: the phone and
    email change where they differ (through the services every change goes through, audited),
    the old token is marked with the reason and the user moves to SMS OTP (token
    replacement), the request is approved, and the user is told by SMS and email.

    The notices are rows written here (``notice_send``) and sent by Celery after commit: if
    writing them fails, the whole approval rolls back (nothing half-done); a delivery that
    fails later leaves the approval in place and its failure on record.
    """
    user = locked.user
    _still_applies(locked)
    reason = APPROVED_REASON
    data = {"request": locked.pk}
    try:
        if locked.new_phone:
            otp_services.phone_number_change(
                user=user, new_phone=locked.new_phone, actor=actor, reason=reason, ip=ip, data=data
            )
        if locked.new_email:
            account_services.email_address_set(
                user=user, new_email=locked.new_email, actor=actor, reason=reason, ip=ip, data=data
            )
        if locked.kind == CorporateRequest.Kind.TOKEN_REPLACEMENT:
            token = HardwareToken.objects.filter(user=user, serial=locked.token_serial).first()
            if token is not None and token.state in hardware.HELD_STATES:
                hardware.token_state_change(
                    token=token, state=locked.reason, actor=actor, reason=reason, ip=ip
                )
            locked.old_token_state = locked.reason
            user.refresh_from_db(fields=["confirmation_method", "phone"])
            if user.confirmation_method != User.ConfirmationMethod.SMS:
                sms_fallback_set(user=user, actor=actor, reason=reason, ip=ip)
    except account_exceptions.PhoneNotAvailable:
        raise account_exceptions.PhoneInUse() from None
    except (account_exceptions.SameEmail, TokenActionRefused) as error:
        raise exceptions.ApprovalRefused(detail=str(error)) from None
    locked.status, locked.approved_at = CorporateRequest.Status.APPROVED, timezone.now()
    locked.full_clean()
    locked.save()
    user.refresh_from_db(fields=["phone", "email", "confirmation_method"])
    if locked.kind == CorporateRequest.Kind.TOKEN_REPLACEMENT:
        text, params = APPROVED_TOKEN_TEXT, {"phone": phone_masked(user.phone)}
    else:
        text, params = APPROVED_CONTACT_TEXT, {}
    otp_services.notice_send(user=user, text=text, params={**params, "reference": locked.reference})
