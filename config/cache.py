"""Django's Redis cache, with one Redis client object per connection pool instead of one per operation.

Django's `RedisCacheClient.get_client()` builds a new `redis.Redis` for every cache call, and redis-py
builds its table of response callbacks (~200 entries) in each constructor: ~0.1-0.2 ms of CPU per call, more
than the call itself. On the request path (the throttle's counter, the category list) that is paid on every
request. A `redis.Redis` is thread-safe over its pool, so one per pool serves every thread. Settings use
this class whenever `CACHE_URL` is a Redis URL.
"""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient
