from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django.views.generic import FormView, ListView, View

from accounts.views import client_ip
from portal.exceptions import CustomerError

from . import hardware, selectors, services
from .exceptions import OtpError
from .forms import OtpForm, TokenActivationForm
from .models import Challenge, OutboxMessage


class OtpActionMixin(LoginRequiredMixin):
    """A page that confirms one pending action of the customer with an OTP.

    Subclasses say how to find the action (``get_action``), which challenge it holds
    (``get_challenge``), and call one service to issue or confirm.
    """

    handled_errors = (CustomerError,)

    def get_action(self):
        raise NotImplementedError

    def get_challenge(self, action):
        return action.challenge

    def get_confirm_url(self, action):
        raise NotImplementedError

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.action = self.get_action()
        return super().dispatch(request, *args, **kwargs)


@method_decorator([never_cache, sensitive_post_parameters("code")], name="dispatch")
class OtpConfirmView(OtpActionMixin, FormView):
    """The one confirmation page of a pending action: says the purpose (``purpose`` or
    ``get_purpose``), whether the action still waits (``is_pending``; if not, GET goes to
    ``get_done_url``), and calls one service in ``confirm``.

    A ``per_session`` purpose in a session already verified by OTP asks for no code (the
    service checks the policy again); every other confirmation needs its own code.
    """

    form_class = OtpForm
    purpose = None

    def get_purpose(self, action):
        return self.purpose

    def is_pending(self, action) -> bool:
        return True

    def get_done_url(self, action):
        return self.get_success_url()

    def confirm(self, action, code):
        raise NotImplementedError

    def get_intent_summary(self, action) -> dict | None:
        """The summary the code is bound to, when the page needs it before a challenge exists:
        a Mobile Token code for money is made over the destination's last digits ("APPLI 2"),
        which the page shows. None: the page makes no such code (payees, profile changes)."""
        return None

    @cached_property
    def session_verified(self) -> bool:
        """django-otp's verdict on this session; the service checks the purpose's policy."""
        return self.request.user.is_verified()

    @cached_property
    def session_covers(self) -> bool:
        return services.session_covers(
            purpose=self.get_purpose(self.action), session_verified=self.session_verified
        )

    def get(self, request, *args, **kwargs):
        if not self.is_pending(self.action):
            return redirect(self.get_done_url(self.action))
        return super().get(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "code_required": not self.session_covers}

    def get_context_data(self, **kwargs):
        kwargs.setdefault("action", self.action)
        kwargs.setdefault(
            "otp",
            selectors.otp_state(user=self.request.user, challenge=self.get_challenge(self.action)),
        )
        kwargs.setdefault("session_covers", self.session_covers)
        kwargs.setdefault("lifetime_minutes", max(1, settings.OTP_CODE_LIFETIME // 60))
        if kwargs["otp"].channel == Challenge.Channel.MOBILE_TOKEN and not self.session_covers:
            # What the Mobile Token must sign (the 8 digits, or none) and which device INSTAN
            # may confirm with: decided here from the stored intent, never by the browser.
            kwargs.setdefault(
                "mobile",
                selectors.mobile_confirm_context(
                    user=self.request.user,
                    purpose=self.get_purpose(self.action),
                    summary=self.get_intent_summary(self.action),
                ),
            )
        return super().get_context_data(**kwargs)

    def form_valid(self, form):
        code = None if self.session_covers else form.cleaned_data["code"]
        # Resolved before the action: nothing after the money moved may fail the request.
        device = services.session_device_for(user=self.request.user)
        try:
            self.confirm(self.action, code)
        except self.handled_errors as exc:
            self.action.refresh_from_db()
            if not self.is_pending(self.action):
                # Refused for good (a limit, the balance): the receipt says what happened.
                messages.error(self.request, str(exc))
                return redirect(self.get_done_url(self.action))
            # Only a problem with the code belongs under the code field.
            form.add_error("code" if isinstance(exc, OtpError) else None, str(exc))
            return self.form_invalid(form)
        user = self.request.user
        if code is not None and user.is_authenticated:
            services.session_verified(request=self.request, device=device)
        if not self.request.user.is_authenticated:
            # The session ended while this request ran (a logout in another tab, a new login
            # elsewhere): that end wins. What the request confirmed stays done (the receipt is
            # in the history after the next login); this browser gets the login page, never a
            # new session.
            messages.info(self.request, _("Your session has ended. Please log in again."))
            return redirect(
                "accounts:corporate-login" if user.company_id is not None else settings.LOGIN_URL
            )
        return redirect(self.get_success_url())


@method_decorator(never_cache, name="dispatch")
class OtpIssueView(OtpActionMixin, View):
    """ "Generate OTP": answers at once (the confirm page then says where the code went and
    shows the resend countdown); the SMS goes out through Celery."""

    http_method_names = ["post"]

    def issue(self, action):
        raise NotImplementedError

    def post(self, request, *args, **kwargs):
        try:
            self.issue(self.action)
        except self.handled_errors as exc:
            messages.error(request, str(exc))
        return redirect(self.get_confirm_url(self.action))


class OutboxView(ListView):
    """The development phone: SMS the ``outbox`` backend kept. Only when enabled (DEBUG)."""

    template_name = "tokens/outbox_list.html"
    context_object_name = "outbox"
    paginate_by = 20

    def dispatch(self, request, *args, **kwargs):
        if not settings.SMS_OUTBOX_PAGE:
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self):
        return OutboxMessage.objects.all()


@csrf_exempt
@require_POST
def sms_status_callback(request):
    """Twilio's status callback: accepted only with a valid ``X-Twilio-Signature``."""
    from twilio.request_validator import RequestValidator

    url = settings.SMS_STATUS_CALLBACK_URL or request.build_absolute_uri()
    signature = request.headers.get("X-Twilio-Signature", "")
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    if not signature or not validator.validate(url, request.POST.dict(), signature):
        return HttpResponseForbidden("invalid signature")
    provider_id = request.POST.get("MessageSid", "")
    status = request.POST.get("MessageStatus", "")
    if not provider_id or not status:
        return HttpResponse(status=400)
    services.sms_status_update(
        provider_id=provider_id, status=status, error_code=request.POST.get("ErrorCode", "")
    )
    return HttpResponse(status=204)


@method_decorator(
    [never_cache, sensitive_post_parameters("code", "birth_date", "serial")], name="dispatch"
)
class TokenActivateView(LoginRequiredMixin, FormView):
    """ "Aktivasi Token" (Profil Saya): the customer activates the token the branch gave them."""

    form_class = TokenActivationForm
    template_name = "tokens/token_activate.html"
    success_url = reverse_lazy("portal:dashboard")

    def form_valid(self, form):
        try:
            token = hardware.token_activate(
                user=self.request.user,
                birth_date=form.cleaned_data["birth_date"],
                serial=form.cleaned_data["serial"],
                code=form.cleaned_data["code"],
                ip=client_ip(self.request),
            )
        except CustomerError as exc:
            form.add_error(None, str(exc))
            # A tried code is never shown again; the customer reads a new one off the token.
            form.data = form.data.copy()
            form.data["code"] = ""
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("Your token %(serial)s is active: use its codes to confirm your transactions.")
            % {"serial": token.serial},
        )
        return redirect(self.get_success_url())
