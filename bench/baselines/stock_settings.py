"""Django settings of the stock Channels baseline (`bench.baselines.stock_channels`): nothing
but Channels and the Redis channel layer with its stock options (capacity 100, expiry 60 s),
on the benchmark's Redis (REDIS_URL) under its own prefix (CHANNEL_LAYER_PREFIX).

Two connection settings differ from the defaults, because with redis-py 8 the stock pattern
does not survive 1,000 sockets without them: the pool's size (redis-py 8 caps it at 100, and
1,000 consumers joining their groups at once fail with MaxConnectionsError; the project sets
REDIS_POOL_SIZE for the same reason), and the socket timeout (redis-py 8's default of 5 s equals
channels-redis's 5 s BZPOPMIN, so an idle receive times out and its consumer dies with the
socket). Neither changes what a frame costs."""

from __future__ import annotations

import os

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or "bench-stock-channels-baseline-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["channels"]
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
ASGI_APPLICATION = "bench.baselines.stock_channels.application"
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [
                {
                    "address": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9"),
                    "max_connections": 1000,
                    "socket_timeout": 15,
                }
            ],
            "prefix": os.environ.get("CHANNEL_LAYER_PREFIX", "stock"),
        },
    }
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
