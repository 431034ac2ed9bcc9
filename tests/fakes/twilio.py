"""A fake of Twilio's Messages API on 127.0.0.1, for the real ``twilio`` SDK.

Each request takes the next scripted ``Reply`` (or ``default`` when the script is empty):
answer after ``delay`` seconds with HTTP ``status``; 201 gives a message resource, anything
else a Twilio error body with ``code`` (the legacy shape, or RFC 9457 with ``rfc9457=True``,
which the SDK raises as ``TwilioServiceException``). ``drop=True`` reads the request and
closes the connection without answering (a connection lost after sending); ``body`` replaces
the answer's body with raw bytes (e.g. an unreadable one). Every request is recorded (path,
form, auth).

    with FakeTwilio() as fake:
        fake.script(Reply(status=429, code=20429), Reply())
        settings.TWILIO_API_BASE_URL = fake.base_url

Run alone (for the benchmark): ``python -m tests.fakes.twilio --port 8765 --delay 1``.
"""

import argparse
import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


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
class Received:
    path: str
    form: dict
    authorization: str
    at: float


class FakeTwilio:
    def __init__(self, default: Reply | None = None, port: int = 0):
        self.default = default or Reply()
        self._script = deque()
        self._lock = threading.Lock()
        self.requests: list[Received] = []
        self.sids: list[str] = []  # of the messages it answered as created, in order
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                reply = fake._next(
                    Received(self.path, form, self.headers.get("Authorization", ""), time.time())
                )
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    return
                if reply.status == 201:
                    sid = "SM" + secrets.token_hex(16)
                    with fake._lock:
                        fake.sids.append(sid)
                    body = {
                        "sid": sid,
                        "status": reply.message_status,
                        "to": form.get("To"),
                        "from": form.get("From"),
                        "messaging_service_sid": form.get("MessagingServiceSid"),
                        "body": form.get("Body"),
                        "account_sid": self.path.split("/")[3]
                        if self.path.count("/") > 3
                        else None,
                        "error_code": None,
                    }
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

    def _next(self, received: Received) -> Reply:
        with self._lock:
            self.requests.append(received)
            return self._script.popleft() if self._script else self.default

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def messages(self) -> list[Received]:
        """The requests that tried to create a message (``POST …/Messages.json``)."""
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/Messages.json")]

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
    args = parser.parse_args()
    fake = FakeTwilio(default=Reply(delay=args.delay), port=args.port)
    print(f"fake Twilio on {fake.base_url}, answering after {args.delay}s", flush=True)
    fake.server.serve_forever()


if __name__ == "__main__":
    main()
