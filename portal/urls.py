from django.contrib import admin
from django.urls import include, path

from accounts.admin import StaffAdminSite

from . import views

# Staff log into the admin with User ID + password + their own TOTP (django-otp's
# OTPAdminSite; StaffAdminSite also makes the admin session the staff member's only one).
admin.site.__class__ = StaffAdminSite

portal_patterns = (
    [
        path("", views.home, name="home"),
        path("dashboard/", views.dashboard, name="dashboard"),
        path("language/", views.language_set, name="language"),
    ],
    "portal",
)

urlpatterns = [
    path("", include(portal_patterns)),
    path("", include("accounts.urls")),
    path("", include("payments.urls")),
    path("", include("tokens.urls")),
    path("admin/", admin.site.urls),
]
