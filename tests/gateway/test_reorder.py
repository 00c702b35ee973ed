"""A room's deliver events put back in seq order on their way into a gateway
(`gateway.delivery.reorder`): a later seq that overtakes an earlier one waits a moment for it,
never longer, and a room the gateway is not following never waits at all."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from django.test import override_settings

from gateway.delivery.engine import DeliveryEngine
from gateway.delivery.reorder import FOLLOWED_SECONDS, HELD_MAX, RoomOrder
from gateway.hub import Hub
from tests.gateway.test_connection import ROOM, USER, FakeStore
from tests.gateway.test_write_at_once import opened

HOLD = 0.05


def event(seq: int, room_id: int = ROOM, **extra: Any) -> dict[str, Any]:
    return {"type": "deliver", "room_id": room_id, "seq": seq, **extra}


def seqs(events: list[dict[str, Any]]) -> list[int]:
    return [e["seq"] for e in events]


def test_in_order_events_pass_and_a_crossing_pair_is_put_back_in_order():
    order = RoomOrder(hold_seconds=HOLD)
    assert seqs(order.arrive(event(1), 0.0)[0]) == [1]
    assert seqs(order.arrive(event(2), 0.1)[0]) == [2]
    ready, waits = order.arrive(event(4), 0.2)  # 3 is still on its way
    assert (ready, waits) == ([], True)
    assert order.arrive(event(5), 0.2) == ([], False)  # the room is already waiting
    assert seqs(order.arrive(event(3), 0.21)[0]) == [3, 4, 5]
    assert order.holding() == 0 and order.due(10.0) == []
    assert seqs(order.arrive(event(6), 0.3)[0]) == [6]


def test_what_waits_is_handed_after_the_hold_even_if_the_gap_stays():
    order = RoomOrder(hold_seconds=HOLD)
    order.arrive(event(1), 0.0)
    assert order.arrive(event(3), 0.1) == ([], True)
    order.arrive(event(4), 0.12)
    assert order.due(0.1 + HOLD / 2) == []
    assert seqs(order.due(0.1 + HOLD)) == [3, 4]  # the sockets fill seq 2 themselves
    assert seqs(order.arrive(event(5), 0.2)[0]) == [5]
    assert seqs(order.arrive(event(2), 0.2)[0]) == [2]  # late: handed, the sockets drop or use it


def test_a_room_not_followed_lately_or_a_resend_never_waits():
    order = RoomOrder(hold_seconds=HOLD)
    assert seqs(order.arrive(event(7), 0.0)[0]) == [7]  # first seen: nothing to wait for
    # Nothing came for a while (say nobody of the room was online here): seq 8 may have gone elsewhere.
    assert seqs(order.arrive(event(9), FOLLOWED_SECONDS + 0.5)[0]) == [9]
    assert seqs(order.arrive(event(12, resend=True), FOLLOWED_SECONDS + 0.6)[0]) == [12]
    order.forget_quiet(3 * FOLLOWED_SECONDS)
    assert seqs(order.arrive(event(20), 3 * FOLLOWED_SECONDS)[0]) == [20]


def test_rooms_are_ordered_apart_and_what_one_room_holds_is_bounded():
    order = RoomOrder(hold_seconds=HOLD)
    order.arrive(event(1, room_id=1), 0.0)
    order.arrive(event(1, room_id=2), 0.0)
    assert order.arrive(event(3, room_id=1), 0.01) == ([], True)
    assert seqs(order.arrive(event(2, room_id=2), 0.01)[0]) == [2]
    for seq in range(4, 4 + HELD_MAX - 1):
        assert order.arrive(event(seq, room_id=1), 0.02) == ([], False)
    ready, _ = order.arrive(event(4 + HELD_MAX - 1, room_id=1), 0.02)
    assert seqs(ready) == list(range(3, 4 + HELD_MAX))
    assert order.holding() == 0


@override_settings(DELIVERY_REORDER_SECONDS=HOLD)
async def test_a_gateway_writes_two_crossing_messages_in_order_and_at_once():
    engine = DeliveryEngine(hub=Hub(), store=FakeStore(last_seq=0))
    engine.ensure_started()
    try:
        conn, server = await opened(engine=engine)
        engine.hub.add(conn)

        def deliver(seq: int) -> dict[str, Any]:
            frame = json.dumps({"seq": seq})
            return event(seq, users=[USER], msg_id=1000 + seq, frame=frame, sender_id=0, ack=None)

        await engine._in_order(deliver(1))
        await engine._in_order(deliver(3))
        await engine._in_order(deliver(2))
        assert server.frames == [("now", {"seq": 1}), ("now", {"seq": 2}), ("now", {"seq": 3})]
        # A gap that stays is left to the socket once the hold is over: seq 6 is written after
        # seq 5 comes from the database (FakeStore holds every seq up to its last_seq).
        engine.store.last_seq = 6
        await engine._in_order(deliver(6))
        assert engine.order.holding() == 1
        await asyncio.sleep(HOLD * 3)
        for _ in range(100):
            if server.seqs()[-1:] == [6]:
                break
            await asyncio.sleep(0.02)
        assert server.seqs() == [1, 2, 3, 4, 5, 6]
    finally:
        await engine.stop()


@override_settings(DELIVERY_REORDER_SECONDS=HOLD)
async def test_an_event_that_fails_does_not_hold_up_those_released_with_it(caplog):
    engine = DeliveryEngine(hub=Hub(), store=FakeStore(last_seq=0))
    engine.ensure_started()
    handled: list[int] = []

    async def handle(event: dict[str, Any]) -> None:
        if event["seq"] == 2:
            raise RuntimeError("a broken event")
        handled.append(event["seq"])

    engine.handle = handle  # type: ignore[method-assign]
    try:
        await engine._in_order(event(1))
        await engine._in_order(event(3))
        await engine._in_order(event(2))  # releases 3 behind it
        assert handled == [1, 3]
        assert "could not handle a deliver event" in caplog.text
    finally:
        await engine.stop()
