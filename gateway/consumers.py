"""The WebSocket endpoint `/api/ws` (API.md §5)."""

from __future__ import annotations

import logging
import time
from typing import Any

from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from chatproject.coalescer import QueueFull
from chatproject.exceptions import ApplicationError, NotAuthenticated
from chatproject.frames import (
    CLOSE_BAD_DEVICE,
    CLOSE_BAD_TOKEN,
    CLOSE_BANNED,
    CLOSE_POLICY,
    CLOSE_TOO_BIG,
    CLOSE_TOO_MANY,
    CLOSE_TOO_SLOW,
    CLOSE_TRY_AGAIN,
    MAX_FRAME_BYTES,
    decode,
    encode,
    error_frame,
    pong_frame,
    welcome_frame,
)
from chatproject.ids import is_id
from chatproject.offloop import off_loop
from gateway import services
from gateway.auth import handshake_credentials, origin_allowed
from gateway.delivery import Connection, DeliveryEngine, delivery_engine
from gateway.handshakes import handshakes
from gateway.probes import CUTOFF, PROBE, PROBE_EXTENSION, WRITE_EXTENSION
from gateway.services import ClosedSocket, SocketRequest
from meta.tokens import UserBanned, access_token_claims
from send.positions import device_id_valid

logger = logging.getLogger(__name__)

# A socket remembers, for a few seconds, the rooms its `read` and `typing` frames were refused
# for: a client repeating such a frame costs no query each time (it still gets its error).
REFUSAL_SECONDS = 5.0
REFUSALS_REMEMBERED = 16


