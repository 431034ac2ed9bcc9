"""Passwords: "Lupa Password?" (forgotten password) and "Ganti Password" (Profil Saya).

Views of ``accounts`` that build on the OTP pages of ``tokens`` and, for the forgotten
password, ask ``payments`` whether an account number is the customer's: only views may reach
the apps beside them; ``accounts.services`` does the accounts writes and imports neither.

Decisions:
- The forgotten-password code always goes by SMS to the registered number, also for a token
  user: the issue asks for "an SMS OTP to the registered phone", and one channel for everyone
  keeps the code page the same whether or not the data matched (a token page would tell).
- The state of a reset is a row (``PasswordReset``) written for every try, matching or not:
  the throttle counts those rows in the database every web process shares, the steps move it
  on by conditional UPDATEs (one time each), and the audit can name it. The browser's session
  holds only its random id.
- A customer whose password the bank chose (``must_change_password``) changes it through the
  same "Ganti Password" pages, OTP included: the bank's password was seen by more people than
  the customer, so the first password of the customer's own is confirmed by the phone or
  token too. ``portal.middleware.PasswordChangeRequiredMiddleware`` keeps them there.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.contrib.auth.hashers import make_password
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import FormView, TemplateView

from payments import selectors as payment_selectors
from portal.exceptions import CustomerError
from tokens import exceptions as otp_exceptions
from tokens import selectors as otp_selectors
from tokens import services as otp_services
from tokens.views import OtpConfirmView, OtpIssueView

from . import exceptions, selectors, services
from .forms import PasswordChangeStartForm, PasswordNewForm, PasswordResetRequestForm
from .models import PasswordChange, PasswordReset
from .views import client_ip

SESSION_RESET = "password_reset"
PURPOSE_RESET = "password_reset"
PURPOSE_CHANGE = "password_change"
RESET_SMS_TEXT = gettext_noop("resetting your Internet Banking password")
CHANGE_SMS_TEXT = gettext_noop("changing your Internet Banking password")
# A code typed for a reset that cannot be verified gets the words a real code would get.
CODE_REFUSALS = {
    "blocked": otp_exceptions.OtpBlocked,
    "expired": otp_exceptions.ChallengeExpired,
    "voided": otp_exceptions.ChallengeVoided,
    "wrong_code": otp_exceptions.WrongCode,
}


# --- Lupa Password? -------------------------------------------------------------------------


@method_decorator(
    [never_cache, sensitive_post_parameters("user_id", "birth_date", "account_number")],
    name="dispatch",
)
class PasswordResetRequestView(FormView):
    """Step 1: User ID, birth date and an account number. Whether they matched is never said:
    every try that is not throttled goes on to the same code page (or, for a matching customer
    who is blocked or has no phone, to the bank)."""

    form_class = PasswordResetRequestForm
    template_name = "accounts/password_reset_form.html"

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            with transaction.atomic():
                reset = services.password_reset_request(
                    user_id=data["user_id"],
                    birth_date=data["birth_date"],
                    account_number=data["account_number"],
                    ip=client_ip(self.request),
                    account_held=payment_selectors.account_number_held,
                )
                if reset.user is not None and reset.state == PasswordReset.State.ASKED:
                    _reset_code_issue(reset)
                elif reset.state == PasswordReset.State.SENT_TO_BANK:
                    # No code: told (by email, and SMS unless the phone is reported lost) to call
                    # the bank, while the page goes on as for any data.
                    otp_services.notice_send(
                        user=reset.user,
                        text=services.PASSWORD_RESET_BANK_TEXT,
                        params={"call_centre": settings.BANK_CALL_CENTRE},
                    )
        except exceptions.PasswordResetThrottled as exc:
            form.add_error(None, str(exc))
            response = self.form_invalid(form)
            response.status_code = 429
            return response
        # A new key for the session that now names a reset (no fixation of a planted one).
        self.request.session.cycle_key()
        self.request.session[SESSION_RESET] = str(reset.pk)
        return redirect("accounts:password-reset-confirm")


def _reset_code_issue(reset: PasswordReset) -> None:
    """Send the reset's code by SMS to the registered number (whatever the customer's usual
    method). A refusal to send (an SMS limit, say) is not shown, since only a matching
    customer could get one: the code step then fails like that of data that did not match."""
    try:
        with transaction.atomic():
            challenge = otp_services.challenge_issue(
                user=reset.user,
                purpose=PURPOSE_RESET,
                summary=services.password_reset_intent(reset),
                text=RESET_SMS_TEXT,
                text_params={},
                to=reset.user.phone,
            )
            services.password_reset_challenge_set(reset=reset, challenge=challenge)
    except CustomerError:
        pass


class PasswordResetActionMixin:
    """The reset this browser's session names. These pages are open without login (the
    customer cannot log in): the OTP pages of ``tokens`` require one, so ``dispatch`` finds
    the reset and goes straight to the view's handler, past that check, for these pages only."""

    def get_action(self):
        return services.password_reset_get(reset_id=self.request.session.get(SESSION_RESET))

    def get_challenge(self, action):
        if action.user is None or action.challenge_ref is None:
            return None
        return otp_selectors.challenge_for(user=action.user, challenge_id=action.challenge_ref)

    def get_confirm_url(self, action):
        return reverse("accounts:password-reset-confirm")

    def dispatch(self, request, *args, **kwargs):
        self.action = self.get_action()
        if self.action is None:
            messages.error(request, str(exceptions.PasswordResetNotPending()))
            return redirect("accounts:password-reset")
        return View.dispatch(self, request, *args, **kwargs)


