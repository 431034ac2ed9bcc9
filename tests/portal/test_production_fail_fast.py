"""Production fails fast: it does not start with DEBUG on or with a secret that is missing,
empty or malformed, and the demo commands refuse in production whatever DEBUG says."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {
    "SECRET_KEY": "x" * 30 + "-production-secret-key-with-enough-entropy-0123456789",
    "OTP_SMS_KEY": "production-otp-key-0123456789abcdef-0123456789",
    "DATABASE_URL": "sqlite:////tmp/portal-check.sqlite3",
    "ALLOWED_HOSTS": "ibank.example.co.id",
    "TWILIO_ACCOUNT_SID": "AC0123456789abcdef0123456789abcdef",
    "TWILIO_AUTH_TOKEN": "0123456789abcdef0123456789abcdef",
    "TOKEN_SEED_KEYS": "Jz5kYJ9r2b9rR0Xh2Zq2m5o8m7u6q1Vd3YkJmZs8Lq0=,"
    "h7oFrzYtMA_MZzRg0_jMj7hCt9ZJS7wQm6nuTYnwXMo=",
    "PORTAL_BASE_URL": "https://ibank.example.co.id",
}


def manage(*args, env):
    clean = {k: v for k, v in os.environ.items() if k not in SECRETS and k != "DEBUG"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env={**clean, "PORTAL_ENV": "production", **env},
        capture_output=True, text=True, timeout=60,
    )


def test_production_with_valid_secrets_starts():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=SECRETS)
    assert result.returncode == 0, result.stderr + result.stdout


@pytest.mark.parametrize("value", ["1", "true", "on"])
def test_production_refuses_debug(value):
    result = manage("check", env={**SECRETS, "DEBUG": value})
    assert result.returncode != 0
    assert "DEBUG" in result.stderr and "production" in result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SECRET_KEY", ""),
        ("SECRET_KEY", "too-short-secret"),
        ("SECRET_KEY", "dev-only-secret-key-not-for-production-0123456789abcdef"),
        ("OTP_SMS_KEY", ""),
        ("OTP_SMS_KEY", "   "),
        ("OTP_SMS_KEY", "production-otp-key"),  # 18 characters
        ("OTP_SMS_KEY", "dev-only-otp-key-0f1e2d3c4b5a69788796a5b4c3d2e1f0"),
        ("TOKEN_SEED_KEYS", ""),
        ("TOKEN_SEED_KEYS", "not-a-fernet-key"),
        ("TOKEN_SEED_KEYS", "Jz5kYJ9r2b9rR0Xh2Zq2m5o8m7u6q1Vd3YkJmZs8Lq0=,short"),
        ("TOKEN_SEED_KEYS", "gCKYCw1YOsVFGvhx85bk6ElKDEG9l-AvnIGYI2h12vE="),  # the public dev key
        ("TWILIO_ACCOUNT_SID", ""),
        ("TWILIO_ACCOUNT_SID", "AC123"),
        ("TWILIO_AUTH_TOKEN", ""),
        ("DATABASE_URL", ""),
        ("ALLOWED_HOSTS", ""),
        ("PORTAL_BASE_URL", ""),
        ("PORTAL_BASE_URL", "http://ibank.example.co.id"),
    ],
)
def test_production_refuses_an_empty_or_malformed_secret(name, value):
    result = manage("check", env={**SECRETS, name: value})
    assert result.returncode != 0, f"{name}={value!r} was accepted"
    assert name in result.stderr
    if value.strip():
        assert value not in result.stderr  # the refusal never prints the secret


def test_demo_commands_refuse_in_production_whatever_debug_says(settings):
    settings.PRODUCTION = True
    settings.DEBUG = True
    with pytest.raises(CommandError, match="production"):
        call_command("demo_data")
    with pytest.raises(CommandError, match="production"):
        call_command("token_code", "DEMO0000001")


def test_demo_commands_refuse_in_production_from_the_shell():
    for command in (["demo_data"], ["token_code", "DEMO0000001"]):
        result = manage(*command, env={**SECRETS, "DEBUG": "1"})
        assert result.returncode != 0 and "DEBUG must be off in production" in result.stderr
        result = manage(*command, env=SECRETS)
        assert result.returncode != 0 and "never in production" in result.stderr
