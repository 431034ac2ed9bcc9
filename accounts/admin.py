"""The staff side: admin site with TOTP, customer search and overview, flag/unblock, audit log.

The admin is a view layer: it may read the models of ``tokens`` and ``payments`` to show a
customer on one page; every write goes through ``accounts.services``, which checks the
actor's permissions again. Staff never see password hashes, session keys or OTP secrets:
customers are shown through a page of our own, not a model form.
"""

import phonenumbers
from axes.models import AccessAttempt
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Exists, IntegerField, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce, Lower
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_otp import devices_for_user
from django_otp.admin import OTPAdminSite
from django_otp.plugins.otp_totp.models import TOTPDevice

from payments.models import BankAccount, Transfer
from portal.admin import ReadOnlyAdminMixin
from portal.formatting import phone_masked
from tokens.models import SmsMessage

from . import selectors, services
from .exceptions import StaffError
from .forms import (
    AccessFlagForm,
    AccessUnblockForm,
    StaffAdminAuthenticationForm,
    StaffPhoneChangeForm,
)
from .models import AccessBlock, AuditEvent, User
from .views import client_ip

RECENT = 10


class StaffAdminSite(OTPAdminSite):
    """django-otp's admin site (User ID + password + the staff member's own TOTP) that also
    makes the admin session the user's only session, as the portal's login does."""

    site_header = _("Bank Nusantara · staff")
    site_title = _("Bank Nusantara staff")
    index_title = _("Staff administration")
    login_template = "admin/staff_login.html"
    login_form = StaffAdminAuthenticationForm
    site_url = None  # no "View site": the customers' portal is not a staff page

    def login(self, request, extra_context=None):
        response = super().login(request, extra_context)
        if (
            request.method == "POST"
            and isinstance(response, HttpResponseRedirect)
            and request.user.is_authenticated
        ):
            request.session["auth_at"] = request.session["last_seen"] = timezone.now().timestamp()
            services.session_start(
                user=request.user,
                session_key=request.session.session_key,
                ip=client_ip(request),
                language=get_language(),
            )
        return response

    def logout(self, request, extra_context=None):
        if request.method == "POST" and request.user.is_authenticated:
            services.session_end(user=request.user, ip=client_ip(request))
        response = super().logout(request, extra_context)
        if isinstance(response, HttpResponseRedirect):
            # Back to the staff login, not the customers' (LOGOUT_REDIRECT_URL).
            return redirect(reverse("admin:login", current_app=self.name))
        return response


class CustomerAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Customers (``is_staff`` False): search, access state, and one overview page."""

    list_display = ["user_id", "full_name", "cif", "phone_display", "access_display"]
    list_display_links = ["user_id", "full_name"]
    search_fields = ["user_id", "full_name", "=cif"]
    search_help_text = _("User ID, name, CIF, mobile phone or account number.")
    ordering = ["user_id"]
    list_per_page = 50
    show_full_result_count = False
    actions = None

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
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        extra = Q()
        digits = term.replace(" ", "").replace("-", "")
        if digits.isascii() and digits.isdigit() and len(digits) == 10:
            extra |= Q(pk__in=BankAccount.objects.filter(number=digits).values("owner_id"))
        if term and len(term) <= 30:
            try:
                number = phonenumbers.parse(term, "ID")
            except phonenumbers.NumberParseException:
                number = None
            if number is not None and phonenumbers.is_valid_number(number):
                e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                extra |= Q(phone=e164)
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
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(
            request, {"title": _("Find a customer"), **(extra_context or {})}
        )

    def _customer(self, request, object_id) -> User:
        customer = self.get_object(request, object_id)
        if customer is None:
            raise Http404
        if not self.has_view_permission(request, customer):
            raise PermissionDenied
        return customer

    def _overview_url(self, customer) -> str:
        return reverse("admin:accounts_user_change", args=[customer.pk])

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """One page: access state and why, devices, recent SMS, transfers, audit events."""
        customer = self._customer(request, object_id)
        if request.method != "GET":
            raise PermissionDenied
        staff = request.user
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Customer %(user_id)s") % {"user_id": customer.user_id},
            "customer": customer,
            "access": selectors.access_state(user=customer),
            "devices": [
                {
                    "kind": device._meta.verbose_name,
                    "name": device.name,
                    "confirmed": device.confirmed,
                }
                for device in devices_for_user(customer, confirmed=None)
            ],
            "sms_messages": SmsMessage.objects.filter(user=customer)[:RECENT],
            "transfers": Transfer.objects.filter(initiated_by=customer).select_related(
                "source", "destination"
            )[:RECENT],
            "accounts": BankAccount.objects.filter(owner=customer),
            "events": AuditEvent.objects.filter(subject=customer).select_related("actor")[:RECENT]
            if staff.has_perm("accounts.view_auditevent")
            else None,
            "can_flag": staff.has_perm(services.PERM_FLAG),
            "can_unblock": staff.has_perm(services.PERM_UNBLOCK),
            "can_change_phone": staff.has_perm(services.PERM_CHANGE_PHONE),
        }
        return TemplateResponse(request, "admin/accounts/user/customer_overview.html", context)

    def _action_view(self, request, object_id, *, permission, form_class, title, perform):
        customer = self._customer(request, object_id)
        if not request.user.has_perm(permission):
            raise PermissionDenied
        form = form_class(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                message = perform(customer, form.cleaned_data)
            except StaffError as error:
                form.add_error(None, forms.ValidationError(str(error), code=error.code))
            else:
                messages.success(request, message)
                return redirect(self._overview_url(customer))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "customer": customer,
            "access": selectors.access_state(user=customer),
            "form": form,
            "overview_url": self._overview_url(customer),
        }
        return TemplateResponse(request, "admin/accounts/user/access_action.html", context)

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
            return _("Access of %(user_id)s is given back (lifted: %(lifted)s).") % {
                "user_id": customer.user_id,
                "lifted": ", ".join(lifted) or "-",
            }

        return self._action_view(
            request,
            object_id,
            permission=services.PERM_UNBLOCK,
            form_class=AccessUnblockForm,
            title=_("Unblock"),
            perform=perform,
        )

    def phone_view(self, request, object_id):
        """A customer who lost the old phone gets a new number after an identity check."""

        def perform(customer, data):
            from tokens import services as otp_services

            with transaction.atomic():
                old_phone = services.phone_change_by_staff(
                    user=customer,
                    new_phone=data["new_phone"],
                    actor=request.user,
                    reason=data["reason"],
                    ip=client_ip(request),
                )
                customer.refresh_from_db()
                params = {"phone": phone_masked(customer.phone)}
                if old_phone:
                    otp_services.notice_send(
                        user=customer, text=services.PHONE_CHANGED_TEXT, params=params,
                        to=old_phone, email=False,
                    )
                otp_services.notice_send(user=customer, text=services.PHONE_CHANGED_TEXT, params=params)
            return _("The mobile number of %(user_id)s is now %(phone)s; the customer was told.") % {
                "user_id": customer.user_id,
                "phone": phone_masked(customer.phone),
            }

        return self._action_view(
            request,
            object_id,
            permission=services.PERM_CHANGE_PHONE,
            form_class=StaffPhoneChangeForm,
            title=_("Change mobile number"),
            perform=perform,
        )


class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The audit log: read-only and append-only (no add, change or delete, no bulk actions)."""

    list_display = ["created_at", "action", "actor", "subject", "ip_address", "reason_short"]
    list_filter = ["action", "created_at"]
    list_select_related = ["actor", "subject"]
    search_fields = ["=subject__user_id"]
    search_help_text = _("Customer's User ID (exact).")
    fields = ["created_at", "action", "actor", "subject", "ip_address", "reason", "data_display"]
    readonly_fields = fields
    list_per_page = 100
    show_full_result_count = False
    actions = None

    @admin.display(description=_("reason"))
    def reason_short(self, obj):
        return obj.reason if len(obj.reason) <= 60 else obj.reason[:59] + "…"

    @admin.display(description=_("details"))
    def data_display(self, obj):
        return format_html_join(
            "\n", "<div><code>{}</code>: {}</div>", sorted((k, str(v)) for k, v in obj.data.items())
        )


admin.site.register(User, CustomerAdmin)
admin.site.register(AuditEvent, AuditEventAdmin)
# The TOTP admin of django-otp shows seeds (and their QR codes): staff devices are created by
# ``manage.py staff_create`` or the enrolment page instead.
if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)
