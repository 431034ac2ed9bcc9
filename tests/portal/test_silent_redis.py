"""A Redis that accepts connections and never answers (a hung server, a full network buffer)
must not hang a request: the broker and the cache give up after REDIS_SOCKET_TIMEOUT, and
"Generate OTP" answers within a few seconds with "the code cannot be sent right now"."""

import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests

from payments.models import BankAccount
from tests.conftest import ROOT, web_process
from tests.conftest import web_post as post
from tests.factories import PASSWORD
from tokens.models import SmsMessage


class SilentRedis:
    """A TCP server on 127.0.0.1 that accepts every connection and never sends a byte."""

    def __init__(self):
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.port = self.server.getsockname()[1]
        self.connections = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.connections.append(connection)

    def url(self, db=0):
        return f"redis://127.0.0.1:{self.port}/{db}"

    def close(self):
        self.server.close()
        for connection in self.connections:
            connection.close()


@pytest.fixture
def silent_redis():
    server = SilentRedis()
    yield server
    server.close()


@pytest.fixture
def web_with_silent_broker(transactional_db, silent_redis, tmp_path):
    """One gunicorn process on the test database whose Celery broker is the silent Redis."""
    env = {"CELERY_BROKER_URL": silent_redis.url(), "CELERY_TASK_ALWAYS_EAGER": "False"}
    with web_process(tmp_path / "web.log", env=env, threads=4, timeout=60) as base:
        yield base


def test_generate_otp_answers_when_the_broker_never_answers(
    web_with_silent_broker, argon2_customer, other_customer
):
    base = web_with_silent_broker
    browser = requests.Session()
    browser.cookies.set("django_language", "en")
    browser.get(f"{base}/login/", timeout=10)
    assert post(browser, f"{base}/login/", {"username": "budi", "password": PASSWORD}).status_code == 302
    response = post(
        browser, f"{base}/transfers/new/",
        {"source": BankAccount.objects.get(number="1001000011").pk, "destination": "other",
         "destination_number": "1002000017", "amount": "1.500.000"},
    )
    assert response.status_code == 302, response.text[:500]
    reference = response.headers["Location"].split("/")[2]

    started = time.monotonic()
    try:
        response = post(browser, f"{base}/transfers/{reference}/otp/", {})
    except requests.Timeout:
        pytest.fail("Generate OTP hung on a Redis broker that never answers")
    elapsed = time.monotonic() - started
    assert response.status_code == 302
    print(f"Generate OTP answered in {elapsed:.2f} s")
    assert elapsed < 8, f"Generate OTP took {elapsed:.1f} s"
    message = SmsMessage.objects.get()
    assert (message.status, message.error_code) == (SmsMessage.Status.FAILED, "queue")
    page = browser.get(base + response.headers["Location"], timeout=10).text
    # Nothing was sent nor counted (issue 13, item 8): the customer is told to try again.
    assert "The OTP code cannot be sent right now. Please try again in a few moments." in page
    assert message.challenge.status == "voided"


def portal_settings_run(code: str, env: dict, timeout=30) -> subprocess.CompletedProcess:
    script = "import django, json, time; django.setup(); from django.conf import settings; " + code
    clean = {k: v for k, v in os.environ.items() if k not in {"CACHE_URL", "CELERY_BROKER_URL"}}
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "portal.settings", **env},
        capture_output=True, text=True, timeout=timeout,
    )


def test_the_cache_gives_up_on_a_redis_that_never_answers(silent_redis):
    code = (
        "from django.core.cache import cache\n"
        "started = time.monotonic()\n"
        "try:\n"
        "    cache.get('x')\n"
        "except Exception as exc:\n"
        "    print(json.dumps([type(exc).__name__, time.monotonic() - started]))\n"
    )
    try:
        result = portal_settings_run(code, {"CACHE_URL": silent_redis.url(1)})
    except subprocess.TimeoutExpired:
        pytest.fail("a cache read hung on a Redis that never answers")
    assert result.returncode == 0, result.stderr
    name, elapsed = json.loads(result.stdout)
    assert name == "TimeoutError" and elapsed < 3.5


def test_redis_broker_times_out_and_redelivers_within_the_code_lifetime():
    result = portal_settings_run(
        "print(json.dumps([settings.CELERY_BROKER_TRANSPORT_OPTIONS, settings.OTP_CODE_LIFETIME,"
        " settings.CELERY_BROKER_CONNECTION_TIMEOUT]))",
        {"CELERY_BROKER_URL": "redis://127.0.0.1:6379/10"},
    )
    assert result.returncode == 0, result.stderr
    options, lifetime, connect_timeout = json.loads(result.stdout)
    # A task a dead worker held comes back (timeout, then the next sweep) while the code is
    # still young enough to be worth sending.
    sweep = options["unacked_restore_interval"] * options["unacked_restore_throttle"]
    assert options["visibility_timeout"] + sweep <= lifetime / 4
    assert 0 < options["socket_timeout"] <= 5 and 0 < options["socket_connect_timeout"] <= 5
    assert 0 < connect_timeout <= 5
