"""When a bench client tries again, as docs/websocket.md ("Reconnecting") tells every client to
and the browser client does (`reconnectDelay` in gateway/static/gateway/timeline.js).

- Failed attempt number n (0 for the first retry since the last welcome): wait a random time
  in [0, min(CAP, BASE * 2^n)] ("full jitter"), so that thousands of clients refused at once
  (1013, the registry answering 503 or not at all) come back spread out, not in waves.
- 1012 (the gateway fenced itself) or 1001 (it is going away) on the first attempt: reconnect
  through the registry at once, after a random [0, RESTART_JITTER] only.
- 4401, 4403, 1008, 1009, 4400: do not retry (a new token, a ban, a deployment or client bug).
"""

from __future__ import annotations

import random
from collections.abc import Callable

BASE_SECONDS = 0.5
CAP_SECONDS = 30.0
RESTART_JITTER_SECONDS = 1.0
RESTART_CODES = frozenset({1001, 1012})
FINAL_CODES = frozenset({4401, 4403, 1008, 1009, 4400})


def backoff_delay(attempt: int, *, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait before retry `attempt` (0, 1, ...): full jitter, capped."""
    return rand() * min(CAP_SECONDS, BASE_SECONDS * 2 ** max(0, min(attempt, 30)))


def retry_delay(code: int | None, attempt: int, *, rand: Callable[[], float] = random.random) -> float | None:
    """Seconds before retrying after a failure with close `code` (None: no close code, e.g. the
    registry failed), or None when the client must not retry."""
    if code in FINAL_CODES:
        return None
    if code in RESTART_CODES and attempt == 0:
        return rand() * RESTART_JITTER_SECONDS
    return backoff_delay(attempt, rand=rand)
