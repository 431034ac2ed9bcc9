"""Logs for running beyond one machine: a request id on every request and every log record,
JSON lines in production, and nothing secret in them.

* ``RequestIdMiddleware`` (first in ``MIDDLEWARE``) takes the ``X-Request-ID`` a trusted
  reverse proxy (``TRUSTED_PROXIES``) sent when it is well formed, or makes one; it is answered
  in ``X-Request-ID`` and put on every log record written while the request runs
  (``RequestIdFilter``), so a load balancer's, gunicorn's and Django's lines of one request can
  be found together.
* A Celery task queued while a request runs carries the request's id in a message header
  (``request_id``) and the worker's log lines for that task carry it too (``portal.celery``).
* ``JsonFormatter``: one JSON object per line with a fixed set of fields (time, level, logger,
  message, request_id, and the traceback when there is one). Extra attributes a library puts on
  a record (Django's ``request``, with its query string) are not written.
* Secret-bearing paths (the new-email verification link carries its token in the path) are
  redacted in every message and access line (``redact``). OTP codes, passwords, token seeds and
  Unlock Codes are POSTed or derived, never part of a path or a log call.
"""

import contextvars
import ipaddress
import logging
import re
import uuid

from django.conf import settings
from django.core.signals import request_finished
from django.dispatch import receiver
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

_request_id = contextvars.ContextVar("request_id", default=None)

REQUEST_ID_HEADER = "X-Request-ID"
# What a proxy may hand on: a UUID, a trace id, an AWS/GCP id... not arbitrary text.
REQUEST_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")
# Paths whose last part is a capability (a signed link): logged without it.
_SECRET_PATHS = re.compile(r"(/email/verify/)[^/\s\"'?]+")


def request_id_current() -> str | None:
    """The id of the request being served in this thread, or None outside a request."""
    return _request_id.get()


def request_id_bind(request_id: str | None) -> None:
    """Name what this thread does next with ``request_id`` (a Celery task with the id of the
    request that queued it: ``portal.celery``)."""
    _request_id.set(request_id if request_id and REQUEST_ID_RE.fullmatch(request_id) else None)


def redact(text: str) -> str:
    return _SECRET_PATHS.sub(r"\1[redacted]", text)


def _peer_is_trusted_proxy(request) -> bool:
    try:
        peer = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(
        peer in ipaddress.ip_network(proxy, strict=False) for proxy in settings.TRUSTED_PROXIES
    )


class RequestIdMiddleware:
    """Names each request with an id, answered in ``X-Request-ID`` and logged with every line.

    A client could put anything in the header, so it is believed only from a trusted proxy
    (which sets or passes on its own id) and only when well formed; else a new UUID is made."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get(REQUEST_ID_HEADER, "")
        if given and REQUEST_ID_RE.fullmatch(given) and _peer_is_trusted_proxy(request):
            request_id = given
        else:
            request_id = uuid.uuid4().hex
        request.request_id = request_id
        # Kept until the response is closed (request_finished): Django logs a 4xx/5xx answer
        # after the middleware has returned.
        _request_id.set(request_id)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


@receiver(request_finished)
def _request_id_clear(sender, **kwargs):
    _request_id.set(None)


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every record (None outside a request)."""

    def filter(self, record):
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get()
        return True


class JsonFormatter(_JsonFormatter):
    """One JSON object per line: time, level, logger, message, request_id (and exc_info)."""

    FIELDS = ("time", "level", "logger", "message", "request_id", "exc_info", "stack_info",
              # gunicorn's access lines (GunicornLogger.access)
              "method", "path", "status", "bytes", "duration_ms", "remote")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", "time")  # ISO 8601, UTC
        super().__init__("%(levelname)s %(name)s %(message)s %(request_id)s", **kwargs)

    def add_fields(self, log_data, record, message_dict):
        super().add_fields(log_data, record, message_dict)
        for key in list(log_data):
            if key not in self.FIELDS:
                del log_data[key]

    def process_log_record(self, log_data):
        for key in ("message", "exc_info"):
            if isinstance(log_data.get(key), str):
                log_data[key] = redact(log_data[key])
        return log_data


class PlainFormatter(logging.Formatter):
    """The development format, with the request id, redacted like the JSON one."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record):
        return redact(super().format(record))


def logging_config(*, json_lines: bool, level: str) -> dict:
    """``LOGGING`` for the settings: JSON lines or plain ones, with the request id."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {
            "json": {"()": JsonFormatter},
            "plain": {"()": PlainFormatter},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json" if json_lines else "plain",
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # The SDK logs request lines at INFO; keep it quiet so nothing near an SMS is logged.
            "twilio": {"level": "WARNING"},
            "axes": {"level": "WARNING"},
        },
    }


# --- gunicorn (gunicorn.conf.py: logger_class) ------------------------------------------------

try:
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # gunicorn is not needed to import the settings (manage.py, Celery)
    _GunicornLogger = object


class GunicornLogger(_GunicornLogger):
    """gunicorn's logs as JSON lines: an access line per request with the portal's request id
    (from the response header), without the query string, secret paths redacted; the load
    balancer's health checks that pass are not logged (one line per probe per second is noise,
    a failing one is kept)."""

    def setup(self, cfg):
        super().setup(cfg)
        for handler in self.error_log.handlers + self.access_log.handlers:
            handler.setFormatter(JsonFormatter())
            handler.addFilter(RequestIdFilter())

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        status = resp.status_code if hasattr(resp, "status_code") else str(resp.status)[:3]
        path = environ.get("PATH_INFO", "")
        if path == "/healthz" and str(status) == "200":
            return
        headers = dict((name.lower(), value) for name, value in (resp.headers or []))
        self.access_log.info(
            {
                "message": "access",
                "method": environ.get("REQUEST_METHOD"),
                "path": redact(path),
                "status": int(status),
                "bytes": getattr(resp, "sent", None),
                "duration_ms": round(request_time.total_seconds() * 1000, 1),
                "remote": environ.get("REMOTE_ADDR"),
            },
            extra={"request_id": headers.get("x-request-id")},
        )
