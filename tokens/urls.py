from django.urls import path

from . import views

app_name = "tokens"
urlpatterns = [
    path("sms/status/", views.sms_status_callback, name="sms-status"),
    path("dev/sms/", views.OutboxView.as_view(), name="outbox"),
]
