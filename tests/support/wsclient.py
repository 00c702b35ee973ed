"""A WebSocket client for cross-process tests, written the way the original clients are:
websocket-client, the token in an `Authorization` header, the gateway from
`/registry/gateway/available` (`data.address`, `data.port`). It reconnects through the
registry when its gateway goes away, and keeps every frame it receives."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from typing import Any

import websocket

from tests.support.servers import ServerProcess


class ChatClient:
    def __init__(
        self,
        *,
        name: str,
        token: str,
        user_id: int,
        registry: ServerProcess,
        acks: bool,
        gateway: ServerProcess | None = None,
    ) -> None:
        self.name = name
        self.gateway = gateway  # connect to this gateway rather than the one the registry names
        self.token = token
        self.user_id = user_id
        self.registry = registry
        self.acks = acks
        self.frames: list[dict[str, Any]] = []
        self.gateways: list[str] = []
        self.connected_at: list[float] = []  # time.monotonic() of each welcome
        self.connections = 0
        self._ws: websocket.WebSocket | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"client-{name}", daemon=True)
        self._lock = threading.Lock()

    # --- what the client holds --------------------------------------------------------------

    def chats(self) -> list[dict[str, Any]]:
        """Every chat frame received, batches unpacked, in arrival order (duplicates kept)."""
        with self._lock:
            frames = list(self.frames)
        out: list[dict[str, Any]] = []
        for frame in frames:
            if frame.get("type") == "chat":
                out.append(frame)
            elif frame.get("type") == "batch":
                out.extend(frame["payload"])
        return out

    def unique_chats(self, room_id: int) -> list[dict[str, Any]]:
        """Chat frames of a room with duplicate ids dropped (first kept), in arrival order."""
        seen: set[int] = set()
        out = []
        for frame in self.chats():
            if frame["room_id"] == room_id and frame["id"] not in seen:
                seen.add(frame["id"])
                out.append(frame)
        return out

    def timeline(self, room_id: int) -> list[dict[str, Any]]:
        """The room's `chat` and `update` frames, batches unpacked, each seq once (the first
        kept), in arrival order."""
        with self._lock:
            frames = list(self.frames)
        seen: set[int] = set()
        out = []
        for frame in frames:
            for entry in frame["payload"] if frame.get("type") == "batch" else [frame]:
                if entry.get("type") in {"chat", "update"} and entry["room_id"] == room_id and entry["seq"] not in seen:
                    seen.add(entry["seq"])
                    out.append(entry)
        return out

    # --- connection -----------------------------------------------------------------------

    def start(self) -> ChatClient:
        self._connect()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._ws is not None:
            with contextlib.suppress(Exception):
                self._ws.close()
        self._thread.join(timeout=5)

    def _connect(self, deadline_seconds: float = 20.0) -> None:
        deadline = time.monotonic() + deadline_seconds
        while not self._stop.is_set():
            try:
                status, body = self.registry.get(f"/registry/gateway/available?user_id={self.user_id}")
                if status == 200:
                    data = body["data"]
                    if self.gateway is not None:
                        data = {"address": "127.0.0.1", "port": self.gateway.port, "gateway_id": self.gateway.name}
                    url = f"ws://{data['address']}:{data['port']}/api/ws" + ("?ack=1" if self.acks else "")
                    ws = websocket.create_connection(
                        url, header=[f"Authorization: Bearer {self.token}"], timeout=5, enable_multithread=True
                    )
                    welcome = json.loads(ws.recv())
                    assert welcome["type"] == "system", welcome
                    ws.settimeout(0.5)
                    self._ws = ws
                    self.gateways.append(data["gateway_id"])
                    self.connected_at.append(time.monotonic())
                    self.connections += 1
                    return
            except (OSError, websocket.WebSocketException):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"client {self.name} could not reconnect within {deadline_seconds} s")
            time.sleep(0.2)

    def _run(self) -> None:
        while not self._stop.is_set():
            ws = self._ws
            try:
                raw = ws.recv() if ws is not None else None
            except websocket.WebSocketTimeoutException:
                continue
            except (OSError, websocket.WebSocketException):
                raw = None
            if not raw:
                if self._stop.is_set():
                    return
                self._connect()  # the gateway went away: find another through the registry
                continue
            frame = json.loads(raw)
            with self._lock:
                self.frames.append(frame)
            if self.acks and frame.get("type") in {"chat", "update", "batch"}:
                entries = frame["payload"] if frame["type"] == "batch" else [frame]
                last = entries[-1]
                with contextlib.suppress(OSError, websocket.WebSocketException):
                    ws.send(json.dumps({"type": "ack", "room_id": last["room_id"], "seq": last["seq"]}))
