"""Corporate requests for staff: the queue, one page per request with its signed form and the
officer's or supervisor's decision, and the company page's list of requests and audit trail.

Every decision is a POST to one action view that calls one service of ``corporate.services``,
which checks the permission, the step and the four eyes again (the admin is not the check).
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts import exceptions as account_exceptions
from accounts.admin import (
    AUDIT_KEYS,
    AUDIT_REASONS,
    AUDIT_VALUES,
    CompanyAdmin,
    CompanyPartInline,
    CompanyUserInline,
    audit_reason_display,
)
from accounts.models import AuditEvent, Company
from accounts.views import client_ip
from portal.admin import ReadOnlyAdminMixin
from portal.exceptions import CustomerError
from portal.formatting import email_masked, phone_masked
from portal.templatetags.portal import staff_time

from . import selectors, services
from .forms import StaffMessageForm
from .models import CorporateRequest

AUDIT_REASONS[services.APPROVED_REASON] = _("a corporate request was approved")
AUDIT_KEYS.update(
    {
        "new_phone": _("New mobile phone"),
        "new_email": _("New email"),
        "officer": _("Officer"),
        "sha256": _("SHA-256"),
        "replaced_document": _("Replaced signed form"),
        "replaced_sha256": _("SHA-256 of the replaced form"),
        "shown": _("Shown"),
    }
)
AUDIT_VALUES.update(
    {
        **dict(CorporateRequest.Kind.choices),
        **dict(CorporateRequest.Reason.choices),
        "inline": _("in the browser"),
        "download": _("downloaded"),
    }
)


class QueueFilter(admin.SimpleListFilter):
    """The queue by default: what waits for an officer or a supervisor, oldest first."""

    title = _("queue")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [("supervisor", _("Waiting for a supervisor")), ("all", _("All requests"))]

    def choices(self, changelist):
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": _("To process"),
        }
        yield from list(super().choices(changelist))[1:]

    def queryset(self, request, queryset):
        if self.value() == "all":
            return queryset
        waiting = CorporateRequest.Status.AWAITING_SUPERVISOR
        if self.value() == "supervisor":
            queryset = queryset.filter(status=waiting)
        elif request.user.has_perm(services.PERM_SUPERVISE):
            queryset = queryset.queue()
        else:
            # An officer cannot act on what waits only for a supervisor: not in their queue.
            queryset = queryset.filter(status=CorporateRequest.Status.SUBMITTED)
        return queryset.order_by("submitted_at", "pk")


def _may_view(user) -> bool:
    return (
        user.is_active
        and user.is_staff
        and (user.has_perm(services.PERM_VIEW) or user.has_perm(services.PERM_SUPERVISE))
    )


@admin.register(CorporateRequest)
class CorporateRequestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # Who decided is on the request's page: with those columns the list did not fit 1280 px.
    list_display = ["reference_display", "kind", "user_display", "status", "submitted_display"]
    list_filter = [QueueFilter, "status", "kind"]
    list_select_related = ["user"]
    search_fields = ["=user__user_id", "=company__corporate_id", "=company__cif"]
    search_help_text = _("User ID (exact, with the Corporate ID), Corporate ID or CIF.")
    list_per_page = 50
    show_full_result_count = False
    actions = None

    def get_queryset(self, request):
        # The request's page shows its company and compares with the user's company's records.
        return super().get_queryset(request).select_related("company", "user__company")

    def has_module_permission(self, request):
        return _may_view(request.user)

    def has_view_permission(self, request, obj=None):
        return _may_view(request.user)

    @admin.display(description=_("number"), ordering="pk")
    def reference_display(self, obj):
        return obj.reference

    @admin.display(description=_("user"), ordering="user__user_id")
    def user_display(self, obj):
        return obj.user.user_id

    @admin.display(description=_("submitted at"), ordering="submitted_at")
    def submitted_display(self, obj):
        return staff_time(obj.submitted_at)

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(
            request, {"title": _("Corporate requests"), **(extra_context or {})}
        )

    def get_urls(self):
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/return/", wrap(self.return_view), name=f"{info}_return"),
            path("<path:object_id>/reject/", wrap(self.reject_view), name=f"{info}_reject"),
            path("<path:object_id>/approve/", wrap(self.approve_view), name=f"{info}_approve"),
            path("<path:object_id>/document/", wrap(self.document_view), name=f"{info}_document"),
            path(
                "<path:object_id>/document/view/",
                wrap(self.document_inline_view),
                name=f"{info}_document_inline",
            ),
            # The company in the query (?company=<pk>): a path of its own under the requests.
            path("company-audit/", wrap(self.company_audit_view), name=f"{info}_company_audit"),
            *super().get_urls(),
        ]

    def _request(self, request, object_id) -> CorporateRequest:
        corporate_request = self.get_object(request, object_id)
        if corporate_request is None:
            raise Http404
        if not self.has_view_permission(request, corporate_request):
            raise PermissionDenied
        return corporate_request

    def _page(self, request, corporate_request, form, status=200):
        staff = request.user
        user = corporate_request.user
        step = corporate_request.status
        if step == CorporateRequest.Status.SUBMITTED:
            may_decide = staff.has_perm(services.PERM_PROCESS)
        elif step == CorporateRequest.Status.AWAITING_SUPERVISOR:
            may_decide = (
                staff.has_perm(services.PERM_SUPERVISE) and staff.pk != corporate_request.officer_id
            )
        else:
            may_decide = False
        if form.errors.get("message"):
            # The field itself is marked, not only a banner above the form.
            form.fields["message"].widget.attrs.update(
                {"class": "field-invalid", "aria-invalid": "true"}
            )
        records = services.records_of(user)
        may_process = staff.has_perm(services.PERM_PROCESS) or staff.has_perm(
            services.PERM_SUPERVISE
        )
        # Both sides shown the same way: in full to staff who process requests (they check
        # the identity), masked to anyone else who may only view.
        if may_process:
            phones = (str(corporate_request.phone), str(user.phone or "–"))
            emails = (corporate_request.email, user.email or "–")
        else:
            phones = (phone_masked(corporate_request.phone), phone_masked(user.phone))
            emails = (email_masked(corporate_request.email), email_masked(user.email))
        compared = [
            (_("Company name"), corporate_request.company_name, records["company_name"]),
            (_("CIF"), corporate_request.cif, records["cif"]),
            (_("Corporate ID"), corporate_request.corporate_id, records["corporate_id"]),
            (_("User ID"), corporate_request.typed_user_id, records["user_id"]),
            (
                _("Hard token serial"),
                corporate_request.token_serial or "–",
                records["token_serial"] or "–",
            ),
            (_("Mobile phone"), *phones),
            (_("Email"), *emails),
        ]
        rows = [
            {
                "label": label,
                "typed": typed,
                "record": record,
                "differs": " ".join(str(typed).split()).casefold()
                != " ".join(str(record).split()).casefold(),
            }
            for label, typed, record in compared
        ]
        if step == CorporateRequest.Status.AWAITING_SUPERVISOR:
            approve_label = _("Approve as supervisor: it takes effect now")
        elif corporate_request.changes_contact:
            approve_label = _("Approve as officer: then a supervisor other than you approves")
        else:
            approve_label = _("Approve: it takes effect now")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("%(reference)s: %(kind)s")
            % {
                "reference": corporate_request.reference,
                "kind": corporate_request.get_kind_display(),
            },
            "item": corporate_request,
            "rows": rows,
            "approve_label": approve_label,
            "form": form,
            "may_decide": may_decide,
            "may_view_document": may_process,
            "own_officer_step": step == CorporateRequest.Status.AWAITING_SUPERVISOR
            and staff.pk == corporate_request.officer_id,
            "fallback_ended_at": selectors.fallback_ended_at(corporate_request),
            # The request keeps its last signed form: those a correction replaced, from the
            # audit (name, digest, when).
            "replaced_documents": AuditEvent.objects.filter(
                action=AuditEvent.Action.CORPORATE_REQUEST_RESUBMITTED,
                subject_id=corporate_request.user_id,
                data__request=corporate_request.pk,
                data__has_key="replaced_sha256",
            ).order_by("created_at", "pk"),
            "method": user.get_confirmation_method_display(),
        }
        return TemplateResponse(
            request, "admin/corporate/corporaterequest/decide.html", context, status=status
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method != "GET":
            raise PermissionDenied
        return self._page(request, self._request(request, object_id), StaffMessageForm())

    def _decide_view(self, request, object_id, *, decide, done):
        corporate_request = self._request(request, object_id)
        if request.method != "POST":
            return redirect(reverse("admin:corporate_corporaterequest_change", args=[object_id]))
        form = StaffMessageForm(request.POST)
        if form.is_valid():
            try:
                decided = decide(corporate_request, form.cleaned_data["message"])
            except CustomerError as error:
                # A missing reason is the message field's error: marked on the field itself.
                field = "message" if isinstance(error, account_exceptions.ReasonRequired) else None
                form.add_error(field, forms.ValidationError(str(error), code=error.code))
            else:
                messages.success(
                    request,
                    done(decided)
                    % {"reference": decided.reference, "user_id": decided.user.user_id},
                )
                return redirect(reverse("admin:corporate_corporaterequest_changelist"))
        corporate_request.refresh_from_db()
        return self._page(request, corporate_request, form)

    def return_view(self, request, object_id):
        return self._decide_view(
            request,
            object_id,
            decide=lambda item, message: services.request_return(
                corporate_request=item, actor=request.user, message=message, ip=client_ip(request)
            ),
            done=lambda item: _("%(reference)s was returned to %(user_id)s for correction."),
        )

    def reject_view(self, request, object_id):
        return self._decide_view(
            request,
            object_id,
            decide=lambda item, message: services.request_reject(
                corporate_request=item, actor=request.user, message=message, ip=client_ip(request)
            ),
            done=lambda item: _("%(reference)s was rejected; nothing changed for %(user_id)s."),
        )

    def approve_view(self, request, object_id):
        def done(item):
            if item.status == CorporateRequest.Status.AWAITING_SUPERVISOR:
                return _(
                    "%(reference)s is approved by you and now waits for a supervisor other "
                    "than you (the phone or email changes)."
                )
            if item.kind == CorporateRequest.Kind.TOKEN_REPLACEMENT:
                return _(
                    "%(reference)s is approved: %(user_id)s now confirms with SMS OTP and was "
                    "told by SMS and email."
                )
            return _("%(reference)s is approved: the change took effect and %(user_id)s was told.")

        return self._decide_view(
            request,
            object_id,
            decide=lambda item, message: services.request_approve(
                corporate_request=item, actor=request.user, message=message, ip=client_ip(request)
            ),
            done=done,
        )

    def _document_response(self, request, object_id, *, inline: bool):
        corporate_request = self._request(request, object_id)
        try:
            handle = services.document_open(
                corporate_request=corporate_request,
                actor=request.user,
                ip=client_ip(request),
                inline=inline,
            )
        except CustomerError:
            raise PermissionDenied from None
        except FileNotFoundError:
            raise Http404 from None
        content_type = corporate_request.document_type
        if content_type not in services.DOCUMENT_TYPES:
            content_type = "application/octet-stream"
        # Saved under the request's reference and the extension of the type its bytes showed,
        # never the name the customer typed ("….html", "…exe"); that name is shown as text.
        extension = services.DOCUMENT_TYPES.get(content_type, ".bin")
        response = FileResponse(
            handle,
            as_attachment=not inline,
            filename=f"{corporate_request.reference}{extension}",
            content_type=content_type,
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "no-store"
        # Shown inline in a sandbox: no script, no form, no request of its own.
        response["Content-Security-Policy"] = "sandbox; default-src 'none'"
        response["Cross-Origin-Resource-Policy"] = "same-origin"
        response["Referrer-Policy"] = "no-referrer"
        return response

    def document_view(self, request, object_id):
        """The signed form, for staff who process requests only, downloaded
        (``Content-Disposition: attachment``, ``nosniff``), audited."""
        return self._document_response(request, object_id, inline=False)

    def document_inline_view(self, request, object_id):
        """The signed form shown in the browser (PDF, PNG, JPG only: the type its bytes were
        when stored), sandboxed, with the same permission and audit as the download."""
        return self._document_response(request, object_id, inline=True)

    def company_audit_view(self, request):
        """The audit trail of a company's users (staff who may read the audit log)."""
        if not request.user.has_perm("accounts.view_auditevent"):
            # The staff admin's refusal, not the customer portal's 403 with its menu.
            return TemplateResponse(
                request,
                "admin/corporate/forbidden.html",
                {**self.admin_site.each_context(request), "title": _("Not permitted")},
                status=403,
            )
        company_id = request.GET.get("company", "")
        if not (company_id.isascii() and company_id.isdigit()):
            raise Http404
        company = get_object_or_404(Company, pk=int(company_id))
        events = (
            AuditEvent.objects.filter(subject__company=company)
            .select_related("actor__company", "subject__company")
            .order_by("-created_at", "-pk")[:200]
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Audit trail of the users of %(company)s") % {"company": company.name},
            "company": company,
            "events": [
                {
                    "event": e,
                    "reason": audit_reason_display(e.reason),
                    "actor": _person(e.actor),
                    "subject": _person(e.subject),
                    "reference": _event_reference(e),
                }
                for e in events
            ],
        }
        return TemplateResponse(request, "admin/corporate/company_audit.html", context)


