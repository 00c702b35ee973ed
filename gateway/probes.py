"""The `chat.probe` ASGI extension: what the consumer asks of the server to know what a client
has read, and to cut off one that does not read. The servers of `manage.py serve` implement it
(`runtime/servers/`); a server without it leaves `chat.probe` out of the scope's `extensions`
and the gateway falls back to counting a frame as read once written.

- The application sends `{"type": "chat.probe", "id": n}`: the server writes a WebSocket ping
  whose payload names `n`, after every frame the application sent before, without waiting for
  the socket to drain. When the client's pong comes back the server sends the application
  `{"type": "chat.probe.answered", "id": n}`. (A client answers a ping once it has read what
  came before it.)
- The application sends `{"type": "chat.cutoff", "code": c}`: the server writes the close frame
  at once (behind what is already buffered), writes nothing more, reports the disconnect, and
  drops the connection if the client has not completed the close within CUTOFF_GRACE_SECONDS.

And `chat.write` (uvicorn as `manage.py serve` runs it): `scope["extensions"]["chat.write"]`
holds `{"text": write, "texts": write_many}`. `write(text)` is a plain function that writes a
text frame at once and returns True, or returns False, writing nothing, when the frame must go
through `websocket.send` instead (the client is not reading, the socket is closing, or not yet
accepted). `write_many(texts)` does the same for several frames, in order, in one write to the
socket, all or none. A fan-out writes most frames this way, with no coroutine per frame; a batch
of live frames (presence) reaches each socket in one write; the writer keeps the order
(`SocketWriter.write_at_once`, `write_many_at_once`).
"""

from __future__ import annotations

PROBE_EXTENSION = "chat.probe"
WRITE_EXTENSION = "chat.write"
PROBE = "chat.probe"
PROBE_ANSWERED = "chat.probe.answered"
CUTOFF = "chat.cutoff"
CUTOFF_GRACE_SECONDS = 2.0
_PREFIX = b"cp"


def probe_payload(probe_id: int) -> bytes:
    """The ping payload of probe `probe_id` (10 bytes; keepalive pings use other payloads)."""
    return _PREFIX + probe_id.to_bytes(8, "big")


def probe_id(payload: bytes) -> int | None:
    """The probe a pong answers, or None for any other pong."""
    if len(payload) == 10 and payload.startswith(_PREFIX):
        return int.from_bytes(payload[2:], "big")
    return None
