"""Profil Saya: the customer's profile, changes of phone and email, "Blokir akses saya".

Views of ``accounts`` that build on the OTP pages of ``tokens`` (a module of its own because
``tokens.views`` imports ``accounts.views``). Only views may call the services of ``tokens``.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods
from django.views.generic import FormView, TemplateView

from portal.exceptions import CustomerError
from portal.formatting import email_masked, email_masked_short, phone_masked
from tokens import exceptions as otp_exceptions
from tokens import mobile as otp_mobile
from tokens import selectors as otp_selectors
from tokens import services as otp_services
from tokens.models import HardwareToken
from tokens.views import OtpConfirmView, OtpIssueView

from . import exceptions, services
from .forms import EmailChangeForm, PhoneChangeForm
from .models import AccessBlock, ProfileChange, User
from .views import client_ip

# --- Profil Saya ---------------------------------------------------------------------------
# Changes of phone and email are confirmed with OTPs: these views (and only they, in
# accounts) call the OTP core of ``tokens``; accounts.services does the accounts writes.
#
# Decision: a change of authenticator always needs a fresh OTP, even in a session already
# verified by OTP. The session policy ``per_session`` of "profile_update" is for lower-risk
# data; a phone or email change uses its own purposes ("phone_change", "email_change" and,
# for the code sent to the new number, "phone_verify"), all ``per_transaction`` in
# settings.OTP_POLICY, and these views never skip the OTP step.
PURPOSE_CURRENT = {
    ProfileChange.Kind.PHONE: "phone_change",
    ProfileChange.Kind.EMAIL: "email_change",
}
PURPOSE_NEW_PHONE = "phone_verify"


@method_decorator(never_cache, name="dispatch")
class ProfileView(LoginRequiredMixin, TemplateView):
    template_name = "accounts/profile.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        if user.company_id is not None:
            kwargs.update(_corporate_profile(user))
        return super().get_context_data(
            # "Aktivasi Token" only for a token the branch assigned and still waiting to be
            # activated: an active one (or none) has nothing to activate.
            token_to_activate=HardwareToken.objects.filter(
                user=user, state=HardwareToken.State.ASSIGNED
            ).exists(),
            profile=user,
            # Corporate users confirm with their company's tokens: no Mobile Token for them.
            mobile_device=None
            if user.company_id is not None
            else otp_selectors.mobile_device_for(user=user),
            phone=phone_masked(user.phone),
            email=email_masked(user.email),
            **kwargs,
        )


def _corporate_profile(user) -> dict:
    """What a corporate user's Profil Saya adds: the hard token (serial, state) and whether SMS
    OTP stands in for it until a new token is activated. Phone and email change through a
    signed request to the bank (``corporate``), not the retail OTP self-service."""
    from corporate.services import token_of

    token = token_of(user)
    return {
        "corporate": True,
        "token": token,
        # SMS OTP for a user who holds (or held) a token: the temporary replacement.
        "sms_temporary": user.confirmation_method == user.ConfirmationMethod.SMS
        and token is not None,
    }


@method_decorator(never_cache, name="dispatch")
class ProfileChangeCreateView(LoginRequiredMixin, FormView):
    """Step 0: the customer types the new number or email."""

    kind = None

    def form_valid(self, form):
        try:
            if self.kind == ProfileChange.Kind.PHONE:
                change = services.phone_change_create(
                    user=self.request.user, new_phone=form.cleaned_data["new_phone"]
                )
            else:
                change = services.email_change_create(
                    user=self.request.user, new_email=form.cleaned_data["new_email"]
                )
        except CustomerError as exc:
            form.add_error(None, forms.ValidationError(str(exc), code=exc.code))
            return self.form_invalid(form)
        return redirect(f"accounts:{self.kind}-change-confirm", pk=change.pk)

    def get_context_data(self, **kwargs):
        user = self.request.user
        return super().get_context_data(
            phone=phone_masked(user.phone), email=email_masked(user.email), **kwargs
        )


class PhoneChangeCreateView(ProfileChangeCreateView):
    kind = ProfileChange.Kind.PHONE
    form_class = PhoneChangeForm
    template_name = "accounts/phone_change_form.html"


class EmailChangeCreateView(ProfileChangeCreateView):
    kind = ProfileChange.Kind.EMAIL
    form_class = EmailChangeForm
    template_name = "accounts/email_change_form.html"


def _step_url(change: ProfileChange) -> str:
    """Where an open or finished change continues."""
    if change.state == ProfileChange.State.AWAITING_CURRENT:
        step = "confirm"
    elif change.state == ProfileChange.State.AWAITING_NEW:
        step = "verify" if change.kind == ProfileChange.Kind.PHONE else "sent"
    elif change.state == ProfileChange.State.COMPLETED:
        step = "done"
    else:
        return reverse("accounts:profile")
    return reverse(f"accounts:{change.kind}-change-{step}", kwargs={"pk": change.pk})


class ProfileChangeActionMixin:
    """The customer's own change of ``kind`` named in the URL, in the state a step needs."""

    kind = None
    state = ProfileChange.State.AWAITING_CURRENT

    def get_action(self):
        return get_object_or_404(
            ProfileChange.objects.select_related("user"),
            pk=self.kwargs["pk"],
            user=self.request.user,
            kind=self.kind,
        )

    def get_challenge(self, action):
        # The change keeps only the challenge's id; tokens owns the challenge.
        return otp_selectors.challenge_for(
            user=self.request.user, challenge_id=action.current_challenge_ref
        )

    def get_confirm_url(self, action):
        return reverse(f"accounts:{self.kind}-change-confirm", kwargs={"pk": action.pk})

    def get(self, request, *args, **kwargs):
        if self.action.state != self.state:
            return redirect(_step_url(self.action))
        return super().get(request, *args, **kwargs)


