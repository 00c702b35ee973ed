"""The limits of `chatproject.http_limits` and of WebSocket frames, inside uvicorn.

HTTP (httptools): uvicorn keeps whatever request line and headers a client sends, without a
bound. `LimitedHttpToolsProtocol` refuses a request line over 16 KiB with 414 and a head over
32 KiB (or a single header over 16 KiB) with 431, in the envelope; other malformed requests get
the envelope's 400 instead of uvicorn's plain text. Bodies need nothing here: uvicorn holds at
most 64 KiB of a body the application has not read, and `BodyLimitMiddleware` decides.

WebSocket (websockets, sans-I/O): a frame over `ws_max_size` makes the protocol send the close
frame (1009) and discard whatever follows, but uvicorn then closes the TCP connection at once,
while the client is still sending the frame: the client gets a reset and never reads the close
code. `LingeringWebSocketProtocol` keeps the connection open, discarding, until the client closes
or `LINGER_SECONDS` pass.

Memory per socket (`ChatWebSocketProtocol`): uvicorn's receive queue and writable event become
`runtime.servers.slim`'s `Inbox` and `Flag` (some 4 KB less per idle socket), `receive` awaits
the inbox's future rather than a coroutine of its own, and the handshake's response is let go
once it is sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

from chatproject.http_limits import (
    MAX_REQUEST_HEAD_BYTES,
    MAX_REQUEST_LINE_BYTES,
    REQUEST_HEAD_TOO_LARGE,
    REQUEST_LINE_TOO_LONG,
    raw_error_response,
)
from gateway.probes import (
    CUTOFF,
    CUTOFF_GRACE_SECONDS,
    PROBE,
    PROBE_ANSWERED,
    PROBE_EXTENSION,
    WRITE_EXTENSION,
    probe_id,
    probe_payload,
)
from runtime.servers.slim import Flag, Inbox

LINGER_SECONDS = 5.0
# `text_frame`'s memo: id(text) → (text, frame) for the texts framed lately. Holding the text
# keeps its id from being reused while it is here. Emptied when it holds FRAMES_HELD texts or
# FRAMES_HELD_BYTES of frames, so it stays small whatever is sent.
_frames: dict[int, tuple[str, bytes]] = {}
_frames_bytes = 0
FRAMES_HELD = 64
FRAMES_HELD_BYTES = 1 << 20


def text_frame(text: str) -> bytes:
    """A server's unmasked, unfragmented WebSocket text frame (RFC 6455 §5.2) carrying `text`.

    The engine hands the same `str` to every socket of a room's members, and a batch of live
    frames (presence) to many sockets, so the texts framed lately are kept and recognised by
    identity: a fan-out to a thousand sockets encodes and frames each text once."""
    global _frames_bytes
    held = _frames.get(id(text))
    if held is not None and held[0] is text:
        return held[1]
    payload = text.encode()
    size = len(payload)
    if size < 126:
        head = bytes((0x81, size))
    elif size < 1 << 16:
        head = bytes((0x81, 126)) + size.to_bytes(2, "big")
    else:
        head = bytes((0x81, 127)) + size.to_bytes(8, "big")
    frame = head + payload
    if len(_frames) >= FRAMES_HELD or _frames_bytes + len(frame) > FRAMES_HELD_BYTES:
        _frames.clear()
        _frames_bytes = 0
    _frames[id(text)] = (text, frame)
    _frames_bytes += len(frame)
    return frame


class _HeadTooLarge(Exception):
    def __init__(self, status: int, msg: str) -> None:
        super().__init__(msg)
        self.status = status
        self.msg = msg


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    _head_bytes = 0
    _refusal: _HeadTooLarge | None = None

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = 0

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        self._head_bytes += len(url)
        # The method and version take at most a few dozen bytes of the request line.
        if len(self.url) > MAX_REQUEST_LINE_BYTES - 32:
            self._refusal = _HeadTooLarge(414, REQUEST_LINE_TOO_LONG)
            raise self._refusal

    def on_header(self, name: bytes, value: bytes) -> None:
        size = len(name) + len(value) + 4
        self._head_bytes += size
        if size > MAX_REQUEST_LINE_BYTES or self._head_bytes > MAX_REQUEST_HEAD_BYTES:
            self._refusal = _HeadTooLarge(431, REQUEST_HEAD_TOO_LARGE)
            raise self._refusal
        super().on_header(name, value)

    def send_400_response(self, msg: str) -> None:
        # Called by uvicorn for every request httptools refuses, our limits included.
        refusal, self._refusal = self._refusal, None
        if refusal is not None:
            self.transport.write(raw_error_response(refusal.status, refusal.msg))
        else:
            self.transport.write(raw_error_response(400, "the request is not valid HTTP/1.1"))
        self.transport.close()


class LingeringWebSocketProtocol(WebSocketsSansIOProtocol):
    _lingering = False

    def handle_parser_exception(self) -> None:
        if self._lingering:
            return  # the parser now discards whatever the client still sends
        self._lingering = True
        close = self.conn.close_sent
        if close is not None:
            self.queue.put_nowait({"type": "websocket.disconnect", "code": close.code, "reason": close.reason})
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        # The application's end closes the transport unless a close timer runs: this is it.
        self.close_timer = self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            self.conn.receive_data(data)  # discarded by the failed protocol, nothing kept
            return
        super().data_received(data)

    def eof_received(self) -> Any:
        if self._lingering:
            self.transport.close()
        return super().eof_received()


class ChatWebSocketProtocol(LingeringWebSocketProtocol):
    """uvicorn's WebSocket protocol with the `chat.probe` extension (`gateway.probes`). Probes
    and cut-offs are written at once, without waiting for the socket to drain (a `send` waits
    while the client is not reading: that wait is what a cut-off must not join)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = Inbox()  # type: ignore[assignment]
        self.writable = Flag()  # type: ignore[assignment]

    async def receive(self) -> Any:
        inbox = self.queue
        while inbox.empty():
            await inbox.arrival()  # type: ignore[attr-defined]
        message = inbox.get_nowait()
        if self.read_paused and inbox.empty():
            self.read_paused = False
            self.transport.resume_reading()
        return message

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None:  # accepted: the application's task has not run yet
            scope["extensions"][PROBE_EXTENSION] = {}
            scope["extensions"][WRITE_EXTENSION] = {"text": self.write_text_now, "texts": self.write_texts_now}

    async def send(self, message: Any) -> None:
        kind = message["type"]
        if kind == "websocket.send" and self.handshake_complete:
            text = message.get("text")
            if text is not None:
                if not self.writable.is_set():
                    await self.writable.wait()  # the client is not reading: wait, as uvicorn does
                if self.write_text_now(text):  # else uvicorn's own path (it raises if disconnected)
                    return
        if kind == PROBE:
            self._probe(message["id"])
        elif kind == CUTOFF:
            self._cutoff(message.get("code", 1000))
        else:
            await super().send(message)
            if kind == "websocket.accept" and self.handshake_complete:
                self.response = None  # type: ignore[assignment]  # sent: nothing reads it again

    def write_text_now(self, text: str) -> bool:
        """`chat.write`: write a text frame at once, or return False (nothing written) when it
        must go through `send` (the client is not reading, or the socket is not open). One
        chat frame goes to every member's socket: it is encoded and framed once (`text_frame`)."""
        if not self.writable.is_set() or not self.handshake_complete or not self._frames_as_they_are():
            return False
        self.transport.write(text_frame(text))
        return True

    def write_texts_now(self, texts: Sequence[str]) -> bool:
        """`chat.write`'s `texts`: several text frames in order, in one write (one system call
        and, mostly, one TCP segment for the client to read), or nothing, as `write_text_now`."""
        if not self.writable.is_set() or not self.handshake_complete or not self._frames_as_they_are():
            return False
        self.transport.write(b"".join([text_frame(text) for text in texts]))
        return True

    def _frames_as_they_are(self) -> bool:
        """Whether a text frame can be written as bytes built beforehand, exactly what
        `self.conn.send_text` would build: the connection is open (nothing closing it either
        way, not refused), sends no fragmented message, and negotiated no extension (the frame
        would otherwise be compressed)."""
        conn = self.conn
        return (
            not self.disconnected
            and not self.close_sent
            and self.initial_response is None
            and conn.state is State.OPEN
            and not conn.extensions
            and not conn.expect_continuation_frame
            and not self.transport.is_closing()
        )

    def _probe(self, number: int) -> None:
        if self.close_sent or self.disconnected or self.transport.is_closing():
            return
        self.conn.send_ping(probe_payload(number))
        self.transport.write(b"".join(self.conn.data_to_send()))

    def _cutoff(self, code: int) -> None:
        if self.close_sent or self.disconnected or self.transport.is_closing():
            return
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": ""})
        self.conn.send_close(code)
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        self.close_timer = self.loop.call_later(CUTOFF_GRACE_SECONDS, self.transport.abort)

    def handle_pong(self, event: Any) -> None:
        answered = probe_id(bytes(event.data))
        if answered is None:
            super().handle_pong(event)
        elif not self.close_sent:
            self.queue.put_nowait({"type": PROBE_ANSWERED, "id": answered})
