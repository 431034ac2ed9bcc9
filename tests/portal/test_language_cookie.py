"""The language cookie is set like the bank's other cookies: SameSite, HttpOnly, and Secure
in production."""

import pytest

from tests.portal.test_settings import SECRETS, manage


@pytest.mark.django_db
def test_the_language_cookie_is_samesite_and_httponly(client):
    client.get("/login/")
    response = client.post("/language/", {"language": "en", "next": "/login/"})
    cookie = response.cookies["django_language"]
    assert cookie["samesite"] == "Lax"
    assert cookie["httponly"] is True


def test_the_language_cookie_is_secure_in_production():
    result = manage(
        "shell", "-c",
        "from django.conf import settings as s; "
        "print(s.LANGUAGE_COOKIE_SECURE, s.LANGUAGE_COOKIE_SAMESITE, s.LANGUAGE_COOKIE_HTTPONLY)",
        env=SECRETS,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == ["True", "Lax", "True"]