def _change_texts(change: ProfileChange) -> tuple[str, dict]:
    if change.kind == ProfileChange.Kind.PHONE:
        return gettext_noop("changing your mobile number to %(new)s"), {
            "new": phone_masked(change.new_phone)
        }
    return gettext_noop("changing your email to %(new)s"), {
        "new": email_masked_short(change.new_email)
    }


class ProfileChangeConfirmView(ProfileChangeActionMixin, OtpConfirmView):
    """Step 1: an OTP on the current factor (SMS to the current number, or the token)."""

    template_name = "accounts/profile_change_confirm.html"

    def get_purpose(self, action):
        return PURPOSE_CURRENT[action.kind]

    def confirm(self, action, code):
        if action.state != ProfileChange.State.AWAITING_CURRENT:
            raise exceptions.ChangeNotPending()
        with otp_services.challenge_verify(
            user=self.request.user,
            purpose=self.get_purpose(action),
            summary=services.profile_change_intent(action),
            code=code,
            challenge=self.get_challenge(action),
            session_verified=self.session_verified,
        ):
            services.profile_change_current_confirm(change=action)
        return action

    def form_valid(self, form):
        response = super().form_valid(form)
        if self.action.kind == ProfileChange.Kind.PHONE and (
            self.action.state == ProfileChange.State.AWAITING_NEW
        ):
            # The code for the new number goes out at once; the next page can send it again.
            try:
                _new_phone_code_issue(self.action)
            except CustomerError as exc:
                messages.error(self.request, str(exc))
        return response

    def get_success_url(self):
        return _step_url(self.action)


class ProfileChangeOtpView(ProfileChangeActionMixin, OtpIssueView):
    """ "Generate OTP" of step 1: a code to the current number, bound to this change."""

    @transaction.atomic
    def issue(self, action):
        if action.state != ProfileChange.State.AWAITING_CURRENT:
            raise exceptions.ChangeNotPending()
        text, params = _change_texts(action)
        challenge = otp_services.challenge_issue(
            user=self.request.user,
            purpose=PURPOSE_CURRENT[action.kind],
            summary=services.profile_change_intent(action),
            text=text,
            text_params=params,
        )
        services.profile_change_challenge_set(change=action, current=challenge)


class PhoneChangeConfirmView(ProfileChangeConfirmView):
    kind = ProfileChange.Kind.PHONE


class PhoneChangeOtpView(ProfileChangeOtpView):
    kind = ProfileChange.Kind.PHONE


class EmailChangeConfirmView(ProfileChangeConfirmView):
    kind = ProfileChange.Kind.EMAIL


