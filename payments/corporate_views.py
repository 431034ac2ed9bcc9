"""Corporate payments (issue 11): the pages of a company's users. Every page finds the payment
among the user's company's payments only (another company's, or a retail customer asking, is a
404); what a user may do with it is the services' question."""

from django.contrib import messages
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.generic import DetailView, FormView, ListView, TemplateView

from corporate.views import CorporateUserMixin
from portal.formatting import account_masked, rupiah
from tokens.views import OtpConfirmView, OtpIssueView

from . import exceptions, selectors, services
from .forms import CorporatePaymentFilterForm, CorporatePaymentRejectForm
from .models import Transfer
from .views import ActionPageMixin, DraftCreateView


def company_payments_of(user):
    """The payments a user of the company may open: all of the company's, except other users'
    drafts (not started, listed nowhere)."""
    return (
        Transfer.objects.of_company(user.company_id)
        .exclude(Q(status=Transfer.Status.DRAFT) & ~Q(initiated_by=user))
        .select_related(
            "initiated_by",
            "approved_by",
            "rejected_by",
            "source",
            "destination__owner",
            "destination__company",
            "challenge",
        )
    )


class PaymentActionMixin(CorporateUserMixin):
    def get_action(self):
        return get_object_or_404(
            company_payments_of(self.request.user), reference=self.kwargs["reference"]
        )

    def get_confirm_url(self, action):
        return reverse("payments:payment-confirm", kwargs={"reference": action.reference})

    def get_detail_url(self, action):
        return reverse("payments:payment-detail", kwargs={"reference": action.reference})


class PaymentCreateView(CorporateUserMixin, DraftCreateView):
    """ "Pembayaran": from one of the company's accounts to a payee or any account."""

    template_name = "payments/payment_form.html"
    create = services.corporate_payment_create
    confirm_url_name = "payments:payment-confirm"


class PaymentConfirmView(PaymentActionMixin, OtpConfirmView):
    """The seed's flow for either step: "Generate OTP" (SMS to the confirming user's phone;
    none for a token user), "One Time Password", "Konfirmasi Pembayaran", then "Selesai".
    The maker confirms their own payment; another user of the company approves it."""

    template_name = "payments/payment_confirm.html"
    purpose = services.CORPORATE_PAYMENT_PURPOSE

    @cached_property
    def step(self):
        return services.corporate_payment_step(payment=self.action, user=self.request.user)

    def is_pending(self, action):
        return services.corporate_payment_step(payment=action, user=self.request.user) is not None

    def get_challenge(self, action):
        return services.corporate_payment_challenge(payment=action, user=self.request.user)

    def get_done_url(self, action):
        return self.get_detail_url(action)

    def get(self, request, *args, **kwargs):
        services.transfer_expire_if_overdue(self.action)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(step=self.step, **kwargs)

    def confirm(self, action, code):
        user = self.request.user
        if services.corporate_payment_step(payment=action, user=user) == services.APPROVER:
            return services.corporate_payment_approve(
                payment=action, user=user, code=code, session_verified=self.session_verified
            )
        if action.initiated_by_id != user.pk:
            raise exceptions.NotPending()
        return services.corporate_payment_confirm(
            payment=action, user=user, code=code, session_verified=self.session_verified
        )

    def get_success_url(self):
        self.action.refresh_from_db()
        if self.action.status == Transfer.Status.WAITING_APPROVAL:
            messages.success(
                self.request,
                _(
                    "The payment of %(amount)s (reference %(reference)s) is waiting for "
                    "approval by another user of your company. No money has been moved yet."
                )
                % {"amount": rupiah(self.action.amount), "reference": self.action.reference},
            )
        return self.get_detail_url(self.action)


class PaymentOtpView(PaymentActionMixin, OtpIssueView):
    def issue(self, action):
        return services.corporate_payment_challenge_issue(payment=action, user=self.request.user)


