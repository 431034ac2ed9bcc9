"""Hardware tokens for staff: stock, holders and states, never a seed.

Every field is read-only and there is no add, change or delete form: tokens enter stock by a
PSKC import, and every change is one of the actions below, each a page with a reason that
calls one service in ``tokens.hardware`` (which checks the permission again and audits).

Then the Mobile Token (issue 12): the registered phones, read-only and never a key, and the one
staff action on them, "De-register (lost phone)" (``tokens.mobile.device_revoke``).

Also, at the end: the customer's recent SMS and Mobile Token on the accounts admin's customer
page, and the approval of staff changes of a customer's phone or email (they need the OTP core).
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from accounts import services as account_services
from accounts.admin import AUDIT_KEYS, AUDIT_VALUES, CustomerAdmin, CustomerPagePart
from accounts.forms import ContactChangeDecisionForm
from accounts.models import AuditEvent, ContactChangeRequest, User
from accounts.views import client_ip
from portal.admin import ReadOnlyAdminMixin
from portal.exceptions import CustomerError
from portal.formatting import email_masked, phone_masked
from portal.templatetags.portal import staff_time

from . import hardware, mobile, services
from .exceptions import TokenActionRefused
from .forms import (
    StaffReasonForm,
    TokenAssignForm,
    TokenImportForm,
    TokenResyncForm,
    TokenStateForm,
)
from .models import HardwareToken, MobileDevice, SmsMessage

STAFF_STATES = [
    HardwareToken.State.LOST,
    HardwareToken.State.DAMAGED,
    HardwareToken.State.BATTERY_DEAD,
    HardwareToken.State.REVOKED,
    HardwareToken.State.IN_STOCK,
]


@admin.register(HardwareToken)
class HardwareTokenAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["serial", "algorithm", "digits", "step", "state", "holder", "batch"]
    list_filter = ["state", "algorithm", "digits", "step", "manufacturer"]
    list_select_related = ["user"]
    search_fields = ["serial", "=user__user_id"]
    search_help_text = _("Serial number, or the holder's User ID (exact).")
    fields = [
        "serial",
        "algorithm",
        "digits",
        "step",
        "state",
        "holder",
        "manufacturer",
        "batch",
        "imported_at",
        "assigned_at",
        "activated_at",
    ]
    readonly_fields = fields
    exclude = ["sealed_seed", "counter", "last_t", "drift", "t0"]
    list_per_page = 100
    show_full_result_count = False
    actions = None
    change_form_template = "admin/tokens/hardwaretoken/change_form.html"
    change_list_template = "admin/tokens/hardwaretoken/change_list.html"

    def get_search_results(self, request, queryset, search_term):
        """Also find a serial however it is typed ("12-3456-7890" finds 1234567890)."""
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        serial = hardware.serial_normalise(search_term)
        if serial and serial != search_term:
            results |= queryset.filter(serial__contains=serial)
        return results, may_have_duplicates

    @admin.display(description=_("holder"), ordering="user__user_id")
    def holder(self, obj):
        return obj.user.user_id if obj.user_id else "-"

    def get_urls(self):
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        wrap = self.admin_site.admin_view
        return [
            path("import/", wrap(self.import_view), name=f"{info}_import"),
            path("<path:object_id>/assign/", wrap(self.assign_view), name=f"{info}_assign"),
            path("<path:object_id>/state/", wrap(self.state_view), name=f"{info}_state"),
            path("<path:object_id>/resync/", wrap(self.resync_view), name=f"{info}_resync"),
            path(
                "<path:object_id>/sms-fallback/",
                wrap(self.sms_fallback_view),
                name=f"{info}_sms_fallback",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(
            request,
            {"can_import": request.user.has_perm(hardware.PERM_IMPORT), **(extra_context or {})},
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        token = self._token(request, object_id)
        staff = request.user
        holder_on_token = (
            token.user is not None
            and token.user.confirmation_method == User.ConfirmationMethod.HARDWARE_TOKEN
        )
        context = {
            "can_assign": staff.has_perm(hardware.PERM_ASSIGN)
            and token.state == HardwareToken.State.IN_STOCK,
            "can_change_state": staff.has_perm(hardware.PERM_STATE)
            and bool(self._state_choices(token)),
            "can_resync": staff.has_perm(hardware.PERM_RESYNC)
            and token.state in (HardwareToken.State.ASSIGNED, HardwareToken.State.ACTIVE),
            "can_sms_fallback": staff.has_perm(hardware.PERM_SMS_FALLBACK) and holder_on_token,
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, context)

    # --- actions ---------------------------------------------------------------------------

    def _token(self, request, object_id) -> HardwareToken:
        token = self.get_object(request, object_id)
        if token is None:
            raise Http404
        if not self.has_view_permission(request, token):
            raise PermissionDenied
        return token

    @staticmethod
    def _state_choices(token):
        return [
            (state.value, state.label)
            for state in STAFF_STATES
            if token.may_become(state) and not (state == "in_stock" and token.state == "active")
        ]

    def _action_view(self, request, *, token, permission, form, title, perform):
        if not request.user.has_perm(permission):
            raise PermissionDenied
        if request.method == "POST" and form.is_valid():
            try:
                message = perform(form.cleaned_data)
            except TokenActionRefused as error:
                form.add_error(None, forms.ValidationError(str(error), code=error.code))
            else:
                messages.success(request, message)
                if token is None:
                    return redirect(reverse("admin:tokens_hardwaretoken_changelist"))
                return redirect(reverse("admin:tokens_hardwaretoken_change", args=[token.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "token": token,
            "form": form,
            "report": getattr(form, "report", None),
        }
        return TemplateResponse(request, "admin/tokens/hardwaretoken/token_action.html", context)

    def import_view(self, request):
        form = TokenImportForm(
            request.POST or None, request.FILES or None, max_bytes=settings.TOKEN_IMPORT_MAX_BYTES
        )

        def perform(data):
            upload = data["file"]
            try:
                report = hardware.tokens_import(
                    source=upload.file,
                    batch=upload.name,
                    password=data["password"] or None,
                    psk=data["psk"] or None,
                    actor=request.user,
                    ip=client_ip(request),
                    reason=data["reason"],
                )
            except hardware.ImportRefused as refused:
                form.report = refused.report
                raise TokenActionRefused(
                    _("Nothing was imported from %(file)s: see the problems below.")
                    % {"file": upload.name}
                ) from None
            for line in report.skipped:
                messages.warning(request, line)
            return _("%(count)s tokens imported from %(file)s: %(first)s … %(last)s.") % {
                "count": len(report.imported),
                "file": upload.name,
                "first": report.imported[0],
                "last": report.imported[-1],
            }

        if not request.user.has_perm(hardware.PERM_IMPORT):
            raise PermissionDenied
        return self._action_view(
            request,
            token=None,
            permission=hardware.PERM_IMPORT,
            form=form,
            title=_("Import tokens from a PSKC file"),
            perform=perform,
        )

    def assign_view(self, request, object_id):
        token = self._token(request, object_id)
        form = TokenAssignForm(request.POST or None)

        def perform(data):
            customer = User.objects.filter(
                user_id__iexact=data["user_id"].strip(), is_staff=False
            ).first()
            if customer is None:
                raise TokenActionRefused(_("No customer has this User ID."))
            held = list(HardwareToken.objects.filter(user=customer, state__in=hardware.HELD_STATES))
            hardware.token_assign(
                token=token,
                user=customer,
                actor=request.user,
                reason=data["reason"],
                ip=client_ip(request),
                replace=data["replace"] or None,
            )
            if held:
                return _(
                    "Token %(serial)s is assigned to %(user_id)s and replaces %(old)s (now: "
                    "%(state)s); the customer was told by SMS and email."
                ) % {
                    "serial": token.serial,
                    "user_id": customer.user_id,
                    "old": ", ".join(t.serial for t in held),
                    "state": HardwareToken.State(data["replace"]).label,
                }
            return _("Token %(serial)s is assigned to %(user_id)s.") % {
                "serial": token.serial,
                "user_id": customer.user_id,
            }

        return self._action_view(
            request,
            token=token,
            permission=hardware.PERM_ASSIGN,
            form=form,
            title=_("Assign token %(serial)s") % {"serial": token.serial},
            perform=perform,
        )

    def state_view(self, request, object_id):
        token = self._token(request, object_id)
        form = TokenStateForm(request.POST or None, choices=self._state_choices(token))

        def perform(data):
            hardware.token_state_change(
                token=token,
                state=data["state"],
                actor=request.user,
                reason=data["reason"],
                ip=client_ip(request),
            )
            return _("Token %(serial)s is now: %(state)s.") % {
                "serial": token.serial,
                "state": HardwareToken.State(data["state"]).label,
            }

        return self._action_view(
            request,
            token=token,
            permission=hardware.PERM_STATE,
            form=form,
            title=_("Change the state of token %(serial)s") % {"serial": token.serial},
            perform=perform,
        )

    def resync_view(self, request, object_id):
        token = self._token(request, object_id)
        form = TokenResyncForm(request.POST or None)

        def perform(data):
            if not hardware.token_resync_staff(
                token=token,
                first=data["first"],
                second=data["second"],
                actor=request.user,
                reason=data["reason"],
                ip=client_ip(request),
            ):
                raise TokenActionRefused(
                    _("These two codes do not follow each other on this token: nothing changed.")
                )
            return _("Token %(serial)s is resynchronised.") % {"serial": token.serial}

        return self._action_view(
            request,
            token=token,
            permission=hardware.PERM_RESYNC,
            form=form,
            title=_("Resynchronise token %(serial)s") % {"serial": token.serial},
            perform=perform,
        )

    def sms_fallback_view(self, request, object_id):
        token = self._token(request, object_id)
        if token.user is None:
            raise Http404
        form = StaffReasonForm(request.POST or None)

        def perform(data):
            hardware.sms_fallback_switch(
                user=token.user,
                actor=request.user,
                reason=data["reason"],
                ip=client_ip(request),
            )
            return _("%(user_id)s now confirms with SMS OTP and was told so.") % {
                "user_id": token.user.user_id
            }

        return self._action_view(
            request,
            token=token,
            permission=hardware.PERM_SMS_FALLBACK,
            form=form,
            title=_("Switch %(user_id)s to SMS OTP") % {"user_id": token.user.user_id},
            perform=perform,
        )


# --- The Mobile Token (issue 12) -----------------------------------------------------------

PERM_MOBILE_DEREGISTER = mobile.PERM_DEREGISTER


class MobileDeviceStateFilter(admin.SimpleListFilter):
    """Active phones, or the de-registered ones kept for the audit trail."""

    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", _("active")), ("revoked", _("de-registered"))]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(MobileDevice)
class MobileDeviceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Customers' registered phones: who, which phone, when registered, last used and
    de-registered (why, by whom). Never a key: ``sealed_key`` is on no page, not even sealed,
    since a sealed key is one leaked ``TOKEN_SEED_KEYS`` away from the customer's codes.

    The one change is "De-register (lost phone)", a page with a written reason that calls
    ``tokens.mobile.device_revoke`` (which checks the permission again and audits); the
    phone's codes are refused from then on and its sessions lose their OTP verification.
    """

    # De-registration in one column (when · why · by whom): seven columns did not fit beside
    # the filters at 1280 px.
    list_display = ["customer", "label", "registered", "last_used", "deregistration"]
    list_display_links = ["customer", "label"]
    list_filter = [MobileDeviceStateFilter, "revoke_reason"]
    list_select_related = ["user", "revoked_by"]
    search_fields = ["=user__user_id"]
    search_help_text = _("Customer's User ID (exact).")
    # Displays only, so that no field of the model (sealed_key, last_t) reaches a page.
    fields = [
        "customer",
        "label",
        "registered",
        "last_used",
        "revoked",
        "revoke_reason",
        "deregistered_by",
        "staff_note",
        "user_agent",
    ]
    readonly_fields = fields
    list_per_page = 100
    show_full_result_count = False
    actions = None
    change_form_template = "admin/tokens/mobiledevice/change_form.html"

    @admin.display(description=_("customer"), ordering="user__user_id")
    def customer(self, obj):
        return obj.user.user_id

    @admin.display(description=_("phone name"), ordering="name")
    def label(self, obj):
        # django-otp's ``name`` has no translated verbose name: named here.
        return obj.name or "-"

    @admin.display(description=_("registered (WIB)"), ordering="registered_at")
    def registered(self, obj):
        return staff_time(obj.registered_at, zone=False)

    @admin.display(description=_("last used (WIB)"), ordering="last_used_at")
    def last_used(self, obj):
        return staff_time(obj.last_used_at, zone=False) or _("not yet")

    @admin.display(description=_("de-registered (WIB)"), ordering="revoked_at")
    def revoked(self, obj):
        return staff_time(obj.revoked_at, zone=False) or "-"

    @admin.display(description=_("de-registered (WIB)"), ordering="revoked_at")
    def deregistration(self, obj):
        if obj.revoked_at is None:
            return "-"
        return " · ".join(
            [staff_time(obj.revoked_at, zone=False), obj.get_revoke_reason_display()]
            + ([obj.revoked_by.user_id] if obj.revoked_by_id else [])
        )

    @admin.display(description=_("de-registered by"), ordering="revoked_by__user_id")
    def deregistered_by(self, obj):
        return obj.revoked_by.user_id if obj.revoked_by_id else "-"

    @admin.display(description=_("reason written by staff"))
    def staff_note(self, obj):
        """What the member of staff wrote when de-registering (kept in the audit event), so
        the next agent on the phone with the customer reads it here."""
        if obj.revoke_reason != MobileDevice.RevokeReason.STAFF:
            return "-"
        event = (
            AuditEvent.objects.filter(
                action=AuditEvent.Action.MOBILE_TOKEN_REVOKED,
                subject_id=obj.user_id,
                data__device=str(obj.public_id),
            )
            .order_by("-created_at")
            .first()
        )
        return event.reason if event and event.reason else "-"

    def get_search_results(self, request, queryset, search_term):
        """Nobody without an exact User ID: staff look customers up one at a time, as on the
        customer list (a list of every customer's phone is not what a call needs)."""
        if not search_term.strip():
            return queryset.none(), False
        return super().get_search_results(request, queryset, search_term.strip())

    def get_urls(self):
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/deregister/",
                wrap(self.deregister_view),
                name=f"{info}_deregister",
            ),
            *super().get_urls(),
        ]

    def _device(self, request, object_id) -> MobileDevice:
        """The phone a page shows, permission checked; every page of a phone (its page, the
        de-register page, its history) is a look at its customer, audited as the customer's
        own page is (else walking the device ids would list every holder unaudited)."""
        device = self.get_object(request, object_id)
        if device is None:
            raise Http404
        if not self.has_view_permission(request, device):
            raise PermissionDenied
        if request.method == "GET":
            account_services.customer_view_record(
                customer=device.user, actor=request.user, ip=client_ip(request)
            )
        return device

    def history_view(self, request, object_id, extra_context=None):
        self._device(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        device = self._device(request, object_id)
        context = {
            "can_deregister": device.is_active and request.user.has_perm(PERM_MOBILE_DEREGISTER),
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, context)

    def deregister_view(self, request, object_id):
        """The "De-register (lost phone)" page: the customer calls, the agent checks who they are and
        writes why; the service revokes the phone under a lock, audits with this reason and
        the IP, and tells the customer by SMS and email."""
        device = self._device(request, object_id)
        if not request.user.has_perm(PERM_MOBILE_DEREGISTER):
            raise PermissionDenied
        device_url = reverse("admin:tokens_mobiledevice_change", args=[device.pk])
        if not device.is_active:
            messages.info(request, _("This Mobile Token is already de-registered."))
            return redirect(device_url)
        form = StaffReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                # The service sees a staff actor and keeps "staff" as the device's reason;
                # the words written here go into the audit event.
                mobile.device_revoke(
                    device=device,
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                    ip=client_ip(request),
                )
            except (CustomerError, TokenActionRefused) as error:
                form.add_error(None, forms.ValidationError(str(error), code=error.code))
            else:
                messages.success(
                    request,
                    _(
                        "The Mobile Token of %(user_id)s on %(device)s is de-registered: its "
                        "codes are refused from now on, and the customer was told by SMS and "
                        "email. To block online access too, use “Flag access” on the "
                        "customer's page."
                    )
                    % {"user_id": device.user.user_id, "device": device.name or "-"},
                )
                return redirect(device_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("De-register (lost phone)"),
            "device": device,
            "form": form,
            "overview_url": device_url,
            "customer_url": reverse("admin:accounts_user_change", args=[device.user_id]),
        }
        return TemplateResponse(request, "admin/tokens/mobiledevice/deregister.html", context)


# --- A customer's SMS, and changes of phone or email, in the accounts admin ------------------
# Here because tokens depends on accounts: the customer page of accounts shows what tokens
# holds about the customer without importing tokens, and approving a staff change of a phone
# or email needs the OTP core (codes to the old number voided, the customer told by SMS).

RECENT = 10


def customer_sms(request, customer) -> dict:
    """The customer's recent SMS: delivery state, never a code (none is stored)."""
    return {"sms_messages": SmsMessage.objects.filter(user=customer)[:RECENT]}


def customer_mobile_tokens(request, customer) -> dict:
    """The customer's Mobile Token phones, newest first (the active one, then the ones before
    it): dates and who de-registered them, links to their admin pages; never a key."""
    staff = request.user
    return {
        "mobile_devices": MobileDevice.objects.filter(user=customer).select_related("revoked_by")[
            :RECENT
        ],
        "can_view": staff.has_perm("tokens.view_mobiledevice"),
        "can_deregister": staff.has_perm(PERM_MOBILE_DEREGISTER),
    }


CustomerAdmin.page_parts.append(
    CustomerPagePart(template="admin/tokens/customer_sms.html", context=customer_sms)
)
CustomerAdmin.page_parts.append(
    CustomerPagePart(
        template="admin/tokens/mobiledevice/customer_part.html", context=customer_mobile_tokens
    )
)
# The customer page's actions tell the customer through the OTP core's notices (SMS, email).
CustomerAdmin.notice_send = services.notice_send
# The codes tokens writes into the audit log, as the audit admin shows them.
AUDIT_VALUES.update(
    {
        **dict(HardwareToken.State.choices),
        "wrong_code": _("wrong code"),
        "code_reused": _("a code used again"),
        "intent_mismatch": _("a code made for another transaction"),
        "activation": _("token activation"),
        # Why a Mobile Token was de-registered (the audit's "reason" in its data).
        **dict(MobileDevice.RevokeReason.choices),
    }
)
AUDIT_KEYS.update({"label": _("Phone name")})


@admin.register(ContactChangeRequest)
class ContactChangeRequestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Staff changes of a customer's phone or email, and the second person's decision.

    Staff who may ask for one see the list; a supervisor who did not ask approves
    (``tokens.services.contact_change_approve``: the change takes effect and the customer is
    told) or rejects it with a reason. Both services check the permission and the four eyes
    again.
    """

    list_display = [
        "requested_at",
        "customer",
        "kind",
        "new_value_display",
        "requested_by",
        "state",
        "decided_by",
    ]
    list_filter = ["state", "kind"]
    list_select_related = ["user", "requested_by", "decided_by"]
    search_fields = ["=user__user_id"]
    search_help_text = _("Customer's User ID (exact).")
    list_per_page = 50
    show_full_result_count = False
    actions = None

    def has_module_permission(self, request):
        staff = request.user
        return (
            staff.is_active
            and staff.is_staff
            and any(
                staff.has_perm(permission)
                for permission in (
                    account_services.PERM_APPROVE_CHANGE,
                    account_services.PERM_CHANGE_PHONE,
                    account_services.PERM_CHANGE_EMAIL,
                )
            )
        )

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    @admin.display(description=_("customer"), ordering="user__user_id")
    def customer(self, obj):
        return obj.user.user_id

    @admin.display(description=_("new value"))
    def new_value_display(self, obj):
        return obj.new_value_masked

    def get_urls(self):
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/approve/", wrap(self.approve_view), name=f"{info}_approve"),
            path("<path:object_id>/reject/", wrap(self.reject_view), name=f"{info}_reject"),
            *super().get_urls(),
        ]

    def _change_request(self, request, object_id) -> ContactChangeRequest:
        change_request = self.get_object(request, object_id)
        if change_request is None:
            raise Http404
        if not self.has_view_permission(request, change_request):
            raise PermissionDenied
        return change_request

    def _decision_page(self, request, change_request, form, status=200):
        staff = request.user
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Change for %(user_id)s: %(what)s")
            % {"user_id": change_request.user.user_id, "what": change_request.get_kind_display()},
            "change": change_request,
            "current": phone_masked(change_request.user.phone)
            if change_request.kind == ContactChangeRequest.Kind.PHONE
            else email_masked(change_request.user.email),
            "form": form,
            "can_decide": staff.has_perm(account_services.PERM_APPROVE_CHANGE)
            and change_request.state == ContactChangeRequest.State.PENDING
            and change_request.requested_by_id != staff.pk,
            "own": change_request.requested_by_id == staff.pk,
        }
        return TemplateResponse(
            request, "admin/accounts/contactchangerequest/decide.html", context, status=status
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method != "GET":
            raise PermissionDenied
        change_request = self._change_request(request, object_id)
        return self._decision_page(request, change_request, ContactChangeDecisionForm())

    def _decide_view(self, request, object_id, *, decide, done):
        change_request = self._change_request(request, object_id)
        if not request.user.has_perm(account_services.PERM_APPROVE_CHANGE):
            raise PermissionDenied
        if request.method != "POST":
            return redirect(reverse("admin:accounts_contactchangerequest_change", args=[object_id]))
        form = ContactChangeDecisionForm(request.POST)
        if form.is_valid():
            try:
                decide(change_request, form.cleaned_data["note"])
            except CustomerError as error:
                form.add_error(None, forms.ValidationError(str(error), code=error.code))
            else:
                messages.success(request, done % {"user_id": change_request.user.user_id})
                return redirect(reverse("admin:accounts_contactchangerequest_changelist"))
        change_request.refresh_from_db()
        return self._decision_page(request, change_request, form)

    def approve_view(self, request, object_id):
        def decide(change_request, note):
            services.contact_change_approve(
                change_request=change_request,
                approver=request.user,
                note=note,
                ip=client_ip(request),
            )

        return self._decide_view(
            request,
            object_id,
            decide=decide,
            done=_("The change for %(user_id)s took effect; the customer was told."),
        )

    def reject_view(self, request, object_id):
        def decide(change_request, note):
            account_services.contact_change_reject(
                change_request=change_request,
                approver=request.user,
                note=note,
                ip=client_ip(request),
            )

        return self._decide_view(
            request,
            object_id,
            decide=decide,
            done=_("The change for %(user_id)s was rejected; nothing changed."),
        )
