"""SMS send limits (per customer, per number) and the global SMS rate alarm.

With a shared Redis cache the limits are sliding-window logs in Redis (one sorted set per
customer and per number, one timestamp per code sent), checked and reserved by one Lua script,
so the rule is exactly the database's (``OTP_SMS_USER_LIMIT`` codes within
``OTP_SMS_USER_WINDOW``…) across every web process, without a COUNT over the SMS table on each
click. Without Redis (a per-process cache: the laptop default) the database is counted.

Redis as the reckoning:

* The customer's row lock (``otp_check_lock``) still serialises one customer's issuers; the
  script makes the check and the reservation one step for a number shared by several customers.
* A reservation whose transaction rolls back stays until it leaves its window: stricter, never
  looser. A code that could not be queued (broker down) gives its reservation back.
* Redis that lost its data (restarted empty, flushed) is noticed by a missing ``since`` key:
  for one window after it, a customer's or number's log missing in Redis is rebuilt from the
  database before it is trusted. The cache's Redis must not evict these keys (``noeviction``
  or ``volatile-*`` with room to spare).
* Redis that does not answer (down, silent: ``REDIS_SOCKET_TIMEOUT``): the code is refused
  with ``SmsLimitsUnavailable`` ("cannot be sent now"), never sent unchecked; the confirmation
  page reads the database instead.
"""

import logging
import math
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache, caches

from . import exceptions
from .models import SmsMessage

logger = logging.getLogger(__name__)

# A code whose task never reached the broker: neither a send nor a try, so never counted.
NOT_QUEUED = "queue"

_CHECK_AND_RESERVE = """
local now = tonumber(ARGV[1])
local member = ARGV[2]
local since = tonumber(redis.call('GET', KEYS[1]) or '-1')
if since < 0 then
  redis.call('SET', KEYS[1], now)
  since = now
end
local wait = 0
for i = 3, #KEYS do
  local limit = tonumber(ARGV[2 * i - 3])
  local window = tonumber(ARGV[2 * i - 2])
  if redis.call('EXISTS', KEYS[i]) == 0 and now - since < window then
    return {-1, i - 2}
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '0', now - window)
  local w = 0
  if limit <= 0 then
    w = window
  else
    local nth = redis.call('ZREVRANGEBYSCORE', KEYS[i], '+inf', '0', 'WITHSCORES', 'LIMIT', limit - 1, 1)
    if #nth > 0 then w = tonumber(nth[2]) + window - now end
  end
  if w > wait then wait = w end
end
if wait <= 0 and member ~= '' then
  redis.call('SET', KEYS[2], 1)
  for i = 3, #KEYS do
    redis.call('ZADD', KEYS[i], now, member)
    redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[2 * i - 2]))
  end
end
return {wait, 0}
"""

_LOAD = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[2], 1)
redis.call('ZADD', KEYS[1], -1, '-')
for i = 2, #ARGV, 2 do redis.call('ZADD', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
"""

_GLOBAL_COUNT = """
redis.call('SET', KEYS[3], 1)
local count = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
return count + previous
"""


def redis_client():
    """The cache's redis-py client when the cache is Redis (shared by every process), else None."""
    from django.core.cache.backends.redis import RedisCache

    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return None
    # One redis-py client per cache backend: Django's ``get_client`` builds a new one (and its
    # table of ~200 response callbacks) on every call.
    client = getattr(backend, "_otp_limits_client", None)
    if client is None:
        client = backend._otp_limits_client = backend._cache.get_client(write=True)
    return client


_scripts: dict = {}


def _run(client, source: str, *, keys, args):
    """Run a Lua script by its SHA (loaded once per Redis), atomically in Redis."""
    script = _scripts.get(source)
    if script is None:
        script = _scripts[source] = client.register_script(source)
    return script(keys=keys, args=args, client=client)


def _key(name: str) -> str:
    return cache.make_key(f"otp-sms:{name}")


SINCE_KEY = "since"
# Set by every write of a log or counter: tests reset Redis only after a test that wrote.
DIRTY_KEY = "dirty"


def _windows(*, user, phone) -> list[tuple[str, int, int, object]]:
    """(key, limit, window seconds, the database's messages: a callable) per limit."""

    def codes(**where):
        return lambda: SmsMessage.objects.filter(challenge__isnull=False, **where).exclude(
            error_code=NOT_QUEUED
        )

    return [
        (
            _key(f"user:{user.pk}"),
            settings.OTP_SMS_USER_LIMIT,
            settings.OTP_SMS_USER_WINDOW,
            codes(user=user),
        ),
        (
            _key(f"to:{phone}"),
            settings.OTP_SMS_PHONE_LIMIT,
            settings.OTP_SMS_PHONE_WINDOW,
            codes(to=phone),
        ),
    ]


def _ms(moment) -> int:
    return int(moment.timestamp() * 1000)


