"""F2 over HTTP: the confirm POST and the logout POST of one session cookie sent together
(0-20 ms apart, either first) to a gunicorn process with threads on PostgreSQL. After the
logout, no session cookie the browser was given opens an authenticated page."""

import threading
import time

import pytest
import requests

from accounts.models import User
from payments.models import Transfer
from tests.conftest import needs_postgres, outbox_code, web_post, web_process
from tests.portal.test_http_races import logged_in, transfer_start

pytestmark = [needs_postgres, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# Logout sent this many ms after the confirmation (negative: before it); five rounds, as five
# Generate OTP an hour is the SMS limit.
OFFSETS_MS = [0, 20, 40, 10, -5]


def send_together(browser, requests_and_delays):
    """POST each (url, data, delay in s) from its own thread with the browser's cookies; the
    responses (or the exception)."""
    barrier = threading.Barrier(len(requests_and_delays))
    answers = [None] * len(requests_and_delays)

    def send(i, url, data, delay):
        own = requests.Session()
        own.cookies.update(browser.cookies)
        barrier.wait()
        time.sleep(delay)
        try:
            answers[i] = web_post(own, url, data)
        except requests.RequestException as exc:
            answers[i] = exc

    threads = [
        threading.Thread(target=send, args=(i, *item)) for i, item in enumerate(requests_and_delays)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def test_logout_wins_over_a_confirmation_in_flight(tmp_path, argon2_customer, other_customer):
    with web_process(tmp_path / "web.log") as base:
        for offset in OFFSETS_MS:
            browser = logged_in(base)
            reference = transfer_start(browser, base, amount="10.000")
            assert web_post(browser, f"{base}/transfers/{reference}/otp/", {}).status_code == 302
            code = outbox_code()
            confirm_delay, logout_delay = max(0, -offset) / 1000, max(0, offset) / 1000

            confirm, logout = send_together(
                browser,
                [
                    (f"{base}/transfers/{reference}/confirm/", {"code": code}, confirm_delay),
                    (f"{base}/logout/", {}, logout_delay),
                ],
            )

            assert isinstance(confirm, requests.Response) and confirm.status_code == 302, confirm
            assert isinstance(logout, requests.Response) and logout.status_code == 302, logout
            given = {browser.cookies["sessionid"]}
            given |= {r.cookies.get("sessionid") for r in (confirm, logout)}
            for key in given - {None, ""}:
                page = requests.get(
                    f"{base}/dashboard/",
                    cookies={"sessionid": key},
                    allow_redirects=False,
                    timeout=10,
                )
                assert page.status_code != 200, (offset, confirm.headers["Location"])
            assert User.objects.get(pk=argon2_customer.pk).session_key == ""
            # The money moved or not, never half: the transfer is completed or still pending.
            assert Transfer.objects.get(reference=reference).status in (
                Transfer.Status.COMPLETED,
                Transfer.Status.PENDING,
            )
