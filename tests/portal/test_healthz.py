"""/healthz for the load balancer (issue 13 item 14): 200 with a tiny JSON when the database
and the broker answer, 200 "degraded" naming a broker that does not, 503 only when the
database does not; no session, no login, no redirect to HTTPS, no host check, nothing cached
by a proxy, no error text. One check per process per ~2 s, one at a time (attack F1)."""

import contextlib
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.contrib.sessions.models import Session

from portal import health
from portal.celery import app as celery_app
from tests.conftest import free_port, web_process

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_health_result():
    """Each test checks afresh (the result is kept ~2 s per process)."""
    health.forget()
    yield
    health.forget()


@contextlib.contextmanager
def silent_broker():
    """A "broker" on a free port of 127.0.0.1 that accepts connections and never answers;
    yields (its URL, the list of connections it accepted)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    listener.settimeout(0.2)
    accepted, stop = [], threading.Event()

    def accept():
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0", accepted
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
        for conn in accepted:
            conn.close()


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
    # A broker outage must not take every web node out of the load balancer: logins and
    # balances still work. 200, "degraded", for monitoring to alert on.
    assert response.status_code == 200
    assert json.loads(response.content) == {
        "status": "degraded", "database": "ok", "broker": "unavailable",
    }


def test_probes_of_a_silent_broker_cost_one_check_per_window_and_pages_go_on(tmp_path):
    """Attack F1: a broker that accepts and never answers; 8 parallel probes, again and
    again, on a 1x4-thread process, open one broker connection per ~2 s window (not one each),
    every probe answers "degraded", and a page asked for meanwhile is served."""
    with silent_broker() as (url, accepted):
        env = {"CELERY_BROKER_URL": url}
        with web_process(tmp_path / "web.log", env=env, threads=4) as base:
            started = time.monotonic()
            with ThreadPoolExecutor(max_workers=9) as pool:
                probes = []
                for _round in range(3):
                    probes += [
                        pool.submit(requests.get, f"{base}/healthz", timeout=20) for _ in range(8)
                    ]
                    login = pool.submit(requests.get, f"{base}/login/", timeout=20)
                    assert login.result().status_code == 200
                answers = [probe.result() for probe in probes]
            windows = (time.monotonic() - started) / health.RESULT_KEPT_SECONDS
            connections = len(accepted)
    assert 1 <= connections <= int(windows) + 1, (connections, windows, len(answers))
    assert {a.status_code for a in answers} == {200}
    assert {a.json()["broker"] for a in answers} == {"unavailable"}
    assert {a.json()["status"] for a in answers} == {"degraded"}


def test_healthz_names_the_database_when_it_does_not_answer(tmp_path):
    # A web process whose PostgreSQL is down (nothing listens on the port).
    dead = f"postgres://portal:not-logged@127.0.0.1:{free_port()}/portal"
    with web_process(tmp_path / "web.log", env={"DATABASE_URL": dead}) as base:
        response = requests.get(f"{base}/healthz", timeout=10)
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unavailable", "broker": "ok"}
    assert "not-logged" not in (tmp_path / "web.log").read_text()