def _person(user) -> str:
    """A company's user as they type it (User ID, then the Corporate ID); staff by their ID."""
    if user is None:
        return "-"
    if user.company_id is not None:
        return f"{user.login_user_id} ({user.company.corporate_id})"
    return user.user_id


def _event_reference(event: AuditEvent) -> str:
    """What the event is about: a payment's reference, or a request's number."""
    data = event.data if isinstance(event.data, dict) else {}
    if data.get("reference"):
        return str(data["reference"])
    if isinstance(data.get("request"), int):
        return CorporateRequest(pk=data["request"]).reference
    return ""


class CompanyRequestInline(CompanyPartInline):
    """A company's requests on its admin page, with a link to its users' audit trail."""

    model = CorporateRequest
    fields = ["reference_link", "kind", "user_display", "status", "submitted_display"]
    readonly_fields = fields
    verbose_name = _("request")
    verbose_name_plural = _("requests (token replacement, phone/email)")
    template = "admin/corporate/company_requests_inline.html"

    def get_queryset(self, request):
        # Each row shows its user's ID: one join, not a query per request.
        return super().get_queryset(request).select_related("user")

    @admin.display(description=_("number"))
    def reference_link(self, obj):
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:corporate_corporaterequest_change", args=[obj.pk]),
            obj.reference,
        )

    @admin.display(description=_("user"))
    def user_display(self, obj):
        return obj.user.login_user_id

    @admin.display(description=_("submitted at"))
    def submitted_display(self, obj):
        return staff_time(obj.submitted_at)


