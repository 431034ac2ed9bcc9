from base64 import b32encode

import segno
from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.generic import FormView
from django_otp import login as otp_login

from . import services
from .exceptions import StaffError
from .forms import LoginForm, StaffTotpEnrolForm


def client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR")


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

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
        return response

    def form_invalid(self, form):
        if "username" not in form.errors:
            services.login_failed_record(
                user_id=form.data.get("username", ""), ip=client_ip(self.request)
            )
        return super().form_invalid(form)


class LogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            services.session_end(user=request.user, ip=client_ip(request))
        return super().post(request, *args, **kwargs)


def lockout(request, response=None, credentials=None, *args, **kwargs):
    """django-axes' answer to a locked User ID: the login page with one generic message."""
    user_id = (credentials or {}).get("username", "")
    services.login_failed_record(user_id=user_id, ip=client_ip(request), locked=True)
    form = LoginForm(request, initial={"username": user_id[:30]})
    context = {"form": form, "blocked_message": LoginForm.error_messages["access_blocked"]}
    return render(request, "accounts/login.html", context, status=403)


@method_decorator([never_cache, login_required], name="dispatch")
class StaffTotpEnrolView(FormView):
    """A member of staff without a confirmed TOTP device enrols one: QR code, first code.

    Outside the OTP-protected admin (the staff member cannot pass it yet), after a password
    login; customers get a 404. The QR code is an inline SVG drawn by segno (no script, no
    style attribute, no external service).
    """

    form_class = StaffTotpEnrolForm
    template_name = "accounts/staff_otp_enrol.html"

    def dispatch(self, request, *args, **kwargs):
        if not (request.user.is_active and request.user.is_staff):
            raise Http404
        self.device = services.staff_totp_device_for_enrolment(user=request.user)
        if self.device is None:
            messages.info(request, _("Your authenticator is already set up."))
            return redirect("admin:index")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        from django.contrib import admin

        url = self.device.config_url
        context = super().get_context_data(**kwargs)
        context.update(admin.site.each_context(self.request))
        context.update(
            title=_("Set up your authenticator"),
            qr_svg=mark_safe(  # noqa: S308 (segno's own SVG markup; the URI is escaped in it)
                segno.make(url, error="m").svg_inline(scale=4, title=None, border=2)
            ),
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
        otp_login(self.request, device)
        self.request.session.cycle_key()
        services.session_rebind(
            user=self.request.user, session_key=self.request.session.session_key
        )
        messages.success(self.request, _("Your authenticator is set up."))
        return redirect("admin:index")