class PaymentDetailView(CorporateUserMixin, DetailView):
    """The receipt ("Selesai" once the money moved) and the payment's state for every user of
    the company: who made it, who approved or rejected it and why."""

    template_name = "payments/payment_detail.html"
    slug_field = slug_url_kwarg = "reference"
    context_object_name = "payment"

    def get_queryset(self):
        return company_payments_of(self.request.user)

    def get_object(self, queryset=None):
        payment = super().get_object(queryset)
        services.transfer_expire_if_overdue(payment)
        return payment

    def get_context_data(self, **kwargs):
        step = services.corporate_payment_step(payment=self.object, user=self.request.user)
        return super().get_context_data(step=step, **kwargs)


@method_decorator(never_cache, name="dispatch")
class PaymentCancelView(PaymentActionMixin, ActionPageMixin, TemplateView):
    """ "Batalkan": the maker cancels a payment still waiting (for a code or an approval)."""

    template_name = "payments/payment_cancel.html"

    def get(self, request, *args, **kwargs):
        waiting = (Transfer.Status.PENDING, Transfer.Status.WAITING_APPROVAL)
        services.transfer_expire_if_overdue(self.action)
        if self.action.initiated_by_id != request.user.pk or self.action.status not in waiting:
            return redirect(self.get_detail_url(self.action))
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        payment = self.action
        try:
            services.transfer_cancel(transfer=payment, user=request.user)
        except Transfer.DoesNotExist:  # another user's payment: only its maker cancels
            messages.error(request, _("Only the user who made this payment can cancel it."))
            return redirect(self.get_detail_url(payment))
        except exceptions.PaymentError as exc:
            messages.error(request, str(exc))
            return redirect(self.get_detail_url(payment))
        messages.success(
            request,
            _(
                "The payment of %(amount)s to %(account)s was cancelled (reference "
                "%(reference)s). No money was moved."
            )
            % {
                "amount": rupiah(payment.amount),
                "account": account_masked(payment.destination.number),
                "reference": payment.reference,
            },
        )
        return redirect("payments:payment-list")


@method_decorator(never_cache, name="dispatch")
class PaymentRejectView(PaymentActionMixin, ActionPageMixin, FormView):
    """ "Tolak": another user of the company refuses a payment waiting for approval."""

    template_name = "payments/payment_reject.html"
    form_class = CorporatePaymentRejectForm

    def get(self, request, *args, **kwargs):
        services.transfer_expire_if_overdue(self.action)
        step = services.corporate_payment_step(payment=self.action, user=request.user)
        if step != services.APPROVER:
            return redirect(self.get_detail_url(self.action))
        return super().get(request, *args, **kwargs)

    def form_valid(self, form):
        payment = self.action
        try:
            services.corporate_payment_reject(
                payment=payment, user=self.request.user, reason=form.cleaned_data["reason"]
            )
        except exceptions.PaymentError as exc:
            messages.error(self.request, str(exc))
            return redirect(self.get_detail_url(payment))
        messages.success(
            self.request,
            _("The payment of %(amount)s (reference %(reference)s) was rejected.")
            % {"amount": rupiah(payment.amount), "reference": payment.reference},
        )
        return redirect("payments:payment-list")


class PaymentListView(CorporateUserMixin, ListView):
    """ "Daftar Pembayaran": the company's payments, filtered; an approver sees "Setujui" on
    the ones waiting for approval."""

    template_name = "payments/payment_list.html"
    paginate_by = 20
    context_object_name = "payments"

    @cached_property
    def filter_form(self):
        return CorporatePaymentFilterForm(
            self.request.GET or None, company_id=self.request.user.company_id
        )

    def get_queryset(self):
        services.transfers_expire(company_id=self.request.user.company_id)
        form = self.filter_form
        if form.is_bound and not form.is_valid():
            return Transfer.objects.none()  # nothing until the filter is fixed
        filters = form.cleaned_data if form.is_bound else {}
        return selectors.company_payments(
            user=self.request.user,
            status=filters.get("status") or "",
            start=filters.get("start"),
            end=filters.get("end"),
            maker=filters.get("maker"),
        )

    def get_context_data(self, **kwargs):
        query = self.request.GET.copy()
        query.pop("page", None)
        return super().get_context_data(
            form=self.filter_form, page_query=query.urlencode(), **kwargs
        )
