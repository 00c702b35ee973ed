"""What the delivery engine reads and writes in the database, as awaitables that run off the
event loop (`chatproject.offloop`). A protocol, so that the connection's ordering and the
engine's bookkeeping can be tested without a database (tests/gateway/test_connection.py)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Protocol

from django.conf import settings

from chatproject.coalescer import Coalescer, database_batches
from chatproject.offloop import off_loop
from send import positions as send_positions
from send import selectors as send_selectors
from send.positions import RoomPosition
from send.representation import TimelineFrame
from send.selectors import FramesRequest


class DeliveryStore(Protocol):
    async def position(self, *, user_id: int, room_id: int, device: int | None = None) -> RoomPosition | None:
        """Where the member (or their device) stands in one room; None when they are not (or no
        longer) a member."""
        ...

    async def positions(self, *, user_ids: list[int]) -> dict[int, dict[int, RoomPosition]]:
        """For each user, their position in every room they belong to."""
        ...

    async def frames(
        self, *, user_id: int, room_id: int, after_seq: int, upto_seq: int, limit: int
    ) -> list[TimelineFrame]:
        """The timeline entries with `after_seq < seq <= upto_seq` as frames for the member,
        oldest first, at most `limit`."""
        ...

    async def confirmations_record(
        self, *, confirmed: Mapping[tuple[int, int], int], device_confirmed: Mapping[tuple[int, int], int]
    ) -> None:
        """Raise confirmed seqs: members' `{(user_id, room_id): seq}`, devices' `{(device, room_id): seq}`."""
        ...


class DatabaseStore:
    """The store of a real gateway: the send service's selectors and services, off the loop.

    A socket's catch-up reads (its position in a room, then the frames it is owed there) are
    gathered across sockets into batches (`chatproject.coalescer`, with the handshakes' wait
    and size: WS_HANDSHAKE_BATCH_WAIT_MS, WS_HANDSHAKE_BATCH_MAX): when a gateway's clients come
    back together, thousands of them each owed the same rooms' last messages, a batch costs a
    few queries and builds each message's frame once, where each socket cost seven queries."""

    def __init__(self) -> None:
        wait = lambda: settings.WS_HANDSHAKE_BATCH_WAIT_MS / 1000  # noqa: E731
        cap = lambda: settings.WS_HANDSHAKE_BATCH_MAX  # noqa: E731
        # Never refused: a socket reads one room at a time, so no more wait than sockets.
        self._positions: Coalescer[tuple[int, int, int | None], RoomPosition | None] = Coalescer(
            lambda keys: send_positions.positions_for_members(keys=keys),
            wait=wait,
            cap=cap,
            queue_max=lambda: math.inf,
            gate=database_batches,
        )
        self._frames: Coalescer[FramesRequest, list[TimelineFrame]] = Coalescer(
            send_selectors.timeline_frames_for_many,
            wait=wait,
            cap=cap,
            queue_max=lambda: math.inf,
            gate=database_batches,
        )

    async def position(self, *, user_id: int, room_id: int, device: int | None = None) -> RoomPosition | None:
        return await self._positions.submit((user_id, room_id, device))

    async def positions(self, *, user_ids: list[int]) -> dict[int, dict[int, RoomPosition]]:
        return await off_loop(send_positions.positions_for_users)(user_ids=user_ids)

    async def frames(
        self, *, user_id: int, room_id: int, after_seq: int, upto_seq: int, limit: int
    ) -> list[TimelineFrame]:
        request = FramesRequest(user_id=user_id, room_id=room_id, after_seq=after_seq, upto_seq=upto_seq, limit=limit)
        return await self._frames.submit(request)

    async def confirmations_record(
        self, *, confirmed: Mapping[tuple[int, int], int], device_confirmed: Mapping[tuple[int, int], int]
    ) -> None:
        await off_loop(send_positions.confirmations_record)(confirmed=confirmed, device_confirmed=device_confirmed)
