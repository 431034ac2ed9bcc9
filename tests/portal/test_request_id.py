"""A request id on every request and log line, JSON log lines, and no secret in any log
(issue 13 item 14)."""

import json
import logging
import re

import pytest

from portal.logs import JsonFormatter, RequestIdFilter
from tests.conftest import outbox_code, wait_for
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

HEX_ID = re.compile(r"[0-9a-f]{32}")


class Records(logging.Handler):
    """Every record of the root logger, through the portal's filter, formatted as JSON."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.addFilter(RequestIdFilter())
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)
        self.lines.append(self.format(record))


@pytest.fixture
def records():
    handler, root = Records(), logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


def test_each_response_carries_a_new_request_id(client):
    first, second = client.get("/login/"), client.get("/login/")
    assert HEX_ID.fullmatch(first["X-Request-ID"]) and HEX_ID.fullmatch(second["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_a_trusted_proxy_passes_its_request_id_on(client, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]  # the test client's REMOTE_ADDR
    response = client.get("/login/", HTTP_X_REQUEST_ID="lb-7f3a9c2e-0001")
    assert response["X-Request-ID"] == "lb-7f3a9c2e-0001"


@pytest.mark.parametrize(
    "given", ["short", "has space in it", "<script>alert(1)</script>", "a" * 129, "ünïcode-1234"]
)
def test_a_malformed_request_id_is_replaced(client, settings, given):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    assert HEX_ID.fullmatch(client.get("/login/", HTTP_X_REQUEST_ID=given)["X-Request-ID"])


def test_a_client_cannot_choose_its_request_id(client, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]  # the peer, 127.0.0.1, is no proxy
    response = client.get("/login/", HTTP_X_REQUEST_ID="chosen-by-client-01")
    assert HEX_ID.fullmatch(response["X-Request-ID"])


def test_log_lines_are_json_with_the_request_id(client, records, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    response = client.get("/no-such-page/?q=1", HTTP_X_REQUEST_ID="trace-00000042")
    assert response.status_code == 404
    lines = [json.loads(line) for line in records.lines]
    not_found = [line for line in lines if line["logger"] == "django.request"]
    assert not_found and not_found[0]["request_id"] == "trace-00000042"
    assert not_found[0]["level"] == "WARNING"
    # A fixed set of fields: the request Django attaches (with its query) is not written.
    assert set(not_found[0]) <= set(JsonFormatter.FIELDS)
    logging.getLogger("outside").info("after the request")
    assert json.loads(records.lines[-1])["request_id"] is None


def test_a_verification_link_is_redacted_in_logs(client, records):
    # A path under the link that does not exist: Django logs "Not Found" with the path.
    client.get("/profil/email/verify/eyJzZWNyZXQiOiJ0b2tlbiJ9:1tAbCd:s1gnatur3/x/")
    assert any("/profil/email/verify/[redacted]/x/" in line for line in records.lines)
    assert not any("s1gnatur3" in line or "eyJzZWNyZXQi" in line for line in records.lines)


def transfer_started(client) -> str:
    """Budi logs in and fills in a transfer: its reference, waiting for Generate OTP."""
    from payments.models import BankAccount

    assert client.post("/login/", {"username": "budi", "password": PASSWORD}).status_code == 302
    response = client.post(
        "/transfers/new/",
        {"source": BankAccount.objects.get(number="1001000011").pk, "destination": "other",
         "destination_number": "1002000017", "amount": "1.500.000"},
    )
    return response["Location"].split("/")[2]


def test_no_password_or_otp_is_logged_in_a_whole_transfer(
    client, customer, other_customer, records, django_capture_on_commit_callbacks
):
    from payments.models import Transfer

    reference = transfer_started(client)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/transfers/{reference}/otp/")
    code = outbox_code()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    client.post(f"/transfers/{reference}/confirm/", {"code": wrong})
    assert client.post(f"/transfers/{reference}/confirm/", {"code": code}).status_code == 302
    assert Transfer.objects.get(reference=reference).status == Transfer.Status.COMPLETED
    logged = "\n".join(records.lines) + "\n".join(
        str(record.__dict__) for record in records.records
    )
    assert records.lines
    for secret in (PASSWORD, code, wrong):
        assert secret not in logged


def test_the_request_id_travels_to_the_celery_task_it_queues(
    client, customer, other_customer, celery_worker_factory
):
    """Generate OTP queues the SMS task; the real worker's log lines for that task carry the
    request's id, so a customer's "no SMS came" can be followed from the request to the send.
    The worker logs JSON lines as in production (in development Celery's own format)."""
    worker = celery_worker_factory({"SMS_BACKEND": "outbox", "LOG_FORMAT": "json"})

    reference = transfer_started(client)
    response = client.post(f"/transfers/{reference}/otp/")
    assert response.status_code == 302
    request_id = response["X-Request-ID"]

    def task_lines():
        lines = [json.loads(line) for line in worker.log_path.read_text().splitlines()
                 if line.startswith("{")]
        return [line for line in lines
                if "challenge_sms_send" in line["message"] and "succeeded" in line["message"]]

    lines = wait_for(task_lines)
    assert lines[0]["request_id"] == request_id


def test_a_task_run_eagerly_keeps_the_requests_id(settings):
    """In development and tests a task may run inside the request (eager): the request's lines
    after it keep their id, and the task's own lines carry it."""
    from portal.celery import app
    from portal.logs import request_id_bind, request_id_current

    @app.task
    def seen():
        return request_id_current()

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    request_id_bind("req-abcdef12")
    try:
        assert seen.delay().get() == "req-abcdef12"
        assert request_id_current() == "req-abcdef12"
    finally:
        request_id_bind(None)
        app.conf.task_always_eager = eager