class EmailChangeOtpView(ProfileChangeOtpView):
    kind = ProfileChange.Kind.EMAIL


@transaction.atomic
def _new_phone_code_issue(change: ProfileChange):
    """Send a code to the new number (whatever the customer's usual confirmation method)."""
    challenge = otp_services.challenge_issue(
        user=change.user,
        purpose=PURPOSE_NEW_PHONE,
        summary=services.profile_change_intent(change),
        text=gettext_noop("verifying your new mobile number %(new)s"),
        text_params={"new": phone_masked(change.new_phone)},
        to=change.new_phone,
    )
    services.profile_change_challenge_set(change=change, new=challenge)
    return challenge


class PhoneChangeVerifyMixin(ProfileChangeActionMixin):
    kind = ProfileChange.Kind.PHONE
    state = ProfileChange.State.AWAITING_NEW

    def get_challenge(self, action):
        return otp_selectors.challenge_for(
            user=self.request.user, challenge_id=action.new_challenge_ref
        )

    def get_confirm_url(self, action):
        return reverse("accounts:phone-change-verify", kwargs={"pk": action.pk})


class PhoneChangeVerifyView(PhoneChangeVerifyMixin, OtpConfirmView):
    """Step 2: the code sent to the new number proves the customer holds it."""

    template_name = "accounts/phone_change_verify.html"

    def get_context_data(self, **kwargs):
        kwargs["otp"] = otp_selectors.otp_state(
            user=self.request.user,
            challenge=self.get_challenge(self.action),
            to=self.action.new_phone,
        )
        return super().get_context_data(**kwargs)

    purpose = PURPOSE_NEW_PHONE

    def confirm(self, action, code):
        if action.state != ProfileChange.State.AWAITING_NEW:
            raise exceptions.ChangeNotPending()
        user = self.request.user
        try:
            with otp_services.challenge_verify(
                user=user,
                purpose=PURPOSE_NEW_PHONE,
                summary=services.profile_change_intent(action),
                code=code,
                challenge=self.get_challenge(action),
                by_sms=True,
            ):
                otp_services.phone_number_change(
                    user=user,
                    new_phone=action.new_phone,
                    actor=user,
                    reason="Changed by the customer (OTP on the old number, code to the new one)",
                    ip=client_ip(self.request),
                    profile_change=action,
                    data={"change": action.pk},
                )
        except exceptions.PhoneNotAvailable:
            # Both codes were right, yet the number cannot be used (another customer's, say):
            # the change ends and the refusal is counted, after the verification rolled back.
            services.phone_change_refuse(change=action, ip=client_ip(self.request))
            raise
        return action

    def is_pending(self, action):
        # A refused change is over: the profile page says so (a wrong code stays here).
        return action.state != ProfileChange.State.REFUSED

    def get_done_url(self, action):
        return _step_url(action)

    def get_success_url(self):
        return reverse("accounts:phone-change-done", kwargs={"pk": self.action.pk})


class PhoneChangeVerifyOtpView(PhoneChangeVerifyMixin, OtpIssueView):
    """Send the code to the new number again."""

    def issue(self, action):
        if action.state != ProfileChange.State.AWAITING_NEW:
            raise exceptions.ChangeNotPending()
        _new_phone_code_issue(action)


@method_decorator(never_cache, name="dispatch")
class ProfileChangeDoneView(LoginRequiredMixin, TemplateView):
    kind = None
    template_name = "accounts/profile_change_done.html"

    def get_context_data(self, **kwargs):
        change = get_object_or_404(
            ProfileChange,
            pk=self.kwargs["pk"],
            user=self.request.user,
            kind=self.kind,
            state=ProfileChange.State.COMPLETED,
        )
        return super().get_context_data(
            change=change,
            new_value=phone_masked(change.new_phone)
            if self.kind == ProfileChange.Kind.PHONE
            else email_masked(change.new_email),
            **kwargs,
        )


class PhoneChangeDoneView(ProfileChangeDoneView):
    kind = ProfileChange.Kind.PHONE


class EmailChangeDoneView(ProfileChangeDoneView):
    kind = ProfileChange.Kind.EMAIL