class CompanyUserStaffInline(CompanyUserInline):
    """The company's users with a link to each one's customer page and how each confirms
    (token, or SMS OTP standing in for one), with the token's serial and state."""

    fields = [
        "user_link",
        "full_name",
        "phone_display",
        "email",
        "is_active",
        "method_display",
        "token_display",
    ]
    readonly_fields = fields
    template = "admin/corporate/tabular_plain.html"

    def get_queryset(self, request):
        # Each row shows its user's token: one query for all users, not one or two per user.
        return super().get_queryset(request).prefetch_related(services.tokens_prefetch())

    @staticmethod
    def _token(user):
        return next(iter(user.tokens_held_first), None)

    @admin.display(description=_("User ID"))
    def user_link(self, user):
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:accounts_user_change", args=[user.pk]),
            user.login_user_id,
        )

    @admin.display(description=_("confirmation method"))
    def method_display(self, user):
        if user.confirmation_method == user.ConfirmationMethod.HARDWARE_TOKEN:
            return _("Token")
        if user.confirmation_method == user.ConfirmationMethod.SMS and self._token(user):
            return _("SMS OTP (temporary)")
        return user.get_confirmation_method_display()

    @admin.display(description=_("hard token"))
    def token_display(self, user):
        token = self._token(user)
        return f"{token.serial} · {token.get_state_display()}" if token else "–"


CompanyAdmin.inlines = [
    CompanyUserStaffInline if inline is CompanyUserInline else inline
    for inline in CompanyAdmin.inlines
] + [CompanyRequestInline]
