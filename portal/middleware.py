import functools

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.core.exceptions import SuspiciousOperation
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

from accounts.services import audit_client_bind, audit_client_unbind
from accounts.views import client_ip

# The Mobile Token's files: the same page for everyone, kept offline by the phone's service
# worker. No session is ended, renewed or sent elsewhere there: a phone whose login had timed
# out would otherwise get the login page instead of its token (before the worker is installed).
PUBLIC_TOKEN_FILES = ("tokens:mobile-app", "tokens:mobile-sw", "tokens:mobile-manifest")


@functools.lru_cache(maxsize=32)
def _paths_of(names: tuple[str, ...], urlconf: str, prefix: str) -> frozenset[str]:
    """The paths of these URL names, reversed once per URLconf and script prefix rather than
    on every request (the middleware runs this on each one)."""
    from django.urls import reverse

    return frozenset(reverse(name, urlconf=urlconf) for name in names)


def _path_is_one_of(path: str, names: tuple[str, ...]) -> bool:
    from django.urls import get_script_prefix, get_urlconf

    return path in _paths_of(names, get_urlconf() or settings.ROOT_URLCONF, get_script_prefix())


def _is_public_token_file(path: str) -> bool:
    return _path_is_one_of(path, PUBLIC_TOKEN_FILES)


# The registration page's script posts these with fetch: it reads JSON, not a login page.
TOKEN_SCRIPT_POSTS = ("tokens:mobile-register-key", "tokens:mobile-register-finish")


def _session_ended_for_script(path: str, reason: str):
    """The JSON the registration script shows for an ended session (its login link), or None
    for a page, which is redirected to the login page as usual."""
    if not _path_is_one_of(path, TOKEN_SCRIPT_POSTS):
        return None
    from tokens.mobile_views import session_ended_json

    return session_ended_json(reason)


class NoStoreMiddleware:
    """No page of the portal is kept by a browser or a proxy: every response a view or a
    middleware gives gets ``Cache-Control: no-store`` (with Django's ``never_cache`` set:
    max-age=0, no-cache, must-revalidate, private).

    Every page of a logged-in customer or member of staff shows account data, and the login
    page is where a shared computer's Back button would lead; one default, rather than a
    decorator on each view, covers the pages nobody remembered. Static files do not pass here
    (WhiteNoise, placed before this, answers them itself with its own caching).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        add_never_cache_headers(response)
        return response


class IndonesianFirstMiddleware:
    """Pages are in Bahasa Indonesia unless the customer chose English with the header button.

    Placed before ``LocaleMiddleware``: the browser's ``Accept-Language`` is ignored, because
    many customers in Indonesia run phones and browsers set to English yet expect their bank
    in Indonesian. The choice lives in the language cookie (``set_language``).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)


class SessionSecurityMiddleware:
    """Ends a session that is no longer the user's only one, idle too long, or too old.

    One session per user: ``User.session_key`` names the session that may act; a newer login,
    a staff flag or a logout elsewhere changes it, and this session ends on its next request.
    The idle and absolute limits are settings, read per request.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _is_public_token_file(request.path_info):
            return self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            reason = self._end_reason(request, user)
            if reason:
                login_page = (
                    "admin:login"
                    if user.is_staff
                    else "accounts:corporate-login"
                    if user.company_id is not None
                    else settings.LOGIN_URL
                )
                logout(request)
                answer = _session_ended_for_script(request.path_info, reason)
                if answer is not None:
                    return answer
                messages.info(request, reason)
                return redirect(login_page)
            self._touch(request.session)
        return self.get_response(request)

    @staticmethod
    def _touch(session):
        """Note activity, writing the session at most every ``SESSION_TOUCH_INTERVAL`` seconds:
        a write per request costs a transaction; the idle limit may end a session that much
        early, never late."""
        now = timezone.now().timestamp()
        if now - session.get("last_seen", 0) >= settings.SESSION_TOUCH_INTERVAL:
            session["last_seen"] = now

    def _end_reason(self, request, user):
        now = timezone.now().timestamp()
        session = request.session
        if user.session_key != session.session_key:
            return _("Your session has ended because your User ID was used to log in elsewhere.")
        if now - session.get("last_seen", now) > settings.SESSION_IDLE_TIMEOUT:
            return _("Your session has ended after %(minutes)s minutes without activity.") % {
                "minutes": settings.SESSION_IDLE_TIMEOUT // 60
            }
        if now - session.get("auth_at", now) > settings.SESSION_ABSOLUTE_TIMEOUT:
            return _("Your session has ended. Please log in again.")
        return None


class AuditClientMiddleware:
    """Names the client of each request (address as ``accounts.views.client_ip`` reads it,
    User-Agent) for the audit log, for the length of the request.

    A context variable rather than arguments: the events that most need the address (login
    and failed login, OTP issued, verified or failed, a transfer made) are written deep inside
    services that are also called without a request (Celery, commands, tests), and one place
    to set it covers the events nobody remembered. An address a view passes explicitly wins.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = audit_client_bind(
            ip=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT")
        )
        try:
            return self.get_response(request)
        finally:
            audit_client_unbind(token)


class PasswordChangeRequiredMiddleware:
    """A customer whose password the bank chose (``User.must_change_password``: an account
    the bank opened, a password staff set) changes it before anything else: every page but
    "Ganti Password" itself, logging out, the language switch and static files sends them
    there. Placed after the session checks, so an ended session is ended first.
    """

    ALLOWED_NAMES = (
        "accounts:password-change",
        "accounts:logout",
        "portal:language",
        "tokens:outbox",  # the development phone (DEBUG only), to read the code
    )

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not user.is_staff
            and user.must_change_password
            and not self._allowed(request.path_info)
        ):
            # The page itself says why (the bank chose the password).
            return redirect("accounts:password-change")
        return self.get_response(request)

    def _allowed(self, path: str) -> bool:
        from django.urls import reverse

        # The change's own steps live under its page (confirm, "Generate OTP", done).
        if path.startswith((settings.STATIC_URL, reverse("accounts:password-change"))):
            return True
        if _is_public_token_file(path):
            return True
        return _path_is_one_of(path, self.ALLOWED_NAMES[1:])


class NulQueryRefusedMiddleware:
    """Refuse a URL whose query holds a NUL byte (``%00``) with the 400 page, before any view
    reads it: no form field or filter of the portal takes one, PostgreSQL text cannot store
    one (a staff list filtered by it failed with a 500), and pages would echo it back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any(
            "\x00" in key or any("\x00" in value for value in values)
            for key, values in request.GET.lists()
        ):
            raise SuspiciousOperation("NUL byte in the query string")
        return self.get_response(request)
