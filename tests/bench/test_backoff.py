"""The bench clients' retries follow docs/websocket.md ("Reconnecting"): full jitter from 0.5 s
doubling to a 30 s cap, 1012/1001 left within a second once, no retry on final refusals."""

from __future__ import annotations

import pytest

from bench.backoff import backoff_delay, retry_delay


def test_full_jitter_doubles_up_to_the_cap() -> None:
    assert backoff_delay(0, rand=lambda: 1.0) == 0.5
    assert backoff_delay(3, rand=lambda: 1.0) == 4.0
    assert backoff_delay(3, rand=lambda: 0.25) == 1.0
    assert backoff_delay(10, rand=lambda: 1.0) == 30.0
    assert backoff_delay(10_000, rand=lambda: 0.0) == 0.0


def test_refusals_back_off_and_a_restart_is_left_at_once() -> None:
    assert retry_delay(1013, 2, rand=lambda: 1.0) == 2.0
    assert retry_delay(None, 0, rand=lambda: 1.0) == 0.5  # the registry failed
    assert retry_delay(1012, 0, rand=lambda: 0.5) == 0.5  # within the 1 s restart jitter
    assert retry_delay(1012, 3, rand=lambda: 1.0) == 4.0  # failing again: back off


@pytest.mark.parametrize("code", [4401, 4403, 1008, 1009, 4400])
def test_final_refusals_are_not_retried(code: int) -> None:
    assert retry_delay(code, 0) is None


async def test_a_refused_client_tries_again_until_it_gets_in(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import clients
    from bench.clients import Worker

    outcomes = [
        (False, "registry answered 503", 0.0, 0.0, None),
        (False, "closed before the welcome (code 1013)", 0.0, 0.0, 1013),
        (True, "gw-1", 0.1, 123.0, None),
    ]
    calls: list[float] = []

    async def fake_open(*args):
        calls.append(args[-2])  # the time left for this attempt
        return outcomes[len(calls) - 1]

    worker = Worker(conn=None, index=0)  # type: ignore[arg-type]
    monkeypatch.setattr(worker, "_open", fake_open)
    monkeypatch.setattr(clients, "retry_delay", lambda code, attempt: 0.01)
    ok, label, seconds, at = await worker._open_retrying("g", "l", (1, "t", None), None, "", None, 5.0, False, 3)
    assert (ok, label, at) == (True, "gw-1", 123.0)
    assert len(calls) == 3 and all(0 < left <= 5.0 for left in calls)
    assert seconds >= 0.02


async def test_a_final_refusal_is_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.clients import Worker

    calls = []

    async def fake_open(*args):
        calls.append(args)
        return False, "closed before the welcome (code 4403)", 0.0, 0.0, 4403

    worker = Worker(conn=None, index=0)  # type: ignore[arg-type]
    monkeypatch.setattr(worker, "_open", fake_open)
    outcome = await worker._open_retrying("g", "l", (1, "t", None), None, "", None, 5.0, False, 3)
    assert outcome == (False, "closed before the welcome (code 4403)", 0.0, 0.0)
    assert len(calls) == 1
