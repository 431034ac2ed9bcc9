"""``/healthz`` for the load balancer: does this web process reach the database and the broker?

Answered by a middleware placed first, before anything that needs a session, a login, a
known host name or HTTPS: a load balancer probes each process by its address over plain HTTP.
The answer is a tiny JSON, ``{"status": "ok", "database": "ok", "broker": "ok"}`` with 200, or
503 naming the part that did not answer; never an error text (it could name a host or a user).
Passing probes are not in the access log (portal.logs.GunicornLogger).
"""

import logging

from django.db import connection
from django.http import JsonResponse
from django.utils.cache import add_never_cache_headers

logger = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"


def database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception as exc:  # noqa: BLE001 - any failure is "not answering", named in the log
        logger.warning("health: database did not answer (%s)", type(exc).__name__)
        return False


def broker_answers() -> bool:
    """A connection to the Celery broker, bounded by its connect timeout (no retries): a
    broker that is down or silent answers "no" within ``REDIS_SOCKET_TIMEOUT``."""
    from portal.celery import app

    try:
        with app.connection_for_write() as broker:
            broker.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=None)
            if broker.transport.driver_type == "redis":
                broker.default_channel.client.ping()
        return True
    except Exception as exc:  # noqa: BLE001 - any failure is "not answering", named in the log
        logger.warning("health: broker did not answer (%s)", type(exc).__name__)
        return False


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info != HEALTH_PATH or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        parts = {"database": database_answers(), "broker": broker_answers()}
        healthy = all(parts.values())
        response = JsonResponse(
            {"status": "ok" if healthy else "unavailable"}
            | {name: "ok" if answers else "unavailable" for name, answers in parts.items()},
            status=200 if healthy else 503,
        )
        add_never_cache_headers(response)
        return response
