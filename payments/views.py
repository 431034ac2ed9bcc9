from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse, reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.generic import DetailView, FormView, ListView, TemplateView

from portal.formatting import account_masked, rupiah
from tokens.views import OtpConfirmView, OtpIssueView

from . import exceptions, services
from .forms import PayeeForm, PayeeRenameForm, TransferForm
from .models import Payee, Transfer


@method_decorator(never_cache, name="dispatch")
class DraftCreateView(LoginRequiredMixin, FormView):
    """The form of a transfer or a corporate payment: one service records the draft
    (``create``), then its confirmation page (``confirm_url_name``) shows the recipient."""

    form_class = TransferForm
    create = None
    confirm_url_name = None

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            draft = type(self).create(
                user=self.request.user,
                source=data["source"],
                destination=services.account_by_number(number=data["destination_account_number"]),
                amount=data["amount"],
                description=data["description"],
            )
        except exceptions.PaymentError as exc:
            form.add_error(None, str(exc))
            return self.form_invalid(form)
        return redirect(self.confirm_url_name, reference=draft.reference)


class TransferCreateView(DraftCreateView):
    template_name = "payments/transfer_form.html"
    create = services.transfer_create
    confirm_url_name = "payments:transfer-confirm"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and request.user.company_id is not None:
            return redirect("payments:payment-create")  # the corporate payment
        return super().dispatch(request, *args, **kwargs)


class ActionPageMixin(LoginRequiredMixin):
    """A page about one action of the user that is not its OTP confirmation ("Batalkan",
    "Tolak"): the action is found (``get_action``) before anything else, as on those pages."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.action = self.get_action()
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(action=self.action, **kwargs)


class TransferActionMixin:
    def get_action(self):
        transfer = get_object_or_404(
            Transfer.objects.select_related(
                "source", "destination__owner", "destination__company", "challenge"
            ),
            reference=self.kwargs["reference"],
            initiated_by=self.request.user,
            source__company__isnull=True,  # a corporate payment has its own pages
        )
        # Found by it: the request's user, already read, rather than 19 more columns joined.
        transfer.initiated_by = self.request.user
        return transfer

    def get_confirm_url(self, action):
        return reverse("payments:transfer-confirm", kwargs={"reference": action.reference})


class TransferConfirmView(TransferActionMixin, OtpConfirmView):
    """Confirms a transfer; a cancelled or expired one is shown as such here, with no OTP."""

    template_name = "payments/transfer_confirm.html"
    purpose = services.TRANSFER_PURPOSE

    def is_pending(self, action):
        return action.status in (Transfer.Status.DRAFT, Transfer.Status.PENDING)

    def get(self, request, *args, **kwargs):
        services.transfer_expire_if_overdue(self.action)
        if self.action.is_ended:
            return self.render_to_response({"action": self.action, "ended": True})
        return super().get(request, *args, **kwargs)

    def get_done_url(self, action):
        if action.is_ended:
            return self.get_confirm_url(action)
        return super().get_done_url(action)

    def get_intent_summary(self, action):
        return services.transfer_intent(action)

    def confirm(self, action, code):
        return services.transfer_confirm(
            transfer=action, code=code, session_verified=self.session_verified
        )

    def get_success_url(self):
        return reverse("payments:transfer-detail", kwargs={"reference": self.action.reference})


class TransferOtpView(TransferActionMixin, OtpIssueView):
    def get_action(self):
        # "Generate OTP" needs only the two accounts' numbers (the intent, the SMS text): a
        # lighter read than the confirm page's (bench/otp_generate.py counts its CPU).
        transfer = get_object_or_404(
            Transfer.objects.select_related("source", "destination"),
            reference=self.kwargs["reference"],
            initiated_by=self.request.user,
            source__company__isnull=True,
        )
        transfer.initiated_by = self.request.user
        return transfer

    def issue(self, action):
        return services.transfer_challenge_issue(transfer=action)


class TransferDetailView(LoginRequiredMixin, DetailView):
    template_name = "payments/transfer_detail.html"
    slug_field = slug_url_kwarg = "reference"

    def get_queryset(self):
        return Transfer.objects.filter(
            initiated_by=self.request.user, source__company__isnull=True
        ).select_related("source", "destination__owner", "destination__company")

    def get_object(self, queryset=None):
        transfer = super().get_object(queryset)
        transfer.initiated_by = self.request.user  # found by it (see TransferActionMixin)
        services.transfer_expire_if_overdue(transfer)
        return transfer


@method_decorator(never_cache, name="dispatch")
class TransferCancelView(TransferActionMixin, ActionPageMixin, TemplateView):
    """The "Batalkan" page: asks first; its POST cancels a transfer waiting for its code."""

    template_name = "payments/transfer_cancel.html"

    def get(self, request, *args, **kwargs):
        services.transfer_expire_if_overdue(self.action)
        if self.action.status != Transfer.Status.PENDING:
            return redirect(self.get_confirm_url(self.action))
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        transfer = self.action
        try:
            services.transfer_cancel(transfer=transfer, user=request.user)
        except exceptions.PaymentError as exc:
            messages.error(request, str(exc))
            return redirect(self.get_confirm_url(transfer))
        messages.success(
            request,
            _(
                "The transfer of %(amount)s to %(account)s was cancelled (reference "
                "%(reference)s). No money was moved."
            )
            % {
                "amount": rupiah(transfer.amount),
                "account": account_masked(transfer.destination.number),
                "reference": transfer.reference,
            },
        )
        return redirect("payments:transfer-list")


class TransferListView(LoginRequiredMixin, ListView):
    template_name = "payments/transfer_list.html"
    paginate_by = 20

    def get_queryset(self):
        services.transfers_expire(user=self.request.user)
        return (
            Transfer.objects.started()
            .filter(initiated_by=self.request.user, source__company__isnull=True)
            .select_related("source", "destination__owner", "destination__company")
        )


class PayeeListView(LoginRequiredMixin, ListView):
    template_name = "payments/payee_list.html"

    def get_queryset(self):
        return Payee.objects.filter(
            owner=self.request.user, status=Payee.Status.ACTIVE
        ).select_related("account__owner", "account__company")


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
            Payee.objects.select_related(
                "owner", "account__owner", "account__company", "challenge"
            ),
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
        payee = services.payee_confirm(
            payee=action, code=code, session_verified=self.session_verified
        )
        messages.success(
            self.request,
            _("The payee %(nickname)s (account %(account)s) was added.")
            % {"nickname": action.nickname, "account": account_masked(action.account.number)},
        )
        return payee

    def get_success_url(self):
        return reverse("payments:payee-list")


class PayeeOtpView(PayeeActionMixin, OtpIssueView):
    def issue(self, action):
        return services.payee_challenge_issue(payee=action)


class SavedPayeeMixin(LoginRequiredMixin):
    """A page about one of the customer's saved (active) payees; anyone else's is a 404."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.payee = get_object_or_404(
            Payee.objects.select_related("account__owner", "account__company"),
            pk=self.kwargs["pk"],
            owner=request.user,
            status=Payee.Status.ACTIVE,
        )
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(payee=self.payee, **kwargs)


