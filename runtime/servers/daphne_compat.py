"""What daphne needs beyond ASGI: the protocol's own close codes, and the `chat.probe`
extension (`gateway.probes`).

- Close codes: daphne hands `websocket.close` to autobahn's `sendClose`, which accepts only
  1000 and 3000-4999 from applications and raises for 1001 (going away), 1008 (policy), 1009
  (too big), 1011, 1012 (restarted) and 1013 (try again later), which the gateway uses. autobahn's
  `sendCloseFrame` sends any code with the same state handling, so those codes go through it.
- Probes: every WebSocket scope offers the extension; `chat.probe` becomes autobahn's
  `sendPing` (twisted writes it after every frame written before it), the pong comes back to
  the application as `chat.probe.answered`, and `chat.cutoff` starts autobahn's closing
  handshake at once, whose timeout drops a client that does not answer.
"""

from __future__ import annotations

from typing import Any

from gateway.probes import CUTOFF, CUTOFF_GRACE_SECONDS, PROBE, PROBE_ANSWERED, PROBE_EXTENSION, probe_id, probe_payload

_PROTOCOL_CODES = {1001, 1008, 1009, 1011, 1012, 1013}


def install() -> None:
    try:
        from daphne.server import Server
        from daphne.ws_protocol import WebSocketProtocol
    except ImportError:  # pragma: no cover - daphne is a dependency, but not every server is daphne
        return
    if getattr(WebSocketProtocol.serverClose, "_chat_patched", False):
        return
    original_close = WebSocketProtocol.serverClose
    original_reply = WebSocketProtocol.handle_reply
    original_create = Server.create_application

    def server_close(self: Any, code: int | None = None) -> None:
        if code in _PROTOCOL_CODES:
            self.sendCloseFrame(code=code)
        else:
            original_close(self, code=code)

    def handle_reply(self: Any, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == PROBE:
            if self.state == self.STATE_OPEN:
                self.sendPing(probe_payload(message["id"]))
        elif kind == CUTOFF:
            if self.state == self.STATE_OPEN:
                self.closeHandshakeTimeout = CUTOFF_GRACE_SECONDS
                self.sendClose(code=message.get("code", 1000))
        else:
            original_reply(self, message)

    def on_pong(self: Any, payload: bytes) -> None:
        answered = probe_id(bytes(payload))
        if answered is not None and getattr(self, "application_queue", None) is not None and not self.muted:
            self.application_queue.put_nowait({"type": PROBE_ANSWERED, "id": answered})

    def create_application(self: Any, protocol: Any, scope: dict[str, Any]) -> Any:
        if scope.get("type") == "websocket":
            scope = {**scope, "extensions": {**(scope.get("extensions") or {}), PROBE_EXTENSION: {}}}
        return original_create(self, protocol, scope)

    server_close._chat_patched = True  # type: ignore[attr-defined]
    WebSocketProtocol.serverClose = server_close
    WebSocketProtocol.handle_reply = handle_reply
    WebSocketProtocol.onPong = on_pong
    Server.create_application = create_application
