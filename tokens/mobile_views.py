"""The Mobile Token's pages (issue 12; docs/mobile-token-design.md §3): the token itself on the
phone (public, the same for everyone, kept offline by a service worker) and its registration
(logged in: an OTP on the customer's factor, then the Unlock Code, then the key exchange).

The registration pages only move data between the phone's script and ``tokens.mobile``: the
rules (who may register, trivial Unlock Codes, one active phone) live in the services.
"""

import base64
import hashlib
import json
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import redirect, resolve_url
from django.templatetags.static import static
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import TemplateView, View

from accounts.views import client_ip
from portal.exceptions import CustomerError

from . import exceptions, mobile, selectors, services
from .mobile_forms import MobileRegisterFinishForm
from .models import Challenge, MobileRegistration
from .views import OtpConfirmView, OtpIssueView

PURPOSE = "mobile_registration"
SESSION_KEY = "mobile_registration"
# Bumped by hand when sw.js itself changes in a way the static URLs do not show.
SW_VERSION = "1"


# --- The token on the phone ------------------------------------------------------------------


def _shell() -> list[str]:
    """What the service worker keeps for offline use: the page and every file it loads. The
    favicon too: an offline page whose icon fails logs a console error."""
    return [
        reverse("tokens:mobile-app"),
        reverse("tokens:mobile-manifest"),
        static("js/mobile-token-core.js"),
        static("js/mobile-token-app.js"),
        static("css/mobile-token.css"),
        static("img/mobile-token-192.png"),
        static("img/mobile-token-512.png"),
        static("img/favicon.svg"),
    ]


def _session_untouched(response, request):
    """The token page is the same for every visitor and no activity of a login session: the
    session the middleware read (the idle check) is neither saved nor varied on, so no
    ``Set-Cookie`` and no ``Vary: Cookie`` reach a page the phone keeps offline."""
    session = getattr(request, "session", None)
    if session is not None:
        session.accessed = False
        session.modified = False
    return response


class MobileAppView(TemplateView):
    """``/mobile-token/``: the token. No user data, no CSRF token, no inline script: its
    scripts read the key from IndexedDB and the texts from the page."""

    template_name = "tokens/mobile/app.html"

    def get_context_data(self, **kwargs):
        kwargs["unlock_idle"] = settings.MOBILE_TOKEN_UNLOCK_IDLE
        kwargs["step"] = settings.MOBILE_TOKEN_STEP
        return super().get_context_data(**kwargs)

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response.render()
        return _session_untouched(response, request)


class MobileServiceWorkerView(TemplateView):
    """``/mobile-token/sw.js``: from a template, so that the cache name follows the hashed
    static URLs (a new release of a script gets a new cache; the old one is deleted)."""

    template_name = "tokens/mobile/sw.js"
    content_type = "text/javascript; charset=utf-8"

    def get_context_data(self, **kwargs):
        shell = _shell()
        digest = hashlib.sha256(json.dumps([SW_VERSION, *shell]).encode()).hexdigest()[:16]
        kwargs["cache_name"] = json.dumps(f"mt-{digest}")
        kwargs["shell"] = json.dumps(shell)
        kwargs["scope"] = json.dumps(reverse("tokens:mobile-app"))
        return super().get_context_data(**kwargs)

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response.render()
        response["Cache-Control"] = "no-cache"
        return _session_untouched(response, request)