def sms_limit_wait(*, user, phone, now, reserve_for=None) -> float:
    """Seconds until one more code may be sent to ``phone`` for ``user`` under the SMS limits
    (0: now). ``reserve_for`` (a challenge id): when 0, count that code at once, in the same
    atomic step (Redis) — the caller then creates its SMS row. Raises
    ``SmsLimitsUnavailable`` when Redis is the reckoning and does not answer."""
    windows = _windows(user=user, phone=phone)
    client = redis_client()
    if client is None:
        return max(
            _database_wait(messages, limit, window, now) for _, limit, window, messages in windows
        )
    from redis.exceptions import RedisError

    try:
        return _redis_wait(client, windows, now=now, member=str(reserve_for or ""))
    except RedisError:
        logger.exception("SMS limits: Redis does not answer")
        if reserve_for is None:
            # Only a page asking how long to wait: the database can tell it.
            return max(
                _database_wait(messages, limit, window, now)
                for _, limit, window, messages in windows
            )
        raise exceptions.SmsLimitsUnavailable() from None


def _redis_wait(client, windows, *, now, member: str) -> float:
    keys = [_key(SINCE_KEY), _key(DIRTY_KEY)] + [key for key, *_ in windows]
    args = [_ms(now), member]
    for _, limit, window, _messages in windows:
        args += [limit, window * 1000]
    for _attempt in range(len(windows) + 1):
        wait_ms, missing = _run(client, _CHECK_AND_RESERVE, keys=keys, args=args)
        if wait_ms >= 0:
            return max(0.0, wait_ms / 1000)
        # Redis lost this log less than a window ago: rebuild it from the database first.
        key, _limit, window, messages = windows[missing - 1]
        since = now - timedelta(seconds=window)
        rows = messages().filter(created_at__gt=since).values_list("created_at", "challenge_id")
        load = [window * 1000]
        for created_at, challenge_id in rows:
            load += [_ms(created_at), str(challenge_id)]
        _run(client, _LOAD, keys=[key, _key(DIRTY_KEY)], args=load)
    raise RuntimeError("SMS limits: Redis logs could not be loaded")


def _database_wait(messages, limit: int, window: int, now) -> float:
    """Seconds until fewer than ``limit`` of ``messages`` were sent within the last ``window``
    seconds: when the ``limit``-th newest leaves the window."""
    if limit <= 0:
        return float(window)
    recent = list(
        messages()
        .filter(created_at__gt=now - timedelta(seconds=window))
        .order_by("-created_at")
        .values_list("created_at", flat=True)[:limit]
    )
    if len(recent) < limit:
        return 0.0
    return (recent[-1] + timedelta(seconds=window) - now).total_seconds()


def sms_limit_release(*, user, phone, challenge_id) -> None:
    """Give back a reservation (its code was never queued). Best effort: if Redis does not
    answer, the reservation stays and the limit is stricter until it leaves its window."""
    client = redis_client()
    if client is None:
        return
    from redis.exceptions import RedisError

    try:
        pipe = client.pipeline(transaction=False)
        for key, *_ in _windows(user=user, phone=phone):
            pipe.zrem(key, str(challenge_id))
        pipe.execute()
    except RedisError:
        logger.exception("SMS limits: a reservation could not be given back")


def sms_global_count(*, now) -> int | None:
    """SMS sent by the whole portal lately, for the pumping alarm: at least as many as within
    the last ``OTP_SMS_GLOBAL_WINDOW`` seconds (this fixed window and the previous one, so
    never fewer than the sliding window would count). None without Redis, or when Redis does
    not answer: the caller counts the database."""
    client = redis_client()
    if client is None:
        return None
    from redis.exceptions import RedisError

    window = settings.OTP_SMS_GLOBAL_WINDOW
    bucket = math.floor(now.timestamp() / window)
    try:
        return int(
            _run(
                client,
                _GLOBAL_COUNT,
                keys=[_key(f"global:{bucket}"), _key(f"global:{bucket - 1}"), _key(DIRTY_KEY)],
                args=[2 * window * 1000],
            )
        )
    except RedisError:
        logger.exception("SMS rate alarm: Redis does not answer, counting the database")
        return None


def sms_alarm_first(*, now) -> bool | None:
    """True for the first alarm of this fixed window of ``OTP_SMS_GLOBAL_WINDOW`` seconds (one
    alarm a window); None without Redis, or when Redis does not answer."""
    client = redis_client()
    if client is None:
        return None
    from redis.exceptions import RedisError

    window = settings.OTP_SMS_GLOBAL_WINDOW
    bucket = math.floor(now.timestamp() / window)
    try:
        return bool(client.set(_key(f"alarm:{bucket}"), 1, nx=True, ex=2 * window))
    except RedisError:
        return None


def redis_limits_reset(*, authoritative_since: float | None = 0.0) -> None:
    """Forget every SMS limit log and counter in Redis (tests: each starts with an empty
    database), and say since when Redis is the reckoning (0: always, nothing to rebuild).
    Cheap when nothing was written since the last reset (one round trip)."""
    client = redis_client()
    if client is None:
        return
    since = _key(SINCE_KEY)
    dirty, current = client.mget(_key(DIRTY_KEY), since)
    wanted = None if authoritative_since is None else int(authoritative_since)
    if not dirty and current is not None and wanted is not None and int(current) == wanted:
        return
    keys = list(client.scan_iter(match=_key("*"), count=1000))
    if keys:
        client.delete(*keys)
    if wanted is not None:
        client.set(since, wanted)
