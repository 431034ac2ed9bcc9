from django.urls import path

from . import views

app_name = "tokens"
urlpatterns = [
    path("sms/status/", views.sms_status_callback, name="sms-status"),
    path("profil/aktivasi-token/", views.TokenActivateView.as_view(), name="token-activate"),
    path("dev/sms/", views.OutboxView.as_view(), name="outbox"),
]
