"""The limits of `chatproject.http_limits` and of WebSocket frames, inside daphne.

twisted's HTTP request, which daphne extends, writes the whole body to memory or to a temporary
file and, for `multipart/form-data` and form posts, parses it on the event loop
(`Request.requestReceived`, about 0.4 s per MB) before daphne calls the application. So:

- `gotLength` (headers read, no body yet) switches twisted's form parsing off (Django parses
  bodies itself) and refuses an announced length over the path's limit at once: a 413 in the
  envelope is written, the connection closed, and nothing of the body is stored;
- `handleContentChunk` counts a body without `Content-Length` (chunked) as it arrives and
  refuses it the moment it passes the limit; below the limit it is kept in memory;
- a request line over 16 KiB (twisted drops the connection without a word) gets a 414, a head
  over 32 KiB a 431, and twisted's bare "400 Bad Request" and daphne's HTML error pages become
  the envelope.

WebSocket: the 64 KiB limit is for frames clients send (autobahn would apply it to the
server's own frames too, refusing a `batch` of 50 messages). autobahn "fails" a connection
whose frame passes its size limit by dropping TCP (`failByDrop`), so the client never sees a
close code. With `failByDrop` off it sends the close
frame (1009 for a frame too big), discards the rest of the frame without storing it, and waits
for the client's close (at most its close-handshake timeout) before closing.
"""

from __future__ import annotations

import logging
import tempfile
from io import BytesIO
from typing import Any
from urllib.parse import unquote

from chatproject.http_limits import (
    MAX_REQUEST_HEAD_BYTES,
    MAX_REQUEST_LINE_BYTES,
    REQUEST_HEAD_TOO_LARGE,
    REQUEST_LINE_TOO_LONG,
    body_limit_for,
    envelope_bytes,
    is_streaming_path,
    raw_error_response,
    too_large_msg,
)

logger = logging.getLogger("chatproject.http_limits")


def _request_path(target: bytes) -> str:
    """The path of a request target (origin form `/p?q` or absolute form `http://h/p?q`)."""
    if not target.startswith(b"/"):
        scheme_end = target.find(b"://")
        slash = target.find(b"/", scheme_end + 3) if scheme_end >= 0 else -1
        target = target[slash:] if slash >= 0 else b"/"
    return unquote(target.split(b"?", 1)[0].decode("latin-1"))


def _refuse(channel: Any, status: int, msg: str) -> None:
    """Write a whole envelope reply to the connection and close it, reading nothing more."""
    channel.transport.write(raw_error_response(status, msg))
    channel.loseConnection()


def install() -> None:
    try:
        from autobahn.twisted.websocket import WebSocketServerFactory
        from daphne.http_protocol import WebRequest
        from twisted.web.http import HTTPChannel, Request
    except ImportError:  # pragma: no cover - daphne is a dependency, but not every server is daphne
        return
    if getattr(WebRequest, "_chat_limits", False):
        return

    def got_length(self: Any, length: int | None) -> None:
        # Django parses bodies; twisted's own parser would block the loop on a large form.
        self._parsePOSTFormSubmission = False
        self._chat_refused = False
        self._chat_received = 0
        path = _request_path(getattr(self.channel, "_path", b"/"))
        self._chat_limit = limit = body_limit_for(path)
        if limit is not None and length is not None and length > limit:
            logger.info("refused %s: Content-Length %d over %d bytes", path, length, limit)
            self._chat_refused = True
            self.requestHeaders.removeHeader(b"Expect")  # no "100 Continue" after the refusal
            _refuse(self.channel, 413, too_large_msg(limit))
            return
        if limit is not None and not is_streaming_path(path):
            self.content = BytesIO()  # at most `limit` bytes: no temporary file
        elif limit is not None:
            self.content = tempfile.TemporaryFile()  # an upload: on disk, not in memory
        else:
            Request.gotLength(self, length)

    def handle_content_chunk(self: Any, data: bytes) -> None:
        if self._chat_refused:
            return
        self._chat_received += len(data)
        limit = self._chat_limit
        if limit is not None and self._chat_received > limit:
            logger.info("refused a chunked body over %d bytes", limit)
            self._chat_refused = True
            _refuse(self.channel, 413, too_large_msg(limit))
            return
        self.content.write(data)

    def request_received(self: Any, command: bytes, path: bytes, version: bytes) -> None:
        if getattr(self, "_chat_refused", False):
            return
        Request.requestReceived(self, command, path, version)

    def basic_error(self: Any, status: int, status_text: bytes, body: str) -> None:
        self.handle_reply(
            {"type": "http.response.start", "status": status, "headers": [(b"Content-Type", b"application/json")]}
        )
        self.handle_reply({"type": "http.response.body", "body": envelope_bytes(status, body[:1].lower() + body[1:])})

    WebRequest.gotLength = got_length
    WebRequest.handleContentChunk = handle_content_chunk
    WebRequest.requestReceived = request_received
    WebRequest.basic_error = basic_error
    WebRequest._chat_limits = True

    # twisted: MAX_LENGTH bounds each line of the head, totalHeadersSize all of it.
    HTTPChannel.MAX_LENGTH = MAX_REQUEST_LINE_BYTES
    HTTPChannel.totalHeadersSize = MAX_REQUEST_HEAD_BYTES

    def line_length_exceeded(self: Any, line: bytes) -> None:
        first = self._receivedHeaderSize == 0
        _refuse(self, 414 if first else 431, REQUEST_LINE_TOO_LONG if first else REQUEST_HEAD_TOO_LARGE)

    def bad_request(self: Any) -> None:
        if self._receivedHeaderSize > self.totalHeadersSize:
            _refuse(self, 431, REQUEST_HEAD_TOO_LARGE)
        else:
            _refuse(self, 400, "the request is not valid HTTP/1.1")

    HTTPChannel.lineLengthExceeded = line_length_exceeded
    HTTPChannel._respondToBadRequestAndDisconnect = bad_request

    original_factory_init = WebSocketServerFactory.__init__

    def factory_init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_factory_init(self, *args, **kwargs)
        self.setProtocolOptions(failByDrop=False)

    WebSocketServerFactory.__init__ = factory_init

    # autobahn applies its message limit to what the server sends too: a `batch` of 50 messages
    # is well over 64 KiB. The limit is for what clients send; the server's frames are its own.
    from autobahn.websocket.protocol import WebSocketProtocol as AutobahnProtocol

    original_send_message = AutobahnProtocol.sendMessage

    def send_message(self: Any, *args: Any, **kwargs: Any) -> Any:
        limit, self.maxMessagePayloadSize = self.maxMessagePayloadSize, 0
        try:
            return original_send_message(self, *args, **kwargs)
        finally:
            self.maxMessagePayloadSize = limit

    AutobahnProtocol.sendMessage = send_message
