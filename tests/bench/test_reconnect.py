"""The reconnect storm's row: the workers' answers merged, what breaks the guarantee, the
table's target and the details line."""

from __future__ import annotations

from typing import Any

from bench.reconnect import details, faults, summary, target


def part(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "clients": 100,
        "moved": 50,
        "delays": [3.0 + n / 10 for n in range(50)],
        "attempts": 120,
        "lost": 0,
        "lost_by_moved": 0,
        "catch_up_s": 0.4,
        "open_at_end": 100,
        "clients_missing": 0,
        "out_of_order": 0,
        "duplicates": 7,
        "others_dropped": 0,
        "errors": {"ConnectionRefusedError: x": 20},
    }
    base.update(overrides)
    return base


ABOUT = {
    "clients": 200,
    "rooms": 4,
    "room_size": 50,
    "victim": "gw1",
    "spread": {"gw1": 100, "gw2": 100},
    "connect_s": 3.94,
    "messages": 240,
    "rate": 10.0,
    "send_errors": 0,
}


def test_the_workers_answers_merge_into_one_row():
    row = summary([part(), part(delays=[2.0] * 49, lost=3, clients_missing=1)], **ABOUT)
    assert (row["on_killed_gateway"], row["reconnected"], row["failed"]) == (100, 99, 1)
    assert (row["seconds"], row["reconnect_p50_s"], row["reconnect_p99_s"]) == (7.9, 3.0, 7.9)
    assert (row["lost"], row["clients_missing"], row["duplicates"], row["attempts"]) == (3, 1, 14, 240)
    assert row["errors"] == {"ConnectionRefusedError: x": 40}
    assert (row["killed"], row["connect_s"], row["messages"]) == ("gw1", 3.9, 240)


def test_every_failure_of_the_guarantee_is_a_fault():
    assert faults(summary([part()], **ABOUT)) == []
    row = summary(
        [part(delays=[1.0], lost=4, lost_by_moved=3, clients_missing=2, out_of_order=1, open_at_end=99)],
        **{**ABOUT, "clients": 100, "messages": 0},
    )
    assert faults(row) == [
        "49 of 50 clients of the killed gateway never came back",
        "4 messages had not reached 2 clients 150 s after the last was sent (3 of them on clients of the killed "
        "gateway; 1 clients not connected then)",
        "1 frames arrived past a missing seq (out of order)",
        "no message was stored during the storm",
    ]
    assert faults(summary([part(moved=0, delays=[])], **ABOUT)) == ["no client was on the killed gateway"]


def test_the_target_is_the_last_welcome_within_ten_seconds_with_nothing_lost():
    met = target({"reconnect": summary([part()], **ABOUT)})
    assert (
        met["figure"]
        == "reconnect storm: the 50 clients of a SIGKILLed gateway (of 200) welcomed on the other, the last one"
    )
    assert (met["shown"], met["target"], met["met"]) == ("7.9 s (p50 5.5 s), 0 failed, 0 lost", "≤ 10 s, 0 lost", True)
    slow = target({"reconnect": summary([part(delays=[12.0])], **ABOUT)})
    assert slow["met"] is False
    lost = target({"reconnect": summary([part(lost=1, clients_missing=1)], **ABOUT)})
    assert (lost["shown"], lost["met"]) == ("7.9 s (p50 5.5 s), 0 failed, 1 lost", False)
    none = target({"reconnect": summary([part(delays=[])], **ABOUT)})
    assert (none["value"], none["shown"], none["met"]) == (None, "n/a, 50 failed, 0 lost", False)
    assert target({}) == {
        "figure": "reconnect storm",
        "value": None,
        "shown": "n/a",
        "target": "≤ 10 s, 0 lost",
        "met": None,
    }


def test_the_details_say_who_moved_how_fast_and_what_arrived():
    (line,) = details({"reconnect": summary([part(open_at_end=200)], **ABOUT)})
    assert line.startswith("- reconnect storm: 200 clients in 4 rooms of 50 (connected in 3.9 s: gw1: 100, gw2: 100)")
    assert "gw1 SIGKILLed with 50, 240 messages sent at 10/s (0 failed)" in line
    assert "once the sending stopped, 0.4 s of at most 150 s to catch up: 0 messages missing on 0 clients" in line
    assert "moved ones), 0 clients not connected then, 0 out of order, 7 duplicates (allowed)" in line
    assert line.endswith("; errors met: ConnectionRefusedError: x ×20.")
    assert details({}) == []
