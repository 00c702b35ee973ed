"""`python -m runtime.deathsig PARENT_PID COMMAND [ARG ...]`: become COMMAND (exec, same pid)
with Linux's parent-death signal set, so that it gets SIGTERM should PARENT_PID die without
stopping it (a SIGKILLed `manage.py cluster`). The signal is kept across exec; it fires when the
*thread* that spawned this process ends, so the supervisor spawns from its main thread.

A launcher rather than `preexec_fn`: code run between fork and exec is unsafe once the
supervisor has threads (its log relays), and a restarted child is spawned while they run.
Elsewhere than Linux it simply runs COMMAND. Imports nothing of the project or Django.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        sys.exit("usage: python -m runtime.deathsig PARENT_PID COMMAND [ARG ...]")
    parent, command = int(argv[0]), argv[1:]
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before prctl: nobody would stop us
            sys.exit(0)
    os.execv(command[0], command)  # noqa: S606 - the supervisor's own command line, by design


if __name__ == "__main__":
    main(sys.argv[1:])