@method_decorator(never_cache, name="dispatch")
class EmailChangeSentView(LoginRequiredMixin, TemplateView):
    """Step 2 of an email change: the link went to the new address; it can be sent again.

    Decision: a signed link (django.core.signing, 30 minutes, single use because the change
    completes once) rather than a code: it needs no new OTP channel in ``tokens``, the email
    carries no code a customer could be talked into reading out, and opening it needs the
    customer's own logged-in session and a button press (mail scanners that follow links
    change nothing).
    """

    template_name = "accounts/email_change_sent.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.change = get_object_or_404(
                ProfileChange,
                pk=kwargs["pk"],
                user=request.user,
                kind=ProfileChange.Kind.EMAIL,
            )
            if self.change.state != ProfileChange.State.AWAITING_NEW:
                return redirect(_step_url(self.change))
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            change=self.change,
            new_email=self.change.new_email,
            minutes=settings.EMAIL_CHANGE_LINK_MAX_AGE // 60,
            **kwargs,
        )

    def post(self, request, *args, **kwargs):
        try:
            with transaction.atomic():
                services.email_change_link_schedule(change=self.change)
        except CustomerError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("The link was sent again."))
        return redirect("accounts:email-change-sent", pk=self.change.pk)


@method_decorator(never_cache, name="dispatch")
class EmailChangeVerifyView(LoginRequiredMixin, TemplateView):
    """The page the emailed link opens: a button makes the new email the customer's."""

    template_name = "accounts/email_change_verify.html"

    def get_context_data(self, **kwargs):
        if "error" in kwargs:
            return super().get_context_data(**kwargs)
        try:
            change = services.email_change_for_link(
                user=self.request.user, token=self.kwargs["token"]
            )
        except CustomerError as exc:
            return super().get_context_data(error=str(exc), **kwargs)
        return super().get_context_data(change=change, **kwargs)

    def post(self, request, *args, **kwargs):
        try:
            change = services.email_change_for_link(user=request.user, token=kwargs["token"])
            with transaction.atomic():
                services.email_change_complete(change=change, ip=client_ip(request))
                otp_services.notice_send(
                    user=request.user,
                    text=services.EMAIL_CHANGED_TEXT,
                    params={"email": email_masked(change.new_email)},
                    email=False,
                )
        except CustomerError as exc:
            return self.render_to_response(self.get_context_data(error=str(exc)))
        return redirect("accounts:email-change-done", pk=change.pk)


# --- Mobile Token: "Hapus pendaftaran" (issue 12 item 5) -----------------------------------
# The phone may be lost, so its own codes cannot confirm its removal: an OTP on another factor
# (SMS to the registered number, or the customer's hardware token if it can be used) does.
PURPOSE_MOBILE_DEREGISTRATION = "mobile_deregistration"
SESSION_MOBILE_DEREGISTRATION = "mobile_deregistration_challenge"
MOBILE_DEREGISTRATION_SMS_TEXT = gettext_noop("de-registering your Mobile Token")


def _mobile_deregistration_intent(device) -> dict:
    return {"device": str(device.public_id)}


class MobileDeregisterMixin:
    """The customer's active Mobile Token; without one (none, or removed in another tab) the
    pages go back to Profil Saya."""

    @cached_property
    def device(self):
        """Read once per request: the check below and ``get_action`` share it."""
        return otp_selectors.mobile_device_for(user=self.request.user)

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and (
            request.user.company_id is not None or self.device is None
        ):
            messages.info(request, _("No Mobile Token is registered for you."))
            return redirect("accounts:profile")
        return super().dispatch(request, *args, **kwargs)

    def get_action(self):
        return self.device

    @cached_property
    def factor(self) -> str:
        """ "sms" or "hardware_token": the factor that is not the phone being removed."""
        return otp_selectors.mobile_factor_channel(user=self.request.user)

    def get_challenge(self, action):
        # Only the challenge's id lives in the session; tokens owns the challenge. One sent for
        # another device (an earlier phone) is not this intent's and is never offered.
        return otp_selectors.challenge_for(
            user=self.request.user,
            challenge_id=self.request.session.get(SESSION_MOBILE_DEREGISTRATION),
        )

    def get_confirm_url(self, action):
        return reverse("accounts:mobile-deregister")


