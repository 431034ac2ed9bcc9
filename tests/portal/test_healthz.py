"""/healthz for the load balancer (issue 13 item 14): 200 with a tiny JSON when the database
and the broker answer, 503 naming the part that does not; no session, no login, no redirect to
HTTPS, no host check, nothing cached, no error text."""

import json

import pytest
import requests
from django.contrib.sessions.models import Session

from portal.celery import app as celery_app
from tests.conftest import free_port, web_process

pytestmark = pytest.mark.django_db


def test_healthz_answers_ok_without_session_or_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {"status": "ok", "database": "ok", "broker": "ok"}
    assert "no-store" in response["Cache-Control"]
    assert not response.cookies
    assert Session.objects.count() == 0
    assert client.head("/healthz").status_code == 200


def test_healthz_is_exempt_from_https_redirect_and_host_check(client, settings):
    # Production: HTTPS only, one host name; the load balancer probes a process by address.
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["ibank.example.co.id"]
    response = client.get("/healthz", HTTP_HOST="10.0.3.7:8000")
    assert response.status_code == 200
    assert client.get("/login/", HTTP_HOST="ibank.example.co.id").status_code == 301
    assert client.get("/healthz/").status_code != 200  # one exact path, nothing under it
    assert client.post("/healthz").status_code != 200


def test_healthz_names_the_broker_when_it_does_not_answer(client):
    working = celery_app.conf.broker_url, celery_app.conf.broker_write_url
    # Nothing listens on this port of 127.0.0.1: a broker that is down.
    down = f"redis://127.0.0.1:{free_port()}/0"
    celery_app.conf.broker_url = celery_app.conf.broker_write_url = down
    try:
        response = client.get("/healthz")
    finally:
        celery_app.conf.broker_url, celery_app.conf.broker_write_url = working
    assert response.status_code == 503
    assert json.loads(response.content) == {
        "status": "unavailable", "database": "ok", "broker": "unavailable",
    }


def test_healthz_names_the_database_when_it_does_not_answer(tmp_path):
    # A web process whose PostgreSQL is down (nothing listens on the port).
    dead = f"postgres://portal:not-logged@127.0.0.1:{free_port()}/portal"
    with web_process(tmp_path / "web.log", env={"DATABASE_URL": dead}) as base:
        response = requests.get(f"{base}/healthz", timeout=10)
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unavailable", "broker": "ok"}
    assert "not-logged" not in (tmp_path / "web.log").read_text()
