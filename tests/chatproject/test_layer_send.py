"""One round trip for a push to several gateway channels on Redis (`chatproject.layer_send`):
each channel's `receive` gets exactly its own event, and a full channel is reported, not
written."""

from __future__ import annotations

import secrets

import pytest
from channels_redis.core import RedisChannelLayer
from django.conf import settings

from chatproject.layer_send import send_batch

pytestmark = pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL")


def layer(**config: object) -> RedisChannelLayer:
    prefix = f"test-batch-{secrets.token_hex(4)}"
    return RedisChannelLayer(hosts=[settings.REDIS_URL], prefix=prefix, **config)


async def test_each_channel_receives_its_own_event():
    redis = layer()
    try:
        events = {"gateway.a": {"type": "deliver", "users": [1]}, "gateway.b": {"type": "deliver", "users": [2, 3]}}
        assert await send_batch(redis, events) == []
        assert await send_batch(redis, {"gateway.a": {"type": "sync", "users": [1]}}) == []
        assert await redis.receive("gateway.b") == events["gateway.b"]
        assert await redis.receive("gateway.a") == events["gateway.a"]
        assert await redis.receive("gateway.a") == {"type": "sync", "users": [1]}
    finally:
        await redis.flush()


async def test_a_full_channel_is_reported_and_the_others_still_get_theirs():
    redis = layer(capacity=1)
    try:
        assert await send_batch(redis, {"gateway.a": {"type": "sync", "users": [1]}}) == []
        full = await send_batch(redis, {"gateway.a": {"type": "sync", "users": [2]}, "gateway.b": {"type": "x"}})
        assert full == ["gateway.a"]
        assert await redis.receive("gateway.a") == {"type": "sync", "users": [1]}
        assert await redis.receive("gateway.b") == {"type": "x"}
    finally:
        await redis.flush()


async def test_a_process_local_channel_is_refused():
    with pytest.raises(ValueError, match="plain channel"):
        await send_batch(layer(), {"gateway.a!abc": {"type": "x"}})


async def test_a_server_that_forgot_the_script_is_sent_it_again():
    redis = layer()
    try:
        assert await send_batch(redis, {"gateway.a": {"type": "sync", "users": [1]}}) == []
        await redis.connection(0).script_flush()  # a restarted Redis holds no scripts
        assert await send_batch(redis, {"gateway.a": {"type": "sync", "users": [2]}}) == []
        assert await redis.receive("gateway.a") == {"type": "sync", "users": [1]}
        assert await redis.receive("gateway.a") == {"type": "sync", "users": [2]}
    finally:
        await redis.flush()
