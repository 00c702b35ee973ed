"""The one way async code runs blocking (database) work: in the thread pool, off the event loop.

`off_loop(fn)(...)` runs `fn` in a worker thread (not the single thread-sensitive thread:
gateways and the runtime make many small independent calls) and closes the database
connection it used, inside the call: Django keeps connections in context variables, and
`sync_to_async` runs `fn` in a copy of the caller's context, so a cleanup outside `fn` (as
Channels' `database_sync_to_async(thread_sensitive=False)` does it) would not see that
connection, and every call would keep one checked out of the pool. Consumers, the delivery
engine and the process runtime all go through here.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from django.db import close_old_connections

P = ParamSpec("P")
R = TypeVar("R")


def off_loop(fn: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """`fn` as an awaitable that runs in a worker thread."""

    @functools.wraps(fn)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        close_old_connections()
        try:
            return fn(*args, **kwargs)
        finally:
            close_old_connections()

    return sync_to_async(call, thread_sensitive=False)
