"""One WebSocket of one user (or of one of their devices), as the delivery engine sees it: per
room, what was written, what came early, what awaits an ack.

The guarantees it keeps, per socket and per room (API.md §5.4, §7):
- **Order, no gap.** `RoomCursor.sent` is the last seq written. The next seq is written at
  once; an older one is a duplicate and dropped (unless it is a resend); a newer one waits in
  `waiting` for GAP_WAIT_SECONDS for the missing ones, which are then read from the database
  ("fill") and written in `batch` frames before it.
- **Owed first.** On connect (`initial_sync`) everything owed comes in `batch` frames, oldest
  first, before any live frame of that room: live frames that arrive meanwhile wait in `early`.
- **Confirmed only when read.** The `SocketWriter` knows which frames the client has provably
  read (a pong after them). A socket without acks confirms exactly those; an ack-mode socket
  confirms with acks, and what it leaves unconfirmed for DELIVERY_REDELIVERY_SECONDS is written
  again, but only once the previous copy was proven read: never a second copy into a socket
  that has not read the first. A socket that has not said which it is counts as ack-mode until
  its first frame, or until the first redelivery timeout passes with no frame.
- **Bounded.** Timeline frames that do not fit in the writer's budget are not held in memory:
  the cursor notes how far the room goes (`behind`) and a fill writes them from the database as
  the client reads. A socket whose budget stays full is cut off by the engine (close 4008).
- **Per device.** A socket opened with a device id confirms for that device (and the user);
  one without confirms for the user, as the original clients do.

Slotted and with its buffers created only when needed: a gateway holds thousands of these,
mostly idle. It reaches the process-wide engine only through the `engine` it is given.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

from chatproject.frames import BATCH_SIZE, batch_frame, encode
from gateway import metrics
from gateway.delivery.confirmation import Confirmation
from gateway.delivery.store import DeliveryStore
from gateway.delivery.writer import Item, SendProbe, SendText, SocketWriter, WriteManyNow, WriteNow
from send.positions import RoomPosition
from send.representation import TimelineFrame

logger = logging.getLogger(__name__)

FILL_CHUNK = 500
GAP_WAIT_SECONDS = 0.3
WAITING_MAX = 256  # early frames held per room; beyond, they are read from the database

CloseSocket = Callable[[int], Awaitable[None]]


class Engine(Protocol):
    """What a connection needs of the process-wide engine."""

    store: DeliveryStore
    budget_bytes: int

    def confirm(self, user_id: int, room_id: int, seq: int, *, device: int | None = None) -> None: ...

    def watch(self, connection: Connection) -> None: ...

    def track_proofs(self, connection: Connection) -> None: ...

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None: ...


class RoomCursor:
    __slots__ = ("behind", "filling", "pending", "sent", "waiting")

    def __init__(self, sent: int | None) -> None:
        self.sent = sent  # last seq written to the socket; None until known from the database
        self.behind = 0  # a seq known to exist beyond `sent` that is not held: to be filled
        self.waiting: dict[int, tuple[int, str, bool]] = {}  # seq → (msg_id, frame, update) that came early
        # seq → (msg_id, frame, written at, update, write number): written, awaiting an ack
        self.pending: dict[int, tuple[int, str, float, bool, int]] = {}
        self.filling = False


class Connection(Confirmation):
    __slots__ = (
        "_held",
        "_ledger",
        "ack_mode",
        "close_socket",
        "connection_id",
        "device",
        "early",
        "engine",
        "opened_at",
        "pending_ids",
        "rooms",
        "syncing",
        "user_id",
        "writer",
    )

    def __init__(
        self,
        engine: Engine,
        *,
        user_id: int,
        send_text: SendText,
        ack_mode: bool | None,
        close_socket: CloseSocket | None = None,
        send_probe: SendProbe | None = None,
        write_now: WriteNow | None = None,
        write_many_now: WriteManyNow | None = None,
        device: int | None = None,
    ) -> None:
        self.engine = engine
        self.user_id = user_id
        self.device = device  # the device's key (Device.pk) when the socket named one
        self.connection_id = uuid.uuid4().hex
        self.close_socket = close_socket
        # True: confirms with acks; False: confirmed by reading; None: not said yet.
        self.ack_mode = ack_mode
        self.opened_at = time.monotonic()
        self.rooms: dict[int, RoomCursor] = {}
        self.pending_ids: dict[int, tuple[int, int]] = {}  # msg_id → (room_id, seq) of its chat frame
        self.syncing = True
        self.early: list[dict[str, Any]] | None = None  # live frames that came during the sync
        # (write number, room_id, seq) written and not yet proven read, for a socket without acks.
        self._ledger: deque[tuple[int, int, int]] | None = None
        # Frames that come before the welcome frame wait here (see `start`).
        self._held: list[tuple[str, list[Item] | None]] | None = []
        self.writer = SocketWriter(
            send_text=send_text,
            send_probe=send_probe,
            write_now=write_now,
            write_many_now=write_many_now,
            on_written=self._written,
            on_proven=self._proven,
            limit=engine.budget_bytes,
        )

    @property
    def closed(self) -> bool:
        return self.writer.closed

    @closed.setter
    def closed(self, value: bool) -> None:
        if value:
            self.writer.close()

    # --- writing ------------------------------------------------------------------------

    async def write(self, text: str, items: list[Item] | None = None) -> None:
        """Write a frame after every frame asked for before it; `items` are the timeline frames
        it carries (what gets confirmed once the client has read it)."""
        if self._held is not None:
            self._held.append((text, items))
            return
        await self.writer.write(text, items)

    def write_at_once(self, text: str) -> bool:
        """`write` of a frame that carries no timeline item, done at once when it can be
        (`SocketWriter.write_at_once`); False: nothing done, `await write(text)` instead."""
        return self._held is None and self.writer.write_at_once(text)

    def write_many_at_once(self, texts: list[str]) -> bool:
        """`write_at_once` of several such frames, in order, in one write; False: nothing done,
        `await write(text)` each instead."""
        return self._held is None and self.writer.write_many_at_once(texts)

    async def start(self, welcome: str) -> None:
        """Write the welcome frame, then whatever was held back while the socket was opening."""
        held, self._held = self._held or [], None
        await self.write(welcome)
        for text, items in held:
            await self.write(text, items)

    # --- live frames --------------------------------------------------------------------

    async def deliver(
        self, *, room_id: int, seq: int, msg_id: int, frame: str, resend: bool = False, update: bool = False
    ) -> None:
        """Hand the socket a live timeline frame of a room (a `chat` frame, or an update frame
        about message `msg_id`): written now if it is the next seq, dropped if it was written
        already (written again if it is a resend), held if it comes early while the gap before
        it is filled. A frame that does not fit in the budget is left to a fill. During the
        initial sync it waits until the sync is done."""
        if self.syncing:
            if self.early is None:
                self.early = []
            self.early.append(
                {"room_id": room_id, "seq": seq, "msg_id": msg_id, "frame": frame, "resend": resend, "update": update}
            )
            return
        cursor = self.rooms.get(room_id)
        if cursor is None:
            cursor = self.rooms[room_id] = RoomCursor(sent=None)
        item = (room_id, seq, msg_id, frame, update)
        if cursor.sent is not None and seq <= cursor.sent:
            if resend and self.writer.has_room(len(frame)):
                await self.write(frame, [item])
            return
        if cursor.sent is not None and seq == cursor.sent + 1 and not cursor.behind:
            if self.writer.has_room(len(frame)):
                cursor.sent = seq
                await self.write(frame, [item])
                await self._drain_waiting(room_id, cursor)
                return
            self.writer.note_full()
            cursor.behind = seq
        elif len(cursor.waiting) < WAITING_MAX and not cursor.behind:
            cursor.waiting[seq] = (msg_id, frame, update)
        else:
            cursor.behind = max(cursor.behind, seq)
        if not cursor.filling:
            cursor.filling = True
            self.engine.spawn(self._fill_later(room_id, cursor, wait=cursor.sent is not None and not cursor.behind))

    def deliver_at_once(self, room_id: int, seq: int, msg_id: int, frame: str, update: bool) -> bool:
        """`deliver` of the common case, without a coroutine: the socket is open and synced, the
        frame is the room's next seq with nothing held before or after it, and it fits. True
        when it was written; False, with nothing done, when `deliver` must decide."""
        if self.syncing or self._held is not None:
            return False
        cursor = self.rooms.get(room_id)
        if cursor is None or cursor.sent is None or seq != cursor.sent + 1 or cursor.behind or cursor.waiting:
            return False
        writer = self.writer
        if not writer.has_room(len(frame)) or not writer.write_at_once(frame, [(room_id, seq, msg_id, frame, update)]):
            return False
        cursor.sent = seq
        return True

    async def _drain_waiting(self, room_id: int, cursor: RoomCursor) -> None:
        while cursor.sent is not None and cursor.waiting:
            nxt = cursor.sent + 1
            for stale in [s for s in cursor.waiting if s < nxt]:
                del cursor.waiting[stale]
            if nxt not in cursor.waiting:
                return
            msg_id, frame, update = cursor.waiting[nxt]
            if not self.writer.has_room(len(frame)):
                cursor.behind = max(cursor.behind, *cursor.waiting)
                cursor.waiting.clear()
                return
            del cursor.waiting[nxt]
            cursor.sent = nxt
            await self.write(frame, [(room_id, nxt, msg_id, frame, update)])

    async def _fill_later(self, room_id: int, cursor: RoomCursor, *, wait: bool) -> None:
        """A gap: give the missing frames a moment to arrive, then read them from the database."""
        try:
            if wait:
                await asyncio.sleep(GAP_WAIT_SECONDS)
            if cursor.waiting or cursor.behind or cursor.sent is None:
                await self.fill(room_id, upto=max([*cursor.waiting, cursor.behind]) or None)
        finally:
            cursor.filling = False
        if (cursor.waiting or cursor.behind) and not self.closed and self.rooms.get(room_id) is cursor:
            cursor.filling = True
            self.engine.spawn(self._fill_later(room_id, cursor, wait=True))

    async def fill(self, room_id: int, *, upto: int | None) -> None:
        """Write what the database holds for this room past what the socket was written, in
        batch frames as the budget allows, then whatever came early and now follows on. A room
        the user no longer belongs to is forgotten."""
        position = await self.engine.store.position(user_id=self.user_id, room_id=room_id, device=self.device)
        cursor = self.rooms.get(room_id)
        if position is None:  # not a member (any more): the room is not this socket's business
            self.rooms.pop(room_id, None)
            return
        if cursor is None:
            cursor = self.rooms[room_id] = RoomCursor(sent=None)
        if cursor.sent is None:
            cursor.sent = position.start
        elif cursor.sent < position.joined_seq:
            cursor.sent = position.joined_seq  # removed and added again: nothing from the gap
        target = max(position.last_seq, upto or 0, cursor.behind)
        while cursor.sent < target and not self.closed:
            frames = await self.engine.store.frames(
                user_id=self.user_id, room_id=room_id, after_seq=cursor.sent, upto_seq=target, limit=FILL_CHUNK
            )
            if not frames:
                break
            if not await self._write_batches(room_id, cursor, frames):
                return
        if cursor.behind <= (cursor.sent or 0):
            cursor.behind = 0
        await self._drain_waiting(room_id, cursor)

    async def _write_batches(self, room_id: int, cursor: RoomCursor, frames: list[TimelineFrame]) -> bool:
        fresh = [f for f in frames if cursor.sent is None or f.seq > cursor.sent]
        batches = 0
        for start in range(0, len(fresh), BATCH_SIZE):
            chunk = fresh[start : start + BATCH_SIZE]
            text = encode(batch_frame([f.frame for f in chunk]))
            if not await self.writer.wait_for_room(len(text)):
                return False
            first = chunk[0].seq
            if cursor.sent is not None and first <= cursor.sent:  # written live while we waited
                chunk = [f for f in chunk if f.seq > cursor.sent]
                if not chunk:
                    continue
                text = encode(batch_frame([f.frame for f in chunk]))
            cursor.sent = chunk[-1].seq
            items = [(room_id, f.seq, f.msg_id, encode(f.frame), f.update) for f in chunk]
            await self.write(text, items)
            batches += 1
        metrics.event_delivered(frame_type="batch", frames=batches)
        return not self.closed

    # --- sync on connect and on request -------------------------------------------------

    async def initial_sync(self, positions: dict[int, RoomPosition]) -> None:
        """Send everything owed (in batch frames, oldest first per room), then the live frames
        that arrived meanwhile, in order."""
        for room_id, position in positions.items():
            self.rooms[room_id] = RoomCursor(sent=position.start)
        for room_id, position in positions.items():
            if self.closed:
                return
            if position.last_seq > position.start:
                await self.fill(room_id, upto=position.last_seq)
        self.syncing = False
        early, self.early = self.early or [], None
        for item in early:
            await self.deliver(**item)

    async def resync(self, positions: dict[int, RoomPosition]) -> None:
        """Deliver whatever the database says is owed beyond what this socket was written (the
        sweep, `notify_online`, a pushback). Rooms being filled already are left to that fill."""
        if self.syncing or self.closed:
            return
        for room_id, position in positions.items():
            cursor = self.rooms.get(room_id)
            if cursor is not None and cursor.filling:
                continue
            # A room new to this socket: its fill starts where the socket (its device) stands.
            sent = cursor.sent if cursor is not None and cursor.sent is not None else position.joined_seq
            if position.last_seq > sent:
                if cursor is None:
                    cursor = self.rooms[room_id] = RoomCursor(sent=None)
                cursor.filling = True
                try:
                    await self.fill(room_id, upto=position.last_seq)
                finally:
                    cursor.filling = False
