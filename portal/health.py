"""``/healthz`` for the load balancer: does this web process reach the database and the broker?

Answered by a middleware placed first, before anything that needs a session, a login, a
known host name or HTTPS: a load balancer probes each process by its address over plain HTTP.
The answer is a tiny JSON, ``{"status": "ok", "database": "ok", "broker": "ok"}`` with 200;
never an error text (it could name a host or a user). Passing probes are not in the access log
(portal.logs.GunicornLogger).

Decision: only a database that does not answer makes it 503 (``"status": "unavailable"``). A
broker that does not answer gives 200 with ``"status": "degraded", "broker": "unavailable"``
(monitoring alerts on it): a broker outage must not take every web node out of the load
balancer at once, since logins and balances still work without it and Generate OTP already
answers the customer with a clear message when the broker is down.

Anyone can call it, so it must cost next to nothing: the result is kept per process for
``RESULT_KEPT_SECONDS`` and only one check runs at a time (single flight): a probe arriving
while a check runs gets the last result instead of a check of its own. The broker check is
one attempt on a pooled connection, bounded by ``BROKER_TIMEOUT``.
"""

import logging
import threading
import time

from django.conf import settings
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


# Seconds a check's result is kept per process; seconds the broker has to answer a PING.
RESULT_KEPT_SECONDS = 2.0
BROKER_TIMEOUT = 0.5

_redis_clients = {}  # broker URL -> a redis client (its own pool: the connection is reused)
_check_lock = threading.Lock()  # one check at a time per process
_last = None  # (time.monotonic() of the check, {"database": bool, "broker": bool})


def _redis_client(url):
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    client = _redis_clients.get(url)
    if client is None:
        client = _redis_clients[url] = redis.Redis.from_url(
            url,
            socket_timeout=BROKER_TIMEOUT,
            socket_connect_timeout=BROKER_TIMEOUT,
            retry=Retry(NoBackoff(), 0),  # one attempt
            retry_on_timeout=False,
            health_check_interval=0,
        )
    return client


def broker_answers() -> bool:
    """One PING to the Redis broker on a pooled connection, bounded by ``BROKER_TIMEOUT``; a
    broker of another kind (the filesystem one of development) by a connection to it."""
    from portal.celery import app

    url = app.conf.broker_write_url or app.conf.broker_url or settings.CELERY_BROKER_URL
    try:
        if url.startswith(("redis://", "rediss://")):
            return _redis_client(url).ping() is True
        with app.connection_for_write() as broker:
            broker.ensure_connection(max_retries=1, interval_start=0, interval_step=0)
        return True
    except Exception as exc:  # noqa: BLE001 - any failure is "not answering", named in the log
        logger.warning("health: broker did not answer (%s)", type(exc).__name__)
        return False


def forget() -> None:
    """Drop the kept result (tests)."""
    global _last
    _last = None


def parts_answering() -> dict[str, bool]:
    """The kept result if it is fresh; else one check, by one thread at a time: the others
    get the last result (or wait for the first one, which is bounded)."""
    global _last
    last = _last
    if last is not None and time.monotonic() - last[0] < RESULT_KEPT_SECONDS:
        return last[1]
    if not _check_lock.acquire(blocking=last is None):
        return last[1]  # a check is running: the last result meanwhile
    try:
        last = _last
        if last is not None and time.monotonic() - last[0] < RESULT_KEPT_SECONDS:
            return last[1]  # checked while this thread waited
        parts = {"database": database_answers(), "broker": broker_answers()}
        _last = (time.monotonic(), parts)
        return parts
    finally:
        _check_lock.release()


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info != HEALTH_PATH or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        parts = parts_answering()
        # 503 (out of the load balancer) only without a database; without a broker, degraded.
        if not parts["database"]:
            status = "unavailable"
        elif not parts["broker"]:
            status = "degraded"
        else:
            status = "ok"
        response = JsonResponse(
            {"status": status}
            | {name: "ok" if answers else "unavailable" for name, answers in parts.items()},
            status=503 if status == "unavailable" else 200,
        )
        add_never_cache_headers(response)
        return response
