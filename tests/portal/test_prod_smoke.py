"""``make prod`` runs (issue 13 item 14): the production processes of Procfile.prod (gunicorn
with gunicorn.conf.py, a Celery worker, Celery beat) with PORTAL_ENV=production on PostgreSQL
and Redis, test secrets, and the fake Twilio as the SMS provider. A customer logs in and
confirms one transfer through it over HTTP, as a TLS-terminating proxy on 127.0.0.1 would pass
the requests on (X-Forwarded-Proto: https; production trusts that proxy, TRUSTED_PROXIES).
The logs are JSON lines with request ids; no password or code is in them."""

import json
import os
import re
import signal
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from payments.models import BankAccount, LedgerEntry, Transfer
from tests.conftest import database_url, free_port, needs_postgres, wait_for
from tests.factories import PASSWORD
from tests.fakes.twilio import FakeTwilio
from tests.portal.test_production_fail_fast import SECRETS

ROOT = Path(__file__).resolve().parents[2]
CODE_RE = re.compile(r"\b(\d{6})\b")


def prod_env(**extra) -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in SECRETS and k != "DEBUG"}
    return {**clean, **SECRETS, "PORTAL_ENV": "production", **extra}


def test_make_prod_refuses_to_start_without_postgresql_and_redis():
    env = prod_env()
    for name in ("DATABASE_URL", "CACHE_URL", "CELERY_BROKER_URL"):
        env.pop(name, None)
    result = subprocess.run(["make", "-s", "prod"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr
    env["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/portal"
    result = subprocess.run(["make", "-s", "prod"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0 and "CACHE_URL" in result.stderr


class Browser:
    """A browser behind the bank's TLS proxy: every request says it came over HTTPS, and the
    Secure cookies the portal sets are sent back (requests would keep them from plain http)."""

    def __init__(self, base):
        self.base, self.cookies = base, {}
        self.origin = "https://" + base.split("://", 1)[1]

    def _keep(self, response):
        self.cookies.update({c.name: c.value for c in response.cookies})
        return response

    def get(self, path):
        return self._keep(requests.get(
            f"{self.base}{path}", cookies=self.cookies, allow_redirects=False, timeout=30,
            headers={"X-Forwarded-Proto": "https"},
        ))

    def post(self, path, data):
        return self._keep(requests.post(
            f"{self.base}{path}", {**data, "csrfmiddlewaretoken": self.cookies.get("csrftoken")},
            cookies=self.cookies, allow_redirects=False, timeout=30,
            headers={"X-Forwarded-Proto": "https", "Referer": f"{self.origin}{path}"},
        ))


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_make_prod_serves_a_login_and_a_transfer_with_the_fake_twilio(
    argon2_customer, other_customer, tmp_path
):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "prod.log"
    with FakeTwilio() as twilio, open(log, "w") as output:
        env = prod_env(
            DATABASE_URL=database_url(),
            ALLOWED_HOSTS="127.0.0.1",
            TWILIO_API_BASE_URL=twilio.base_url,
            TWILIO_FROM="+15005550006",
            WEB_BIND=f"127.0.0.1:{port}", WEB_WORKERS="1", WEB_THREADS="4",
            LOG_LEVEL="DEBUG",  # everything a module logs, to look for secrets in it
            PORTAL_VAR_DIR=str(tmp_path / "var"),
        )
        process = subprocess.Popen(
            ["make", "-s", "prod"], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            def healthy():
                assert process.poll() is None, log.read_text()[-5000:]
                try:
                    return requests.get(f"{base}/healthz", timeout=5).status_code == 200
                except requests.ConnectionError:
                    return False

            wait_for(healthy, timeout=90, interval=0.2)
            health = requests.get(f"{base}/healthz", timeout=5)
            assert health.json() == {"status": "ok", "database": "ok", "broker": "ok"}

            # Plain http from anyone but the proxy is sent to https.
            plain = requests.get(f"{base}/login/", allow_redirects=False, timeout=10)
            assert plain.status_code == 301
            assert plain.headers["Location"] == f"https://127.0.0.1:{port}/login/"

            browser = Browser(base)
            page = browser.get("/login/")
            assert page.status_code == 200 and "Strict-Transport-Security" in page.headers
            assert re.fullmatch(r"[0-9a-f]{32}", page.headers["X-Request-ID"])
            response = browser.post("/login/", {"username": "budi", "password": PASSWORD})
            assert response.status_code == 302, response.text[:1000]
            assert "secure" in response.headers["Set-Cookie"].lower()
            response = browser.post("/transfers/new/", {
                "source": BankAccount.objects.get(number="1001000011").pk,
                "destination": "other", "destination_number": "1002000017", "amount": "1.500.000",
            })
            assert response.status_code == 302, response.text[:1000]
            reference = response.headers["Location"].split("/")[2]
            assert browser.post(f"/transfers/{reference}/otp/", {}).status_code == 302
            # The Celery worker of Procfile.prod sends it through the (fake) Twilio API.
            sms = wait_for(twilio.messages, timeout=60)
            code = CODE_RE.search(sms[0].form["Body"]).group(1)
            response = browser.post(f"/transfers/{reference}/confirm/", {"code": code})
            assert response.status_code == 302, response.text[:1000]
            assert response.headers["Location"] == f"/transfers/{reference}/"
            assert browser.get(f"/transfers/{reference}/").status_code == 200
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)

    transfer = Transfer.objects.get(reference=reference)
    assert transfer.status == Transfer.Status.COMPLETED
    assert LedgerEntry.objects.filter(transfer=transfer).count() == 2
    assert BankAccount.objects.get(number="1001000011").balance == Decimal("13500000.00")

    output = log.read_text()
    assert PASSWORD not in output and code not in output
    # gunicorn's access lines: JSON with the portal's request id; passing probes left out.
    access = []
    for line in output.splitlines():
        _, _, rest = line.partition("| ")  # honcho's "HH:MM:SS web.1 | " prefix
        if rest.startswith("{") and '"message": "access"' in rest:
            access.append(json.loads(rest))
    assert any(a["path"] == f"/transfers/{reference}/confirm/" and a["status"] == 302
               and re.fullmatch(r"[0-9a-f]{32}", a["request_id"] or "") for a in access), access
    assert not any(a["path"] == "/healthz" for a in access)
    assert "Traceback" not in output and '"level": "ERROR"' not in output, output[-5000:]


def test_procfile_prod_runs_the_worker_and_beat_as_development_does():
    """The worker's pool and concurrency (chosen for SMS sending) and beat are the same in
    production; only the web process differs (gunicorn rather than runserver)."""

    def processes(name):
        return dict(line.split(": ", 1) for line in (ROOT / name).read_text().splitlines() if line)

    development, production = processes("Procfile"), processes("Procfile.prod")
    assert production["web"] == ".venv/bin/gunicorn -c gunicorn.conf.py"
    assert {k: v for k, v in production.items() if k != "web"} == {
        k: v for k, v in development.items() if k != "web"
    }
