"""Helpers for the hardware-token tests: tokens with the RFC secret, staff in the admin."""

import base64
import subprocess
from base64 import b32encode

import pyotp
import pytest
from django.conf import settings
from django.test import Client

from accounts import services as account_services
from tests.factories import PASSWORD
from tokens import hardware
from tokens.models import HardwareToken

SECRET = b"12345678901234567890"
SECRET_HEX = SECRET.hex()
HOTP = pyotp.HOTP(base64.b32encode(SECRET).decode())
ACTIVATE = "/profil/aktivasi-token/"


def token_make(serial="FT10000001", *, state="in_stock", user=None, algorithm="hotp", step=None,
               digits=6, **fields):
    return HardwareToken.objects.create(
        serial=serial, algorithm=algorithm, digits=digits, step=step, state=state, user=user,
        sealed_seed=hardware.seed_seal(SECRET), **fields,
    )


def oathtool(hex_secret: str, *, totp_step=None, digits=6, counter=0, at=None) -> str:
    """A code from Debian's oathtool: computed outside the portal entirely (``at``: a Unix
    time for TOTP instead of now)."""
    args = ["oathtool", "-d", str(digits)]
    if at is not None:
        args += ["-N", f"@{int(at)}"]
    args += ["--totp=SHA1", "-s", f"{totp_step}s"] if totp_step else ["-c", str(counter)]
    return subprocess.run(
        [*args, hex_secret], check=True, capture_output=True, text=True
    ).stdout.strip()


def staff_make(user_id, role):
    user, device = account_services.staff_create(
        user_id=user_id, full_name=f"Staf {role}", password=PASSWORD, role=role
    )
    # staff_create re-syncs the groups to their accounts permissions only.
    hardware.token_roles_grant()
    return user, device


def staff_client_make(role, user_id=None):
    user, device = staff_make(user_id or f"staf-{role}", role)
    client = Client()
    # These tests read the admin's English strings; the Indonesian catalogue is tested elsewhere.
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.post(
        "/admin/login/?next=/admin/",
        {
            "username": user.user_id,
            "password": PASSWORD,
            "otp_token": pyotp.TOTP(b32encode(device.bin_key).decode()).now(),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return client, user


@pytest.fixture
def staff_client():
    return staff_client_make
