import ipaddress
import math
from base64 import b32encode
from functools import wraps

import segno
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.decorators import method_decorator
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.generic import FormView, TemplateView
from django_otp import login as otp_login

from portal.formatting import duration_lazy

from . import services
from .exceptions import LoginLocked, LoginLockedForAWhile, StaffError
from .forms import CorporateLoginForm, LoginForm, StaffTotpEnrolForm


def client_ip(request) -> str | None:
    """The customer's address: REMOTE_ADDR, or behind reverse proxies listed in
    ``TRUSTED_PROXIES`` (addresses or networks) the right-most X-Forwarded-For entry that is
    not one of them. Entries left of it were written by the client and are never believed; a
    malformed entry stops the walk at the last trusted hop. django-axes uses this too
    (``AXES_CLIENT_IP_CALLABLE``), so audit and throttling see the same address."""
    remote = request.META.get("REMOTE_ADDR")
    trusted = [ipaddress.ip_network(proxy, strict=False) for proxy in settings.TRUSTED_PROXIES]

    def is_trusted(address) -> bool:
        return any(address in network for network in trusted)

    try:
        hop = ipaddress.ip_address(remote)
    except (TypeError, ValueError):
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for entry in reversed([part.strip() for part in forwarded.split(",") if part.strip()]):
        if not is_trusted(hop):
            break
        try:
            hop = ipaddress.ip_address(entry)
        except ValueError:
            break
    return str(hop)


