"""Let daphne close sockets with the protocol's own close codes.

daphne hands `websocket.close` to autobahn's `sendClose`, which accepts only 1000 and
3000-4999 from applications and raises for 1001 (going away), 1008 (policy), 1009 (too big),
1011 and 1013 (try again later), all of which API.md §5.1 uses. autobahn's `sendCloseFrame`
sends any code with the same state handling, so those codes go through it.
"""

from __future__ import annotations

from typing import Any

_PROTOCOL_CODES = {1001, 1008, 1009, 1011, 1013}


def install() -> None:
    try:
        from daphne.ws_protocol import WebSocketProtocol
    except ImportError:  # pragma: no cover - daphne is a dependency, but not every server is daphne
        return
    if getattr(WebSocketProtocol.serverClose, "_chat_patched", False):
        return
    original = WebSocketProtocol.serverClose

    def server_close(self: Any, code: int | None = None) -> None:
        if code in _PROTOCOL_CODES:
            self.sendCloseFrame(code=code)
        else:
            original(self, code=code)

    server_close._chat_patched = True  # type: ignore[attr-defined]
    WebSocketProtocol.serverClose = server_close
