"""The portal's own error pages with DEBUG off (issue 10 item 7): 400, 403, a failed CSRF
check, 404 and 500 in the portal's look, Indonesian first, with the call-centre number and a
way back; never Django's plain or technical page.

This module is also the URLconf of its tests (``ROOT_URLCONF``): the portal's URLs, a few views
that fail on purpose, and the portal's handlers."""

import logging

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.db import InterfaceError, connection, transaction
from django.db.utils import ConnectionHandler
from django.template import loader
from django.test import Client
from django.urls import path
from django.utils import translation

from portal.urls import urlpatterns as portal_urlpatterns
from tests.conftest import free_port, needs_postgres
from tests.factories import PASSWORD


def _raise_bad_request(request):
    raise SuspiciousOperation("a test")


def _raise_permission_denied(request):
    raise PermissionDenied


def _raise_error(request):
    raise RuntimeError("a bug, for the test")


def _raise_sqlstate(request, sqlstate):
    """A real error of PostgreSQL with this SQLSTATE (in a savepoint: the test's transaction
    goes on)."""
    with transaction.atomic(), connection.cursor() as cursor:
        if sqlstate == "57014":  # a statement timeout, for real
            cursor.execute("SET LOCAL statement_timeout = 50")
            cursor.execute("SELECT pg_sleep(5)")
        cursor.execute(f"DO $$ BEGIN RAISE EXCEPTION 'for the test' USING ERRCODE = '{sqlstate}'; END $$")


def _connect_to_a_closed_port(request):
    """A PostgreSQL that does not listen (down, failing over): psycopg cannot connect."""
    database = {"ENGINE": "django.db.backends.postgresql", "HOST": "127.0.0.1",
                "PORT": str(free_port()), "NAME": "portal", "USER": "portal"}
    ConnectionHandler({"default": database})["default"].ensure_connection()


def _raise_connection_closed(request):
    raise InterfaceError("connection already closed")


urlpatterns = [
    path("test-errors/sqlstate/<str:sqlstate>/", _raise_sqlstate),
    path("test-errors/closed-port/", _connect_to_a_closed_port),
    path("test-errors/connection-closed/", _raise_connection_closed),
    path("test-errors/400/", _raise_bad_request),
    path("test-errors/403/", _raise_permission_denied),
    path("test-errors/500/", _raise_error),
    *portal_urlpatterns,
]
handler400 = "portal.errors.bad_request"
handler403 = "portal.errors.permission_denied"
handler404 = "portal.errors.page_not_found"
handler500 = "portal.errors.server_error"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def errors_urlconf(settings):
    settings.DEBUG = False
    settings.ROOT_URLCONF = __name__
    settings.BANK_CALL_CENTRE = "1500 246"


def portal_page(page: str):
    """The portal's layout, the way back and the call-centre number; nothing of Django's."""
    assert '<header class="site-header">' in page
    assert 'href="/static/css/portal.css"' in page
    assert 'href="/"' in page  # back to the home page
    assert "1500 246" in page
    assert 'href="/bantuan/"' in page
    for django_text in ("Traceback", "Request Method", "Server Error (500)", "<h1>Not Found</h1>",
                        "Bad Request (400)", "403 Forbidden", "CSRF verification failed"):
        assert django_text not in page


@pytest.mark.parametrize(
    ("url", "status", "title"),
    [
        ("/test-errors/400/", 400, "Permintaan tidak dapat dibaca"),
        ("/test-errors/403/", 403, "Anda tidak dapat membuka halaman ini"),
        ("/tidak-ada-halaman-ini/", 404, "Halaman tidak ditemukan"),
    ],
)
def test_error_pages_in_the_portal_look_indonesian_first(client, url, status, title):
    response = client.get(url)
    assert response.status_code == status
    page = response.content.decode()
    assert '<html lang="id">' in page
    assert f"<h1>{title}</h1>" in page
    assert "Butuh bantuan? Hubungi Bank Nusantara di" in page
    portal_page(page)


