"""How a socket confirms (API.md §5.4): what an ack-mode socket acks, what a socket without acks
has provably read (the `SocketWriter`'s proofs), and the redelivery of what stays unconfirmed.
A mixin of `Connection`, kept apart so that each reads on its own."""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING

from gateway.delivery.writer import Item, SocketWriter

if TYPE_CHECKING:
    from gateway.delivery.connection import Engine, RoomCursor


class Confirmation:
    __slots__ = ()

    # The state it works on, a Connection's.
    engine: Engine
    user_id: int
    device: int | None
    ack_mode: bool | None
    opened_at: float
    rooms: dict[int, RoomCursor]
    pending_ids: dict[int, tuple[int, int]]
    writer: SocketWriter
    _ledger: deque[tuple[int, int, int]] | None

    async def write(self, text: str, items: list[Item] | None = None) -> None:
        raise NotImplementedError

    # --- what was written and what was read ----------------------------------------------

    def _written(self, items: list[Item] | None, number: int) -> None:
        """The writer took frame `number`: its timeline frames now await an ack (ack-mode
        sockets) and a proof of reading (the others)."""
        if not items:
            return
        if self.ack_mode is not False:
            now = time.monotonic()
            for room_id, seq, msg_id, frame, update in items:
                cursor = self.rooms.get(room_id)
                if cursor is None:
                    continue
                cursor.pending[seq] = (msg_id, frame, now, update, number)
                if not update:
                    self.pending_ids[msg_id] = (room_id, seq)
            self.engine.watch(self)
        if self.ack_mode is not True:
            ledger = self._ledger
            if ledger is None:
                ledger = self._ledger = deque()
            if len(items) == 1:  # a live frame: the common case, without a generator
                ledger.append((number, items[0][0], items[0][1]))
            else:
                ledger.extend((number, room_id, seq) for room_id, seq, _, _, _ in items)
        if self.writer.proofs:
            self.engine.track_proofs(self)

    def _proven(self, number: int) -> None:
        """The client has read every frame up to `number`: a socket without acks confirms them."""
        ledger = self._ledger
        if not ledger:
            return
        confirmed: dict[int, int] = {}
        while ledger and ledger[0][0] <= number:
            _, room_id, seq = ledger.popleft()
            if seq > confirmed.get(room_id, 0):
                confirmed[room_id] = seq
        if self.ack_mode is False:
            for room_id, seq in confirmed.items():
                self.engine.confirm(self.user_id, room_id, seq, device=self.device)

    def probe_answered(self, probe_id: int) -> None:
        self.writer.answered(probe_id)

    # --- client acks ----------------------------------------------------------------------

    def ack_cumulative(self, room_id: int, seq: int) -> None:
        """The client has everything of the room up to `seq` (never beyond what it was written)."""
        self.ack_mode = True
        cursor = self.rooms.get(room_id)
        if cursor is None or cursor.sent is None:
            return
        seq = min(seq, cursor.sent)
        for s in [s for s in cursor.pending if s <= seq]:
            msg_id, _, _, update, _ = cursor.pending.pop(s)
            if not update:
                self.pending_ids.pop(msg_id, None)
        self._confirm_room(room_id, cursor)

    def ack_one(self, msg_id: int, seq: int | None = None) -> None:
        """The client has one frame: the `chat` frame of message `msg_id`, or with `seq` the
        one frame of that seq about it (a chat or an update frame). The room is confirmed up to
        its first unconfirmed frame."""
        self.ack_mode = True
        if seq is None:
            found = self.pending_ids.get(msg_id)
            if found is None:
                return
            room_id, seq = found
        else:
            room_id = self._room_awaiting(msg_id, seq)
            if room_id is None:
                return
        cursor = self.rooms.get(room_id)
        entry = cursor.pending.get(seq) if cursor is not None else None
        if cursor is None or entry is None or entry[0] != msg_id:
            return
        del cursor.pending[seq]
        if not entry[3]:
            self.pending_ids.pop(msg_id, None)
        self._confirm_room(room_id, cursor)

    def _room_awaiting(self, msg_id: int, seq: int) -> int | None:
        """The room whose frame `seq` about `msg_id` awaits an ack."""
        found = self.pending_ids.get(msg_id)
        if found is not None and found[1] == seq:
            return found[0]
        for room_id, cursor in self.rooms.items():
            entry = cursor.pending.get(seq)
            if entry is not None and entry[0] == msg_id:
                return room_id
        return None

    def _confirm_room(self, room_id: int, cursor: RoomCursor) -> None:
        upto = (min(cursor.pending) - 1) if cursor.pending else cursor.sent
        if upto:
            self.engine.confirm(self.user_id, room_id, upto, device=self.device)

    def first_frame_seen(self, is_ack: bool) -> None:
        """The client's first frame tells whether it acks."""
        if self.ack_mode is None:
            if is_ack:
                self.ack_mode = True
                self._ledger = None
            else:
                self.settle_without_acks()

    def settle_without_acks(self) -> None:
        """The socket does not ack: what it has provably read counts as delivered now, the rest
        once it is proven read."""
        self.ack_mode = False
        proven = self.writer.proven
        for room_id, cursor in self.rooms.items():
            read = [seq for seq, entry in cursor.pending.items() if entry[4] <= proven]
            if read:
                self.engine.confirm(self.user_id, room_id, max(read), device=self.device)
            cursor.pending.clear()
        self.pending_ids.clear()

    async def redeliver_due(self, now: float, after: float) -> int:
        """Write again what has waited `after` seconds for an ack and was proven read (a copy
        the client has not read yet is never doubled); returns how many frames. A socket still
        silent after `after` seconds is settled as one without acks."""
        if self.ack_mode is None:
            if now - self.opened_at >= after:
                self.settle_without_acks()
            return 0
        written = 0
        proven = self.writer.proven
        for room_id, cursor in list(self.rooms.items()):
            for seq, (msg_id, frame, written_at, update, number) in list(cursor.pending.items()):
                if now - written_at >= after and number <= proven and self.writer.has_room(len(frame)):
                    written += 1
                    await self.write(frame, [(room_id, seq, msg_id, frame, update)])
        return written

    def has_pending(self) -> bool:
        return any(cursor.pending for cursor in self.rooms.values())