@method_decorator([never_cache, sensitive_post_parameters("code")], name="dispatch")
class MobileDeregisterView(MobileDeregisterMixin, OtpConfirmView):
    """The phone's removal: its codes are refused at once and the customer confirms with SMS
    OTP again (``device_revoke``, run inside the code check so both happen or neither)."""

    template_name = "accounts/mobile_deregister.html"
    purpose = PURPOSE_MOBILE_DEREGISTRATION
    # A change of authenticator: never covered by an OTP earlier in the session.
    session_covers = False

    def get_context_data(self, **kwargs):
        user = self.request.user
        if self.factor == "sms":
            state = otp_selectors.otp_state(
                user=user, challenge=self.get_challenge(self.action), to=user.phone
            )
        else:
            # The token makes the code: nothing was sent, nothing to wait for (as on the
            # registration's step 1).
            state = otp_selectors.otp_state(user=user, challenge=None)
        kwargs.setdefault("otp", state)
        return super().get_context_data(device=self.action, **kwargs)

    def confirm(self, action, code):
        with otp_services.challenge_verify(
            user=self.request.user,
            purpose=PURPOSE_MOBILE_DEREGISTRATION,
            summary=_mobile_deregistration_intent(action),
            code=code,
            challenge=self.get_challenge(action),
            by_sms=self.factor == "sms",
        ):
            # The holder acting: kept as "customer" on the device and in the audit's data
            # (the service decides it from the actor; only staff write a reason).
            otp_mobile.device_revoke(
                device=action, actor=self.request.user, ip=client_ip(self.request)
            )
        return action

    def form_valid(self, form):
        # Not OtpConfirmView's: the session is not marked verified by a code whose device is
        # gone, and the page the customer lands on is Profil Saya.
        try:
            self.confirm(self.action, form.cleaned_data["code"])
        except CustomerError as exc:
            current = otp_selectors.mobile_device_for(user=self.request.user)
            if current is None or current.pk != self.action.pk:
                # Removed meanwhile (a second click, another tab, staff) or replaced: nothing
                # is left to do here, whatever the refusal said.
                messages.info(self.request, str(otp_exceptions.NoMobileDevice()))
                return redirect("accounts:profile")
            form.add_error("code", str(exc))
            return self.form_invalid(form)
        self.request.session.pop(SESSION_MOBILE_DEREGISTRATION, None)
        self.request.user.refresh_from_db(fields=["confirmation_method"])
        if self.request.user.confirmation_method == User.ConfirmationMethod.SMS:
            text = _(
                "Mobile Token on %(device)s was de-registered: its codes no longer work. "
                "You now confirm with SMS OTP."
            )
        else:
            text = _(
                "Mobile Token on %(device)s was de-registered: its codes no longer work. "
                "You now confirm with your token."
            )
        messages.success(self.request, text % {"device": self.action.name})
        return redirect("accounts:profile")


@method_decorator(never_cache, name="dispatch")
class MobileDeregisterOtpView(MobileDeregisterMixin, OtpIssueView):
    """ "Generate OTP": a code by SMS to the registered number, bound to this device."""

    def issue(self, action):
        if self.factor != "sms":
            raise otp_exceptions.TokenMakesTheCode()
        challenge = otp_services.challenge_issue(
            user=self.request.user,
            purpose=PURPOSE_MOBILE_DEREGISTRATION,
            summary=_mobile_deregistration_intent(action),
            text=MOBILE_DEREGISTRATION_SMS_TEXT,
            text_params={},
            to=self.request.user.phone,
        )
        self.request.session[SESSION_MOBILE_DEREGISTRATION] = str(challenge.pk)


@method_decorator([never_cache, require_http_methods(["GET", "POST"])], name="dispatch")
class SelfBlockView(LoginRequiredMixin, TemplateView):
    """ "Blokir akses saya": the customer blocks their own access; only staff can lift it."""

    template_name = "accounts/profile_block.html"

    def post(self, request, *args, **kwargs):
        services.access_block(
            user=request.user,
            kind=AccessBlock.Kind.SELF_FLAG,
            actor=request.user,
            reason="customer request",
            ip=client_ip(request),
        )
        logout(request)
        messages.warning(
            request,
            _(
                "Your online access is blocked and every session was ended. To use Internet "
                "Banking again, call the bank or visit a branch."
            ),
        )
        return redirect(settings.LOGIN_URL)
