from django.contrib.auth import views as auth_views
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import get_language

from . import services
from .forms import LoginForm


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
