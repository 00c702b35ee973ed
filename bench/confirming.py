"""What the load-generator clients send back: paced `read` frames and, in ack mode,
cumulative `ack` frames (mixed into `bench.clients.Worker`, whose state they use)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from bench.clients import Client

ACK_EVERY_SECONDS = 1.0
# How often paced reads that waited for their second are looked at.
READ_FLUSH_SECONDS = 0.1
# Paced reads: at most one read frame a second per room, as the browser client sends them.
READ_EVERY_SECONDS = 1.0


class ReadsAndAcks:
    """Read mode and ack mode of a worker's clients."""

    read_mode: bool
    read_every: float
    reads_sent: int
    paced_readers: set[Client]
    ack_clients: set[Client]
    _acked_at: float

    async def op_read_mode(self, *, on: bool, every: float = 0.0) -> int:
        """Every client reads every chat frame from now on (or stops): a `read` frame per chat
        frame (`every` 0), or at most one per room every `every` seconds with the latest seq.
        Returns how many read frames were sent since the last call."""
        if not on:
            await self._reads_flush(due_only=False)
        self.read_mode, self.read_every = on, every
        sent, self.reads_sent = self.reads_sent, 0
        return sent

    async def _read_seq(self, client: Client, room: int, seq: Any) -> None:
        """The client has shown `seq` of `room`: read it now, or later when reads are paced."""
        if not isinstance(seq, int):
            return
        every = self.read_every
        if every <= 0:
            await self._send_read(client, room, seq)
            return
        now = time.monotonic()
        if now - client.read_at.get(room, -every) >= every:
            client.read_at[room] = now
            client.read_pending.pop(room, None)
            await self._send_read(client, room, seq)
        elif seq > client.read_pending.get(room, 0):
            client.read_pending[room] = seq
            self.paced_readers.add(client)

    async def _reads_flush(self, *, due_only: bool) -> None:
        """Send the paced reads whose second is up (all of them, when not `due_only`)."""
        now = time.monotonic()
        for client in list(self.paced_readers):
            for room, seq in list(client.read_pending.items()):
                if not due_only or now - client.read_at.get(room, 0.0) >= self.read_every:
                    del client.read_pending[room]
                    client.read_at[room] = now
                    await self._send_read(client, room, seq)
            if not client.read_pending:
                self.paced_readers.discard(client)

    async def _send_read(self, client: Client, room: int, seq: Any) -> None:
        if not isinstance(seq, int):
            return
        with contextlib.suppress(Exception):  # a socket the server closed is counted by the read loop
            await client.ws.send(orjson.dumps({"type": "read", "room_id": room, "seq": seq}).decode())
            self.reads_sent += 1

    @staticmethod
    def _saw(client: Client, room: int, seq: Any) -> None:
        if isinstance(seq, int) and seq > client.seen.get(room, 0):
            client.seen[room] = seq

    async def _ack_loop(self) -> None:
        """Clients in ack mode confirm each room cumulatively once a second, as a real client
        would after rendering, never once per frame; paced reads whose second is up go too."""
        while True:
            await asyncio.sleep(READ_FLUSH_SECONDS)
            if self.paced_readers:
                await self._reads_flush(due_only=True)
            if time.monotonic() - self._acked_at < ACK_EVERY_SECONDS:
                continue
            self._acked_at = time.monotonic()
            for client in list(self.ack_clients):
                for room, seq in list(client.seen.items()):
                    if seq > client.acked.get(room, 0):
                        client.acked[room] = seq
                        with contextlib.suppress(Exception):
                            await client.ws.send(orjson.dumps({"type": "ack", "room_id": room, "seq": seq}).decode())