def login_address_throttled(view):
    """Count every login POST against the client's network address and refuse it while the
    address is locked (``services.login_address_attempt_begin``): 429 with the wait, on the
    login page. Wraps the customers' and the staff's login views."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method != "POST":
            return view(request, *args, **kwargs)
        ip = client_ip(request)
        wait = services.login_address_attempt_begin(ip=ip)
        if wait:
            return _login_address_locked(request, wait)
        before = request.user.pk if request.user.is_authenticated else None
        response = view(request, *args, **kwargs)
        after = request.user.pk if request.user.is_authenticated else None
        services.login_address_attempt_end(ip=ip, succeeded=after is not None and after != before)
        return response

    return wrapped


def _login_address_locked(request, wait: int):
    minutes = math.ceil(wait / 60)
    message = ngettext(
        "Too many failed logins from your network. Try again in %(minutes)s minute.",
        "Too many failed logins from your network. Try again in %(minutes)s minutes.",
        minutes,
    ) % {"minutes": minutes}
    form_class, template = _login_page(request)
    context = {"form": form_class(request), "blocked_message": message}
    response = render(request, template, context, status=429)
    response["Retry-After"] = str(wait)
    add_never_cache_headers(response)
    return response


# Which login page this browser used last ("corporate" or none): a session that is gone
# altogether is sent back to the right page. It names no user and holds nothing secret.
LOGIN_PAGE_COOKIE = "portal_login"


@method_decorator(login_address_throttled, name="dispatch")
class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True
    login_page = ""  # the value of LOGIN_PAGE_COOKIE after a login here (none: retail)

    def get(self, request, *args, **kwargs):
        # Sent here for a login (a "next" page) by a browser that logs in as a company's
        # user: to Login Corporate. The retail page opened on purpose stays.
        if (
            not self.login_page
            and request.GET.get(self.redirect_field_name)
            and request.COOKIES.get(LOGIN_PAGE_COOKIE) == "corporate"
        ):
            return redirect(f"{reverse('accounts:corporate-login')}?{request.GET.urlencode()}")
        return super().get(request, *args, **kwargs)

    def form_valid(self, form):
        response = super().form_valid(form)
        user = form.get_user()
        self.request.session["auth_at"] = self.request.session["last_seen"] = (
            timezone.now().timestamp()
        )
        services.session_start(
            user=user,
            session_key=self.request.session.session_key,
            ip=client_ip(self.request),
            language=get_language(),
        )
        if self.login_page:
            response.set_cookie(
                LOGIN_PAGE_COOKIE,
                self.login_page,
                max_age=365 * 24 * 3600,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        else:
            response.delete_cookie(LOGIN_PAGE_COOKIE, samesite="Lax")
        return response

    def form_invalid(self, form):
        if "username" not in form.errors:
            services.login_failed_record(
                user_id=form.data.get("username", ""), ip=client_ip(self.request)
            )
        return super().form_invalid(form)


class CorporateLoginView(LoginView):  # dispatch is LoginView's: throttled per address once
    """ "Login Corporate": Corporate ID + User ID + password, with the retail login's
    protections (per-address throttle, django-axes lock per user, one session, key cycled,
    audit). The lock and the audit name the stored ``<CORPORATE ID>:<User ID>``."""

    form_class = CorporateLoginForm
    template_name = "accounts/corporate_login.html"
    login_page = "corporate"

    def form_invalid(self, form):
        if "username" not in form.errors and "corporate_id" not in form.errors:
            services.login_failed_record(
                user_id=form.cleaned_data.get("username", ""), ip=client_ip(self.request)
            )
        return auth_views.LoginView.form_invalid(self, form)


def _login_page(request):
    """The login form and template of the page a refused request came to."""
    match = getattr(request, "resolver_match", None)
    if match is not None and match.url_name == "corporate-login":
        return CorporateLoginForm, "accounts/corporate_login.html"
    return LoginForm, "accounts/login.html"


class LogoutView(auth_views.LogoutView):
    """POST only; then the page that says the customer is logged out (``LoggedOutView``)."""

    next_page = "accounts:logged-out"

    def post(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            services.session_end(user=request.user, ip=client_ip(request))
        elif key := request.COOKIES.get(settings.SESSION_COOKIE_NAME):
            # Sent with the key a confirmation in flight has just cycled away: still a logout.
            services.session_end_cycled(session_key=key, ip=client_ip(request))
        return super().post(request, *args, **kwargs)


@method_decorator(never_cache, name="dispatch")
class LoggedOutView(TemplateView):
    """ "Anda telah keluar": says so, with a link to log in again. A customer who is still
    logged in (the address typed by hand) has not logged out and goes home instead."""

    template_name = "accounts/logged_out.html"

    def get(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            return redirect("portal:home")
        return super().get(request, *args, **kwargs)


def lockout(request, response=None, credentials=None, *args, **kwargs):
    """django-axes' answer to a locked User ID: the login page saying after how many wrong
    passwords, and until when or whom to call. The same for every User ID typed (unknown ones
    lock too), so it does not tell whether a User ID exists."""
    user_id = (credentials or {}).get("username", "")
    services.login_failed_record(user_id=user_id, ip=client_ip(request), locked=True)
    form_class, template = _login_page(request)
    if form_class is CorporateLoginForm:
        corporate_id, _sep, typed = user_id.rpartition(":")
        initial = {"corporate_id": corporate_id[:20], "username": typed[:30]}
    else:
        initial = {"username": user_id[:30]}
    form = form_class(request, initial=initial)
    context = {"form": form, "blocked_message": str(_login_locked_error(request, credentials))}
    return render(request, template, context, status=403)


def _login_locked_error(request, credentials) -> LoginLocked:
    """Locked until staff unlock it (``AXES_COOLOFF_TIME`` None, the default), or for the time
    left of the cool-off since the last counted failure."""
    from axes.helpers import get_cool_off
    from axes.models import AccessAttempt

    limit = settings.AXES_FAILURE_LIMIT
    cool_off = get_cool_off(request)
    if not cool_off:
        return LoginLocked(count=limit)
    username = services.login_throttle_username(request, credentials or {})
    last = (
        AccessAttempt.objects.filter(username=username)
        .order_by("-attempt_time")
        .values_list("attempt_time", flat=True)
        .first()
    )
    left = ((last or timezone.now()) + cool_off - timezone.now()).total_seconds()
    return LoginLockedForAWhile(count=limit, wait=duration_lazy(max(1, left)))


@method_decorator([never_cache, login_required(login_url="admin:login")], name="dispatch")
class StaffTotpEnrolView(FormView):
    """A member of staff without a confirmed TOTP device enrols one: QR code, first code.

    Outside the OTP-protected admin (the staff member cannot pass it yet): the staff login
    lets a password alone through to this page only, and the admin stays closed until the
    device is confirmed. Customers get a 404. Each login session starts a new enrolment with
    a fresh key (kept for reloads in ``SESSION_DEVICE``). The QR code is an inline SVG drawn
    by segno (no script, no style attribute, no external service).
    """

    SESSION_DEVICE = "staff_enrol_device"
    form_class = StaffTotpEnrolForm
    template_name = "accounts/staff_otp_enrol.html"

    def dispatch(self, request, *args, **kwargs):
        if not (request.user.is_active and request.user.is_staff):
            raise Http404
        posted = request.method == "POST"
        self.device = services.staff_totp_device_for_enrolment(
            user=request.user, device_id=request.session.get(self.SESSION_DEVICE), start=not posted
        )
        if self.device is None and posted:
            # The key this page showed was replaced (a newer enrolment) or confirmed: look again.
            messages.warning(request, _("This key is no longer valid. Scan the code shown now."))
            return redirect("accounts:staff-otp-enrol")
        if self.device is None:
            messages.info(request, _("Your authenticator is already set up."))
            return redirect("admin:index")
        request.session[self.SESSION_DEVICE] = self.device.pk
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        from django.contrib import admin

        url = self.device.config_url
        # segno writes this SVG itself and escapes the otpauth URI in it (no text from anyone),
        # so it is marked safe (bandit's B308 and B703 are silenced on that line for this reason).
        svg = segno.make(url, error="m").svg_inline(scale=4, title=None, border=2)
        qr_svg = mark_safe(svg)  # noqa: S308  # nosec B308, B703
        context = super().get_context_data(**kwargs)
        context.update(
            site_header=admin.site.site_header,
            site_title=admin.site.site_title,
            title=_("Set up your authenticator"),
            qr_svg=qr_svg,
            otpauth_uri=url,
            secret_base32=b32encode(self.device.bin_key).decode(),
        )
        return context

    def form_valid(self, form):
        try:
            device = services.staff_totp_enrol_confirm(
                user=self.request.user,
                device_id=self.device.pk,
                code=form.cleaned_data["code"],
                ip=client_ip(self.request),
            )
        except StaffError as error:
            form.add_error("code", forms.ValidationError(str(error), code=error.code))
            return self.form_invalid(form)
        self.request.session.pop(self.SESSION_DEVICE, None)
        otp_login(self.request, device)
        if not services.session_key_cycle(self.request, user=self.request.user):
            # Logged out (or logged in elsewhere) meanwhile: the device stays enrolled, this
            # session has ended.
            return redirect("admin:login")
        messages.success(self.request, _("Your authenticator is set up."))
        return redirect("admin:index")
