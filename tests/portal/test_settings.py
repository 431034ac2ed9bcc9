"""Production settings: refuse to start without secrets, and pass ``check --deploy``."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {
    "SECRET_KEY": "x" * 30 + "-production-secret-key-with-enough-entropy-0123456789",
    "OTP_SMS_KEY": "production-otp-key-0123456789abcdef-0123456789",  # at least 32 characters
    "DATABASE_URL": "sqlite:////tmp/portal-check.sqlite3",
    "ALLOWED_HOSTS": "ibank.example.co.id",
    "TWILIO_ACCOUNT_SID": "AC0123456789abcdef0123456789abcdef",
    "TWILIO_AUTH_TOKEN": "token",
    "TOKEN_SEED_KEYS": "Jz5kYJ9r2b9rR0Xh2Zq2m5o8m7u6q1Vd3YkJmZs8Lq0=",
    "PORTAL_BASE_URL": "https://ibank.example.co.id",
}


def manage(*args, env):
    clean = {k: v for k, v in os.environ.items() if k not in SECRETS and k != "DEBUG"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env={**clean, "PORTAL_ENV": "production", **env},
        capture_output=True, text=True, timeout=60,
    )


def test_production_refuses_to_start_without_secrets():
    for missing in SECRETS:
        result = manage("check", env={k: v for k, v in SECRETS.items() if k != missing})
        assert result.returncode != 0
        assert missing in result.stderr


def test_production_passes_check_deploy():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=SECRETS)
    assert result.returncode == 0, result.stderr + result.stdout


def test_admin_requires_otp(client, db):
    from tests.factories import PASSWORD, UserFactory

    UserFactory(user_id="staf01", is_staff=True, is_superuser=True)
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "staf01", "password": PASSWORD, "otp_token": ""}
    )
    # No OTP device yet: the password alone leads to the enrolment page, never into the admin.
    assert response.status_code == 302 and response["Location"] == "/staff/otp/enrol/"
    assert client.get("/admin/").status_code == 302


def test_production_refuses_the_outbox_backend():
    result = manage("check", env={**SECRETS, "SMS_BACKEND": "outbox"})
    assert result.returncode != 0 and "SMS_BACKEND=outbox" in result.stderr
