"""The Mobile Token's public files (the token page, its service worker and manifest) are the
same for everyone and kept offline by the phone: an ended session or a password that must be
changed never turns them into a redirect to the login page (the phone would then have no token
until the service worker was installed)."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

PUBLIC = ["/mobile-token/", "/mobile-token/sw.js", "/mobile-token/manifest.webmanifest"]


def logged_in(user):
    client = Client()
    assert (
        client.post("/login/", {"username": user.user_id, "password": PASSWORD}).status_code == 302
    )
    return client


@pytest.mark.parametrize("path", PUBLIC)
def test_an_idle_session_does_not_send_the_token_page_to_the_login(path, settings):
    client = logged_in(UserFactory())
    later = timezone.now() + timedelta(seconds=settings.SESSION_IDLE_TIMEOUT + 5)
    with time_machine.travel(later):
        response = client.get(path)
        assert response.status_code == 200
        # The session is neither ended nor renewed there: the next portal page ends it.
        assert "sessionid" not in response.cookies
        assert client.get("/").status_code == 302


@pytest.mark.parametrize("path", PUBLIC)
def test_a_password_to_change_does_not_hide_the_token_page(path):
    user = UserFactory()
    client = logged_in(user)
    user.must_change_password = True
    user.save(update_fields=["must_change_password"])
    assert client.get(path).status_code == 200


def test_an_idle_staff_session_ends_on_the_staff_login(settings):
    """A member of staff whose session ended was sent to the customers' login page (with its
    fraud warning and "Daftar Mobile Token"); staff log in at the admin's own page."""
    from tests.tokens.conftest import staff_client_make

    client, _ = staff_client_make("agent", "agen01")
    assert client.get("/admin/").status_code == 200
    later = timezone.now() + timedelta(seconds=settings.SESSION_IDLE_TIMEOUT + 5)
    with time_machine.travel(later):
        response = client.get("/admin/", follow=True)
    assert response.redirect_chain[0][0].startswith("/admin/login/")


@pytest.mark.parametrize("path", ["/mobile-token/daftar/kunci/", "/mobile-token/daftar/selesai/"])
def test_an_ended_session_answers_the_registration_script_in_json(path, settings):
    """The registration page's script posts these two with fetch: an ended session answered
    with a redirect to the login page, which the script could only call a network failure."""
    client = logged_in(UserFactory())
    later = timezone.now() + timedelta(seconds=settings.SESSION_IDLE_TIMEOUT + 5)
    with time_machine.travel(later):
        response = client.post(path)
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    data = response.json()
    assert data["ok"] is False and "Sesi Anda berakhir" in data["error"]
    assert data["login"] == "/login/?next=%2Fmobile-token%2Fdaftar%2F"
    assert client.get("/").status_code == 302  # and the session did end