class ChatConsumer(AsyncWebsocketConsumer):
    """One socket: authenticates the handshake, hands the socket to the delivery engine, and
    turns the client's frames (ack, ping) into calls on its `Connection`. Thin: ordering,
    confirmation and redelivery are the engine's."""

    connection: Connection | None = None
    engine: DeliveryEngine
    # room → (until, code, msg): created at the first refusal (most sockets never have one).
    _refusals: dict[int, tuple[float, int, str]] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Channels' loop, for a consumer with no channel layer (no channel per socket: the
        gateway's one channel feeds every socket here): each message the server hands
        over is dispatched before the next is received. Channels' own loop (`await_many_dispatch`)
        waits on a task per receive, made for reading a layer channel too: an idle socket then
        holds a task, a waiter and their frames (about 2 KB each, thousands of sockets), and every
        client frame costs a task."""
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels runs aclose_old_connections (a thread hop) before every handler; these
        # handlers touch the database only through `off_loop()`, which closes connections itself.
        handler = getattr(self, message["type"].replace(".", "_"), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        """Accept an authenticated user's socket (else refuse it with its close code: 1013 on a
        process that is no gateway, when the database fails or too many handshakes wait, 1008
        for a foreign origin, 4401 for a bad token, 4403 for a banned user, 4409 beyond the
        per-user limit, 4400 for a malformed device id), record its route (and device) in a
        batch with other handshakes, then write the welcome frame and everything the socket is
        owed, before any newer live frame."""
        credentials = handshake_credentials(self.scope)
        self.engine = engine = delivery_engine()
        if engine.gateway_id is None:
            # Not a gateway process: its sockets would have no route. Clients find a gateway
            # with GET /registry/gateway/available.
            await self._refuse(CLOSE_TRY_AGAIN, credentials.subprotocol)
            return
        if not origin_allowed(self.scope):
            await self._refuse(CLOSE_POLICY, credentials.subprotocol)
            return
        if not credentials.token:
            await self._refuse(CLOSE_BAD_TOKEN, credentials.subprotocol)
            return
        if credentials.device_id is not None and not device_id_valid(credentials.device_id):
            await self._refuse(CLOSE_BAD_DEVICE, credentials.subprotocol)
            return
        try:
            # The signature and expiry, on the loop: the user's row is read in the batch.
            user_id = access_token_claims(credentials.token)["user_id"]
        except NotAuthenticated:
            await self._refuse(CLOSE_BAD_TOKEN, credentials.subprotocol)
            return
        hub = engine.hub
        if len(hub.sockets_of(user_id)) >= settings.WS_MAX_CONNECTIONS_PER_USER:
            await self._refuse(CLOSE_TOO_MANY, credentials.subprotocol)
            return
        engine.ensure_started()
        await self.accept(subprotocol=credentials.subprotocol)
        extensions = self.scope.get("extensions") or {}
        write = extensions.get(WRITE_EXTENSION) or {}
        connection = engine.connection(
            user_id=user_id,
            send_text=self._send_text,
            send_probe=self._send_probe if PROBE_EXTENSION in extensions else None,
            write_now=write.get("text"),
            write_many_now=write.get("texts"),
            ack_mode=credentials.ack_mode,
            close_socket=self._close_with,
        )
        self.connection = connection
        # Into the hub before the batch records the route and reads the positions, so no push
        # falls between the two (it is held until the welcome); the welcome only after it, so
        # that whatever is sent once the client has the welcome comes live.
        hub.add(connection)
        request = SocketRequest(
            user_id=user_id, connection_id=connection.connection_id, device_id=credentials.device_id
        )
        try:
            opened = await handshakes().open(request)
        except (NotAuthenticated, QueueFull) as refusal:
            # Nothing was recorded for this socket: its close has nothing to remove.
            self.connection = None
            if isinstance(refusal, QueueFull):
                code = CLOSE_TRY_AGAIN
            else:
                code = CLOSE_BANNED if isinstance(refusal, UserBanned) else CLOSE_BAD_TOKEN
            await self._drop(connection, code)
            return
        except Exception:
            # The database is unreachable or overloaded: not the client's fault, try later.
            logger.warning("could not open the socket of user %s; closed with 1013", user_id, exc_info=True)
            await self._drop(connection, CLOSE_TRY_AGAIN)
            return
        connection.device = opened.device
        if opened.came_online:
            engine.live.came_online(user_id)
        await connection.start(encode(welcome_frame()))
        # In a task of its own: a long backlog waits for the client to prove it read the first
        # batches, and those proofs (and the client's acks) reach this consumer as messages.
        engine.spawn(connection.initial_sync(opened.positions))

    async def _drop(self, connection: Connection, code: int) -> None:
        self.engine.hub.remove(connection)
        connection.closed = True
        await self.close(code=code)

    async def _refuse(self, code: int, subprotocol: str | None) -> None:
        await self.accept(subprotocol=subprotocol)
        await self.close(code=code)

    async def _close_with(self, code: int) -> None:
        if code == CLOSE_TOO_SLOW and PROBE_EXTENSION in (self.scope.get("extensions") or {}):
            # The client is not reading: a plain close would wait behind what it has not read.
            await self.base_send({"type": CUTOFF, "code": code})
        else:
            await self.close(code=code)

    async def _send_text(self, text: str) -> None:
        await self.base_send({"type": "websocket.send", "text": text})

    async def _send_probe(self, probe_id: int) -> None:
        await self.base_send({"type": PROBE, "id": probe_id})

    async def chat_probe_answered(self, message: dict[str, Any]) -> None:
        """The server reports the pong of probe `id`: the client has read what came before it."""
        if self.connection is not None:
            self.connection.probe_answered(message["id"])

    async def websocket_receive(self, message: dict[str, Any]) -> None:
        """A client frame: `ack` and `ping` act on the connection, `read` and `typing` are passed
        on (API.md §7.3, §7.4); anything else gets an `error` frame and the socket stays open; a
        frame over 64 KiB closes it with 1009."""
        connection = self.connection
        if connection is None:
            return
        raw = message.get("text")
        if raw is None:
            raw_bytes = message.get("bytes") or b""
            if len(raw_bytes) > MAX_FRAME_BYTES:
                await self.close(code=CLOSE_TOO_BIG)
                return
            await self._error(connection, 400, "binary frames are not supported; send JSON text")
            return
        if len(raw) > MAX_FRAME_BYTES // 4 and len(raw.encode()) > MAX_FRAME_BYTES:
            await self.close(code=CLOSE_TOO_BIG)
            return
        try:
            frame = decode(raw)
        except ValueError:
            await self._error(connection, 400, "the frame is not valid JSON")
            return
        if not isinstance(frame, dict):
            await self._error(connection, 400, "a frame must be a JSON object")
            return
        kind = frame.get("type")
        connection.first_frame_seen(is_ack=kind == "ack")
        if kind == "ping":
            await connection.write(encode(pong_frame()))
        elif kind == "ack":
            await self._ack(connection, frame)
        elif kind == "read":
            await self._read(connection, frame)
        elif kind == "typing":
            await self._typing(connection, frame)
        elif isinstance(kind, str):
            await self._error(connection, 400, f"unknown frame type {kind!r}; send ack, ping, read or typing")
        else:
            await self._error(connection, 400, "a frame needs a string `type` (ack, ping, read or typing)")

    async def _ack(self, connection: Connection, frame: dict[str, Any]) -> None:
        if "id" in frame:
            seq = frame.get("seq")
            if not is_id(frame["id"]) or (seq is not None and not is_id(seq)):
                await self._error(connection, 400, "ack: `id` must be a message id (and `seq` its frame's seq)")
                return
            connection.ack_one(frame["id"], seq)
            return
        room_id, seq = frame.get("room_id"), frame.get("seq")
        if not is_id(room_id) or not is_id(seq, minimum=0):
            await self._error(connection, 400, "ack: send {room_id, seq} (cumulative) or {id} (one message)")
            return
        connection.ack_cumulative(room_id, seq)

    async def _read(self, connection: Connection, frame: dict[str, Any]) -> None:
        """The client has read the room up to `seq`: kept in memory, written by the engine's
        timer in a batch (never one UPDATE per frame). A seq the socket was written needs no
        database; a higher one is checked against the room's last."""
        room_id, seq = frame.get("room_id"), frame.get("seq")
        if not is_id(room_id) or not is_id(seq, minimum=0):
            await self._error(connection, 400, "read: send {room_id, seq}")
            return
        cursor = connection.rooms.get(room_id)
        if cursor is None or cursor.sent is None or seq > cursor.sent:
            last = await self._room_last_seq(connection, room_id)
            if last is None:
                return
            if seq > last:
                await self._error(connection, 400, f"read: seq {seq} is above the room's last seq ({last})")
                return
        self.engine.live.read(
            user_id=connection.user_id, room_id=room_id, seq=seq, connection_id=connection.connection_id
        )

    async def _typing(self, connection: Connection, frame: dict[str, Any]) -> None:
        """The client is typing in the room: passed on to the other members at most once a
        second (the rest are dropped silently); typing in a room one is not in is a 403."""
        room_id = frame.get("room_id")
        if not is_id(room_id):
            await self._error(connection, 400, "typing: send {room_id}")
            return
        if room_id not in connection.rooms and await self._room_last_seq(connection, room_id) is None:
            return
        live = self.engine.live
        if live.typing_allowed(user_id=connection.user_id, room_id=room_id, now=time.monotonic()):
            live.spawn(live.typing(user_id=connection.user_id, room_id=room_id))

    async def _room_last_seq(self, connection: Connection, room_id: int) -> int | None:
        """The room's last seq for a member; None after an `error` frame (403/404). A refusal
        stands for REFUSAL_SECONDS, unless the socket is written a frame of that room meanwhile
        (the user joined it)."""
        now = time.monotonic()
        refused = self._refusals.get(room_id) if self._refusals else None
        if refused is not None and refused[0] > now and room_id not in connection.rooms:
            await self._error(connection, refused[1], refused[2])
            return None
        try:
            return await off_loop(services.room_last_seq)(user_id=connection.user_id, room_id=room_id)
        except ApplicationError as error:
            if self._refusals is None or len(self._refusals) >= REFUSALS_REMEMBERED:
                self._refusals = {}
            self._refusals[room_id] = (now + REFUSAL_SECONDS, error.status, error.msg)
            await self._error(connection, error.status, error.msg)
            return None

    async def _error(self, connection: Connection, code: int, msg: str) -> None:
        await connection.write(encode(error_frame(code=code, msg=msg)))

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        """The socket is gone: drop it from the hub, write what it confirmed now (so a quick
        reconnect is not owed it again), and remove its route."""
        connection = self.connection
        if connection is not None:
            engine = self.engine
            connection.closed = True
            engine.hub.remove(connection)
            await engine.flush_confirmations()
            closed = ClosedSocket(
                user_id=connection.user_id, connection_id=connection.connection_id, device=connection.device
            )
            try:
                if await handshakes().close(closed):
                    engine.live.went_away(connection.user_id)
            except Exception:
                logger.warning("could not record the disconnect of user %s", connection.user_id, exc_info=True)
        raise StopConsumer()
