from django.urls import path

from . import mobile_views, views

app_name = "tokens"
urlpatterns = [
    path("sms/status/", views.sms_status_callback, name="sms-status"),
    path("profil/aktivasi-token/", views.TokenActivateView.as_view(), name="token-activate"),
    path("dev/sms/", views.OutboxView.as_view(), name="outbox"),
    # The Mobile Token (issue 12): the token on the phone, public and offline-capable ...
    path("mobile-token/", mobile_views.MobileAppView.as_view(), name="mobile-app"),
    path("mobile-token/sw.js", mobile_views.MobileServiceWorkerView.as_view(), name="mobile-sw"),
    path("mobile-token/manifest.webmanifest", mobile_views.mobile_manifest, name="mobile-manifest"),
    # ... and its registration, logged in.
    path("mobile-token/daftar/", mobile_views.MobileRegisterView.as_view(), name="mobile-register"),
    path(
        "mobile-token/daftar/otp/",
        mobile_views.MobileRegisterOtpView.as_view(),
        name="mobile-register-otp",
    ),
    path(
        "mobile-token/daftar/unlock-code/",
        mobile_views.MobileRegisterUnlockView.as_view(),
        name="mobile-register-unlock",
    ),
    path(
        "mobile-token/daftar/kunci/",
        mobile_views.MobileRegisterKeyView.as_view(),
        name="mobile-register-key",
    ),
    path(
        "mobile-token/daftar/selesai/",
        mobile_views.MobileRegisterFinishView.as_view(),
        name="mobile-register-finish",
    ),
]
