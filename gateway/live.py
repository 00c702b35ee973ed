"""What a gateway passes on live, never stores as timeline entries (API.md §7.3, §7.4): the
`read` frames clients send, `typing`, and presence as sockets come and go.

- **Reads** from sockets are kept in memory per (user, room), the highest only, and written by
  the engine's timer in one batch (`send.reading.reads_record`), which also sends the `read`
  frames; so a room where a thousand members read every message costs one UPDATE per distinct
  (room, seq) a second, and its receipts are not broadcast (above READ_RECEIPTS_MAX_MEMBERS).
- **Typing** is passed on at most once a second per user and room, to the room's other members
  when the room has at most TYPING_MAX_MEMBERS members; the members of a room are cached here for
  a few seconds, so a room full of typists costs the database one read per room every few
  seconds.
- **Presence**: a user comes online when their first socket anywhere in the cluster opens, and
  goes offline PRESENCE_OFFLINE_GRACE_SECONDS after their last one closed, if none opened again
  meanwhile (so a reconnect does not flap). Changes are gathered and sent by the timer once a
  second, each user's frame once to the online members of their rooms of at most
  PRESENCE_MAX_MEMBERS members, in a few queries for any number of changes: a gateway that
  restarts with thousands of users sends one batch, not a storm.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any

from django.conf import settings

from chatproject.bus import frames_event_for, publish_async
from chatproject.frames import encode, typing_frame
from chatproject.offloop import off_loop
from gateway import presence
from send import reading

logger = logging.getLogger(__name__)

GRACE_BATCH_SECONDS = 0.2  # how late an end of grace may be checked, to be checked with others

MEMBERS_CACHE_SECONDS = 5.0
TYPING_EVERY_SECONDS = 1.0


class LiveState:
    def __init__(self, spawn: Any) -> None:
        self._spawn = spawn
        self._reads: dict[tuple[int, int], tuple[int, str | None]] = {}
        self._typing_at: dict[tuple[int, int], float] = {}
        self._members: dict[int, tuple[float, list[int]]] = {}
        self._presence: dict[int, bool] = {}  # user → online, changes not yet sent
        self._grace_ends: dict[int, float] = {}  # user → when their grace period ends (monotonic)
        self._grace_loop: asyncio.AbstractEventLoop | None = None  # where `_end_graces` runs

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        self._spawn(coro)

    # --- reads ------------------------------------------------------------------------------

    def read(self, *, user_id: int, room_id: int, seq: int, connection_id: str) -> None:
        key = (user_id, room_id)
        if seq > self._reads.get(key, (0, None))[0]:
            self._reads[key] = (seq, connection_id)

    async def flush_reads(self) -> None:
        if not self._reads:
            return
        batch, self._reads = self._reads, {}
        try:
            await off_loop(reading.reads_record)(reads=batch)
        except Exception:
            logger.warning("could not record %d reads; will retry", len(batch), exc_info=True)
            for key, value in batch.items():
                if value[0] > self._reads.get(key, (0, None))[0]:
                    self._reads[key] = value

    # --- typing -----------------------------------------------------------------------------

    def typing_allowed(self, *, user_id: int, room_id: int, now: float) -> bool:
        """At most one typing frame a second per user and room is passed on."""
        key = (user_id, room_id)
        if now - self._typing_at.get(key, 0.0) < TYPING_EVERY_SECONDS:
            return False
        self._typing_at[key] = now
        if len(self._typing_at) > 10_000:  # forget the old ones
            self._typing_at = {k: t for k, t in self._typing_at.items() if now - t < TYPING_EVERY_SECONDS}
        return True

    async def typing(self, *, user_id: int, room_id: int) -> None:
        """Pass a typing frame on to the room's other members (small rooms only)."""
        members = await self._room_members(room_id)
        if len(members) > settings.TYPING_MAX_MEMBERS:
            return
        others = [m for m in members if m != user_id]
        if others:
            text = encode(typing_frame(room_id=room_id, user_id=user_id))
            await publish_async(user_ids=others, event_for=frames_event_for([(text, others, None)]))

    async def _room_members(self, room_id: int) -> list[int]:
        now = time.monotonic()
        cached = self._members.get(room_id)
        if cached is not None and now - cached[0] < MEMBERS_CACHE_SECONDS:
            return cached[1]
        members = await off_loop(presence.room_member_ids)(room_id=room_id)
        if len(self._members) > 10_000:
            self._members.clear()
        self._members[room_id] = (now, members)
        return members

    # --- presence ---------------------------------------------------------------------------

    def came_online(self, user_id: int) -> None:
        self._presence[user_id] = True

    def went_away(self, user_id: int) -> None:
        """The user's last socket in the cluster closed: offline after the grace period, if no
        socket opened again. Grace periods that end within GRACE_BATCH_SECONDS of each other
        are checked together, in one query: a gateway's thousands of clients gone at once were a
        query each, ten seconds later, in the middle of their reconnect storm."""
        self._grace_ends[user_id] = time.monotonic() + settings.PRESENCE_OFFLINE_GRACE_SECONDS
        loop = asyncio.get_running_loop()
        if self._grace_loop is not loop:
            self._grace_loop = loop
            self.spawn(self._end_graces(loop))

    async def _end_graces(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            while self._grace_ends and self._grace_loop is loop:
                now = time.monotonic()
                first = min(self._grace_ends.values())
                if first > now:
                    await asyncio.sleep(first - now + GRACE_BATCH_SECONDS)
                    continue
                due = [user_id for user_id, end in self._grace_ends.items() if end <= now]
                for user_id in due:
                    del self._grace_ends[user_id]
                try:
                    gone = await off_loop(presence.users_offline)(user_ids=due)
                except Exception:
                    logger.warning("could not check the presence of %d users", len(due), exc_info=True)
                    continue
                for user_id in gone:
                    self._presence[user_id] = False
        finally:
            if self._grace_loop is loop:
                self._grace_loop = None

    async def flush_presence(self) -> None:
        if not self._presence:
            return
        changes, self._presence = self._presence, {}
        try:
            items = await off_loop(presence.presence_frames)(changes=changes)
        except Exception:
            logger.warning("could not send %d presence changes", len(changes), exc_info=True)
            return
        users = {u for _, targets, _ in items for u in targets}
        if users:
            await publish_async(user_ids=users, event_for=frames_event_for(items))
