from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.generic import DetailView, FormView, ListView

from tokens.views import OtpConfirmView, OtpIssueView

from . import exceptions, services
from .forms import PayeeForm, TransferForm
from .models import Payee, Transfer


@method_decorator(never_cache, name="dispatch")
class TransferCreateView(LoginRequiredMixin, FormView):
    form_class = TransferForm
    template_name = "payments/transfer_form.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            transfer = services.transfer_create(
                user=self.request.user,
                source=data["source"],
                destination=services.account_by_number(number=data["destination_account_number"]),
                amount=data["amount"],
                description=data["description"],
            )
        except exceptions.PaymentError as exc:
            form.add_error(None, str(exc))
            return self.form_invalid(form)
        return redirect("payments:transfer-confirm", reference=transfer.reference)


class TransferActionMixin:
    def get_action(self):
        return get_object_or_404(
            Transfer.objects.select_related(
                "initiated_by", "source", "destination__owner", "challenge"
            ),
            reference=self.kwargs["reference"],
            initiated_by=self.request.user,
        )

    def get_confirm_url(self, action):
        return reverse("payments:transfer-confirm", kwargs={"reference": action.reference})


class TransferConfirmView(TransferActionMixin, OtpConfirmView):
    template_name = "payments/transfer_confirm.html"
    purpose = services.TRANSFER_PURPOSE

    def is_pending(self, action):
        return action.status in (Transfer.Status.DRAFT, Transfer.Status.PENDING)

    def confirm(self, action, code):
        return services.transfer_confirm(
            transfer=action, code=code, session_verified=self.session_verified
        )

    def get_success_url(self):
        return reverse("payments:transfer-detail", kwargs={"reference": self.action.reference})


class TransferOtpView(TransferActionMixin, OtpIssueView):
    def issue(self, action):
        return services.transfer_challenge_issue(transfer=action)


class TransferDetailView(LoginRequiredMixin, DetailView):
    template_name = "payments/transfer_detail.html"
    slug_field = slug_url_kwarg = "reference"

    def get_queryset(self):
        return Transfer.objects.filter(initiated_by=self.request.user).select_related(
            "source", "destination__owner"
        )


class TransferListView(LoginRequiredMixin, ListView):
    template_name = "payments/transfer_list.html"
    paginate_by = 20

    def get_queryset(self):
        return (
            Transfer.objects.started()
            .filter(initiated_by=self.request.user)
            .select_related("source", "destination__owner")
        )


class PayeeListView(LoginRequiredMixin, ListView):
    template_name = "payments/payee_list.html"

    def get_queryset(self):
        return Payee.objects.filter(
            owner=self.request.user, status=Payee.Status.ACTIVE
        ).select_related("account__owner")


@method_decorator(never_cache, name="dispatch")
class PayeeCreateView(LoginRequiredMixin, FormView):
    form_class = PayeeForm
    template_name = "payments/payee_form.html"

    def form_valid(self, form):
        try:
            payee = services.payee_create(
                user=self.request.user,
                account=services.account_by_number(number=form.cleaned_data["account_number"]),
                nickname=form.cleaned_data["nickname"],
            )
        except exceptions.PaymentError as exc:
            form.add_error(None, str(exc))
            return self.form_invalid(form)
        return redirect("payments:payee-confirm", pk=payee.pk)


class PayeeActionMixin:
    def get_action(self):
        return get_object_or_404(
            Payee.objects.select_related("owner", "account__owner", "challenge"),
            pk=self.kwargs["pk"],
            owner=self.request.user,
        )

    def get_confirm_url(self, action):
        return reverse("payments:payee-confirm", kwargs={"pk": action.pk})


class PayeeConfirmView(PayeeActionMixin, OtpConfirmView):
    template_name = "payments/payee_confirm.html"
    purpose = services.PAYEE_PURPOSE

    def is_pending(self, action):
        return action.status == Payee.Status.PENDING

    def confirm(self, action, code):
        return services.payee_confirm(
            payee=action, code=code, session_verified=self.session_verified
        )

    def get_success_url(self):
        return reverse("payments:payee-list")


class PayeeOtpView(PayeeActionMixin, OtpIssueView):
    def issue(self, action):
        return services.payee_challenge_issue(payee=action)
