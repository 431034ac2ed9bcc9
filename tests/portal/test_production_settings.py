"""Production settings, read in a fresh process: what they turn on, and what they refuse."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {
    "SECRET_KEY": "x" * 30 + "-production-secret-key-with-enough-entropy-0123456789",
    "OTP_SMS_KEY": "production-otp-key-0123456789abcdef-0123456789",
    "DATABASE_URL": "sqlite:////tmp/portal-check.sqlite3",
    "ALLOWED_HOSTS": "ibank.example.co.id",
    "TWILIO_ACCOUNT_SID": "AC0123456789abcdef0123456789abcdef",
    "TWILIO_AUTH_TOKEN": "token",
    "TOKEN_SEED_KEYS": "Jz5kYJ9r2b9rR0Xh2Zq2m5o8m7u6q1Vd3YkJmZs8Lq0=",
    "PORTAL_BASE_URL": "https://ibank.example.co.id",
}


def run(code: str, env: dict) -> subprocess.CompletedProcess:
    """Run ``code`` with the portal's settings loaded in a new process with only ``env``."""
    clean = {
        k: v for k, v in os.environ.items()
        if k not in SECRETS and k not in {"DEBUG", "SECURE_HSTS_PRELOAD", "TRUSTED_PROXIES"}
    }
    script = "import django, json; django.setup(); from django.conf import settings; " + code
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "portal.settings", "PORTAL_ENV": "production", **env},
        capture_output=True, text=True, timeout=60,
    )


def production_setting(name: str, env: dict):
    result = run(f"print(json.dumps(settings.{name}))", env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_hsts_preload_is_opt_in():
    assert production_setting("SECURE_HSTS_PRELOAD", SECRETS) is False
    assert production_setting("SECURE_HSTS_PRELOAD", {**SECRETS, "SECURE_HSTS_PRELOAD": "1"}) is True
    assert production_setting("SECURE_HSTS_SECONDS", SECRETS) == 31536000


def test_trusted_proxies_default_to_a_proxy_on_the_same_host():
    assert production_setting("TRUSTED_PROXIES", SECRETS) == ["127.0.0.1", "::1"]
    assert production_setting("TRUSTED_PROXIES", {**SECRETS, "TRUSTED_PROXIES": "10.0.0.0/8"}) == [
        "10.0.0.0/8"
    ]
