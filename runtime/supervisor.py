"""The supervisor of `manage.py cluster`: it starts the child processes, relays their output
line by line under their name, restarts one that dies, and stops them all in order.

Restarts. A child that exits without being asked to is started again after a pause that
starts at 0.5 s and doubles with each death in a row, up to 10 s; a child that had run for 30 s
or more starts the count afresh (a crash after a long life restarts in 0.5 s). The others keep
serving meanwhile. Every death and restart is printed, and so is the moment a restarted child
answers `/health` again.

Giving up. The supervisor gives up on a child that dies 5 times in a row within 30 s of being
started (it keeps dying at start-up: a taken port, a broken setting), or that does not answer
`/health` within the start-up timeout (it hangs; any HTTP answer counts, a 503 only says a
backing service is away). It prints why and the child's last 20 lines, and the others keep
serving. When no child is left, it stops. A child is never given up for dying after a long run.

Stopping. On SIGINT or SIGTERM (`request_stop`) pending restarts are cancelled, the first group
(gateways and send: they hold sockets and registry records) gets SIGTERM, then the second
(meta, registry); each group has the stop timeout before SIGKILL. A second signal, a second or
more after the first, SIGKILLs every child at once.

`run` returns the exit code: 0 when every child was serving when it was told to stop, 1 when one
had been given up (or none was left).
"""

from __future__ import annotations

import collections
import contextlib
import enum
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TextIO

EXIT_OK = 0
EXIT_CHILD_FAILED = 1
RESTART_DELAY_SECONDS = 0.5
RESTART_DELAY_MAX_SECONDS = 10.0
STABLE_AFTER_SECONDS = 30.0
GIVE_UP_AFTER_DEATHS = 5
LAST_LINES = 20
POLL_SECONDS = 0.2
HEALTH_TIMEOUT_SECONDS = 1.0
REPEAT_SIGNAL_SECONDS = 1.0


def restart_delay(deaths_in_a_row: int) -> float:
    """The pause before restarting a child that died `deaths_in_a_row` times (1, 2, ...)."""
    return min(RESTART_DELAY_SECONDS * 2 ** max(deaths_in_a_row - 1, 0), RESTART_DELAY_MAX_SECONDS)


def describe_exit(code: int) -> str:
    """ "exited with code 3", "was killed by SIGKILL"."""
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-code).name}"
        return f"was killed by signal {-code}"
    return f"exited with code {code}"


def answers_health(host: str, port: int) -> bool:
    """Whether the child at host:port serves `/health` (any status: a 503 is an answer too)."""
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/health", timeout=HEALTH_TIMEOUT_SECONDS):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False


class Console:
    """The cluster's output, one whole line at a time from any thread: its own lines
    (`cluster  | ...`) and its children's (`gw-1     | ...`)."""

    def __init__(self, write: Callable[[str], None], *, styles: dict[str, Callable[[str], str]] | None = None) -> None:
        self._write = write
        self._styles = styles or {}
        self._lock = threading.Lock()

    def line(self, name: str, text: str) -> None:
        with self._lock:
            self._write(f"{name:<8} | {text}")

    def say(self, text: str, *, style: str = "") -> None:
        """A line of the cluster's own; `style` "error" or "success" colours it on a terminal."""
        self.line("cluster", self._styles.get(style, str)(text))


class State(enum.Enum):
    STARTING = "starting"  # spawned, not yet answering /health
    RUNNING = "running"
    WAITING = "waiting"  # dead, to be restarted at `restart_at`
    GAVE_UP = "gave up"
    STOPPED = "stopped"


