"""The broker down when "Generate OTP" is pressed (issue 13, item 8): the customer is told the
code cannot be sent now, nothing is counted against them (no pending challenge, no SMS within
the limits, no cooldown), and once the broker is back the same web process queues codes again
without a restart. A real redis-server on a free port is the broker, stopped and started."""

import shutil
import subprocess
import time

import pytest
import redis
import requests

from payments.models import BankAccount
from tests.conftest import free_port, wait_for, web_process
from tests.conftest import web_post as post
from tests.factories import PASSWORD
from tokens.models import Challenge, SmsMessage

needs_redis_server = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="needs redis-server; CI installs it"
)


class RedisServer:
    """A throw-away redis-server on 127.0.0.1 (no persistence), stopped and started at will."""

    def __init__(self, port: int, log_path):
        self.port, self.log_path, self.process = port, log_path, None

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--logfile", str(self.log_path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        wait_for(lambda: _pings(client), timeout=10)

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def queued(self) -> int:
        return redis.Redis(port=self.port).llen("celery")


def _pings(client) -> bool:
    try:
        return client.ping()
    except redis.ConnectionError:
        return False


@pytest.fixture
def broker(tmp_path):
    server = RedisServer(free_port(), tmp_path / "redis.log")
    server.start()
    yield server
    server.stop()


def _flash(response) -> str:
    return requests.utils.unquote(response.cookies.get("messages", "") or "")


@needs_redis_server
def test_generate_otp_with_the_broker_down_counts_nothing_and_recovers(
    transactional_db, broker, tmp_path, argon2_customer, other_customer
):
    env = {
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{broker.port}/0",
        "CELERY_TASK_ALWAYS_EAGER": "False",
        # One code a window: a code that was never sent must not use it up.
        "OTP_SMS_USER_LIMIT": "1",
        "REDIS_SOCKET_TIMEOUT": "1",
    }
    with web_process(tmp_path / "web.log", env=env, threads=2, timeout=30) as base:
        browser = requests.Session()
        browser.get(f"{base}/login/", timeout=10)
        login = post(browser, f"{base}/login/", {"username": "budi", "password": PASSWORD})
        assert login.status_code == 302
        created = post(
            browser, f"{base}/transfers/new/",
            {"source": BankAccount.objects.get(number="1001000011").pk, "destination": "other",
             "destination_number": "1002000017", "amount": "1.500.000"},
        )
        reference = created.headers["Location"].split("/")[2]

        broker.stop()
        started = time.monotonic()
        pressed = post(browser, f"{base}/transfers/{reference}/otp/", {})
        elapsed = time.monotonic() - started
        assert pressed.status_code == 302 and elapsed < 5, elapsed
        page = browser.get(base + pressed.headers["Location"], timeout=10).text
        assert "Kode OTP tidak dapat dikirim saat ini. Silakan coba beberapa saat lagi." in page
        orphan = Challenge.objects.get()
        assert orphan.status == Challenge.Status.VOIDED
        assert (orphan.sms.status, orphan.sms.error_code) == (SmsMessage.Status.FAILED, "queue")

        broker.start()  # the same web process, not restarted
        pressed = post(browser, f"{base}/transfers/{reference}/otp/", {})
        assert pressed.status_code == 302
        page = browser.get(base + pressed.headers["Location"], timeout=10).text
        for refusal in ("tidak dapat dikirim", "Terlalu banyak kode", "Kode baru saja dikirim"):
            assert refusal not in page
        sent = Challenge.objects.get(status=Challenge.Status.PENDING)
        assert sent.sms.status == SmsMessage.Status.PENDING
        assert broker.queued() == 1