@method_decorator(never_cache, name="dispatch")
class PayeeRenameView(SavedPayeeMixin, FormView):
    """Change a payee's nickname; its account is shown, never editable."""

    form_class = PayeeRenameForm
    template_name = "payments/payee_rename.html"
    success_url = reverse_lazy("payments:payee-list")

    def get_initial(self):
        return {"nickname": self.payee.nickname}

    def form_valid(self, form):
        old = self.payee.nickname
        try:
            services.payee_rename(
                payee=self.payee, user=self.request.user, nickname=form.cleaned_data["nickname"]
            )
        except Payee.DoesNotExist:
            raise Http404 from None  # deleted in another tab meanwhile
        if self.payee.nickname != old:
            messages.success(
                self.request,
                _("The payee %(old)s is now called %(new)s.")
                % {"old": old, "new": self.payee.nickname},
            )
        return redirect(self.get_success_url())


@method_decorator(never_cache, name="dispatch")
class PayeeDeleteView(SavedPayeeMixin, TemplateView):
    """Asks first; the POST deletes the payee (past transfers stay as they were)."""

    template_name = "payments/payee_delete.html"

    def post(self, request, *args, **kwargs):
        try:
            services.payee_delete(payee=self.payee, user=request.user)
        except Payee.DoesNotExist:
            raise Http404 from None  # deleted in another tab meanwhile
        messages.success(
            request,
            _("The payee %(nickname)s (account %(account)s) was deleted.")
            % {
                "nickname": self.payee.nickname,
                "account": account_masked(self.payee.account.number),
            },
        )
        return redirect("payments:payee-list")
