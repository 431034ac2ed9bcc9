"""Fixtures every test tier shares: customers, a fake Twilio, a real Celery worker, a browser."""

import base64
import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pyotp
import pytest
import requests
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.db import connection

from portal.celery import app as celery_app
from tests.factories import PASSWORD, BankAccountFactory, UserFactory
from tests.fakes.twilio import FakeTwilio

ROOT = Path(__file__).resolve().parent.parent
CODE_RE = re.compile(r"\b(\d{6})\b")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI (PORTAL_FAIL_ON_SKIP=1) a skipped test is a failed test."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("PORTAL_FAIL_ON_SKIP") == "1" and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which counts as a failure: {report.longrepr}"


@pytest.fixture(autouse=True)
def _celery_eager():
    """Without a worker, tasks run in the test process (the real task code, no broker)."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = True


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Argon2 costs ~0.2 s a hash on this machine; tests that do not test hashing use a cheap
    one (tests/accounts/test_login.py checks that production hashing is Argon2)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _sms_outbox(settings):
    settings.SMS_BACKEND = "outbox"
    settings.SMS_STATUS_CALLBACK_URL = ""


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def customer(db):
    user = UserFactory(user_id="budi", full_name="Budi Santoso", phone="+6281234565678")
    BankAccountFactory(owner=user, number="1001000011", balance="15000000.00")
    BankAccountFactory(owner=user, number="1001000029", balance="50000000.00", product="current")
    return user


@pytest.fixture
def other_customer(db):
    user = UserFactory(user_id="siti", full_name="Siti Rahayu", phone="+6281398761234")
    BankAccountFactory(owner=user, number="1002000017", balance="7500000.00")
    return user


# A hardware token with the RFC 4226 test secret (its codes: TOKEN_HOTP.at(0), .at(1), …).
TOKEN_SECRET = b"12345678901234567890"
TOKEN_HOTP = pyotp.HOTP(base64.b32encode(TOKEN_SECRET).decode())


@pytest.fixture
def token_user(customer):
    """``customer`` confirming with an active HOTP hardware token (no SMS)."""
    from accounts.models import User
    from tokens import hardware
    from tokens.models import HardwareToken

    HardwareToken.objects.create(
        serial="FT1000000001", algorithm="hotp", digits=6, state="active", user=customer,
        sealed_seed=hardware.seed_seal(TOKEN_SECRET),
    )
    customer.confirmation_method = User.ConfirmationMethod.HARDWARE_TOKEN
    customer.save()
    return customer


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Call a view or service and run what it queued for after its commit (Celery tasks run
    eagerly): ``run_on_commit(client.post, url, data)``."""

    def run(call, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return call(*args, **kwargs)

    return run


@pytest.fixture
def customer_client(client, customer):
    """A browser-like client logged in as ``customer`` through the real login page."""
    response = client.post("/login/", {"username": customer.user_id, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    customer.refresh_from_db()
    return client


def outbox_code(to=None) -> str:
    """The code in the newest SMS of the development outbox (the customer's phone)."""
    from tokens.models import OutboxMessage

    messages = OutboxMessage.objects.all()
    if to:
        messages = messages.filter(to=to)
    message = messages.first()
    assert message is not None, "no SMS in the outbox"
    return CODE_RE.search(message.body).group(1)


@pytest.fixture
def fake_twilio(settings):
    """The real twilio SDK pointed at a fake Twilio on 127.0.0.1."""
    with FakeTwilio() as fake:
        settings.SMS_BACKEND = "twilio"
        settings.TWILIO_API_BASE_URL = fake.base_url
        settings.TWILIO_TIMEOUT = 2.0
        settings.SMS_SEND_RETRY_BASE = 0.01
        yield fake


def database_url() -> str:
    """The test database as a DATABASE_URL, for processes started by tests."""
    params = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{params['NAME']}"
    auth = params["USER"] or "postgres"
    if params.get("PASSWORD"):
        auth += f":{params['PASSWORD']}"
    return f"postgres://{auth}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/{params['NAME']}"


class WorkerProcess:
    def __init__(self, env: dict, log_path: Path):
        self.log_path = log_path
        self.log = open(log_path, "w")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "portal", "worker",
                "--pool=solo", "--loglevel=INFO", "--without-mingle", "--without-gossip",
                "--without-heartbeat", "-n", f"test-{uuid.uuid4().hex[:8]}@%h",
            ],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout=60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited: {self.log_path.read_text()[-3000:]}")
            if " ready." in self.log_path.read_text():
                return
            time.sleep(0.1)
        raise RuntimeError(f"worker not ready: {self.log_path.read_text()[-3000:]}")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


@pytest.fixture
def celery_worker(transactional_db, tmp_path, settings):
    """A real ``celery worker`` process on the test database and the configured broker.

    SMS go to the outbox unless a test sets ``worker_env`` before starting the worker: use
    ``celery_worker_factory`` for that.
    """
    worker = _start_worker(tmp_path, {"SMS_BACKEND": "outbox"})
    yield worker
    worker.stop()
    celery_app.conf.task_always_eager = True


@pytest.fixture
def celery_worker_factory(transactional_db, tmp_path):
    workers = []

    def start(extra_env: dict):
        worker = _start_worker(tmp_path, extra_env)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()
    celery_app.conf.task_always_eager = True


def _start_worker(tmp_path, extra_env):
    env = {**os.environ, "DATABASE_URL": database_url(), **extra_env}
    celery_app.conf.task_always_eager = False
    worker = WorkerProcess(env, tmp_path / f"worker-{uuid.uuid4().hex[:6]}.log")
    worker.wait_ready()
    return worker


def wait_for(predicate, timeout=15.0, interval=0.05):
    """Poll until ``predicate()`` is truthy (for work another process does)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


needs_postgres = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="needs PostgreSQL (row locks and real concurrency); CI runs it",
)
needs_chromium = pytest.mark.skipif(
    shutil.which("chromium") is None, reason="needs Debian's chromium; CI installs it"
)


# --- Two gunicorn processes on the test database (scale-out and races over HTTP) ---------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def web_process(log_path, *, env=None, threads=8, timeout=30):
    """One gunicorn process (threads, so that its requests really run in parallel) on the test
    database, on a free port of 127.0.0.1; yields its base URL once it answers, and stops it
    (killed if a request still hangs)."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "SMS_BACKEND": "outbox",
        "CELERY_TASK_ALWAYS_EAGER": "True",  # the SMS goes to the outbox inside the request
        "DEBUG": "False",
        **(env or {}),
    }
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "portal.wsgi", "-b", f"127.0.0.1:{port}",
             "-w", "1", "--threads", str(threads), "--timeout", str(timeout),
             "--graceful-timeout", "5"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    requests.get(f"{base}/login/", timeout=10)
                    break
                except (requests.ConnectionError, requests.Timeout):
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)


@pytest.fixture
def two_web_processes(tmp_path):
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(web_process(tmp_path / f"web-{name}.log")) for name in "ab"]


def web_post(session, url, data):
    token = session.cookies.get("csrftoken")
    return session.post(
        url, {**data, "csrfmiddlewaretoken": token}, headers={"Referer": url},
        allow_redirects=False, timeout=10,
    )


@pytest.fixture
def argon2_customer(customer):
    """The web processes run the portal's own hashers, not the suite's fast one."""
    customer.password = Argon2PasswordHasher().encode(PASSWORD, Argon2PasswordHasher().salt())
    customer.save(update_fields=["password"])
    return customer


@pytest.fixture(autouse=True)
def _otp_sms_limits_reset():
    """The SMS limits live in Redis when the cache is Redis: each test starts with none, as
    its database starts with no SMS (and Redis is the reckoning from the start)."""
    from tokens import limits

    limits.redis_limits_reset()
