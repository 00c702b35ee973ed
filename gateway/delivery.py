"""The gateway's delivery engine: one per process, on the event loop.

- A receiver task reads this gateway's channel-layer channel and fans each event out to the
  local sockets in process (`gateway.hub`): no database work, no thread hop, frames already
  encoded once per event.
- Each socket keeps, per room, the last seq it was written (`sent`). A frame for the next seq is
  written at once; an older one is a duplicate and dropped; a newer one waits briefly for the
  missing ones and, if they do not come, they are read from the database ("fill"). So a socket
  sees each room in seq order with no gap, and owed messages (sent in `batch` frames on
  connect) always come before newer live frames of the same room.
- Confirmation: an ack-mode socket confirms with `ack` frames and what it does not confirm is
  written again after REDELIVERY_SECONDS; a socket without acks confirms by being written to.
  A socket that has not said which it is counts as ack-mode until its first frame, or until the
  first redelivery timeout passes with no frame, after which it counts as one without acks.
  Confirmations are gathered in memory and written to the database in batches.
- A sweep compares, every SWEEP_SECONDS, the rooms' last seq in the database with what each
  local socket was written, so a push lost anywhere (Redis restart, full channel, a crashed
  send process) is still delivered while the member stays connected.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import close_old_connections

from chatproject import metrics
from gateway.hub import hub
from send import selectors as send_selectors
from send import services as send_services
from send.events import gateway_channel
from send.representation import MessageObject, batch_frame, chat_frame, encode

logger = logging.getLogger(__name__)

BATCH_SIZE = 50
FILL_CHUNK = 500
GAP_WAIT_SECONDS = 0.3


def db(fn: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """Run a sync database function in the thread pool (not the single thread-sensitive thread:
    gateways do many small independent reads), closing stale connections around it."""

    def call(*args: Any, **kwargs: Any) -> Any:
        close_old_connections()
        try:
            return fn(*args, **kwargs)
        finally:
            close_old_connections()

    return sync_to_async(call, thread_sensitive=False)


class RoomCursor:
    __slots__ = ("filling", "pending", "sent", "waiting")

    def __init__(self, sent: int | None) -> None:
        self.sent = sent  # last seq written to the socket; None until known from the database
        self.waiting: dict[int, tuple[int, str]] = {}  # seq → (msg_id, frame) that came early
        self.pending: dict[int, tuple[int, str, float]] = {}  # seq → (msg_id, frame, written at)
        self.filling = False


SendText = Callable[[str], Awaitable[None]]
CloseSocket = Callable[[int], Awaitable[None]]


class Connection:
    """One WebSocket of one user, as the delivery engine sees it. Slotted and with its buffers
    created only when needed: a gateway holds thousands of these, mostly idle."""

    __slots__ = (
        "_held",
        "_outbox",
        "_writing",
        "ack_mode",
        "close_socket",
        "closed",
        "connection_id",
        "early",
        "opened_at",
        "pending_ids",
        "rooms",
        "send_text",
        "syncing",
        "user_id",
    )

    def __init__(
        self, *, user_id: int, send_text: SendText, ack_mode: bool | None, close_socket: CloseSocket | None = None
    ) -> None:
        self.user_id = user_id
        self.connection_id = uuid.uuid4().hex
        self.send_text = send_text
        self.close_socket = close_socket
        # True: confirms with acks; False: confirmed by writing; None: not said yet.
        self.ack_mode = ack_mode
        self.opened_at = time.monotonic()
        self.rooms: dict[int, RoomCursor] = {}
        self.pending_ids: dict[int, tuple[int, int]] = {}  # msg_id → (room_id, seq)
        self.syncing = True
        self.early: list[dict[str, Any]] | None = None  # live frames that came during the sync
        self.closed = False
        self._outbox: deque[tuple[str, list[tuple[int, int]] | None]] | None = None
        self._writing = False
        # Frames that come before the welcome frame wait here (see `start`).
        self._held: list[tuple[str, list[tuple[int, int]] | None]] | None = []

    # --- writing ------------------------------------------------------------------------

    async def write(self, text: str, written: list[tuple[int, int]] | None = None) -> None:
        """Write frames in call order. `written` lists (room_id, seq) the frame carries: they
        count as confirmed once written when the socket does not ack."""
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
                        engine.confirm(self.user_id, room_id, seq)
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

    def _track(self, room_id: int, cursor: RoomCursor, seq: int, msg_id: int, frame: str) -> None:
        if self.ack_mode is not False:
            cursor.pending[seq] = (msg_id, frame, time.monotonic())
            self.pending_ids[msg_id] = (room_id, seq)
            engine.watch(self)

    # --- live frames --------------------------------------------------------------------

    async def deliver(self, *, room_id: int, seq: int, msg_id: int, frame: str, resend: bool) -> None:
        if self.syncing:
            if self.early is None:
                self.early = []
            self.early.append({"room_id": room_id, "seq": seq, "msg_id": msg_id, "frame": frame, "resend": resend})
            return
        cursor = self.rooms.get(room_id)
        if cursor is None:
            cursor = self.rooms[room_id] = RoomCursor(sent=None)
        if cursor.sent is not None and seq <= cursor.sent:
            if resend:
                self._track(room_id, cursor, seq, msg_id, frame)
                await self.write(frame, [(room_id, seq)])
            return
        if cursor.sent is not None and seq == cursor.sent + 1:
            cursor.sent = seq
            self._track(room_id, cursor, seq, msg_id, frame)
            await self.write(frame, [(room_id, seq)])
            await self._drain_waiting(room_id, cursor)
            return
        cursor.waiting[seq] = (msg_id, frame)
        if not cursor.filling:
            cursor.filling = True
            engine.spawn(self._fill_later(room_id, cursor, wait=cursor.sent is not None))

    async def _drain_waiting(self, room_id: int, cursor: RoomCursor) -> None:
        while cursor.sent is not None and cursor.waiting:
            nxt = cursor.sent + 1
            for stale in [s for s in cursor.waiting if s < nxt]:
                del cursor.waiting[stale]
            if nxt not in cursor.waiting:
                return
            msg_id, frame = cursor.waiting.pop(nxt)
            cursor.sent = nxt
            self._track(room_id, cursor, nxt, msg_id, frame)
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
            engine.spawn(self._fill_later(room_id, cursor, wait=True))

    async def fill(self, room_id: int, *, upto: int | None) -> None:
        """Write what the database holds for this room past what the socket was written, in
        batch frames, then whatever came early and now follows on."""
        position = await db(send_selectors.position_for_member)(user_id=self.user_id, room_id=room_id)
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
            after = cursor.sent
            messages: list[MessageObject] = await db(send_selectors.messages_between)(
                room_id=room_id, after_seq=after, upto_seq=target, limit=FILL_CHUNK
            )
            if not messages:
                break
            await self._write_batches(room_id, cursor, messages)
        await self._drain_waiting(room_id, cursor)

    async def _write_batches(self, room_id: int, cursor: RoomCursor, messages: list[MessageObject]) -> None:
        fresh = [m for m in messages if cursor.sent is None or m["seq"] > cursor.sent]
        batches = 0
        for start in range(0, len(fresh), BATCH_SIZE):
            chunk = fresh[start : start + BATCH_SIZE]
            frames = [chat_frame(m) for m in chunk]
            cursor.sent = chunk[-1]["seq"]
            for message, frame in zip(chunk, frames, strict=True):
                self._track(room_id, cursor, message["seq"], message["id"], encode(frame))
            await self.write(encode(batch_frame(frames)), [(room_id, m["seq"]) for m in chunk])
            batches += 1
        metrics.gateway_event_delivered(frame_type="batch", frames=batches)

    # --- sync on connect and on request -------------------------------------------------

    async def initial_sync(self, positions: dict[int, send_selectors.RoomPosition]) -> None:
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

    async def resync(self, positions: dict[int, send_selectors.RoomPosition]) -> None:
        """Deliver whatever the database says is owed beyond what this socket was written."""
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
        self.ack_mode = True
        cursor = self.rooms.get(room_id)
        if cursor is None or cursor.sent is None:
            return
        seq = min(seq, cursor.sent)
        for s in [s for s in cursor.pending if s <= seq]:
            msg_id = cursor.pending.pop(s)[0]
            self.pending_ids.pop(msg_id, None)
        self._confirm_room(room_id, cursor)

    def ack_one(self, msg_id: int) -> None:
        self.ack_mode = True
        found = self.pending_ids.pop(msg_id, None)
        if found is None:
            return
        room_id, seq = found
        cursor = self.rooms.get(room_id)
        if cursor is None:
            return
        cursor.pending.pop(seq, None)
        self._confirm_room(room_id, cursor)

    def _confirm_room(self, room_id: int, cursor: RoomCursor) -> None:
        upto = (min(cursor.pending) - 1) if cursor.pending else cursor.sent
        if upto:
            engine.confirm(self.user_id, room_id, upto)

    def first_frame_seen(self, is_ack: bool) -> None:
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
                engine.confirm(self.user_id, room_id, max(cursor.pending))
                cursor.pending.clear()
        self.pending_ids.clear()

    async def redeliver_due(self, now: float, after: float) -> int:
        """Write again what has waited `after` seconds for an ack; returns how many frames."""
        if self.ack_mode is None:
            if now - self.opened_at >= after:
                self.settle_without_acks()
            return 0
        written = 0
        for cursor in list(self.rooms.values()):
            for seq, (msg_id, frame, written_at) in list(cursor.pending.items()):
                if now - written_at >= after:
                    cursor.pending[seq] = (msg_id, frame, now)
                    written += 1
                    await self.write(frame)
        engine.redeliveries += written
        return written

    def has_pending(self) -> bool:
        return bool(self.pending_ids)


class DeliveryEngine:
    """The process-wide half: receiver, timers, batched confirmations."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task] = []
        self._spawned: set[asyncio.Task] = set()
        self._confirmed: dict[tuple[int, int], int] = {}
        self._watched: set[Connection] = set()
        self.redeliveries = 0
        self.events_received = 0
        self.gateway_id = ""

    # --- lifecycle ------------------------------------------------------------------------

    def ensure_started(self) -> None:
        """Start the receiver and timers on the running loop (idempotent; restarts on a new loop,
        as in tests, where every test has its own)."""
        loop = asyncio.get_running_loop()
        if self._loop is loop and all(not t.done() for t in self._tasks):
            return
        for task in self._tasks:
            if not task.done() and self._loop is loop:
                task.cancel()
        self._loop = loop
        self._confirmed = {}
        self._watched = set()
        self.gateway_id = settings.GATEWAY_ID
        self._tasks = [
            loop.create_task(self._receive_loop(), name="gateway-receiver"),
            loop.create_task(self._timer_loop(), name="gateway-timers"),
            loop.create_task(self._sweep_loop(), name="gateway-sweep"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        await self.flush_confirmations()

    async def shutdown(self, *, code: int) -> None:
        """The server is going away: close every local socket with `code` (1001), then stop,
        writing the confirmations still in memory."""
        sockets = hub.all_sockets()
        logger.info("shutting down: closing %d sockets with %d", len(sockets), code)
        for socket in sockets:
            if socket.close_socket is not None and not socket.closed:
                try:
                    await socket.close_socket(code)
                except Exception:
                    logger.warning("could not close a socket of user %s", socket.user_id, exc_info=True)
        await self.stop()

    def spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._spawned.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task) -> None:
        self._spawned.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("delivery task failed", exc_info=task.exception())

    # --- confirmations --------------------------------------------------------------------

    def confirm(self, user_id: int, room_id: int, seq: int) -> None:
        key = (user_id, room_id)
        if seq > self._confirmed.get(key, 0):
            self._confirmed[key] = seq

    async def flush_confirmations(self) -> None:
        if not self._confirmed:
            return
        batch, self._confirmed = self._confirmed, {}
        try:
            await db(send_services.confirmations_record)(confirmed=batch)
        except Exception:
            logger.warning("could not record %d confirmations; will retry", len(batch), exc_info=True)
            for key, seq in batch.items():
                self.confirm(key[0], key[1], seq)

    def watch(self, connection: Connection) -> None:
        self._watched.add(connection)

    # --- the event path -------------------------------------------------------------------

    async def _receive_loop(self) -> None:
        layer = get_channel_layer()
        channel = gateway_channel(self.gateway_id)
        while True:
            try:
                event = await layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                metrics.CHANNEL_LAYER_RECEIVE_ERRORS.inc()
                logger.warning("channel layer receive failed; retrying in 1 s", exc_info=True)
                await asyncio.sleep(1)
                continue
            self.events_received += 1
            metrics.gateway_event_received(kind=event.get("type"))
            try:
                await self.handle(event)
            except Exception:
                logger.exception("could not handle a %s event", event.get("type"))

    async def handle(self, event: dict[str, Any]) -> None:
        # Metrics: sockets are counted in local ints and recorded once per event, never per socket.
        kind = event.get("type")
        if kind == "deliver":
            room_id, seq, msg_id, frame = event["room_id"], event["seq"], event["msg_id"], event["frame"]
            resend = bool(event.get("resend"))
            handed = acks = 0
            for user_id in event["users"]:
                for socket in hub.sockets_of(user_id):
                    await socket.deliver(room_id=room_id, seq=seq, msg_id=msg_id, frame=frame, resend=resend)
                    handed += 1
            ack, sender = event.get("ack"), event.get("sender_id")
            if ack and sender:
                for socket in hub.sockets_of(sender):
                    await socket.write(ack)
                    acks += 1
            metrics.gateway_event_delivered(
                frame_type="chat", frames=handed, acks=acks, sent_at_ms=event.get("sent_at_ms")
            )
        elif kind in {"notice", "forward"}:
            frame = event["frame"]
            handed = 0
            for user_id in event["users"]:
                for socket in hub.sockets_of(user_id):
                    await socket.write(frame)
                    handed += 1
            metrics.gateway_event_delivered(frame_type=kind, frames=handed)
        elif kind == "close":
            for user_id in event["users"]:
                for socket in hub.sockets_of(user_id):
                    if socket.close_socket is not None:
                        await socket.close_socket(event["code"])
        elif kind == "sync":
            # A database read: off the receiver, so other sockets' frames keep flowing.
            self.spawn(self.resync_users(event["users"]))
        else:
            logger.warning("unknown gateway event type %r dropped", kind)

    async def resync_users(self, user_ids: list[int]) -> None:
        local = [u for u in user_ids if hub.has_user(u)]
        if not local:
            return
        positions = await db(send_selectors.positions_for_users)(user_ids=local)
        for user_id in local:
            for socket in hub.sockets_of(user_id):
                await socket.resync(positions.get(user_id, {}))

    # --- timers -------------------------------------------------------------------------------

    async def _timer_loop(self) -> None:
        period = settings.DELIVERY_CONFIRM_FLUSH_SECONDS
        while True:
            await asyncio.sleep(period)
            try:
                now = time.monotonic()
                timeout = settings.DELIVERY_REDELIVERY_SECONDS
                redelivered = 0
                for connection in list(self._watched):
                    if connection.closed:
                        self._watched.discard(connection)
                        continue
                    redelivered += await connection.redeliver_due(now, timeout)
                    if connection.ack_mode is not None and not connection.has_pending():
                        self._watched.discard(connection)
                if redelivered:
                    metrics.REDELIVERIES.inc(redelivered)
                await self.flush_confirmations()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("delivery timer failed")

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(settings.DELIVERY_SWEEP_SECONDS)
            try:
                users = [s.user_id for s in hub.all_sockets()]
                for start in range(0, len(users), 2000):
                    await self.resync_users(sorted(set(users[start : start + 2000])))
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("delivery sweep failed", exc_info=True)


engine = DeliveryEngine()
