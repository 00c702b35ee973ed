"""One WebSocket of one user, as the delivery engine sees it: per room, what was written, what
came early, what awaits an ack.

The guarantees it keeps, per socket and per room (API.md §5.4):
- **Order, no gap.** `RoomCursor.sent` is the last seq written. The next seq is written at
  once; an older one is a duplicate and dropped (unless it is a resend); a newer one waits in
  `waiting` for GAP_WAIT_SECONDS for the missing ones, which are then read from the database
  ("fill") and written in `batch` frames before it.
- **Owed first.** On connect (`initial_sync`) everything owed comes in `batch` frames, oldest
  first, before any live frame of that room: live frames that arrive meanwhile wait in `early`.
- **Confirmation.** An ack-mode socket confirms with acks; what it leaves unconfirmed for the
  redelivery timeout is written again (`redeliver_due`). A socket without acks confirms by being
  written to. One that has not said which counts as ack-mode until its first frame, or until the
  first redelivery timeout passes with no frame.
- **Writes in call order.** `write` never interleaves: a write that finds another in progress
  queues behind it in `_outbox`.

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
from gateway.delivery.store import DeliveryStore
from send.representation import TimelineFrame
from send.selectors import RoomPosition

logger = logging.getLogger(__name__)

FILL_CHUNK = 500
GAP_WAIT_SECONDS = 0.3

SendText = Callable[[str], Awaitable[None]]
CloseSocket = Callable[[int], Awaitable[None]]


class Engine(Protocol):
    """What a connection needs of the process-wide engine."""

    store: DeliveryStore

    def confirm(self, user_id: int, room_id: int, seq: int) -> None: ...

    def watch(self, connection: Connection) -> None: ...

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None: ...


class RoomCursor:
    __slots__ = ("filling", "pending", "sent", "waiting")

    def __init__(self, sent: int | None) -> None:
        self.sent = sent  # last seq written to the socket; None until known from the database
        self.waiting: dict[int, tuple[int, str, bool]] = {}  # seq → (msg_id, frame, update) that came early
        # seq → (msg_id, frame, written at, update): written, awaiting an ack (ack-mode sockets)
        self.pending: dict[int, tuple[int, str, float, bool]] = {}
        self.filling = False


class Connection:
    __slots__ = (
        "_held",
        "_outbox",
        "_writing",
        "ack_mode",
        "close_socket",
        "closed",
        "connection_id",
        "early",
        "engine",
        "opened_at",
        "pending_ids",
        "rooms",
        "send_text",
        "syncing",
        "user_id",
    )

    def __init__(
        self,
        engine: Engine,
        *,
        user_id: int,
        send_text: SendText,
        ack_mode: bool | None,
        close_socket: CloseSocket | None = None,
    ) -> None:
        self.engine = engine
        self.user_id = user_id
        self.connection_id = uuid.uuid4().hex
        self.send_text = send_text
        self.close_socket = close_socket
        # True: confirms with acks; False: confirmed by writing; None: not said yet.
        self.ack_mode = ack_mode
        self.opened_at = time.monotonic()
        self.rooms: dict[int, RoomCursor] = {}
        self.pending_ids: dict[int, tuple[int, int]] = {}  # msg_id → (room_id, seq) of its chat frame
        self.syncing = True
        self.early: list[dict[str, Any]] | None = None  # live frames that came during the sync
        self.closed = False
        self._outbox: deque[tuple[str, list[tuple[int, int]] | None]] | None = None
        self._writing = False
        # Frames that come before the welcome frame wait here (see `start`).
        self._held: list[tuple[str, list[tuple[int, int]] | None]] | None = []

    # --- writing ------------------------------------------------------------------------

    async def write(self, text: str, written: list[tuple[int, int]] | None = None) -> None:
        """Write a frame after every frame asked for before it. `written` lists the (room_id,
        seq) the frame carries: they count as confirmed once written when the socket does not
        ack. A write to a closed socket is dropped (what it carried stays owed)."""
        if self.closed:
            return
        if self._held is not None:
            self._held.append((text, written))
            return
        if self._writing:
            # Another write is awaiting the socket: queue behind it, it writes this in order.
            if self._outbox is None:
                self._outbox = deque()
            self._outbox.append((text, written))
            return
        self._writing = True
        try:
            while True:
                try:
                    await self.send_text(text)
                except Exception:
                    self.closed = True
                    logger.info("write to a closed socket of user %s dropped", self.user_id)
                    return
                if written and self.ack_mode is False:
                    for room_id, seq in written:
                        self.engine.confirm(self.user_id, room_id, seq)
                if not self._outbox or self.closed:
                    return
                text, written = self._outbox.popleft()
        finally:
            self._writing = False

    async def start(self, welcome: str) -> None:
        """Write the welcome frame, then whatever was held back while the socket was opening."""
        held, self._held = self._held or [], None
        await self.write(welcome)
        for text, written in held:
            await self.write(text, written)

    def _track(self, room_id: int, cursor: RoomCursor, seq: int, msg_id: int, frame: str, *, update: bool) -> None:
        if self.ack_mode is not False:
            cursor.pending[seq] = (msg_id, frame, time.monotonic(), update)
            if not update:
                self.pending_ids[msg_id] = (room_id, seq)
            self.engine.watch(self)

    # --- live frames --------------------------------------------------------------------

    async def deliver(
        self, *, room_id: int, seq: int, msg_id: int, frame: str, resend: bool = False, update: bool = False
    ) -> None:
        """Hand the socket a live timeline frame of a room (a `chat` frame, or an update frame
        about message `msg_id`): written now if it is the next seq, dropped if it was written
        already (written again if it is a resend), held if it comes early while the gap before
        it is filled. During the initial sync it waits until the sync is done."""
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
        if cursor.sent is not None and seq <= cursor.sent:
            if resend:
                self._track(room_id, cursor, seq, msg_id, frame, update=update)
                await self.write(frame, [(room_id, seq)])
            return
        if cursor.sent is not None and seq == cursor.sent + 1:
            cursor.sent = seq
            self._track(room_id, cursor, seq, msg_id, frame, update=update)
            await self.write(frame, [(room_id, seq)])
            await self._drain_waiting(room_id, cursor)
            return
        cursor.waiting[seq] = (msg_id, frame, update)
        if not cursor.filling:
            cursor.filling = True
            self.engine.spawn(self._fill_later(room_id, cursor, wait=cursor.sent is not None))

    async def _drain_waiting(self, room_id: int, cursor: RoomCursor) -> None:
        while cursor.sent is not None and cursor.waiting:
            nxt = cursor.sent + 1
            for stale in [s for s in cursor.waiting if s < nxt]:
                del cursor.waiting[stale]
            if nxt not in cursor.waiting:
                return
            msg_id, frame, update = cursor.waiting.pop(nxt)
            cursor.sent = nxt
            self._track(room_id, cursor, nxt, msg_id, frame, update=update)
            await self.write(frame, [(room_id, nxt)])

    async def _fill_later(self, room_id: int, cursor: RoomCursor, *, wait: bool) -> None:
        """A gap: give the missing frames a moment to arrive, then read them from the database."""
        try:
            if wait:
                await asyncio.sleep(GAP_WAIT_SECONDS)
            if cursor.waiting or cursor.sent is None:
                await self.fill(room_id, upto=max(cursor.waiting) if cursor.waiting else None)
        finally:
            cursor.filling = False
        if cursor.waiting and not self.closed and self.rooms.get(room_id) is cursor:
            cursor.filling = True
            self.engine.spawn(self._fill_later(room_id, cursor, wait=True))

    async def fill(self, room_id: int, *, upto: int | None) -> None:
        """Write what the database holds for this room past what the socket was written, in
        batch frames, then whatever came early and now follows on. A room the user no longer
        belongs to is forgotten."""
        position = await self.engine.store.position(user_id=self.user_id, room_id=room_id)
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
        target = max(position.last_seq, upto or 0)
        while cursor.sent < target and not self.closed:
            frames = await self.engine.store.frames(
                user_id=self.user_id, room_id=room_id, after_seq=cursor.sent, upto_seq=target, limit=FILL_CHUNK
            )
            if not frames:
                break
            await self._write_batches(room_id, cursor, frames)
        await self._drain_waiting(room_id, cursor)

    async def _write_batches(self, room_id: int, cursor: RoomCursor, frames: list[TimelineFrame]) -> None:
        fresh = [f for f in frames if cursor.sent is None or f.seq > cursor.sent]
        batches = 0
        for start in range(0, len(fresh), BATCH_SIZE):
            chunk = fresh[start : start + BATCH_SIZE]
            cursor.sent = chunk[-1].seq
            for entry in chunk:
                self._track(room_id, cursor, entry.seq, entry.msg_id, encode(entry.frame), update=entry.update)
            await self.write(encode(batch_frame([f.frame for f in chunk])), [(room_id, f.seq) for f in chunk])
            batches += 1
        metrics.event_delivered(frame_type="batch", frames=batches)

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
            sent = cursor.sent if cursor is not None and cursor.sent is not None else position.start
            if position.last_seq > sent and not (cursor is not None and cursor.filling):
                if cursor is None:
                    cursor = self.rooms[room_id] = RoomCursor(sent=position.start)
                cursor.filling = True
                try:
                    await self.fill(room_id, upto=position.last_seq)
                finally:
                    cursor.filling = False

    # --- client acks ----------------------------------------------------------------------

    def ack_cumulative(self, room_id: int, seq: int) -> None:
        """The client has everything of the room up to `seq` (never beyond what it was written)."""
        self.ack_mode = True
        cursor = self.rooms.get(room_id)
        if cursor is None or cursor.sent is None:
            return
        seq = min(seq, cursor.sent)
        for s in [s for s in cursor.pending if s <= seq]:
            msg_id, _, _, update = cursor.pending.pop(s)
            if not update:
                self.pending_ids.pop(msg_id, None)
        self._confirm_room(room_id, cursor)

    def ack_one(self, msg_id: int, seq: int | None = None) -> None:
        """The client has one frame: the `chat` frame of message `msg_id`, or with `seq` the
        one frame of that seq about it (a chat or an update frame). The room is confirmed up to
        its first unconfirmed frame."""
        self.ack_mode = True
        if seq is None:
            found = self.pending_ids.get(msg_id)
            if found is None:
                return
            room_id, seq = found
        else:
            room_id = self._room_awaiting(msg_id, seq)
            if room_id is None:
                return
        cursor = self.rooms.get(room_id)
        entry = cursor.pending.get(seq) if cursor is not None else None
        if cursor is None or entry is None or entry[0] != msg_id:
            return
        del cursor.pending[seq]
        if not entry[3]:
            self.pending_ids.pop(msg_id, None)
        self._confirm_room(room_id, cursor)

    def _room_awaiting(self, msg_id: int, seq: int) -> int | None:
        """The room whose frame `seq` about `msg_id` awaits an ack."""
        found = self.pending_ids.get(msg_id)
        if found is not None and found[1] == seq:
            return found[0]
        for room_id, cursor in self.rooms.items():
            entry = cursor.pending.get(seq)
            if entry is not None and entry[0] == msg_id:
                return room_id
        return None

    def _confirm_room(self, room_id: int, cursor: RoomCursor) -> None:
        upto = (min(cursor.pending) - 1) if cursor.pending else cursor.sent
        if upto:
            self.engine.confirm(self.user_id, room_id, upto)

    def first_frame_seen(self, is_ack: bool) -> None:
        """The client's first frame tells whether it acks."""
        if self.ack_mode is None:
            if is_ack:
                self.ack_mode = True
            else:
                self.settle_without_acks()

    def settle_without_acks(self) -> None:
        """The socket does not ack: everything written to it counts as delivered."""
        self.ack_mode = False
        for room_id, cursor in self.rooms.items():
            if cursor.pending:
                self.engine.confirm(self.user_id, room_id, max(cursor.pending))
                cursor.pending.clear()
        self.pending_ids.clear()

    async def redeliver_due(self, now: float, after: float) -> int:
        """Write again what has waited `after` seconds for an ack; returns how many frames. A
        socket still silent after `after` seconds is settled as one without acks."""
        if self.ack_mode is None:
            if now - self.opened_at >= after:
                self.settle_without_acks()
            return 0
        written = 0
        for cursor in list(self.rooms.values()):
            for seq, (msg_id, frame, written_at, update) in list(cursor.pending.items()):
                if now - written_at >= after:
                    cursor.pending[seq] = (msg_id, frame, now, update)
                    written += 1
                    await self.write(frame)
        return written

    def has_pending(self) -> bool:
        return any(cursor.pending for cursor in self.rooms.values())
