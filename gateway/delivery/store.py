"""What the delivery engine reads and writes in the database, as awaitables that run off the
event loop (`chatproject.offloop`). A protocol, so that the connection's ordering and the
engine's bookkeeping can be tested without a database (tests/gateway/test_connection.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from chatproject.offloop import off_loop
from send import positions as send_positions
from send import selectors as send_selectors
from send.positions import RoomPosition
from send.representation import TimelineFrame


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
    """The store of a real gateway: the send service's selectors and services, off the loop."""

    async def position(self, *, user_id: int, room_id: int, device: int | None = None) -> RoomPosition | None:
        return await off_loop(send_positions.position_for_member)(user_id=user_id, room_id=room_id, device=device)

    async def positions(self, *, user_ids: list[int]) -> dict[int, dict[int, RoomPosition]]:
        return await off_loop(send_positions.positions_for_users)(user_ids=user_ids)

    async def frames(
        self, *, user_id: int, room_id: int, after_seq: int, upto_seq: int, limit: int
    ) -> list[TimelineFrame]:
        return await off_loop(send_selectors.timeline_frames_between)(
            user_id=user_id, room_id=room_id, after_seq=after_seq, upto_seq=upto_seq, limit=limit
        )

    async def confirmations_record(
        self, *, confirmed: Mapping[tuple[int, int], int], device_confirmed: Mapping[tuple[int, int], int]
    ) -> None:
        await off_loop(send_positions.confirmations_record)(confirmed=confirmed, device_confirmed=device_confirmed)