def mobile_manifest(request):
    """The web app manifest: the token opens full screen from the home screen."""
    app = reverse("tokens:mobile-app")
    data = {
        "name": _("Bank Nusantara Mobile Token"),
        "short_name": _("Mobile Token"),
        "description": _("One-time passwords for Bank Nusantara Internet Banking."),
        "start_url": app,
        "scope": app,
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#f4f6f8",
        "theme_color": "#0b4f6c",
        "lang": request.LANGUAGE_CODE,
        "icons": [
            {"src": static("img/mobile-token-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("img/mobile-token-512.png"), "sizes": "512x512", "type": "image/png"},
        ],
    }
    response = JsonResponse(
        data, content_type="application/manifest+json", json_dumps_params={"ensure_ascii": False}
    )
    return _session_untouched(response, request)


# --- Registration ----------------------------------------------------------------------------


# What a User-Agent names, first match wins (Edge and Opera also say "Chrome", Chrome says
# "Safari", Android says "Linux").
_BROWSERS = (
    ("SamsungBrowser", "Samsung Internet"),
    ("EdgA", "Edge"),
    ("Edg/", "Edge"),
    ("OPR", "Opera"),
    ("Firefox", "Firefox"),
    ("FxiOS", "Firefox"),
    ("CriOS", "Chrome"),
    ("Chrome", "Chrome"),
    ("Safari", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)


def _first_named(ua: str, names) -> str:
    return next((name for key, name in names if key in ua), "")


def _user_agent_label(user_agent: str) -> str:
    """A first name for the phone ("Chrome di Android"), which the customer may change."""
    ua = user_agent or ""
    browser = _first_named(ua, _BROWSERS)
    system = _first_named(ua, _SYSTEMS)
    if browser and system:
        return _("%(browser)s on %(system)s") % {"browser": browser, "system": system}
    return browser or system or _("My phone")


def _factor(user) -> str:
    """ "sms" or "hardware_token": what confirms a registration (never the Mobile Token)."""
    return selectors.mobile_factor_channel(user=user)


def _session_registration(request) -> MobileRegistration | None:
    """The registration this session started, if it is the user's own and still open."""
    pk = request.session.get(SESSION_KEY)
    if not pk:
        return None
    registration = MobileRegistration.objects.filter(
        pk=pk, user=request.user, completed_at__isnull=True
    ).first()
    if registration is None or registration.is_expired:
        return None
    return registration


class RegistrationMixin:
    """The session's registration; a new one (or the user's live one) when there is none."""

    def get_action(self):
        registration = _session_registration(self.request)
        if registration is None:
            registration = mobile.registration_start(user=self.request.user)
            self.request.session[SESSION_KEY] = str(registration.pk)
        return registration

    def get_challenge(self, action):
        return action.challenge

    def get_confirm_url(self, action):
        return reverse("tokens:mobile-register")

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        except (exceptions.MobileTokenRetailOnly, exceptions.NoPhone) as exc:
            # registration_start refuses corporate users, staff and a customer with no phone.
            return self.refused(exc)

    def refused(self, exc):
        """The registration page says why (it catches the same refusal)."""
        return redirect("tokens:mobile-register")


class MobileRegisterView(RegistrationMixin, OtpConfirmView):
    """``/mobile-token/daftar/``: step 1, an OTP on the customer's other factor (SMS to the
    phone number, or the hardware token's code)."""

    template_name = "tokens/mobile/register.html"
    purpose = PURPOSE

    @cached_property
    def factor(self):
        return _factor(self.request.user)

    def refused(self, exc):
        return self.response_class(
            request=self.request, template=[self.template_name], context={"refusal": exc}
        )

    def is_pending(self, action):
        return action.otp_confirmed_at is None

    def get_done_url(self, action):
        return reverse("tokens:mobile-register-unlock")

    def get_success_url(self):
        return reverse("tokens:mobile-register-unlock")

    def get_context_data(self, **kwargs):
        user = self.request.user
        if self.factor == Challenge.Channel.SMS:
            otp = selectors.otp_state(
                user=user, challenge=self.get_challenge(self.action), to=user.phone
            )
        else:
            otp = selectors.otp_state(user=user, challenge=None)
        kwargs["otp"] = otp
        kwargs["has_device"] = selectors.mobile_device_for(user=user) is not None
        kwargs["otp_issue_url"] = reverse("tokens:mobile-register-otp")
        return super().get_context_data(**kwargs)

    def confirm(self, action, code):
        by_sms = self.factor == Challenge.Channel.SMS
        with services.challenge_verify(
            user=self.request.user,
            purpose=PURPOSE,
            summary=mobile.registration_intent(action),
            code=code,
            challenge=self.get_challenge(action) if by_sms else None,
            by_sms=by_sms,
        ):
            mobile.registration_otp_confirmed(registration=action)
        return action


class MobileRegisterOtpView(RegistrationMixin, OtpIssueView):
    """ "Generate OTP": a code by SMS to the customer's number, bound to this registration."""

    @transaction.atomic
    def issue(self, action):
        if _factor(self.request.user) != Challenge.Channel.SMS:
            raise exceptions.TokenMakesTheCode()
        if action.otp_confirmed_at is not None:
            return
        challenge = services.challenge_issue(
            user=self.request.user,
            purpose=PURPOSE,
            summary=mobile.registration_intent(action),
            text=gettext_noop("registering your Mobile Token"),
            text_params={},
            to=self.request.user.phone,
        )
        # The row keeps the challenge sent for it: challenge_verify(by_sms=True) needs it.
        MobileRegistration.objects.filter(pk=action.pk, user=self.request.user).update(
            challenge=challenge
        )


def _confirmed_registration(request) -> MobileRegistration | None:
    registration = _session_registration(request)
    if registration is None or registration.otp_confirmed_at is None:
        return None
    return registration


@method_decorator(never_cache, name="dispatch")
class MobileRegisterUnlockView(LoginRequiredMixin, TemplateView):
    """``/mobile-token/daftar/unlock-code/``: step 2, the Unlock Code typed twice (inputs with
    no name: the script derives the key and sends only that)."""

    template_name = "tokens/mobile/unlock.html"

    def get(self, request, *args, **kwargs):
        if _confirmed_registration(request) is None:
            return redirect("tokens:mobile-register")
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        kwargs["label"] = _user_agent_label(self.request.headers.get("User-Agent", ""))
        kwargs["has_device"] = selectors.mobile_device_for(user=self.request.user) is not None
        return super().get_context_data(**kwargs)


def _json_error(message, status=400, **extra):
    """``{"ok": false, "error": ...}`` plus what the script acts on: ``restart`` (the
    registration is over: a link to start anew) or ``login`` (the session has ended)."""
    return JsonResponse({"ok": False, "error": str(message), **extra}, status=status)


def session_ended_json(reason):
    """The script's answer for a session that has ended (here, or in the session middleware):
    403, the reason and a login link that comes back to the registration."""
    login = f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': reverse('tokens:mobile-register')})}"
    return _json_error(reason, status=403, login=login)


def _refusal(exc):
    """A service's refusal as JSON: a registration that is over says so by a field, so that the
    page offers "Start again" rather than another try that cannot succeed."""
    if isinstance(exc, exceptions.RegistrationExpired):
        return _json_error(exc, restart=True)
    return _json_error(exc)


@method_decorator(never_cache, name="dispatch")
class RegistrationJsonView(View):
    """The two POSTs of the registration page's script: JSON answers, never a redirect (a
    fetch would follow it to an HTML page)."""

    http_method_names = ["post"]

    def dispatch(self, request, *args, **kwargs):
        if request.method.lower() not in self.http_method_names:
            return self.http_method_not_allowed(request, *args, **kwargs)
        if not request.user.is_authenticated:
            return session_ended_json(_("Your session has ended. Please log in again."))
        self.registration = _confirmed_registration(request)
        if self.registration is None:
            return _refusal(exceptions.RegistrationExpired())
        return super().dispatch(request, *args, **kwargs)


class MobileRegisterKeyView(RegistrationJsonView):
    """``kunci/``: a new device secret S for the phone (sealed in the row until ``selesai/``)."""

    def post(self, request, *args, **kwargs):
        try:
            device_id, seed = mobile.registration_seed_issue(registration=self.registration)
        except CustomerError as exc:
            return _refusal(exc)
        return JsonResponse(
            {"device": str(device_id), "seed": base64.urlsafe_b64encode(seed).rstrip(b"=").decode()}
        )


@method_decorator(sensitive_post_parameters("unlock_key"), name="dispatch")
class MobileRegisterFinishView(RegistrationJsonView):
    """``selesai/``: K_u from the phone becomes the user's active Mobile Token, unless the
    Unlock Code behind it is too easy to guess (the phone then asks for another)."""

    def post(self, request, *args, **kwargs):
        form = MobileRegisterFinishForm(request.POST)
        if not form.is_valid():
            return _json_error(next(iter(form.errors.values()))[0])
        try:
            mobile.registration_complete(
                registration=self.registration,
                unlock_key=form.cleaned_data["unlock_key"],
                label=form.cleaned_data["label"],
                user_agent=request.headers.get("User-Agent", "")[:300],
                ip=client_ip(request),
            )
        except CustomerError as exc:
            return _refusal(exc)
        request.session.pop(SESSION_KEY, None)
        return JsonResponse({"ok": True, "next": reverse("tokens:mobile-app") + "?registered=1"})