@method_decorator([never_cache, sensitive_post_parameters("code")], name="dispatch")
class PasswordResetConfirmView(PasswordResetActionMixin, OtpConfirmView):
    """Step 2: the SMS code. The page is the same whether or not the data matched; a code for
    a reset without a customer is refused in the same words a wrong code gets."""

    template_name = "accounts/password_reset_confirm.html"
    purpose = PURPOSE_RESET
    # An anonymous session: never covered by an earlier OTP.
    session_verified = False
    session_covers = False

    def is_pending(self, action):
        return action.state in PasswordReset.CODE_STEP_STATES

    def get_done_url(self, action):
        if action.state == PasswordReset.State.VERIFIED:
            return reverse("accounts:password-reset-set")
        return reverse("accounts:password-reset")

    def get_context_data(self, **kwargs):
        # Not OtpConfirmView's, which reads the logged-in customer's phone and latest code:
        # this page says nothing that differs between data that matched and data that did not.
        sent_at = self.action.code_sent_at or self.action.created_at
        elapsed = int((timezone.now() - sent_at).total_seconds())
        kwargs.update(
            resend_in=max(0, settings.OTP_RESEND_COOLDOWN - elapsed),
            lifetime_minutes=max(1, settings.OTP_CODE_LIFETIME // 60),
        )
        return FormView.get_context_data(self, **kwargs)

    def confirm(self, action, code):
        if action.state not in PasswordReset.CODE_STEP_STATES:
            raise exceptions.PasswordResetNotPending()
        if not services.password_reset_code_checkable(action):
            with transaction.atomic():
                reason, remaining = services.password_reset_code_refuse(reset=action)
            raise CODE_REFUSALS[reason](**({"remaining": remaining} if remaining else {}))

        def reset_failure_count():
            # Counted on the reset, never toward the customer's block; dead after as many
            # failures as a reset whose data did not match.
            if services.password_reset_failure_record(reset=action):
                return otp_exceptions.OtpBlocked()
            return None

        with otp_services.challenge_verify(
            user=action.user,
            purpose=PURPOSE_RESET,
            summary=services.password_reset_intent(action),
            code=code,
            challenge=self.get_challenge(action),
            by_sms=True,
            counts_toward_block=False,
            on_refused=reset_failure_count,
        ):
            services.password_reset_verify(reset=action)

    def form_valid(self, form):
        # Not OtpConfirmView's: there is no logged-in session to mark verified.
        try:
            self.confirm(self.action, form.cleaned_data["code"])
        except exceptions.PasswordResetNotPending as exc:
            messages.error(self.request, str(exc))
            return redirect("accounts:password-reset")
        except CustomerError as exc:
            form.add_error("code", str(exc))
            return self.form_invalid(form)
        self.request.session.cycle_key()
        return redirect("accounts:password-reset-set")


@method_decorator(never_cache, name="dispatch")
class PasswordResetOtpView(PasswordResetActionMixin, OtpIssueView):
    """ "Generate OTP" again: the same cooldown for every reset; a real code only for a
    matching customer."""

    def issue(self, action):
        with transaction.atomic():
            services.password_reset_resend(reset=action)
            if services.password_reset_code_sendable(action):
                _reset_code_issue(action)
        messages.info(
            self.request,
            _(
                "If the data you entered match, a new code is on its way to your registered "
                "mobile number."
            ),
        )


@method_decorator(
    [never_cache, sensitive_post_parameters("new_password1", "new_password2")], name="dispatch"
)
class PasswordResetSetView(FormView):
    """Step 3: the new password, only after the code verified, once, within
    ``PASSWORD_RESET_LIFETIME``. Every session of the customer ends; the customer is told by
    SMS and email."""

    form_class = PasswordNewForm
    template_name = "accounts/password_reset_set.html"

    def dispatch(self, request, *args, **kwargs):
        reset = services.password_reset_get(reset_id=request.session.get(SESSION_RESET))
        try:
            self.reset = services.password_reset_for_new_password(reset=reset)
        except exceptions.PasswordResetNotPending as exc:
            request.session.pop(SESSION_RESET, None)
            messages.error(request, str(exc))
            return redirect("accounts:password-reset")
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.reset.user}

    def form_valid(self, form):
        try:
            with transaction.atomic():
                user = services.password_reset_complete(
                    reset=self.reset,
                    password=form.cleaned_data["new_password1"],
                    ip=client_ip(self.request),
                )
                otp_services.notice_send(user=user, text=services.PASSWORD_RESET_TEXT, params={})
        except exceptions.PasswordResetNotPending as exc:
            messages.error(self.request, str(exc))
            return redirect("accounts:password-reset")
        finally:
            self.request.session.pop(SESSION_RESET, None)
        return redirect("accounts:password-reset-done")