@dataclass
class ChildSpec:
    """What to run for one child, and where it answers /health (`host` a reachable address)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    host: str
    port: int
    first_to_stop: bool


@dataclass
class Child:
    spec: ChildSpec
    state: State = State.STARTING
    process: subprocess.Popen[str] | None = None
    started_at: float = 0.0
    deaths_in_a_row: int = 0
    restarts: int = 0
    restart_at: float = 0.0
    failure: str = ""
    lines: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=LAST_LINES))
    relays: list[threading.Thread] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, signum: int) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signum)  # type: ignore[union-attr]


class Supervisor:
    """Runs the children of one cluster until told to stop (see the module docstring)."""

    def __init__(
        self,
        specs: list[ChildSpec],
        *,
        console: Console,
        cwd: Path,
        startup_timeout: float,
        stop_timeout: float,
        on_ready: Callable[[list[Child]], None] = lambda children: None,
    ) -> None:
        self.children = [Child(spec) for spec in specs]
        self.console = console
        self.cwd = cwd
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.on_ready = on_ready
        self._signals: list[int] = []
        self._first_signal_at = 0.0

    # --- signals --------------------------------------------------------------------------

    def request_stop(self, signum: int, frame: FrameType | None = None) -> None:
        """A signal handler: stop in order; a second signal (a second or more later) kills."""
        now = time.monotonic()
        # Not the same stop delivered twice (`timeout` and some supervisors signal the process
        # and then its process group).
        if self._signals and now - self._first_signal_at >= REPEAT_SIGNAL_SECONDS:
            for child in self.children:
                child.signal(signal.SIGKILL)
        if not self._signals:
            self._first_signal_at = now
        self._signals.append(signum)

    # --- the loop -------------------------------------------------------------------------

    def run(self) -> int:
        """Start every child, supervise them until a stop is asked for or none is left, stop
        them in order; the exit code."""
        for child in self.children:
            self._spawn(child)
        ready = False
        try:
            while not self._signals:
                for child in self.children:
                    self._tick(child, time.monotonic())
                if all(child.state is State.GAVE_UP for child in self.children):
                    self.console.say("no process is left: stopping", style="error")
                    break
                if not ready and all(child.state in (State.RUNNING, State.GAVE_UP) for child in self.children):
                    ready = True
                    self.on_ready(self.children)
                self._pause(POLL_SECONDS)
        finally:
            self.stop_all()
        for child in self.children:
            for relay in child.relays:
                relay.join(timeout=2)
        gave_up = [child.name for child in self.children if child.state is State.GAVE_UP]
        if gave_up:
            self.console.say(f"stopped; gave up on {', '.join(gave_up)}", style="error")
            return EXIT_CHILD_FAILED
        self.console.say("stopped", style="success")
        return EXIT_OK

    def _tick(self, child: Child, now: float) -> None:
        if child.state in (State.STARTING, State.RUNNING):
            code = child.process.poll() if child.process is not None else None
            if code is not None:
                self._died(child, code, now)
            elif child.state is State.STARTING:
                self._check_started(child, now)
        elif child.state is State.WAITING and now >= child.restart_at:
            child.restarts += 1
            self.console.say(f"restarting {child.name} (restart {child.restarts})")
            self._spawn(child)

    def _check_started(self, child: Child, now: float) -> None:
        if answers_health(child.spec.host, child.spec.port):
            child.state = State.RUNNING
            if child.restarts:
                self.console.say(f"{child.name} is serving again (pid {child.pid})")
        elif now - child.started_at >= self.startup_timeout:
            child.signal(signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(timeout=5)  # type: ignore[union-attr]
            self._give_up(child, f"did not answer /health within {self.startup_timeout:g} s of starting")

    def _died(self, child: Child, code: int, now: float) -> None:
        ran = now - child.started_at
        if ran >= STABLE_AFTER_SECONDS:
            child.deaths_in_a_row = 0
        child.deaths_in_a_row += 1
        what = f"{describe_exit(code)} after {ran:.1f} s"
        if child.deaths_in_a_row >= GIVE_UP_AFTER_DEATHS:
            self._give_up(
                child,
                f"{what}, {child.deaths_in_a_row} deaths in a row each within {STABLE_AFTER_SECONDS:g} s of starting",
            )
            return
        delay = restart_delay(child.deaths_in_a_row)
        child.state = State.WAITING
        child.restart_at = now + delay
        self.console.say(f"{child.name} {what}; restarting it in {delay:g} s")

    def _give_up(self, child: Child, why: str) -> None:
        child.state = State.GAVE_UP
        child.failure = why
        for relay in child.relays:  # its last words, before they are quoted
            relay.join(timeout=2)
        serving = [other.name for other in self.children if other.state in (State.STARTING, State.RUNNING)]
        if serving:
            others = f"{', '.join(serving)} {'keeps' if len(serving) == 1 else 'keep'} serving"
        else:
            others = "no other process is left"
        self.console.say(f"giving up on {child.name}: it {why}; {others}", style="error")
        if child.lines:
            self.console.say(f"the last lines of {child.name}:")
            for line in list(child.lines):
                self.console.say(f"  {line}")

    # --- children -------------------------------------------------------------------------

    def _spawn(self, child: Child) -> None:
        """Start the child's process (from the main thread: see runtime.deathsig) and a thread
        that relays its output."""
        child.process = subprocess.Popen(
            [sys.executable, "-m", "runtime.deathsig", str(os.getpid()), *child.spec.argv],
            cwd=self.cwd,
            env=child.spec.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            bufsize=1,
            # Out of the terminal's process group: a Ctrl-C reaches the supervisor only, which
            # stops the children in order.
            process_group=0,
        )
        child.state = State.STARTING
        child.started_at = time.monotonic()
        # The last lines quoted when giving up are those of its last run.
        child.lines = collections.deque(maxlen=LAST_LINES)
        assert child.process.stdout is not None
        relay = threading.Thread(
            target=self._relay,
            args=(child.name, child.process.stdout, child.lines),
            name=f"relay-{child.name}",
            daemon=True,
        )
        relay.start()
        child.relays = [thread for thread in child.relays if thread.is_alive()] + [relay]

    def _relay(self, name: str, stream: TextIO, lines: collections.deque[str]) -> None:
        for raw in stream:
            line = raw.rstrip()
            lines.append(line)
            self.console.line(name, line)

    # --- stopping -------------------------------------------------------------------------

    def _pause(self, seconds: float) -> None:
        threading.Event().wait(seconds)

    def stop_all(self) -> None:
        """Cancel pending restarts; SIGTERM the first group, then the second; SIGKILL whatever
        has not exited within the stop timeout of its SIGTERM."""
        if self._signals:
            self.console.say("stopping (Ctrl-C again to kill at once)")
        for child in self.children:
            if child.state is State.WAITING:
                child.state = State.STOPPED
        for group in (
            [child for child in self.children if child.spec.first_to_stop],
            [child for child in self.children if not child.spec.first_to_stop],
        ):
            for child in group:
                child.signal(signal.SIGTERM)
            deadline = time.monotonic() + self.stop_timeout
            while any(child.alive() for child in group) and time.monotonic() < deadline:
                self._pause(0.1)
            for child in group:
                if child.alive():
                    self.console.say(f"{child.name} did not stop within {self.stop_timeout:g} s: killing it")
                    child.signal(signal.SIGKILL)
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        child.process.wait(timeout=5)  # type: ignore[union-attr]
        for child in self.children:
            if child.state in (State.STARTING, State.RUNNING) and child.process is not None:
                code = child.process.poll()
                if code not in (0, None):
                    self.console.say(f"{child.name} {describe_exit(code)}")
                child.state = State.STOPPED
