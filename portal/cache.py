"""Django's Redis cache backend, keeping one ``redis.Redis`` client per connection pool.

Django builds a new client object for every cache call (``RedisCacheClient.get_client``), and
redis-py's constructor fills a table of response callbacks each time: about a tenth of a
millisecond of CPU per call, two or three calls per request (the session, the limits). A
client is only a handle on its pool (which holds the connections and is what Django keeps),
so one per pool does the same work. Caches are per thread in Django, so is this.
"""

from django.core.cache.backends import redis as django_redis


class ReusedClientRedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusedClientRedisCacheClient
