"""PostgreSQL restarted while the portal serves (issue 13 item 9): requests that meet the
restart get the portal's 503 page (Indonesian, the call-centre number, no traceback), and the
same gunicorn process serves again once the database is back, without being restarted.

The restart is of a private cluster (tests/reliability/private_postgres.py), never of the
machine's shared PostgreSQL."""

import threading
import time

import pytest
import requests

from tests.conftest import needs_postgres, wait_for, web_process
from tests.conftest import web_post as post
from tests.factories import PASSWORD
from tests.reliability.private_postgres import private_cluster

pytestmark = [needs_postgres, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PAGES = ("/dashboard/", "/transfers/new/", "/accounts/1001000011/mutasi/")


def login(base) -> requests.Session:
    browser = requests.Session()
    browser.get(f"{base}/login/", timeout=10)
    response = post(browser, f"{base}/login/", {"username": "budi", "password": PASSWORD})
    assert response.status_code == 302, response.text[:500]
    return browser


class Traffic:
    """Client threads asking for the customer's pages until stopped; every answer is kept with
    the moment its request was sent."""

    def __init__(self, base, cookies, threads=4):
        self.base, self.cookies = base, cookies
        self.answers: list[tuple[float, str, requests.Response]] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(n,)) for n in range(threads)]

    def _run(self, n):
        browser = requests.Session()
        browser.cookies.update(self.cookies)
        i = n
        while not self._stop.is_set():
            path = PAGES[i % len(PAGES)]
            sent = time.monotonic()
            try:
                response = browser.get(f"{self.base}{path}", allow_redirects=False, timeout=30)
            except requests.RequestException as exc:  # a dropped connection would be a failure
                response = exc
            self.answers.append((sent, path, response))
            i += 1
            time.sleep(0.02)

    def count(self, status, after=0.0):
        return sum(
            1 for sent, _, r in list(self.answers)
            if sent >= after and getattr(r, "status_code", None) == status
        )

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)


def test_a_postgresql_restart_gets_the_503_page_and_the_portal_recovers_by_itself(
    argon2_customer, tmp_path
):
    with private_cluster() as cluster:
        url = cluster.copy_of_test_database("portal")
        log = tmp_path / "web.log"
        with web_process(log, env={"DATABASE_URL": url, "BANK_CALL_CENTRE": "1500 777"}) as base:
            browser = login(base)
            with Traffic(base, browser.cookies) as traffic:
                wait_for(lambda: traffic.count(200) >= 12, timeout=30)
                cluster.stop()  # fast shutdown: open connections are terminated
                wait_for(lambda: traffic.count(503) >= 12, timeout=30)
                cluster.start()
                back = time.monotonic()
                wait_for(lambda: traffic.count(200, after=back) >= 24, timeout=30)

            # After the restart, a new login and the pages work in the same gunicorn process.
            again = login(base)
            for path in PAGES:
                assert again.get(f"{base}{path}", timeout=10).status_code == 200, path

        answers = traffic.answers
        statuses = {getattr(r, "status_code", repr(r)) for _, _, r in answers}
        assert statuses <= {200, 503}, statuses
        unavailable = [r for _, _, r in answers if r.status_code == 503]
        assert len(unavailable) >= 12
        for response in unavailable:
            page = response.text
            assert "Layanan sedang tidak tersedia" in page, page[:2000]
            assert "1500 777" in page
            assert "Traceback" not in page and "OperationalError" not in page
            assert 'href="/bantuan/"' in page
            assert response.headers["Retry-After"].isdigit()
            assert "no-store" in response.headers["Cache-Control"]
        # Every request sent once the database was back was answered normally.
        late = [r.status_code for sent, _, r in answers if sent >= back]
        assert late and set(late) == {200}, late
        output = log.read_text()
        assert output.count("Booting worker") == 1, output[-3000:]
        assert "Internal Server Error" not in output
