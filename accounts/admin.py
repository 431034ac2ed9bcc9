"""The staff side: customer search and page, flag/unblock, changes of phone or email asked
for a supervisor's approval, the audit log. (The site itself: ``accounts.admin_site``.)

The admin is a view layer: every write goes through ``accounts.services``, which checks the
actor's permissions again. Staff never see password hashes, session keys or OTP secrets:
customers are shown through a page of our own, not a model form. What other apps hold about
a customer (tokens: SMS; payments: accounts and transfers) they add to this page themselves
(``CustomerAdmin.page_parts``, ``CustomerAdmin.lookups``), since they depend on accounts and
accounts imports nothing of theirs.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

import phonenumbers
from axes.models import AccessAttempt
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db import transaction
from django.db.models import Exists, IntegerField, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce, Lower
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _
from django_otp import devices_for_user
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.admin import ReadOnlyAdminMixin
from portal.exceptions import CustomerError
from portal.formatting import email_masked, phone_masked, rupiah
from portal.templatetags.portal import staff_time

from . import selectors, services
from .forms import (
    AccessFlagForm,
    AccessUnblockForm,
    StaffEmailChangeForm,
    StaffPasswordResetForm,
    StaffPhoneChangeForm,
)
from .models import AccessBlock, AuditEvent, Company, ContactChangeRequest, User
from .views import client_ip

RECENT = 10


@dataclass(frozen=True)
class CustomerPagePart:
    """A section another app adds to the customer page: its template, and the context it
    needs for one customer (``context(request, customer) -> dict``, given as ``part``)."""

    template: str
    context: Callable


# --- The audit log and staff results as sentences ---------------------------------------------
# Events keep stable codes and the system's reasons in English (the log is append-only and read
# by programs too); staff read them in their own language through these tables, old events
# included. The apps above accounts add the codes they store (token states, OTP purposes,
# failure reasons) to ``AUDIT_VALUES`` from their admin modules, as they add page parts.

LIFTED_SENTENCES = {
    "lost_phone": _("The block for a lost phone was lifted."),
    "staff_flag": _("The block set by staff was lifted."),
    "self_flag": _("The block the customer set was lifted."),
    "otp_failures": _("The block after too many wrong OTPs was lifted."),
    "login_lockout": _("The login lock after wrong passwords was lifted."),
}

AUDIT_KEYS = {
    "kind": _("Kind"),
    "lifted": _("Lifted"),
    "purpose": _("Purpose"),
    "challenge": _("Challenge"),
    "reason": _("Why"),
    "consecutive": _("Failures in a row"),
    "serial": _("Serial number"),
    "from": _("From"),
    "to": _("To"),
    "replaced": _("Replaced tokens"),
    "resynchronised": _("Resynchronised"),
    "reference": _("Reference"),
    "amount": _("Amount"),
    "role": _("Role"),
    "user_id": _("User ID typed"),
    "policy": _("OTP policy"),
    "text": _("Message"),
    "email": _("Also by email"),
    "email_message": _("Email"),
    "address": _("Network address (key)"),
    "failures": _("Failures"),
    "cooloff_seconds": _("Locked for (seconds)"),
    "count": _("Count"),
    "window_seconds": _("Window (seconds)"),
    "device": _("Device"),
    "device_id": _("Device number"),
    "payee": _("Payee"),
    "account": _("Account"),
    "request": _("Request"),
    "new": _("New"),
    "old": _("Old"),
    "source": _("Source account"),
    "destination": _("Destination account"),
}

AUDIT_VALUES = {
    **dict(AccessBlock.Kind.choices),
    "login_lockout": _("Login locked after wrong passwords"),
    **dict(User.ConfirmationMethod.choices),
    **dict(ContactChangeRequest.Kind.choices),
    "totp": _("Authenticator app (TOTP)"),
    "agent": _("Call centre agent"),
    "branch": _("Branch officer"),
    "supervisor": _("Supervisor"),
    "per_transaction": _("one OTP per transaction"),
    "per_session": _("one OTP per session"),
    "transfer": _("transfer"),
    "add_payee": _("add a payee"),
    "profile_update": _("profile update"),
    "phone_change": _("phone number change"),
    "phone_verify": _("new phone number check"),
    "email_change": _("email change"),
    "corporate_payment": _("corporate payment"),
    "login": _("login"),
    "password_reset": _("forgotten password"),
    "password_change": _("password change"),
    "mobile_registration": _("Mobile Token registration"),
    "staff_reset": _("password reset by staff"),
    "initial": _("first password of an account the bank opened"),
}

# Reasons the system writes itself (free text from staff is shown as written). The writing
# sites mark them with ``gettext_noop`` and store the English msgid; staff read them through
# ``gettext``, old events included. Every literal reason the code writes is listed here
# (tests/accounts/test_admin_polish.py walks the code and checks it).
SYSTEM_REASONS = (
    gettext_noop("Staff TOTP authenticator enrolled"),
    gettext_noop("The new number cannot be used (it is registered to someone, or not a mobile)"),
    gettext_noop("replaced by a newly activated token"),
    gettext_noop("token activated"),
    gettext_noop("First password of an account the bank opened (PIN mailer)"),
    gettext_noop("Changed by the customer (current password and an OTP)"),
    gettext_noop("Changed by the customer (OTP on the old number, code to the new one)"),
    gettext_noop("Changed by the customer (OTP on the current factor, link to the new email)"),
    gettext_noop("Forgotten password: User ID, birth date, account number and an SMS OTP"),
)
# Stored reasons whose English is a code rather than a sentence: shown as another sentence.
AUDIT_REASONS = {
    "customer request": _("at the customer's own request"),
    "manage.py import_tokens": _("imported with the import_tokens command"),
}
AUDIT_REASON_PATTERNS = [
    (re.compile(r"\Arole (\w+)\Z"), gettext_noop("role %(value)s")),
    (
        re.compile(r"\A(\d+) consecutive wrong OTPs\Z"),
        gettext_noop("%(value)s wrong OTPs in a row"),
    ),
    (
        re.compile(r"\A(\d+) failed logins from one network address\Z"),
        gettext_noop("%(value)s failed logins from one network address"),
    ),
]


def lifted_sentences(lifted) -> list[str]:
    """What an unblock lifted, as sentences ("The block for a lost phone was lifted.")."""
    if not lifted:
        return [str(_("There was no block to lift."))]
    return [str(LIFTED_SENTENCES.get(kind, kind)) for kind in lifted]


def audit_reason_display(reason: str) -> str:
    """An event's reason in the reader's language when the system wrote it."""
    if reason in AUDIT_REASONS:
        return str(AUDIT_REASONS[reason])
    if reason in SYSTEM_REASONS:
        return gettext(reason)
    for pattern, message in AUDIT_REASON_PATTERNS:
        match = pattern.match(reason)
        if match:
            value = match.group(1)
            return gettext(message) % {"value": AUDIT_VALUES.get(value, value)}
    return reason


def access_state_shown(user: User) -> dict:
    """``selectors.access_state`` with each block's reason as staff read it
    (``block.reason_shown``: the system's reasons in the reader's language)."""
    access = selectors.access_state(user=user)
    for block in access["blocks"]:
        block.reason_shown = audit_reason_display(block.reason)
    return access


def _audit_value(key: str, value) -> str:
    if key == "lifted":
        return " ".join(lifted_sentences(value))
    if key == "text" and isinstance(value, str):
        return gettext(value)
    if key == "amount":
        return rupiah(value)
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, list):
        return ", ".join(_audit_value(key, item) for item in value) or "-"
    if isinstance(value, str):
        return str(AUDIT_VALUES.get(value, value)) or "-"
    return str(value)


def audit_details(event: AuditEvent) -> list[tuple[str, str]]:
    """An event's ``data`` as (label, value) pairs in the reader's language."""
    return [
        (str(AUDIT_KEYS.get(key, key)), _audit_value(key, value))
        for key, value in sorted(event.data.items())
    ]


class CustomerAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Customers (``is_staff`` False): found by an identifier, never browsed; one page each,
    and every look at it is audited."""

    list_display = ["user_id", "full_name", "cif", "phone_display", "access_display"]
    list_display_links = ["user_id", "full_name"]
    # Exact identifiers only: a partial User ID or a name would list many customers.
    search_fields = ["=user_id", "=cif"]
    search_help_text = _("User ID, CIF, mobile phone or account number (exact).")
    ordering = ["user_id"]
    list_per_page = 50
    show_full_result_count = False
    actions = None
    # Filled by the admin modules of the apps above accounts (tokens, payments).
    page_parts: list[CustomerPagePart] = []
    lookups: list[Callable] = []  # search term -> Q of customers, or None
    # How a customer is told something by SMS and email (``tokens.services.notice_send``, set
    # by tokens' admin module: accounts imports nothing of tokens).
    notice_send: Callable | None = None

    def lookup_allowed(self, lookup, value, request=None):
        # No filtering by URL parameters: that would list customers without a search.
        return False

    def get_queryset(self, request):
        attempts = (
            AccessAttempt.objects.filter(username=OuterRef("user_id_lower"))
            .values("username")
            .annotate(total=Sum("failures_since_start"))
            .values("total")
        )
        active = AccessBlock.objects.filter(user=OuterRef("pk"), lifted_at__isnull=True)
        return (
            super()
            .get_queryset(request)
            .filter(is_staff=False)
            .annotate(
                user_id_lower=Lower("user_id"),
                login_failures=Coalesce(Subquery(attempts, output_field=IntegerField()), 0),
                flagged=Exists(active.filter(kind__in=AccessBlock.LOGIN_KINDS)),
                otp_blocked=Exists(active.filter(kind=AccessBlock.Kind.OTP_FAILURES)),
            )
        )

    def get_search_results(self, request, queryset, search_term):
        """Nobody without a search term; otherwise the exact User ID or CIF, the mobile number
        however it is typed, and what the other apps look up (an account number)."""
        term = search_term.strip()
        if not term:
            return queryset.none(), False
        results, may_have_duplicates = super().get_search_results(request, queryset, term)
        extra = Q()
        if len(term) <= 30:
            try:
                number = phonenumbers.parse(term, "ID")
            except phonenumbers.NumberParseException:
                number = None
            if number is not None and phonenumbers.is_valid_number(number):
                e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                extra |= Q(phone=e164)
        for lookup in self.lookups:
            found = lookup(term)
            if found is not None:
                extra |= found
        if extra:
            results = results | queryset.filter(extra)
        return results, may_have_duplicates

    @admin.display(description=_("mobile phone"))
    def phone_display(self, obj):
        return phone_masked(obj.phone)

    @admin.display(description=_("access"))
    def access_display(self, obj):
        reasons = []
        if obj.login_failures >= selectors.login_failure_limit():
            reasons.append(_("login locked"))
        if obj.flagged:
            reasons.append(_("flagged"))
        if obj.otp_blocked:
            reasons.append(_("OTP blocked"))
        if not reasons:
            return format_html('<span class="access-state access-ok">{}</span>', _("open"))
        return format_html(
            '<span class="access-state access-blocked">{}</span>', ", ".join(map(str, reasons))
        )

    def get_urls(self):
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/flag/", wrap(self.flag_view), name=f"{info}_flag"),
            path("<path:object_id>/unblock/", wrap(self.unblock_view), name=f"{info}_unblock"),
            path("<path:object_id>/phone/", wrap(self.phone_view), name=f"{info}_phone"),
            path("<path:object_id>/email/", wrap(self.email_view), name=f"{info}_email"),
            path(
                "<path:object_id>/password-reset/",
                wrap(self.password_reset_view),
                name=f"{info}_password_reset",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(
            request, {"title": _("Find a customer"), **(extra_context or {})}
        )

    def _customer(self, request, object_id) -> User:
        """The customer a page of their record is about; every such look is audited (the
        overview, each action page, the history)."""
        customer = self.get_object(request, object_id)
        if customer is None:
            raise Http404
        if not self.has_view_permission(request, customer):
            raise PermissionDenied
        services.customer_view_record(
            customer=customer, actor=request.user, ip=client_ip(request)
        )
        return customer

    def history_view(self, request, object_id, extra_context=None):
        self._customer(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def _overview_url(self, customer) -> str:
        return reverse("admin:accounts_user_change", args=[customer.pk])

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """One page: access state and why, devices, pending changes, what the other apps add
        (SMS, accounts, transfers), audit events. Every look at it is audited."""
        customer = self._customer(request, object_id)
        if request.method != "GET":
            raise PermissionDenied
        staff = request.user
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Customer %(user_id)s") % {"user_id": customer.user_id},
            "customer": customer,
            "email": email_masked(customer.email),
            "access": access_state_shown(customer),
            "devices": [
                {
                    "kind": device._meta.verbose_name,
                    "name": device.name,
                    "confirmed": device.confirmed,
                }
                for device in devices_for_user(customer, confirmed=None)
                # A de-registered Mobile Token stays for the audit trail (unconfirmed); the
                # tokens app's page part shows it as de-registered.
                if getattr(device, "revoked_at", None) is None
            ],
            "change_requests": ContactChangeRequest.objects.filter(user=customer)
            .pending()
            .select_related("requested_by"),
            "parts": [(part.template, part.context(request, customer)) for part in self.page_parts],
            "events": [
                {"event": event, "reason": audit_reason_display(event.reason)}
                for event in AuditEvent.objects.filter(subject=customer).select_related("actor")[
                    :RECENT
                ]
            ]
            if staff.has_perm("accounts.view_auditevent")
            else None,
            "can_flag": staff.has_perm(services.PERM_FLAG),
            "can_unblock": staff.has_perm(services.PERM_UNBLOCK),
            "can_change_phone": staff.has_perm(services.PERM_CHANGE_PHONE),
            "can_change_email": staff.has_perm(services.PERM_CHANGE_EMAIL),
            "can_reset_password": staff.has_perm(services.PERM_UNBLOCK),
        }
        return TemplateResponse(request, "admin/accounts/user/customer_overview.html", context)

    def _action_view(
        self, request, object_id, *, permission, form_class, title, perform, template=None
    ):
        customer = self._customer(request, object_id)
        if not request.user.has_perm(permission):
            raise PermissionDenied
        form = form_class(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                message = perform(customer, form.cleaned_data)
            except CustomerError as error:
                form.add_error(None, forms.ValidationError(str(error), code=error.code))
            else:
                messages.success(request, message)
                return redirect(self._overview_url(customer))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "customer": customer,
            "access": access_state_shown(customer),
            "form": form,
            "overview_url": self._overview_url(customer),
        }
        return TemplateResponse(
            request, template or "admin/accounts/user/access_action.html", context
        )

    def flag_view(self, request, object_id):
        def perform(customer, data):
            services.access_block(
                user=customer,
                kind=data["kind"],
                reason=data["reason"],
                actor=request.user,
                ip=client_ip(request),
            )
            return _("Access of %(user_id)s is flagged; open sessions were ended.") % {
                "user_id": customer.user_id
            }

        return self._action_view(
            request,
            object_id,
            permission=services.PERM_FLAG,
            form_class=AccessFlagForm,
            title=_("Flag access"),
            perform=perform,
        )

    def unblock_view(self, request, object_id):
        def perform(customer, data):
            lifted = services.access_unblock(
                user=customer, reason=data["reason"], actor=request.user, ip=client_ip(request)
            )
            done = _("Access of %(user_id)s is given back.") % {"user_id": customer.user_id}
            return " ".join([str(done), *lifted_sentences(lifted)])

        return self._action_view(
            request,
            object_id,
            permission=services.PERM_UNBLOCK,
            form_class=AccessUnblockForm,
            title=_("Unblock"),
            perform=perform,
        )

    def password_reset_view(self, request, object_id):
        """Reset a customer's password ("Reset kata sandi"): it becomes unusable and the
        customer sets a new one with "Lupa Password?" (told by SMS and email in the same
        transaction). Staff see, choose and send no password."""
        notice_send = type(self).notice_send
        if notice_send is None:
            raise ImproperlyConfigured("CustomerAdmin.notice_send is set by tokens.admin")

        def perform(customer, data):
            with transaction.atomic():
                services.password_staff_reset(
                    user=customer, actor=request.user, reason=data["reason"], ip=client_ip(request)
                )
                notice_send(user=customer, text=services.PASSWORD_SET_BY_STAFF_TEXT, params={})
            return _(
                "The password of %(user_id)s is reset and every session was ended. The "
                "customer was told by SMS and email to set a new one with \"Lupa Password?\"."
            ) % {"user_id": customer.user_id}

        return self._action_view(
            request,
            object_id,
            permission=services.PERM_UNBLOCK,
            form_class=StaffPasswordResetForm,
            title=_("Reset password"),
            perform=perform,
            template="admin/accounts/user/password_reset.html",
        )

    def _contact_change_view(
        self, request, object_id, *, kind, field, permission, form_class, title
    ):
        """Ask for a change of the customer's phone or email; it takes effect only once a
        supervisor who is someone else approves it (four eyes)."""

        def perform(customer, data):
            change_request = services.contact_change_request(
                user=customer,
                kind=kind,
                new_value=data[field],
                actor=request.user,
                reason=data["reason"],
                ip=client_ip(request),
            )
            return _(
                "The change for %(user_id)s is asked (%(new)s): it takes effect when a "
                "supervisor who is not you approves it."
            ) % {"user_id": customer.user_id, "new": change_request.new_value_masked}

        return self._action_view(
            request,
            object_id,
            permission=permission,
            form_class=form_class,
            title=title,
            perform=perform,
        )

    def phone_view(self, request, object_id):
        """A customer who lost the old phone gets a new number after an identity check."""
        return self._contact_change_view(
            request,
            object_id,
            kind=ContactChangeRequest.Kind.PHONE,
            field="new_phone",
            permission=services.PERM_CHANGE_PHONE,
            form_class=StaffPhoneChangeForm,
            title=_("Change mobile number"),
        )

    def email_view(self, request, object_id):
        return self._contact_change_view(
            request,
            object_id,
            kind=ContactChangeRequest.Kind.EMAIL,
            field="new_email",
            permission=services.PERM_CHANGE_EMAIL,
            form_class=StaffEmailChangeForm,
            title=_("Change email"),
        )


class AuditActionFilter(admin.ChoicesFieldListFilter):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.title = _("what happened")


class AuditTimeFilter(admin.DateFieldListFilter):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.title = _("time (WIB)")


class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The audit log: read-only and append-only (no add, change or delete, no bulk actions).

    Times are shown in Asia/Jakarta (TIME_ZONE), codes and the system's reasons as sentences
    in the reader's language (``audit_details``, ``audit_reason_display``). Columns are named
    here rather than by the model's field names, which are the log's stable schema.
    """

    # The browser is on the event's own page only: with it the list did not fit 1280 px.
    list_display = ["when", "what", "by", "about", "ip", "reason_short"]
    list_filter = [("action", AuditActionFilter), ("created_at", AuditTimeFilter)]
    list_select_related = ["actor", "subject"]
    search_fields = ["=subject__user_id"]
    search_help_text = _("Customer's User ID (exact).")
    fields = ["when", "what", "by", "about", "ip", "user_agent", "reason_display", "data_display"]
    readonly_fields = fields
    list_per_page = 100
    show_full_result_count = False
    actions = None

    @admin.display(description=_("time (WIB)"), ordering="created_at")
    def when(self, obj):
        # ``staff_time``, the format of every staff page; in the list the zone is in the
        # column's title ("time (WIB)"), which keeps the list inside a 1280 px screen.
        return staff_time(obj.created_at, zone=False)

    @admin.display(description=_("what happened"), ordering="action")
    def what(self, obj):
        return obj.get_action_display()

    @admin.display(description=_("by"), ordering="actor__user_id")
    def by(self, obj):
        return obj.actor.user_id if obj.actor_id else "-"

    @admin.display(description=_("about"), ordering="subject__user_id")
    def about(self, obj):
        return obj.subject.user_id if obj.subject_id else "-"

    @admin.display(description=_("IP address"))
    def ip(self, obj):
        return obj.ip_address or "-"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        event = self.get_object(request, object_id)
        title = None
        if event is not None:
            title = _("Audit event of %(time)s: %(action)s") % {
                "time": staff_time(event.created_at),
                "action": event.get_action_display(),
            }
        return super().change_view(
            request, object_id, form_url, {"title": title, **(extra_context or {})}
        )

    @admin.display(description=_("reason"))
    def reason_short(self, obj):
        reason = audit_reason_display(obj.reason)
        return reason if len(reason) <= 60 else reason[:59] + "…"

    @admin.display(description=_("reason"))
    def reason_display(self, obj):
        return audit_reason_display(obj.reason) or "-"

    @admin.display(description=_("details"))
    def data_display(self, obj):
        return format_html_join(
            "\n", "<div><strong>{}</strong>: {}</div>", audit_details(obj)
        ) or "-"


class CompanyPartInline(admin.TabularInline):
    """A part of a company's page (its users, its accounts), read only: who may view the
    company sees it, and nothing is added, changed or deleted here (services do that)."""

    fk_name = "company"
    extra = 0
    can_delete = False
    show_change_link = False

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("accounts.view_company")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CompanyUserInline(CompanyPartInline):
    model = User
    fields = ["login_user_id", "full_name", "phone_display", "email", "is_active"]
    readonly_fields = fields
    verbose_name = _("user")
    verbose_name_plural = _("users")

    @admin.display(description=_("User ID"))
    def login_user_id(self, user):
        return user.login_user_id

    @admin.display(description=_("mobile phone"))
    def phone_display(self, user):
        return phone_masked(user.phone) if user.phone else "—"


class CompanyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Corporate customers: name, CIF, Corporate ID, with their users and (added by
    payments' admin module) their accounts."""

    list_display = ["name", "cif", "corporate_id", "requires_approval", "created"]
    search_fields = ["name", "=cif", "=corporate_id"]
    search_help_text = _("Company name, CIF or Corporate ID.")
    fields = ["name", "cif", "corporate_id", "requires_approval", "created"]
    readonly_fields = fields
    ordering = ["name"]
    actions = None
    inlines = [CompanyUserInline]

    @admin.display(description=_("created"), ordering="created_at")
    def created(self, obj):
        return staff_time(obj.created_at)  # the format of every staff page, with WIB


admin.site.register(User, CustomerAdmin)
admin.site.register(Company, CompanyAdmin)
admin.site.register(AuditEvent, AuditEventAdmin)
# The TOTP admin of django-otp shows seeds (and their QR codes): staff devices are created by
# ``manage.py staff_create`` or the enrolment page instead.
if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)
