"""A fake of Twilio's Messages API on 127.0.0.1, for the real ``twilio`` SDK.

Each request takes the next scripted ``Reply`` (or ``default`` when the script is empty):
answer after ``delay`` seconds with HTTP ``status``; 201 gives a message resource, anything
else a Twilio error body with ``code`` (the legacy shape, or RFC 9457 with ``rfc9457=True``,
which the SDK raises as ``TwilioServiceException``). ``drop=True`` reads the request and
closes the connection without answering (a connection lost after sending); ``body`` replaces
the answer's body with raw bytes (e.g. an unreadable one). Every request is recorded (path,
form, auth).

Like Twilio, a message exists as soon as a create request with a 201 reply is read, before
the answer is written: a ``delay`` longer than the client's timeout, or ``drop=True``, is a
message the provider took while its answer was lost. ``created`` holds every message taken
(``count_by_message()`` tells how many times each text was taken for each number; two
customers may get the same text, a six-digit code repeats), and ``GET …/Messages.json``
lists them, newest first, filtered by ``To`` and ``DateSent>``/``DateSent<`` (the fake
sends at once, so a message's sent date is its creation date).

``Faults(rate=0.3, seed=13)`` makes the fake flaky, reproducibly: that share of requests
(creates and lists) fails with 500, 503 or 429, or hangs for ``hang`` seconds (longer than
the client's timeout), half of those hanging creates with the message taken all the same.

    with FakeTwilio() as fake:
        fake.script(Reply(status=429, code=20429), Reply())
        settings.TWILIO_API_BASE_URL = fake.base_url

Run alone (for the benchmark): ``python -m tests.fakes.twilio --port 8765 --delay 1``.
"""

import argparse
import json
import random
import secrets
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Reply:
    status: int = 201
    code: int | None = None
    delay: float = 0.0
    message_status: str = "queued"
    drop: bool = False
    body: bytes | None = None
    rfc9457: bool = False


@dataclass(frozen=True)
class Faults:
    """A flaky provider: ``rate`` of requests fail (5xx/429) or hang (``timeout_share`` of the
    failures) for ``hang`` seconds; a hanging create takes the message half of the time."""

    rate: float = 0.3
    seed: int = 13
    timeout_share: float = 0.25
    hang: float = 3.0

    def reply(self, rng: random.Random, *, create: bool) -> Reply | None:
        if rng.random() >= self.rate:
            return None
        if rng.random() < self.timeout_share:
            taken = create and rng.random() < 0.5
            return Reply(status=201 if taken else 503, delay=self.hang)
        status = rng.choice((500, 503, 429))
        return Reply(status=status, code=20429 if status == 429 else None)


@dataclass(frozen=True)
class Received:
    path: str
    form: dict
    authorization: str
    at: float


