"""The timeline phase of `make bench`: what the life of a message (API.md §8) costs the send
process, next to plain messages.

In the rooms of the sending phase, at its steady rate and for its duration, four open-loop runs
each measure calls per send-process CPU-second (`Phases.sending`: the same clock, the same
clients, every frame waited for):

- `plain`: send_message, as in the sending phase;
- `mix`: a realistic stream of ten calls: five messages, a reply that mentions someone, three
  reactions to recent messages, an edit of one's own last message;
- `reactions`: only reactions (each adds one: a user's key on a message, never twice);
- `edits`: only edits of messages sent beforehand (each changes the text).

Every call takes the room's next seq and reaches every member once, as a `chat` or an `update`
frame, so the frames each run expects are its calls times the room's size; the workers count
both kinds.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench.fixtures import BenchUser
from bench.httpclient import HttpError, HttpPool
from bench.phases import Phases
from bench.procs import ServerProcess

KEYS = ["👍", "❤️", "😂", "🎉", "😮", "🙏"]
MIX = ["message"] * 5 + ["reply", "reaction", "reaction", "reaction", "edit"]
KINDS = ("plain", "mix", "reactions", "edits")
SEED_MESSAGES = 24


class TimelineLoad:
    """Issues the calls of one room's runs, keeping what the next call needs: the messages sent
    so far (per sender, for edits), and which user reacted how to which message."""

    def __init__(self, *, pool: HttpPool, room_id: int, users: list[BenchUser], run_id: str) -> None:
        self.pool = pool
        self.room_id = room_id
        self.users = users
        self.run_id = run_id
        self.numbers = itertools.count(1)
        self.turns = itertools.cycle(users)
        self.sent: list[tuple[int, BenchUser]] = []  # (message id, sender), oldest first
        self.last_of: dict[int, int] = {}  # user id → their newest message id
        self.reacted: set[tuple[int, int, str]] = set()

    async def _post(self, user: BenchUser, path: str, body: dict[str, Any]) -> tuple[bool, Any]:
        try:
            reply = await self.pool.post(path, body, headers={"Authorization": f"Bearer {user.token}"})
        except HttpError:
            return False, None
        data = reply.json() or {}
        return reply.status == 200 and data.get("code") == 0, data.get("data")

    async def message(self, *, reply: bool = False) -> bool:
        user = next(self.turns)
        n = next(self.numbers)
        body: dict[str, Any] = {
            "room_id": self.room_id,
            "content": {"type": "text", "text": f"timeline {self.run_id} {n}"},
            "client_msg_id": f"{self.run_id}-t{n}",
        }
        if reply and self.sent:
            body["reply_to"] = self.sent[-1][0]
            body["mentions"] = [self.sent[-1][1].id]
        ok, data = await self._post(user, "/api/chat/send_message", body)
        if ok:
            self.sent.append((data["msgID"], user))
            self.last_of[user.id] = data["msgID"]
        return ok

    async def reaction(self) -> bool:
        """A reaction no one made yet, on one of the last messages (a new one each time)."""
        recent = [message_id for message_id, _ in self.sent[-SEED_MESSAGES:]]
        for key in KEYS:
            for message_id in reversed(recent):
                for user in self.users:
                    if (message_id, user.id, key) not in self.reacted:
                        self.reacted.add((message_id, user.id, key))
                        body = {"message_id": message_id, "key": key}
                        return (await self._post(user, "/api/chat/react", body))[0]
        return False

    async def edit(self) -> bool:
        """The next user with a message edits their newest one (new text each time)."""
        for _ in range(len(self.users)):
            user = next(self.turns)
            message_id = self.last_of.get(user.id)
            if message_id is not None:
                n = next(self.numbers)
                body = {"message_id": message_id, "content": {"type": "text", "text": f"edited {self.run_id} {n}"}}
                return (await self._post(user, "/api/chat/edit_message", body))[0]
        return False

    def caller(self, kind: str) -> Callable[[int], Awaitable[tuple[bool, float]]]:
        """One call of a run of `kind` per invocation: (ok, request seconds), as the sending
        phase's sender answers."""
        single = {"plain": "message", "reactions": "reaction", "edits": "edit"}
        plan = itertools.cycle(MIX if kind == "mix" else [single[kind]])

        async def call(_size: int) -> tuple[bool, float]:
            what = next(plan)
            began = time.monotonic()
            if what == "message":
                ok = await self.message()
            elif what == "reply":
                ok = await self.message(reply=True)
            elif what == "reaction":
                ok = await self.reaction()
            else:
                ok = await self.edit()
            return ok, time.monotonic() - began

        return call


async def run(
    *,
    phases: Phases,
    pool: HttpPool,
    send_process: ServerProcess,
    rooms: dict[int, int],
    users: list[BenchUser],
    sizes: list[int],
    rate: float,
    seconds: float,
    run_id: str,
    settle: Callable[[], Awaitable[None]],
) -> list[dict[str, Any]]:
    """Each run of KINDS in each room of `sizes`; one row per run (`Phases.sending`'s figures
    with `room_size` and `kind`)."""
    rows = []
    for size in sizes:
        load = TimelineLoad(pool=pool, room_id=rooms[size], users=users[: min(size, 8)], run_id=f"{run_id}-{size}")
        for _ in range(SEED_MESSAGES):  # something to react to and edit, outside the measurements
            await load.message()
        for kind in KINDS:
            await settle()
            row = await phases.sending(
                send=load.caller(kind),
                send_process=send_process,
                room_id=rooms[size],
                size=size,
                rate=rate,
                seconds=seconds,
            )
            rows.append({"kind": kind, **row})
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """The phase's figures as a markdown table: per room, each run's cost per call and calls
    per send-process CPU-second, and its cost relative to plain messages."""
    if not rows:
        return ""
    lines = [
        "The life of a message (send process, per call; every call is one timeline entry delivered to "
        "every member; mix = 5 messages, a reply with a mention, 3 reactions, an edit):",
        "",
        "| room | run | calls | per send CPU-second | CPU ms per call | vs plain messages | frames lost |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    plain = {r["room_size"]: r for r in rows if r["kind"] == "plain"}
    for row in rows:
        base = plain.get(row["room_size"])
        ratio = ""
        if base and base.get("cpu_ms_per_call") and row.get("cpu_ms_per_call"):
            ratio = f"{row['cpu_ms_per_call'] / base['cpu_ms_per_call']:.2f}×"
        ms = f"{row['cpu_ms_per_call']:.2f}" if row.get("cpu_ms_per_call") else "–"
        lines.append(
            f"| {row['room_size']:,} | {row['kind']} | {row['calls']:,} | {row['calls_per_cpu_s']:,.0f} | {ms} "
            f"| {ratio} | {row['lost']:,} |"
        )
    return "\n".join(lines)
