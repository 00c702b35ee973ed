"""`BatchGate`: coalescers sharing a gate run at most its limit of batches at once between them,
and a batch is cut from its queue only when it may run, so what arrives while it waits joins
it (fewer, larger batches: the point of the gate, issue 15)."""

from __future__ import annotations

import asyncio
import threading
import time

from chatproject.coalescer import BatchGate, Coalescer


class Recorder:
    """A batch function that notes its batches and how many ran at the same moment."""

    def __init__(self, seconds: float = 0.05) -> None:
        self.seconds = seconds
        self.batches: list[list[int]] = []
        self.running = 0
        self.most = 0
        self._lock = threading.Lock()

    def run(self, items: list[int]) -> list[int]:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.batches.append(items)
        time.sleep(self.seconds)
        with self._lock:
            self.running -= 1
        return [item * 2 for item in items]


def _coalescer(recorder: Recorder, gate: BatchGate | None) -> Coalescer[int, int]:
    return Coalescer(recorder.run, wait=lambda: 0.001, cap=lambda: 100, queue_max=lambda: 10_000, gate=gate)


async def test_two_coalescers_sharing_a_gate_of_one_never_run_two_batches_at_once():
    recorder = Recorder()
    gate = BatchGate(lambda: 1)
    first, second = _coalescer(recorder, gate), _coalescer(recorder, gate)
    answers = await asyncio.wait_for(
        asyncio.gather(*(c.submit(i) for i in range(40) for c in (first, second))), timeout=10
    )
    assert answers == [i * 2 for i in range(40) for _ in (0, 1)]
    assert recorder.most == 1
    assert first.outstanding == second.outstanding == 0


async def test_without_a_shared_gate_they_overlap_so_the_test_above_can_fail():
    recorder = Recorder()
    first, second = _coalescer(recorder, None), _coalescer(recorder, None)
    await asyncio.wait_for(asyncio.gather(*(c.submit(i) for i in range(4) for c in (first, second))), timeout=10)
    assert recorder.most >= 2


async def test_items_arriving_while_a_batch_waits_for_the_gate_join_that_batch():
    recorder = Recorder(seconds=0.2)
    gate = BatchGate(lambda: 1)
    busy, queued = _coalescer(recorder, gate), _coalescer(recorder, gate)
    holding = asyncio.ensure_future(busy.submit(0))  # takes the gate for 0.2 s
    await asyncio.sleep(0.05)
    early = [asyncio.ensure_future(queued.submit(i)) for i in (1, 2)]
    await asyncio.sleep(0.05)  # `queued` started a batch that waits for the gate
    late = [asyncio.ensure_future(queued.submit(i)) for i in (3, 4, 5)]
    await asyncio.wait_for(asyncio.gather(holding, *early, *late), timeout=10)
    assert recorder.batches == [[0], [1, 2, 3, 4, 5]]


async def test_a_batch_cancelled_while_waiting_for_the_gate_leaves_the_coalescer_working():
    recorder = Recorder(seconds=0.2)
    gate = BatchGate(lambda: 1)
    busy, queued = _coalescer(recorder, gate), _coalescer(recorder, gate)
    holding = asyncio.ensure_future(busy.submit(0))
    await asyncio.sleep(0.05)
    waiting = asyncio.ensure_future(queued.submit(1))
    await asyncio.sleep(0.05)
    for task in list(queued._tasks):  # the batch task waiting for the gate (process shutdown)
        task.cancel()
    await asyncio.sleep(0)
    await holding
    # The item stayed queued: the next submission takes it along.
    assert await asyncio.wait_for(queued.submit(2), timeout=10) == 4
    assert await asyncio.wait_for(waiting, timeout=10) == 2
    assert queued.outstanding == 0