class FakeTwilio:
    def __init__(self, default: Reply | None = None, port: int = 0, faults: Faults | None = None):
        self.default = default or Reply()
        self.faults = faults
        self._rng = random.Random(faults.seed if faults else 0)
        self._script = deque()
        self._lock = threading.Lock()
        self.requests: list[Received] = []
        self.sids: list[str] = []  # of the messages it took (created), in order
        self.created: list[dict] = []  # the messages it took: sid, to, body, at
        self._resources: dict[str, dict] = {}  # sid → the message resource
        self.faults_served = Counter()  # "error", "hang, taken", "hang, not taken"
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                received = Received(
                    url.path, query, self.headers.get("Authorization", ""), time.time()
                )
                reply = fake._next(received, create=False)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    return
                if reply.status == 200 or reply.status == 201:
                    reply = Reply(status=200, body=json.dumps(fake._list(url.path, query)).encode())
                self._answer(reply)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                reply = fake._next(
                    Received(self.path, form, self.headers.get("Authorization", ""), time.time())
                )
                message = None
                if reply.status == 201:  # taken on receipt, whatever becomes of the answer
                    message = fake._create(self.path, form, reply.message_status)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    return
                self._answer(reply, message)

            def _answer(self, reply: Reply, message: dict | None = None):
                if message is not None:
                    body = message
                elif reply.rfc9457:
                    body = {
                        "type": f"https://www.twilio.com/docs/errors/{reply.code or reply.status}",
                        "title": "fake error",
                        "status": reply.status,
                        "code": reply.code or reply.status,
                        "detail": "fake error",
                    }
                else:
                    body = {
                        "code": reply.code or reply.status,
                        "message": "fake error",
                        "more_info": f"https://www.twilio.com/docs/errors/{reply.code}",
                        "status": reply.status,
                    }
                data = json.dumps(body).encode() if reply.body is None else reply.body
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def _next(self, received: Received, *, create: bool = True) -> Reply:
        with self._lock:
            self.requests.append(received)
            if self._script:
                return self._script.popleft()
            fault = self.faults.reply(self._rng, create=create) if self.faults else None
            if fault is not None:
                kind = "error" if not fault.delay else "hang, not taken"
                self.faults_served["hang, taken" if fault.status == 201 else kind] += 1
            return fault or self.default

    def _create(self, path: str, form: dict, status: str) -> dict:
        now = time.time()
        sid = "SM" + secrets.token_hex(16)
        message = {
            "sid": sid,
            "status": status,
            "to": form.get("To"),
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "body": form.get("Body"),
            "account_sid": path.split("/")[3] if path.count("/") > 3 else None,
            "error_code": None,
            "date_created": format_datetime(datetime.fromtimestamp(now, UTC), usegmt=True),
            "date_sent": format_datetime(datetime.fromtimestamp(now, UTC), usegmt=True),
        }
        with self._lock:
            self.sids.append(sid)
            self.created.append(
                {"sid": sid, "to": message["to"], "body": message["body"], "at": now}
            )
            self._resources[sid] = message
        return message

    def _list(self, path: str, query: dict) -> dict:
        def sent(value: str) -> float:
            return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()

        after = sent(query["DateSent>"]) if "DateSent>" in query else None
        before = sent(query["DateSent<"]) if "DateSent<" in query else None
        with self._lock:
            found = [
                self._resources[m["sid"]]
                for m in reversed(self.created)
                if (query.get("To") in (None, m["to"]))
                and (after is None or m["at"] >= after)
                and (before is None or m["at"] <= before)
            ]
        size = int(query.get("PageSize", 50))
        return {
            "messages": found[:size],
            "first_page_uri": path,
            "next_page_uri": None,
            "previous_page_uri": None,
            "page": 0,
            "page_size": size,
            "start": 0,
            "end": min(len(found), size),
            "uri": path,
        }

    def count_by_body(self) -> Counter:
        """How many times the provider took each message text, whatever the number: for one
        customer's messages only (two customers' codes may be equal, hence their texts)."""
        with self._lock:
            return Counter(m["body"] for m in self.created)

    def count_by_message(self) -> Counter:
        """How many times the provider took each (number, text) (more than 1: sent twice)."""
        with self._lock:
            return Counter((m["to"], m["body"]) for m in self.created)

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def messages(self) -> list[Received]:
        """The requests that tried to create a message (``POST …/Messages.json``)."""
        with self._lock:
            return [
                r for r in self.requests if r.path.endswith("/Messages.json") and "Body" in r.form
            ]

    def lookups(self) -> list[Received]:
        """The requests that listed messages (``GET …/Messages.json``)."""
        with self._lock:
            return [
                r
                for r in self.requests
                if r.path.endswith("/Messages.json") and "Body" not in r.form
            ]

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "FakeTwilio":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    faults = Faults(rate=args.fault_rate, seed=args.seed) if args.fault_rate else None
    fake = FakeTwilio(default=Reply(delay=args.delay), port=args.port, faults=faults)
    print(f"fake Twilio on {fake.base_url}, answering after {args.delay}s", flush=True)
    fake.server.serve_forever()


if __name__ == "__main__":
    main()
