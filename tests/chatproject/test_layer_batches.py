"""The gateway channels on Redis, a batch per round trip (`chatproject.layer_batches`): a push to
several channels, where each channel's `receive` gets exactly its own event and a full channel
is reported, not written; and a gateway's receive of whatever waits, in order."""

from __future__ import annotations

import asyncio
import secrets
import time

import pytest
from channels_redis.core import RedisChannelLayer
from django.conf import settings

from chatproject.layer_batches import receive_batch, send_batch

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


async def test_a_receive_takes_what_waits_in_order_at_most_so_many_at_a_time():
    redis = layer()
    try:
        for n in range(5):
            assert await send_batch(redis, {"gateway.a": {"type": "sync", "users": [n]}}) == []
        await redis.send("gateway.a", {"type": "sync", "users": [5]})  # channels-redis's own send too
        first = await receive_batch(redis, "gateway.a", most=4, wait_seconds=1)
        rest = await receive_batch(redis, "gateway.a", most=4, wait_seconds=1)
        assert [event["users"] for event in first + rest] == [[0], [1], [2], [3], [4], [5]]
        assert len(first) == 4
        assert await redis.connection(0).zcard(redis.prefix + "gateway.a") == 0
    finally:
        await redis.flush()


async def test_a_receive_waits_for_the_next_event_when_none_waits():
    redis = layer()
    try:
        waiting = asyncio.ensure_future(receive_batch(redis, "gateway.a", most=64, wait_seconds=5))
        await asyncio.sleep(0.2)
        assert not waiting.done()
        assert await send_batch(redis, {"gateway.a": {"type": "deliver", "users": [7]}}) == []
        assert await asyncio.wait_for(waiting, 3) == [{"type": "deliver", "users": [7]}]
        started = time.monotonic()
        assert await receive_batch(redis, "gateway.a", most=64, wait_seconds=1) == []
        assert time.monotonic() - started >= 0.9
    finally:
        await redis.flush()


async def test_a_receive_of_a_process_local_channel_is_refused():
    with pytest.raises(ValueError, match="plain channel"):
        await receive_batch(layer(), "gateway.a!abc", most=1, wait_seconds=1)
