"""The write side of one socket: frames leave in call order, and the writer knows how much of
what it wrote the client has provably read.

**Proof of receipt.** A server that offers the `chat.probe` ASGI extension (daphne and uvicorn as
`manage.py serve` runs them, see `runtime/servers/`) writes a WebSocket ping when asked, after
every frame written before it, and reports the pong. A client answers a ping only once it has
read what came before it, so a pong proves that every frame written before its ping was read.
The writer sends such a probe when it holds unproven frames (the engine's timer asks at most
every DELIVERY_PROOF_SECONDS, and the writer itself once half its budget is unproven), one at a
time. Without the extension (Channels' test communicator, other servers) a frame counts as read
once the server took it, as in the original design.

**Budget.** Bytes accepted for writing and not yet proven read are bounded per socket
(DELIVERY_MAX_UNPROVEN_BYTES): callers ask `has_room` and hold back what can wait (timeline
frames stay owed in the database and are filled in later, see `Connection`), so a slow reader
costs the gateway at most its budget. The engine cuts off a socket whose budget stays full with
no proof for DELIVERY_SLOW_SECONDS (close code 4008).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

logger = logging.getLogger(__name__)

# A probe unanswered this long is replaced by a new one: a client may answer only the latest of
# several pings (RFC 6455 §5.5.3), e.g. the server's keepalive ping sent after ours.
PROBE_RETRY_SECONDS = 3.0

# A timeline frame a write carries: (room_id, seq, msg_id, frame text, update).
Item = tuple[int, int, int, str, bool]
SendText = Callable[[str], Awaitable[None]]
WriteNow = Callable[[str], bool]  # the `chat.write` extension's functions (gateway.probes)
WriteManyNow = Callable[[list[str]], bool]
SendProbe = Callable[[int], Awaitable[None]]
OnWritten = Callable[[list[Item] | None, int], None]
OnProven = Callable[[int], None]

_PROBE = object()  # an outbox entry that is a probe, not a frame


class SocketWriter:
    __slots__ = (
        "_busy",
        "_outbox",
        "_probe",
        "_probe_ids",
        "_room",
        "accepted",
        "closed",
        "full_since",
        "limit",
        "on_proven",
        "on_written",
        "proofs",
        "proven",
        "proven_bytes",
        "send_probe",
        "send_text",
        "write_many_now",
        "write_now",
        "written",
        "written_bytes",
    )

    def __init__(
        self,
        *,
        send_text: SendText,
        on_written: OnWritten,
        on_proven: OnProven,
        limit: int,
        send_probe: SendProbe | None = None,
        write_now: WriteNow | None = None,
        write_many_now: WriteManyNow | None = None,
    ) -> None:
        self.send_text = send_text
        self.write_now = write_now
        self.write_many_now = write_many_now
        self.send_probe = send_probe
        self.on_written = on_written
        self.on_proven = on_proven
        self.limit = limit
        self.proofs = send_probe is not None
        self.closed = False
        # Counters: bytes accepted, written and proven read; frames written and proven read
        # (frames are numbered from 1 in write order).
        self.accepted = self.written_bytes = self.proven_bytes = 0
        self.written = self.proven = 0
        self.full_since: float | None = None  # when the budget last became full
        self._busy = False
        self._outbox: deque[tuple[Any, Any]] | None = None
        # In flight: (id, frames it covers, bytes it covers, when it was asked for).
        self._probe: tuple[int, int, int, float] | None = None
        self._probe_ids = 0
        self._room: asyncio.Event | None = None  # set when a proof makes room

    # --- the budget ---------------------------------------------------------------------

    @property
    def unproven_bytes(self) -> int:
        """Bytes accepted (queued or written) that the client has not provably read."""
        return self.accepted - self.proven_bytes

    def has_room(self, size: int) -> bool:
        """Whether `size` more bytes fit in the budget (a frame larger than the whole budget
        fits once nothing is unproven)."""
        unproven = self.unproven_bytes
        return unproven + size <= self.limit or unproven == 0

    def over_budget(self, factor: float = 1.0) -> bool:
        return self.unproven_bytes > self.limit * factor

    async def wait_for_room(self, size: int) -> bool:
        """Wait until `size` bytes fit, probing at once if no probe is in flight; False when the
        socket closed meanwhile."""
        while not self.closed and not self.has_room(size):
            self.note_full()
            if self._room is None:
                self._room = asyncio.Event()
            room = self._room
            room.clear()  # before probing: the answer may come while the probe is being written
            await self.probe()
            if self.closed or self.has_room(size):
                break
            await room.wait()
        return not self.closed

    def note_full(self) -> None:
        """Something had to wait for room: the budget is full since now (if not already)."""
        if self.full_since is None:
            self.full_since = time.monotonic()

    # --- writing --------------------------------------------------------------------------

    async def write(self, text: str, items: list[Item] | None = None) -> None:
        """Write a frame after every frame and probe asked for before it. A write to a closed
        socket is dropped (what it carried stays owed)."""
        if self.closed:
            return
        self.accepted += len(text)
        await self._send(text, items)
        if self.proofs and self._probe is None and self.unproven_bytes * 2 >= self.limit:
            await self.probe()

    def write_at_once(self, text: str, items: list[Item] | None = None) -> bool:
        """`write` without a coroutine, when the server offers `chat.write` and nothing waits:
        no write in progress (the order), no probe due after this frame (a probe is written by
        `write`). True when the frame was written; False, with nothing done, when the caller
        must `await write(...)` instead."""
        write_now = self.write_now
        if write_now is None or self._busy or self.closed:
            return False
        size = len(text)
        if self.proofs and self._probe is None and (self.unproven_bytes + size) * 2 >= self.limit:
            return False
        if not write_now(text):
            return False
        self.accepted += size
        self._took(text, items)
        return True

    def write_many_at_once(self, texts: list[str]) -> bool:
        """`write_at_once` of several frames that carry no timeline item, in order and in one
        write to the socket: all of them, or (False) none, and then the caller must `await
        write(...)` each."""
        write_many_now = self.write_many_now
        if write_many_now is None or self._busy or self.closed:
            return False
        size = sum(map(len, texts))
        if self.proofs and self._probe is None and (self.unproven_bytes + size) * 2 >= self.limit:
            return False
        if not write_many_now(texts):
            return False
        self.accepted += size
        for text in texts:
            self._took(text, None)
        return True

    def _took(self, text: str, items: list[Item] | None) -> None:
        """The server took frame `text`: count it, and without probes it counts as read."""
        self.written += 1
        self.written_bytes += len(text)
        self.on_written(items, self.written)
        if not self.proofs:
            self._prove(self.written, self.written_bytes)

    async def probe(self) -> None:
        """Ask the client to prove what it has read so far (one probe in flight at a time)."""
        if not self.proofs or self.closed or self.accepted == self.proven_bytes:
            return
        now = time.monotonic()
        if self._probe is not None and now - self._probe[3] < PROBE_RETRY_SECONDS:
            return
        self._probe_ids += 1
        self._probe = (self._probe_ids, 0, 0, now)  # its coverage is fixed when it is written
        await self._send(_PROBE, self._probe_ids)

    async def _send(self, what: Any, extra: Any) -> None:
        if self._busy:
            # Another write is awaiting the socket: queue behind it, it sends this in order.
            if self._outbox is None:
                self._outbox = deque()
            self._outbox.append((what, extra))
            return
        self._busy = True
        try:
            while not self.closed:
                try:
                    if what is _PROBE:
                        await self._send_probe(extra)
                    else:
                        await self.send_text(what)
                        self._took(what, extra)
                except Exception:
                    self.closed = True
                    logger.info("a write to a closed socket was dropped", exc_info=logger.isEnabledFor(logging.DEBUG))
                    break
                if not self._outbox:
                    break
                what, extra = self._outbox.popleft()
        finally:
            self._busy = False
            if self.closed:
                self._outbox = None
                self._wake()

    async def _send_probe(self, probe_id: int) -> None:
        probe = self._probe
        if probe is None or probe[0] != probe_id:
            return  # replaced by a newer probe while it waited in the outbox
        # It covers exactly the frames the server took before it.
        self._probe = (probe_id, self.written, self.written_bytes, probe[3])
        await self.send_probe(probe_id)  # type: ignore[misc]

    # --- proofs -----------------------------------------------------------------------------

    def answered(self, probe_id: int) -> None:
        """The client answered probe `probe_id`: everything written before it was read."""
        probe = self._probe
        if probe is None or probe[0] != probe_id:
            return
        self._probe = None
        self._prove(probe[1], probe[2])

    def _prove(self, frames: int, size: int) -> None:
        if frames < self.proven:
            return
        self.proven, self.proven_bytes = frames, size
        if self.full_since is not None and not self.over_budget():
            self.full_since = None
        self.on_proven(frames)
        self._wake()

    def _wake(self) -> None:
        if self._room is not None:
            self._room.set()

    def probe_in_flight(self) -> bool:
        return self._probe is not None

    def close(self) -> None:
        """No more writes: what is queued is dropped, waiters wake up."""
        self.closed = True
        self._outbox = None
        self._wake()