@method_decorator(never_cache, name="dispatch")
class PasswordResetDoneView(TemplateView):
    template_name = "accounts/password_reset_done.html"


# --- Ganti Password (Profil Saya) -----------------------------------------------------------


@method_decorator(
    [
        never_cache,
        sensitive_post_parameters("old_password", "new_password1", "new_password2"),
    ],
    name="dispatch",
)
class PasswordChangeView(LoginRequiredMixin, FormView):
    """Step 1: the current password and the new one twice. A wrong current password counts
    toward the login lock (django-axes); once it locks, the session ends."""

    form_class = PasswordChangeStartForm
    template_name = "accounts/password_change_form.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user, "request": self.request}

    def form_invalid(self, form):
        if getattr(form, "wrong_current_password", False):
            user = self.request.user
            services.password_current_wrong_record(user=user, ip=client_ip(self.request))
            left = selectors.login_failure_limit() - selectors.login_failures(user=user)
            if left <= 0:
                services.session_end(user=user, ip=client_ip(self.request))
                logout(self.request)
                messages.error(
                    self.request,
                    _(
                        "Online access for this User ID is blocked. Please call the bank to "
                        "unblock it."
                    ),
                )
                return redirect(settings.LOGIN_URL)
            form.add_error(
                "old_password",
                ngettext(
                    "After %(left)s more wrong password your User ID is locked.",
                    "After %(left)s more wrong passwords your User ID is locked.",
                    left,
                )
                % {"left": left},
            )
        return super().form_invalid(form)

    def form_valid(self, form):
        change = services.password_change_create(
            user=self.request.user,
            password_hash=make_password(form.cleaned_data["new_password1"]),
        )
        return redirect("accounts:password-change-confirm", pk=change.pk)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            first_password=self.request.user.must_change_password, **kwargs
        )


class PasswordChangeActionMixin:
    """The customer's own pending password change named in the URL."""

    def get_action(self):
        return get_object_or_404(PasswordChange, pk=self.kwargs["pk"], user=self.request.user)

    def get_challenge(self, action):
        return otp_selectors.challenge_for(
            user=self.request.user, challenge_id=action.challenge_ref
        )

    def get_confirm_url(self, action):
        return reverse("accounts:password-change-confirm", kwargs={"pk": action.pk})


class PasswordChangeConfirmView(PasswordChangeActionMixin, OtpConfirmView):
    """Step 2: an OTP on the customer's channel (SMS or token), for this change only. The
    stored hash becomes the password; this session stays (its key cycled), every other ends."""

    template_name = "accounts/password_change_confirm.html"
    purpose = PURPOSE_CHANGE

    def is_pending(self, action):
        return action.state == PasswordChange.State.AWAITING_OTP

    def get_done_url(self, action):
        if action.state == PasswordChange.State.COMPLETED:
            return reverse("accounts:password-change-done", kwargs={"pk": action.pk})
        return reverse("accounts:password-change")

    def confirm(self, action, code):
        if action.state != PasswordChange.State.AWAITING_OTP:
            raise exceptions.PasswordChangeNotPending()
        user = self.request.user
        with otp_services.challenge_verify(
            user=user,
            purpose=PURPOSE_CHANGE,
            summary=services.password_change_intent(action),
            code=code,
            challenge=self.get_challenge(action),
            session_verified=self.session_verified,
        ):
            services.password_change_complete(change=action, user=user, ip=client_ip(self.request))
            otp_services.notice_send(user=user, text=services.PASSWORD_CHANGED_TEXT, params={})
        # This session carries the new password's hash and a new key; it stays the only one,
        # unless it ended meanwhile (a logout in another tab): then it ends here too.
        services.session_key_cycle(
            self.request, user=user, cycle=lambda: update_session_auth_hash(self.request, user)
        )

    def get_success_url(self):
        return reverse("accounts:password-change-done", kwargs={"pk": self.action.pk})


class PasswordChangeOtpView(PasswordChangeActionMixin, OtpIssueView):
    """ "Generate OTP" for the change: an SMS code bound to this change."""

    @transaction.atomic
    def issue(self, action):
        if action.state != PasswordChange.State.AWAITING_OTP:
            raise exceptions.PasswordChangeNotPending()
        challenge = otp_services.challenge_issue(
            user=self.request.user,
            purpose=PURPOSE_CHANGE,
            summary=services.password_change_intent(action),
            text=CHANGE_SMS_TEXT,
            text_params={},
        )
        services.password_change_challenge_set(change=action, challenge=challenge)


@method_decorator(never_cache, name="dispatch")
class PasswordChangeDoneView(LoginRequiredMixin, TemplateView):
    template_name = "accounts/password_change_done.html"

    def get_context_data(self, **kwargs):
        change = get_object_or_404(
            PasswordChange,
            pk=self.kwargs["pk"],
            user=self.request.user,
            state=PasswordChange.State.COMPLETED,
        )
        return super().get_context_data(change=change, **kwargs)
