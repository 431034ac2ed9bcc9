"""Pages of corporate requests for the company's users: the bank's form (a token replacement or
a change of phone/email), the company's requests and their status, and the correction of a
request staff returned. Each page only wires a form to one service of ``corporate.services``.

None of them needs a code: a user whose token died logs in with the password and asks here.
"""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.generic import FormView, TemplateView

from accounts.views import client_ip
from payments.selectors import approvals_waiting_count
from portal.formatting import email_masked

from . import exceptions, selectors, services
from .forms import CorporateRequestForm
from .models import CorporateRequest


class CorporateUserMixin(LoginRequiredMixin):
    """Pages for a company's users only: anyone else gets a 404 (no hint that they exist)."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and request.user.company_id is None:
            raise Http404
        return super().dispatch(request, *args, **kwargs)


@method_decorator(never_cache, name="dispatch")
class RequestFormMixin(CorporateUserMixin, FormView):
    form_class = CorporateRequestForm
    template_name = "corporate/corporaterequest_form.html"

    def get_kind(self):
        return self.kind

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "kind": self.get_kind()}

    def get_context_data(self, **kwargs):
        kind = self.get_kind()
        return super().get_context_data(
            kind=kind,
            kind_label=CorporateRequest.Kind(kind).label,
            is_token=kind == CorporateRequest.Kind.TOKEN_REPLACEMENT,
            **kwargs,
        )

    def form_valid(self, form):
        try:
            corporate_request = self.submit(form)
        except exceptions.OpenRequestExists as error:
            form.errors_add(error)
            return self.render_to_response(
                self.get_context_data(form=form, open_request=error.corporate_request)
            )
        except exceptions.RequestError as error:
            form.errors_add(error)
            return self.form_invalid(form)
        messages.success(
            self.request, self.done_text() % {"reference": corporate_request.reference}
        )
        return redirect("corporate:request-detail", reference=corporate_request.reference)


class RequestCreateView(RequestFormMixin):
    """The bank's form, prefilled from the bank's records."""

    kind = None  # set by the URL pattern

    def get_initial(self):
        records = services.records_of(self.request.user)
        if self.kind == CorporateRequest.Kind.TOKEN_REPLACEMENT:
            return records
        return {key: value for key, value in records.items() if key != "token_serial"}

    def done_text(self):
        return _(
            "Your request %(reference)s was submitted. The bank will process it; you can follow "
            "it in Request status."
        )

    def submit(self, form):
        return services.request_submit(
            user=self.request.user,
            kind=self.kind,
            data=form.cleaned_data,
            document=form.cleaned_data.get("document"),
            ip=client_ip(self.request),
        )


class RequestCorrectView(RequestFormMixin):
    """A request staff returned ("Perlu perbaikan"): the user's own, corrected and submitted
    again."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and request.user.company_id is not None:
            self.corporate_request = selectors.request_of_company(
                user=request.user, reference=kwargs["reference"]
            )
            if (
                self.corporate_request.user_id != request.user.pk
                or self.corporate_request.status != CorporateRequest.Status.NEEDS_CORRECTION
            ):
                return redirect(
                    "corporate:request-detail", reference=self.corporate_request.reference
                )
        return super().dispatch(request, *args, **kwargs)

    def get_kind(self):
        return self.corporate_request.kind

    def get_initial(self):
        typed = self.corporate_request
        return {
            "company_name": typed.company_name,
            "cif": typed.cif,
            "corporate_id": typed.corporate_id,
            "user_id": typed.typed_user_id,
            "token_serial": typed.token_serial,
            "phone": typed.phone,
            "email": typed.email,
            "reason": typed.reason,
        }

    def get_context_data(self, **kwargs):
        return super().get_context_data(correcting=self.corporate_request, **kwargs)

    def done_text(self):
        return _("Your corrected request %(reference)s was submitted again.")

    def submit(self, form):
        return services.request_resubmit(
            corporate_request=self.corporate_request,
            user=self.request.user,
            data=form.cleaned_data,
            document=form.cleaned_data.get("document"),
            ip=client_ip(self.request),
        )


@method_decorator(never_cache, name="dispatch")
class RequestListView(CorporateUserMixin, TemplateView):
    """ "Status pengajuan": the company's requests with their status and the bank's message."""

    template_name = "corporate/corporaterequest_list.html"

    def get_context_data(self, **kwargs):
        requests = list(selectors.requests_of_company(user=self.request.user)[:50])
        for item in requests:
            item.customer_message = selectors.customer_message(item)
        return super().get_context_data(requests=requests, **kwargs)


@method_decorator(never_cache, name="dispatch")
class RequestDetailView(CorporateUserMixin, TemplateView):
    template_name = "corporate/corporaterequest_detail.html"

    def get_context_data(self, **kwargs):
        corporate_request = selectors.request_of_company(
            user=self.request.user, reference=self.kwargs["reference"]
        )
        return super().get_context_data(
            item=corporate_request,
            message=selectors.customer_message(corporate_request),
            own=corporate_request.user_id == self.request.user.pk,
            # After filing: the user's company payments that wait for their approval, which
            # they can approve once the bank has approved this request.
            approvals_waiting=approvals_waiting_count(user=self.request.user)
            if corporate_request.is_open
            and corporate_request.user_id == self.request.user.pk
            and corporate_request.kind == CorporateRequest.Kind.TOKEN_REPLACEMENT
            else 0,
            fallback_ended_at=selectors.fallback_ended_at(corporate_request),
            # Masked: the company's other users read this page too.
            email_shown=email_masked(corporate_request.email),
            correct_url=reverse(
                "corporate:request-correct", kwargs={"reference": corporate_request.reference}
            ),
            **kwargs,
        )
