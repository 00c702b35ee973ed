"""The cluster's supervisor (runtime.supervisor) with small real child processes: restarts with
a doubling backoff, giving up on a child that keeps dying or hangs at start-up (saying why,
with its last lines), the others kept running, and the exit code. The whole cluster is tested
in tests/cluster/test_cluster_command.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings

from runtime import supervisor as supervision
from runtime.supervisor import ChildSpec, Console, State, Supervisor, describe_exit, restart_delay
from tests.cluster.conftest import free_port
from tests.support.servers import wait_until

pytestmark = pytest.mark.timeout(60)

# An HTTP server (any answer to /health counts), a child that dies at once saying why, one that hangs.
SERVES = "import http.server, sys; http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), http.server.BaseHTTPRequestHandler).serve_forever()"  # noqa: E501
DIES = "import sys; print('cannot start: the flux capacitor is missing', flush=True); sys.exit(3)"
HANGS = "import time; print('waiting for something', flush=True); time.sleep(60)"


class Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, line: str) -> None:
        self.lines.append(line)

    def text(self) -> str:
        return "\n".join(self.lines)


def spec(name: str, code: str, *, first: bool = True) -> ChildSpec:
    port = free_port()
    return ChildSpec(
        name=name,
        argv=[sys.executable, "-c", code, str(port)],
        env={"PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1"},
        host="127.0.0.1",
        port=port,
        first_to_stop=first,
    )


@pytest.fixture
def fast(monkeypatch):
    """Backoff in hundredths of the real one, so a test sees the whole rule in a second."""
    monkeypatch.setattr(supervision, "RESTART_DELAY_SECONDS", 0.01)
    monkeypatch.setattr(supervision, "RESTART_DELAY_MAX_SECONDS", 0.1)


def start(supervisor: Supervisor) -> tuple[threading.Thread, list[int]]:
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(supervisor.run()), daemon=True)
    thread.start()
    return thread, codes


def make(*specs: ChildSpec, startup_timeout: float = 10.0) -> tuple[Supervisor, Lines]:
    out = Lines()
    supervisor = Supervisor(
        list(specs),
        console=Console(out.write),
        cwd=settings.BASE_DIR,
        startup_timeout=startup_timeout,
        stop_timeout=5,
        on_ready=lambda children: out.write("READY"),
    )
    return supervisor, out


def test_the_backoff_doubles_from_half_a_second_to_ten():
    assert [restart_delay(n) for n in range(1, 8)] == [0.5, 1, 2, 4, 8, 10, 10]
    assert describe_exit(3) == "exited with code 3"
    assert describe_exit(-signal.SIGKILL) == "was killed by SIGKILL"


def test_a_child_that_dies_is_restarted_and_the_others_keep_running():
    supervisor, out = make(spec("web", SERVES), spec("other", SERVES))
    thread, codes = start(supervisor)
    try:
        wait_until(lambda: "READY" in out.lines, timeout=15, what="ready")
        web, other = supervisor.children
        first_pid, other_pid = web.pid, other.pid
        web.process.send_signal(signal.SIGKILL)
        wait_until(lambda: "web is serving again" in out.text(), timeout=15, what="a restart")
        assert web.pid != first_pid and web.state is State.RUNNING
        assert (other.pid, other.state, other.restarts) == (other_pid, State.RUNNING, 0)
        text = out.text()
        assert "cluster  | web was killed by SIGKILL after" in text and "restarting it in 0.5 s" in text
        assert "cluster  | restarting web (restart 1)" in text
    finally:
        supervisor.request_stop(signal.SIGTERM)
        thread.join(timeout=15)
    assert codes == [0]
    assert out.lines[-1] == "cluster  | stopped"


def test_a_child_that_keeps_dying_at_start_up_is_given_up_with_its_last_lines(fast):
    supervisor, out = make(spec("broken", DIES), spec("fine", SERVES))
    thread, codes = start(supervisor)
    try:
        wait_until(lambda: "giving up on broken" in out.text(), timeout=20, what="giving up")
        text = out.text()
        assert text.count("restarting broken (restart") == 4
        assert (
            "cluster  | giving up on broken: it exited with code 3 after " in text
            and ", 5 deaths in a row each within 30 s of starting; fine keeps serving" in text
        ), text
        assert "cluster  | the last lines of broken:\ncluster  |   cannot start: the flux capacitor is missing" in text
        # The other one still runs, and the cluster is ready with it.
        wait_until(lambda: "READY" in out.lines, timeout=15, what="ready")
        assert supervisor.children[1].state is State.RUNNING
        assert thread.is_alive()
    finally:
        supervisor.request_stop(signal.SIGINT)
        thread.join(timeout=15)
    assert codes == [1]
    assert out.lines[-1] == "cluster  | stopped; gave up on broken"


def test_a_long_life_starts_the_count_afresh(fast, monkeypatch):
    # Each run lasts longer than "stable": the child is restarted forever, never given up.
    monkeypatch.setattr(supervision, "STABLE_AFTER_SECONDS", 0.05)
    slow_death = "import sys, time; time.sleep(0.1); sys.exit(1)"
    supervisor, out = make(spec("flaky", slow_death))
    thread, codes = start(supervisor)
    try:
        wait_until(lambda: "restarting flaky (restart 7)" in out.text(), timeout=20, what="seven restarts")
        assert "giving up" not in out.text()
        assert out.text().count("restarting it in 0.01 s") >= 7  # the first pause, every time
    finally:
        supervisor.request_stop(signal.SIGTERM)
        thread.join(timeout=15)
    assert codes == [0]


def test_a_child_that_hangs_at_start_up_is_given_up_and_with_none_left_it_stops():
    supervisor, out = make(spec("stuck", HANGS), startup_timeout=1.0)
    started = time.monotonic()
    code = supervisor.run()
    assert code == 1
    assert time.monotonic() - started < 10
    text = out.text()
    assert "cluster  | giving up on stuck: it did not answer /health within 1 s of starting; no other process" in text
    assert "cluster  |   waiting for something" in text
    assert "cluster  | no process is left: stopping" in text
    assert not supervisor.children[0].alive()


PARENT = """
import os, subprocess, sys, time
sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
child = subprocess.Popen([sys.executable, "-m", "runtime.deathsig", str(os.getpid()), *sleeper])
print(child.pid, flush=True)
time.sleep(60)
"""


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_a_child_dies_with_a_supervisor_killed_without_stopping_it():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], cwd=settings.BASE_DIR, stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        assert _running(child)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=5)
        wait_until(lambda: not _running(child), timeout=5, what="the orphan to get its SIGTERM")
    finally:
        parent.kill()
        parent.wait(timeout=5)
        parent.stdout.close()
