from django.urls import path

from . import views

app_name = "corporate"
urlpatterns = [
    path("corporate/pengajuan/", views.RequestListView.as_view(), name="request-list"),
    path(
        "corporate/pengajuan/baru/<str:kind>/",
        views.RequestCreateView.as_view(),
        name="request-create",
    ),
    path("corporate/pengajuan/<int:pk>/", views.RequestDetailView.as_view(), name="request-detail"),
    path(
        "corporate/pengajuan/<int:pk>/perbaiki/",
        views.RequestCorrectView.as_view(),
        name="request-correct",
    ),
]
