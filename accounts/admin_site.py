"""The staff admin site: django-otp's OTP admin, opened only by the staff member's own TOTP.

Django makes it ``admin.site`` through ``portal.apps.StaffAdminConfig.default_site``. A module
of its own, so that loading the site does not load the ModelAdmins that register on it.
"""

from functools import wraps

from django.conf import settings
from django.http import HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminSite
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import selectors, services
from .forms import StaffAdminAuthenticationForm
from .views import client_ip


class StaffAdminSite(OTPAdminSite):
    """django-otp's admin site (User ID + password + the staff member's own TOTP) that also
    makes the admin session the user's only session, as the portal's login does.

    Only the staff member's own confirmed TOTP device opens it: a session that django-otp
    calls verified by another device (an SMS code on a customer page) does not. A member of
    staff without a confirmed device logs in with the password alone and goes straight to the
    enrolment page; no admin page opens before the device is confirmed.
    """

    site_header = _("Bank Nusantara · staff")
    site_title = _("Bank Nusantara staff")
    index_title = _("Staff administration")
    login_template = "admin/staff_login.html"
    login_form = StaffAdminAuthenticationForm
    site_url = None  # no "View site": the customers' portal is not a staff page

    def __init__(self, name="admin"):
        # Django's default site is named "admin" (OTPAdminSite would call itself "otpadmin").
        super().__init__(name)

    def has_permission(self, request):
        device = getattr(request.user, "otp_device", None)
        return (
            super().has_permission(request)
            and isinstance(device, TOTPDevice)
            and device.confirmed
            and device.user_id == request.user.pk
        )

    @staticmethod
    def _enrolment_needed(request) -> bool:
        user = request.user
        return (
            user.is_authenticated
            and user.is_active
            and user.is_staff
            and not selectors.staff_totp_confirmed(user=user)
        )

    def login(self, request, extra_context=None):
        if request.method == "GET" and self._enrolment_needed(request):
            return redirect("accounts:staff-otp-enrol")
        response = super().login(request, extra_context)
        if (
            request.method == "POST"
            and isinstance(response, HttpResponseRedirect)
            and request.user.is_authenticated
        ):
            request.session["auth_at"] = request.session["last_seen"] = timezone.now().timestamp()
            services.session_start(
                user=request.user,
                session_key=request.session.session_key,
                ip=client_ip(request),
                language=get_language(),
            )
            if self._enrolment_needed(request):
                return redirect("accounts:staff-otp-enrol")
        return response

    def admin_view(self, view, cacheable=False):
        wrapped = super().admin_view(view, cacheable)
        if view != self.logout:
            return wrapped

        @wraps(wrapped)
        def logout(request, *args, **kwargs):
            # Django's admin sends a logout without a staff session to the index before the view
            # runs. One sent with the key the TOTP enrolment has just cycled away (another tab)
            # is still a logout: it ends the session that key was (as for customers, F2).
            key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
            if request.method == "POST" and key and not request.user.is_authenticated:
                services.session_end_cycled(session_key=key, ip=client_ip(request))
            return wrapped(request, *args, **kwargs)

        return logout

    def logout(self, request, extra_context=None):
        if request.method == "POST" and request.user.is_authenticated:
            services.session_end(user=request.user, ip=client_ip(request))
        response = super().logout(request, extra_context)
        if isinstance(response, HttpResponseRedirect):
            # Back to the staff login, not the customers' (LOGOUT_REDIRECT_URL).
            return redirect(reverse("admin:login", current_app=self.name))
        return response