def test_error_pages_in_english_when_chosen(client):
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get("/tidak-ada-halaman-ini/").content.decode()
    assert '<html lang="en">' in page and "<h1>Page not found</h1>" in page
    portal_page(page)


def test_a_logged_in_customer_keeps_the_menu_on_a_404(client, customer):
    assert client.post("/login/", {"username": "budi", "password": PASSWORD}).status_code == 302
    page = client.get("/transfers/TIDAKADA/").content.decode()
    assert "Halaman tidak ditemukan" in page
    assert 'class="wrap main-nav"' in page and "Keluar" in page
    portal_page(page)


def test_a_request_for_an_unknown_host_gets_the_400_page(client):
    response = client.get("/login/", HTTP_HOST="bank-palsu.example")
    assert response.status_code == 400
    portal_page(response.content.decode())


def test_a_server_error_gets_the_500_page(client):
    client.raise_request_exception = False
    response = client.get("/test-errors/500/")
    assert response.status_code == 500
    page = response.content.decode()
    assert "<h1>Terjadi kesalahan di sistem kami</h1>" in page
    assert "periksa riwayat transaksi Anda sebelum mencoba lagi" in page
    portal_page(page)
    # No form on it: it is rendered without a request, so it could carry no CSRF token.
    assert "<form" not in page


@needs_postgres
@pytest.mark.parametrize(
    ("sqlstate", "status"),
    [
        ("57014", 500),  # statement timeout
        ("40P01", 500),  # deadlock
        ("40001", 500),  # serialization failure
        ("08006", 503),  # connection failure
        ("57P01", 503),  # admin shutdown (a restart)
        ("57P03", 503),  # cannot connect now (starting up)
    ],
)
def test_only_a_database_out_of_reach_gets_the_503_page(client, caplog, sqlstate, status):
    """Attack F5: a deadlock, a serialization failure, a statement timeout are faults of the
    portal (500, logged as errors, alerting), not "try again later"."""
    client.raise_request_exception = False
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.get(f"/test-errors/sqlstate/{sqlstate}/")
    assert response.status_code == status
    assert ("Retry-After" in response) == (status == 503)
    assert any(r.levelno == logging.ERROR and r.name == "django.request" for r in caplog.records)
    portal_page(response.content.decode())


@pytest.mark.parametrize("url", ["/test-errors/closed-port/", "/test-errors/connection-closed/"])
def test_a_database_that_cannot_be_reached_gets_the_503_page(client, url):
    client.raise_request_exception = False
    response = client.get(url)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    portal_page(response.content.decode())


def test_the_500_template_renders_without_any_context():
    """As Django's own ``server_error`` would: no request, no context processors."""
    with translation.override("id"):
        page = loader.get_template("500.html").render()
    assert "Terjadi kesalahan di sistem kami" in page and "1500 246" in page
    assert 'href="/"' in page and "<form" not in page


def test_a_failed_csrf_check_says_the_page_expired_and_offers_to_reload_it(customer):
    client = Client(enforce_csrf_checks=True)
    client.get("/login/")  # the CSRF cookie; the form's token is then left out
    response = client.post(
        "/login/", {"username": "budi", "password": PASSWORD},
        HTTP_REFERER="http://testserver/login/?next=/transfers/new/",
    )
    assert response.status_code == 403
    page = response.content.decode()
    assert "<h1>Halaman kedaluwarsa, muat ulang</h1>" in page
    assert 'href="http://testserver/login/?next=/transfers/new/"' in page
    assert "Muat ulang halaman" in page
    portal_page(page)
    # Nothing happened: no login.
    assert "_auth_user_id" not in client.session


def test_the_reload_link_never_leads_to_another_site(customer):
    client = Client(enforce_csrf_checks=True)
    client.get("/login/")
    response = client.post(
        "/login/", {"username": "budi", "password": PASSWORD},
        HTTP_REFERER="https://bank-palsu.example/login/",
    )
    assert response.status_code == 403
    page = response.content.decode()
    assert "bank-palsu.example" not in page
    assert 'class="button primary" href="/login/"' in page
