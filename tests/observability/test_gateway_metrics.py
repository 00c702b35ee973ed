"""The gateway's metrics on the real ASGI application: frames delivered, delivery latency,
connections, events, redeliveries and channel-layer errors, as a WebSocket delivery moves them."""

from __future__ import annotations

import asyncio
import time as real_time
from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.test import Client
from django.utils import timezone

from gateway import metrics
from gateway.delivery import delivery_engine
from gateway.delivery import engine as engine_module
from tests.gateway.conftest import GATEWAY_ID
from tests.gateway.test_consumer import make_group, make_user, post, send_text
from tests.observability.conftest import sample, scrape_samples

pytestmark = pytest.mark.django_db(transaction=True)


def frames(kind: str) -> float:
    return sample("chat_frames_delivered_total", type=kind)


async def until(predicate: Callable[[], bool], timeout: float = 3) -> None:
    """Wait (polling the event loop) until the gateway has recorded what the test expects."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "timed out waiting for the metric"
        await asyncio.sleep(0.01)


async def scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await database_sync_to_async(Client().get)("/metrics")
    assert response.status_code == 200
    return scrape_samples(response.content.decode())


def connections(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str) -> float | None:
    return samples.get((name, (("gateway", GATEWAY_ID),)))


async def test_a_delivery_counts_its_frames_and_observes_the_latency_once(connect, monkeypatch):
    alice, bob = await make_user("alice"), await make_user("bob")
    room_id = await make_group(alice, bob)
    a, b1, b2 = await connect(alice), await connect(bob), await connect(bob)
    # A fixed clock: the message is stored at `stored`; the gateway finishes writing it 42 ms later.
    stored = datetime.fromtimestamp(int(real_time.time()), tz=UTC)
    monkeypatch.setattr(timezone, "now", lambda: stored)
    monkeypatch.setattr(metrics, "time", SimpleNamespace(time=lambda: stored.timestamp() + 0.042))
    chats, acks, events = frames("chat"), frames("ack"), sample("chat_gateway_events_received_total", type="deliver")
    count, total = sample("chat_delivery_latency_seconds_count"), sample("chat_delivery_latency_seconds_sum")
    le_50ms, le_25ms = (
        sample("chat_delivery_latency_seconds_bucket", le="0.05"),
        sample("chat_delivery_latency_seconds_bucket", le="0.025"),
    )

    sent = await send_text(alice, room_id, "hello")
    assert sent["created_at"] == f"{stored:%Y-%m-%dT%H:%M:%S}.000Z"
    for client in (b1, b2, a):
        assert (await client.frame())["id"] == sent["msgID"]
    assert (await a.frame())["type"] == "ack"
    await until(lambda: sample("chat_delivery_latency_seconds_count") == count + 1)

    # One event: three chat frames (bob's two sockets and alice's own) and alice's ack.
    assert frames("chat") == chats + 3
    assert frames("ack") == acks + 1
    assert sample("chat_gateway_events_received_total", type="deliver") == events + 1
    assert sample("chat_delivery_latency_seconds_sum") == pytest.approx(total + 0.042, abs=1e-6)
    assert sample("chat_delivery_latency_seconds_bucket", le="0.05") == le_50ms + 1
    assert sample("chat_delivery_latency_seconds_bucket", le="0.025") == le_25ms
    samples = await scrape()
    assert samples[("chat_delivery_latency_seconds_count", ())] == count + 1
    assert samples[("chat_frames_delivered_total", (("type", "chat"),))] == chats + 3


async def test_an_event_for_users_not_connected_here_observes_no_latency(connect):
    alice, bob = await make_user("alice"), await make_user("bob")
    room_id = await make_group(alice, bob)
    await connect(alice)
    count, chats = sample("chat_delivery_latency_seconds_count"), frames("chat")
    event = {
        "type": "deliver",
        "users": [bob.pk],
        "room_id": room_id,
        "seq": 1,
        "msg_id": 1,
        "sender_id": 0,
        "frame": "{}",
        "ack": None,
        "resend": False,
        "sent_at_ms": 0,
    }
    await delivery_engine().handle(event)
    assert sample("chat_delivery_latency_seconds_count") == count
    assert frames("chat") == chats


async def test_the_connections_gauge_follows_the_hub_at_scrape_time(connect):
    alice, bob = await make_user("alice"), await make_user("bob")
    a1 = await connect(alice)
    await connect(alice)
    await connect(bob)
    samples = await scrape()
    assert connections(samples, "chat_gateway_connections") == 3
    assert connections(samples, "chat_gateway_users") == 2
    await a1.close()
    await until(lambda: delivery_engine().hub.connection_count() == 2)
    samples = await scrape()
    assert connections(samples, "chat_gateway_connections") == 2
    assert connections(samples, "chat_gateway_users") == 2


async def test_owed_messages_count_as_batch_frames(connect):
    alice, bob = await make_user("alice"), await make_user("bob")
    room_id = await make_group(alice, bob)
    for i in range(3):
        await send_text(alice, room_id, f"m{i}")
    batches = frames("batch")
    b = await connect(bob)
    batch = await b.frame()
    assert batch["type"] == "batch" and len(batch["payload"]) == 3
    assert frames("batch") == batches + 1


async def test_a_pushed_back_frame_counts_forward_frames_and_the_event(connect):
    alice = await make_user("alice")
    a1, a2 = await connect(alice), await connect(alice)
    forwards, events = frames("forward"), sample("chat_gateway_events_received_total", type="forward")
    frame = {"id": -1, "type": "notice", "room_id": 5, "sender_id": 0, "payload": {"event": "x"}}
    response = await post(None, "/internal/pushback", {"target_id": alice.pk, "forward_req": frame}, internal=True)
    assert response.status_code == 200, response.json()
    assert await a1.frame() == frame and await a2.frame() == frame
    await until(lambda: frames("forward") == forwards + 2)
    assert sample("chat_gateway_events_received_total", type="forward") == events + 1


async def test_redeliveries_are_counted_when_the_clock_passes_the_timeout(connect, monkeypatch):
    alice, bob = await make_user("alice"), await make_user("bob")
    room_id = await make_group(alice, bob)
    b = await connect(bob, ack=True)
    await send_text(alice, room_id, "one")
    await send_text(alice, room_id, "two")
    first = [await b.frame(), await b.frame()]
    before = sample("chat_redeliveries_total")
    # The delivery engine's clock jumps past DELIVERY_REDELIVERY_SECONDS (10 s in these tests).
    offset = 11.0
    monkeypatch.setattr(engine_module, "time", SimpleNamespace(monotonic=lambda: real_time.monotonic() + offset))
    again = [await b.frame(), await b.frame()]
    assert again == first
    await until(lambda: sample("chat_redeliveries_total") == before + 2)
    await b.send({"type": "ack", "room_id": room_id, "seq": 2})


async def test_a_failed_push_counts_a_channel_layer_error_and_the_message_is_still_stored(connect, monkeypatch):
    alice, bob = await make_user("alice"), await make_user("bob")
    room_id = await make_group(alice, bob)
    b = await connect(bob)
    layer = get_channel_layer()

    async def refuse(channel: str, message: dict[str, Any]) -> None:
        raise ConnectionError("redis is away")

    async def refuse_batch(layer: Any, messages: dict[str, dict[str, Any]]) -> list[str]:
        raise ConnectionError("redis is away")

    monkeypatch.setattr(layer, "send", refuse)
    monkeypatch.setattr("chatproject.bus.send_batch", refuse_batch)  # on Redis: one round trip for all
    before = sample("chat_channel_layer_errors_total", operation="send")
    sent = await send_text(alice, room_id, "lost push")
    assert sample("chat_channel_layer_errors_total", operation="send") == before + 1
    monkeypatch.undo()
    # The sweep (or the next connection) delivers it: the database is the source of truth.
    await delivery_engine().resync_users([bob.pk])
    batch = await b.frame()
    assert [f["id"] for f in batch["payload"]] == [sent["msgID"]]


async def test_a_failed_receive_counts_a_channel_layer_error(gateway, monkeypatch):
    layer = get_channel_layer()
    original = layer.receive
    failures: list[str] = []

    async def flaky(channel: str) -> dict[str, Any]:
        if not failures:
            failures.append(channel)
            raise ConnectionError("redis is away")
        return await original(channel)

    original_batch = engine_module.receive_batch

    async def flaky_batch(redis: Any, channel: str, **kwargs: Any) -> list[dict[str, Any]]:
        if not failures:
            failures.append(channel)
            raise ConnectionError("redis is away")
        return await original_batch(redis, channel, **kwargs)

    monkeypatch.setattr(layer, "receive", flaky)  # the in-memory layer's receive
    monkeypatch.setattr(engine_module, "receive_batch", flaky_batch)  # Redis: a batch per round trip
    before = sample("chat_channel_layer_errors_total", operation="receive")
    delivery_engine().ensure_started()
    await until(lambda: sample("chat_channel_layer_errors_total", operation="receive") == before + 1)
    assert failures == [f"gateway.{GATEWAY_ID}"]
