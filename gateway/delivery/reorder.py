"""A room's `deliver` events put back in seq order on their way into a gateway.

Two messages sent into a room at nearly the same time take consecutive seqs, but each is
published after its own commit, by its own request thread: the later seq often reaches the
gateway first. Every socket then handles the early frame the slow way (held in its room cursor,
a gap fill scheduled, drained when the missing frame comes), a coroutine and a task per socket:
in a room of a thousand that is a thousand of each, for every crossing.

`RoomOrder` does that once per room instead: an event whose seq is ahead of the last one handed
for its room is held for at most DELIVERY_REORDER_SECONDS, and handed right after the missing
one, so each socket sees them in order and writes both at once. It is only ever a short delay:
when the missing event does not come in time (it was lost, or it went to no socket here), the
held events are handed as they are, and each socket's own ordering (`Connection.deliver`: the
gap filled from the database) keeps the guarantees. A room counts as followed only while its
events keep coming (FOLLOWED_SECONDS): a gateway that had nobody of a quiet room online when a
message was published never holds the next one waiting for it.
"""

from __future__ import annotations

from typing import Any

Event = dict[str, Any]

FOLLOWED_SECONDS = 2.0  # a room's last seq is trusted this long after its last event
HELD_MAX = 64  # events held for one room; beyond, they are all handed


class RoomOrder:
    def __init__(self, *, hold_seconds: float) -> None:
        self.hold_seconds = hold_seconds
        self._last: dict[int, tuple[int, float]] = {}  # room → (last seq handed, when)
        self._held: dict[int, tuple[float, dict[int, Event]]] = {}  # room → (held since, seq → event)

    def arrive(self, event: Event, now: float) -> tuple[list[Event], bool]:
        """The events to hand now, in order (the one that came and any it lets through), and
        whether this one was held, starting a wait for its room (then call `due` after
        `hold_seconds`)."""
        room_id, seq = event["room_id"], event["seq"]
        if event.get("resend"):
            return [event], False
        last = self._last.get(room_id)
        held = self._held.get(room_id)
        if last is not None and seq > last[0] + 1 and now - last[1] <= FOLLOWED_SECONDS:
            if held is None:
                self._held[room_id] = (now, {seq: event})
                return [], True
            held[1][seq] = event
            if len(held[1]) > HELD_MAX:
                return self._release(room_id, now), False
            return [], False
        top = seq if last is None else max(seq, last[0])
        ready = [event]
        if held is not None:
            waiting = held[1]
            while top + 1 in waiting:
                top += 1
                ready.append(waiting.pop(top))
            if not waiting:
                del self._held[room_id]
        self._last[room_id] = (top, now)
        return ready, False

    def due(self, now: float) -> list[Event]:
        """The events held for `hold_seconds` or more, in each room's seq order: their gap is
        left to the sockets."""
        rooms = [room_id for room_id, (since, _) in self._held.items() if now - since >= self.hold_seconds]
        return [event for room_id in rooms for event in self._release(room_id, now)]

    def forget_quiet(self, now: float) -> None:
        """Drop the rooms no event came for in FOLLOWED_SECONDS (what is held stays)."""
        quiet = [r for r, (_, when) in self._last.items() if now - when > FOLLOWED_SECONDS and r not in self._held]
        for room_id in quiet:
            del self._last[room_id]

    def holding(self) -> int:
        return sum(len(waiting) for _, waiting in self._held.values())

    def _release(self, room_id: int, now: float) -> list[Event]:
        _, waiting = self._held.pop(room_id)
        ready = [waiting[seq] for seq in sorted(waiting)]
        last = self._last.get(room_id)
        top = max(ready[-1]["seq"], last[0] if last else 0)
        self._last[room_id] = (top, now)
        return ready
