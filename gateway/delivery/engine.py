"""The process-wide half of delivery: one engine per gateway process, on the event loop.

- A receiver task reads this gateway's channel-layer channel (`chatproject.bus`) and fans each
  event out to the local sockets in process (the `Hub`): no database work, no thread hop,
  frames already encoded once per event.
- Confirmations from every socket are gathered in memory and written to the database in
  batches (`flush_confirmations`, every DELIVERY_CONFIRM_FLUSH_SECONDS and when a socket
  closes), never one write per frame.
- A timer writes again what ack-mode sockets left unconfirmed (DELIVERY_REDELIVERY_SECONDS),
  asks sockets holding unproven frames to prove what they read (a probe, see `writer`), and
  cuts off a socket whose budget stayed full for DELIVERY_SLOW_SECONDS (close 4008): what it had
  not provably read stays owed.
- A sweep compares, every DELIVERY_SWEEP_SECONDS, the rooms' last seq in the database with what
  each local socket was written, so a push lost anywhere (Redis restart, full channel, a
  crashed send process) is still delivered while the member stays connected.

The runtime tells the engine which gateway it is (`configure`); a process that is no gateway
has no gateway id and its sockets are refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings

from chatproject import metrics as core_metrics
from chatproject.bus import gateway_channel
from chatproject.frames import CLOSE_TOO_SLOW
from chatproject.layer_batches import batches_supported, receive_batch
from gateway import metrics
from gateway.delivery.connection import Connection
from gateway.delivery.reorder import RoomOrder
from gateway.delivery.store import DeliveryStore
from gateway.hub import Hub
from gateway.live import LiveState

logger = logging.getLogger(__name__)

SWEEP_CHUNK = 2000
# Events taken from the channel per round trip to Redis, and how long one blocking wait lasts.
RECEIVE_BATCH = 64
RECEIVE_WAIT_SECONDS = 5


class DeliveryEngine:
    def __init__(self, *, hub: Hub, store: DeliveryStore) -> None:
        self.hub = hub
        self.store = store
        # This process's gateway id (None: not a gateway), and how to register it again when
        # the registry has forgotten it (blocking; run off the loop). Set by the runtime.
        self.gateway_id: str | None = None
        self.register_again: Callable[[], None] | None = None
        self.events_received = 0
        self.cutoffs = 0
        self.budget_bytes = settings.DELIVERY_MAX_UNPROVEN_BYTES
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task] = []
        self._spawned: set[asyncio.Task] = set()
        self._confirmed: dict[tuple[int, int], int] = {}
        self._device_confirmed: dict[tuple[int, int], int] = {}
        self._watched: set[Connection] = set()
        self._proving: set[Connection] = set()
        self.live = LiveState(self.spawn)
        self.order: RoomOrder | None = None  # set when the engine starts

    def configure(self, *, gateway_id: str | None, register_again: Callable[[], None] | None = None) -> None:
        """Make this engine gateway `gateway_id` (None: the process is no gateway)."""
        self.gateway_id = gateway_id
        self.register_again = register_again

    def connection(self, **kwargs: Any) -> Connection:
        """A new socket's delivery state, bound to this engine."""
        return Connection(self, **kwargs)

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
        self._confirmed, self._device_confirmed = {}, {}
        self._watched, self._proving = set(), set()
        self.budget_bytes = settings.DELIVERY_MAX_UNPROVEN_BYTES
        hold = settings.DELIVERY_REORDER_SECONDS
        self.order = RoomOrder(hold_seconds=hold) if hold > 0 else None
        self._tasks = [
            loop.create_task(self._receive_loop(), name="gateway-receiver"),
            loop.create_task(self._timer_loop(), name="gateway-timers"),
            loop.create_task(self._sweep_loop(), name="gateway-sweep"),
        ]

    async def stop(self) -> None:
        """Stop the receiver and timers, then write the confirmations and reads still in memory."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        await self.flush_confirmations()
        await self.live.flush_reads()

    async def shutdown(self, *, code: int) -> None:
        """The server is going away: close every local socket with `code` (1001), then stop,
        writing the confirmations still in memory."""
        await self.close_all(code=code)
        await self.stop()

    async def close_all(self, *, code: int) -> int:
        """Close every local socket with `code`; returns how many there were."""
        sockets = self.hub.all_sockets()
        logger.info("closing %d sockets with %d", len(sockets), code)
        for socket in sockets:
            if socket.close_socket is not None and not socket.closed:
                try:
                    await socket.close_socket(code)
                except Exception:
                    logger.warning("could not close a socket of user %s", socket.user_id, exc_info=True)
        return len(sockets)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run `coro` as a task of the engine; a failure is logged, never lost silently."""
        task = asyncio.ensure_future(coro)
        self._spawned.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task) -> None:
        self._spawned.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("delivery task failed", exc_info=task.exception())

    # --- confirmations --------------------------------------------------------------------

    def confirm(self, user_id: int, room_id: int, seq: int, *, device: int | None = None) -> None:
        """Record in memory that `user_id` (and its device `device`, when the socket named one)
        has room `room_id` up to `seq` (never lowered)."""
        key = (user_id, room_id)
        if seq > self._confirmed.get(key, 0):
            self._confirmed[key] = seq
        if device is not None:
            key = (device, room_id)
            if seq > self._device_confirmed.get(key, 0):
                self._device_confirmed[key] = seq

    async def flush_confirmations(self) -> None:
        """Write the confirmations gathered so far in one batch; on failure they are kept for
        the next flush."""
        if not self._confirmed and not self._device_confirmed:
            return
        users, self._confirmed = self._confirmed, {}
        devices, self._device_confirmed = self._device_confirmed, {}
        try:
            await self.store.confirmations_record(confirmed=users, device_confirmed=devices)
        except Exception:
            logger.warning("could not record %d confirmations; will retry", len(users), exc_info=True)
            for key, seq in users.items():
                if seq > self._confirmed.get(key, 0):
                    self._confirmed[key] = seq
            for key, seq in devices.items():
                if seq > self._device_confirmed.get(key, 0):
                    self._device_confirmed[key] = seq

    def watch(self, connection: Connection) -> None:
        """Check `connection` for overdue acks at the next timer tick."""
        self._watched.add(connection)

    def track_proofs(self, connection: Connection) -> None:
        """`connection` holds frames not yet proven read: probe it at the next timer tick."""
        self._proving.add(connection)

    # --- the event path -------------------------------------------------------------------

    async def _receive_loop(self) -> None:
        layer = get_channel_layer()
        channel = gateway_channel(self.gateway_id or "")
        batches = batches_supported(layer)  # Redis: what waits in one round trip
        while True:
            try:
                if batches:
                    events = await receive_batch(layer, channel, most=RECEIVE_BATCH, wait_seconds=RECEIVE_WAIT_SECONDS)
                else:
                    events = [await layer.receive(channel)]
            except asyncio.CancelledError:
                raise
            except Exception:
                core_metrics.CHANNEL_LAYER_RECEIVE_ERRORS.inc()
                logger.warning("channel layer receive failed; retrying in 1 s", exc_info=True)
                await asyncio.sleep(1)
                continue
            for event in events:
                self.events_received += 1
                kind = event.get("type")
                metrics.event_received(kind=kind)
                try:
                    if kind == "deliver" and self.order is not None:
                        await self._in_order(event)
                    else:
                        await self.handle(event)
                except Exception:
                    logger.exception("could not handle a %s event", kind)

    async def _in_order(self, event: dict[str, Any]) -> None:
        """`handle` a deliver event, put back in its room's seq order (`gateway.delivery.reorder`)."""
        order = self.order
        ready, waits = order.arrive(event, time.monotonic())
        if waits:
            asyncio.get_running_loop().call_later(order.hold_seconds, self._release_held)
        await self._hand(ready)

    def _release_held(self) -> None:
        """The wait for a room's missing event is over: hand what was held behind it."""
        if self.order is None:
            return
        ready = self.order.due(time.monotonic())
        if ready:
            self.spawn(self._hand(ready))

    async def _hand(self, events: list[dict[str, Any]]) -> None:
        """`handle` each event in turn; one that fails is logged and does not hold up the rest."""
        for event in events:
            try:
                await self.handle(event)
            except Exception:
                logger.exception("could not handle a %s event", event.get("type"))

    async def handle(self, event: dict[str, Any]) -> None:
        """Hand one bus event to the local sockets of its users (`chatproject.bus` event types).

        `deliver` goes through each socket's ordering (`Connection.deliver`), and its ack frame to
        the sender's sockets; `notice` and `forward` frames are written as they are (live only);
        `close` closes the users' sockets with its code; `sync` reads what the users are owed, in
        a task of its own so that other sockets' frames keep flowing. Metrics are counted in
        local integers and recorded once per event, never per socket.
        """
        kind = event.get("type")
        sockets_of = self.hub.sockets_of
        if kind == "deliver":
            room_id, seq, msg_id, frame = event["room_id"], event["seq"], event["msg_id"], event["frame"]
            resend, update = bool(event.get("resend")), bool(event.get("update"))
            # Users who may not see the target of an update get its frame without it.
            hidden_frame = event.get("hidden_frame")
            hidden = set(event.get("hidden_users") or ()) if hidden_frame is not None else set()
            handed = acks = 0
            for user_id in event["users"]:
                text = hidden_frame if user_id in hidden else frame
                for socket in sockets_of(user_id):
                    # Most sockets take the frame at once; the others get `deliver`'s care.
                    if not socket.deliver_at_once(room_id, seq, msg_id, text, update):
                        await socket.deliver(
                            room_id=room_id, seq=seq, msg_id=msg_id, frame=text, resend=resend, update=update
                        )
                    handed += 1
            ack, sender = event.get("ack"), event.get("sender_id")
            if ack and sender:
                for socket in sockets_of(sender):
                    if not socket.write_at_once(ack):
                        await socket.write(ack)
                    acks += 1
            metrics.event_delivered(frame_type="chat", frames=handed, acks=acks, sent_at_ms=event.get("sent_at_ms"))
        elif kind in {"notice", "forward"}:
            frame = event["frame"]
            handed = 0
            for user_id in event["users"]:
                for socket in sockets_of(user_id):
                    if not socket.write_at_once(frame):
                        await socket.write(frame)
                    handed += 1
            metrics.event_delivered(frame_type=kind, frames=handed)
        elif kind == "frames":
            # A batch of live frames (presence, read receipts): each socket's share, in the
            # batch's order, goes out in one write.
            shares: dict[Connection, list[str]] = {}
            for text, users, skip in event["items"]:
                for user_id in users:
                    for socket in sockets_of(user_id):
                        if socket.connection_id != skip:
                            share = shares.get(socket)
                            if share is None:
                                shares[socket] = [text]
                            else:
                                share.append(text)
            handed = 0
            for socket, share in shares.items():
                handed += len(share)
                if len(share) == 1:
                    if not socket.write_at_once(share[0]):
                        await socket.write(share[0])
                elif not socket.write_many_at_once(share):
                    for text in share:
                        await socket.write(text)
            metrics.event_delivered(frame_type="live", frames=handed)
        elif kind == "close":
            for user_id in event["users"]:
                for socket in sockets_of(user_id):
                    if socket.close_socket is not None:
                        await socket.close_socket(event["code"])
        elif kind == "sync":
            self.spawn(self.resync_users(event["users"]))
        else:
            logger.warning("unknown gateway event type %r dropped", kind)

    async def resync_users(self, user_ids: list[int]) -> None:
        """Deliver to the local sockets of `user_ids` whatever the database says they are owed."""
        local = [u for u in user_ids if self.hub.has_user(u)]
        if not local:
            return
        positions = await self.store.positions(user_ids=local)
        for user_id in local:
            for socket in self.hub.sockets_of(user_id):
                await socket.resync(positions.get(user_id, {}))

    # --- timers -------------------------------------------------------------------------------

    async def _timer_loop(self) -> None:
        period = settings.DELIVERY_CONFIRM_FLUSH_SECONDS
        while True:
            await asyncio.sleep(period)
            try:
                now = time.monotonic()
                await self.prove_and_cut_off(now)
                await self.redeliver_due(now)
                await self.flush_confirmations()
                await self.live.flush_reads()
                await self.live.flush_presence()
                if self.order is not None:
                    self.order.forget_quiet(now)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("delivery timer failed")

    async def prove_and_cut_off(self, now: float) -> None:
        """Probe every socket holding unproven frames (one probe in flight each), and cut off a
        socket whose budget has stayed full for DELIVERY_SLOW_SECONDS, or holds twice its budget."""
        slow = settings.DELIVERY_SLOW_SECONDS
        for connection in list(self._proving):
            writer = connection.writer
            if writer.closed:
                self._proving.discard(connection)
                continue
            full_since = writer.full_since
            if (full_since is not None and now - full_since >= slow) or writer.over_budget(2.0):
                self._proving.discard(connection)
                await self.cut_off(connection)
                continue
            if writer.proven == writer.written and writer.unproven_bytes == 0:
                self._proving.discard(connection)
                continue
            await writer.probe()

    async def cut_off(self, connection: Connection) -> None:
        """Close a socket that does not read with 4008: it writes nothing more, and what it had
        not provably read stays owed (its next connection is sent it)."""
        self.cutoffs += 1
        metrics.SLOW_CONSUMERS.inc()
        logger.info(
            "user %s's socket cut off: %d bytes unread (budget %d)",
            connection.user_id,
            connection.writer.unproven_bytes,
            connection.writer.limit,
        )
        connection.closed = True
        if connection.close_socket is not None:
            try:
                await connection.close_socket(CLOSE_TOO_SLOW)
            except Exception:
                logger.info("could not close a slow socket of user %s", connection.user_id, exc_info=True)

    async def redeliver_due(self, now: float) -> int:
        """Write again, on every watched socket, what has waited DELIVERY_REDELIVERY_SECONDS for
        an ack; returns how many frames."""
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
        return redelivered

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(settings.DELIVERY_SWEEP_SECONDS)
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("delivery sweep failed", exc_info=True)

    async def sweep(self) -> None:
        """Compare every local user's rooms with the database, in chunks of users."""
        users = sorted({socket.user_id for socket in self.hub.all_sockets()})
        for start in range(0, len(users), SWEEP_CHUNK):
            await self.resync_users(users[start : start + SWEEP_CHUNK])
