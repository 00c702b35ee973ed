"""The timeline phase of the benchmark: the calls each run makes (a realistic mix; reactions
that always change something; edits of one's own newest message) and its table."""

from __future__ import annotations

import itertools
from typing import Any

import orjson

from bench.fixtures import BenchUser
from bench.httpclient import Response
from bench.report import markdown
from bench.timeline_phase import MIX, TimelineLoad, table


class FakePool:
    """Answers every call as the server would, numbering messages; records (user, path, body)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.ids = itertools.count(100)

    async def post(self, path: str, body: Any, *, headers: dict[str, str] | None = None) -> Response:
        self.calls.append(((headers or {})["Authorization"].removeprefix("Bearer "), path, body))
        data: dict[str, Any] = {"message": {}, "seq": 1}
        if path == "/api/chat/send_message":
            data = {"msgID": next(self.ids), "seq": 1}
        return Response(status=200, body=orjson.dumps({"code": 0, "msg": "ok", "data": data}))


USERS = [BenchUser(id=n, token=f"t{n}") for n in (1, 2, 3)]


async def _run(kind: str, calls: int, seed: int = 0) -> tuple[FakePool, TimelineLoad]:
    pool = FakePool()
    load = TimelineLoad(pool=pool, room_id=7, users=USERS, run_id="r")  # type: ignore[arg-type]
    for _ in range(seed):
        await load.message()
    call = load.caller(kind)
    for _ in range(calls):
        ok, _seconds = await call(10)
        assert ok
    return pool, load


async def test_the_mix_is_five_messages_a_reply_three_reactions_and_an_edit() -> None:
    pool, _ = await _run("mix", 20)
    paths = [path.rsplit("/", 1)[-1] for _, path, _ in pool.calls]
    assert paths == ["send_message"] * 6 + ["react"] * 3 + ["edit_message"] + ["send_message"] * 6 + ["react"] * 3 + [
        "edit_message"
    ]
    assert len(MIX) == 10
    reply = pool.calls[5][2]
    assert reply["reply_to"] == 104 and reply["mentions"] == [2]  # the last message (user 2's), its sender mentioned
    assert len({body["client_msg_id"] for _, path, body in pool.calls if path.endswith("send_message")}) == 12


async def test_reactions_never_repeat_and_edits_are_of_ones_own_newest_message() -> None:
    pool, load = await _run("reactions", 60, seed=4)
    reactions = [(token, body["message_id"], body["key"]) for token, path, body in pool.calls if path.endswith("react")]
    assert len(reactions) == 60 == len(set(reactions))
    pool, load = await _run("edits", 6, seed=3)
    edits = [(token, body["message_id"]) for token, path, body in pool.calls if path.endswith("edit_message")]
    newest = {f"t{user_id}": message_id for user_id, message_id in load.last_of.items()}
    assert all(newest[token] == message_id for token, message_id in edits)
    texts = [body["content"]["text"] for _, path, body in pool.calls if path.endswith("edit_message")]
    assert len(set(texts)) == 6  # each edit changes the text


def test_the_table_sets_each_run_against_plain_messages() -> None:
    def row(size: int, kind: str, ms: float) -> dict[str, Any]:
        return {
            "room_size": size,
            "kind": kind,
            "calls": 60,
            "calls_per_cpu_s": 1000 / ms,
            "cpu_ms_per_call": ms,
            "lost": 0,
        }

    rows = [row(10, "plain", 10.0), row(10, "mix", 13.0), row(10, "reactions", 12.0), row(10, "edits", 15.0)]
    text = table(rows)
    assert "| 10 | plain | 60 | 100 | 10.00 | 1.00× | 0 |" in text
    assert "| 10 | mix | 60 | 77 | 13.00 | 1.30× | 0 |" in text
    assert "| 10 | edits | 60 | 67 | 15.00 | 1.50× | 0 |" in text
    assert table([]) == ""
    assert "The life of a message" in markdown({"timeline": rows})
