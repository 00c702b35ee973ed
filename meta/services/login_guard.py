"""Lockouts after failed logins, shared by `/login` and the Django admin's login.

Failures are counted per client address (whatever the username: one address spraying one
password over many accounts) and per account (whatever the address: many addresses guessing
one account). Once either count reaches its maximum within LOGIN_FAILURE_WINDOW_SECONDS, that
address or account is refused for LOGIN_LOCKOUT_SECONDS (429 with `Retry-After`) before any
password is checked, the right one included. A successful login clears its account's count.

Counts live in Django's cache: Redis when REDIS_URL is set, so a lockout holds in every process
of a cluster; process memory otherwise. Accounts are keyed by their normalised username
(`meta.usernames.username_key`), unknown ones too, so a reply never tells whether one exists.
"""

from __future__ import annotations

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache

from chatproject.exceptions import RateLimited

LOCKED_MSG = "too many failed logins from this address or for this account: try again in {wait} s"


def _digest(value: str) -> str:
    # Cache keys stay short and printable whatever a client sent.
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _scopes(*, address: str, username_key: str) -> list[tuple[str, int]]:
    return [
        (f"login-fail:addr:{_digest(address)}", settings.LOGIN_FAILURES_PER_ADDRESS),
        (f"login-fail:acct:{_digest(username_key)}", settings.LOGIN_FAILURES_PER_ACCOUNT),
    ]


def login_lockout_remaining(*, address: str, username_key: str) -> int:
    """Seconds until this address and account may try again; 0 when neither is locked."""
    now = time.time()
    keys = [f"{scope}:locked" for scope, _maximum in _scopes(address=address, username_key=username_key)]
    until = max((value for value in cache.get_many(keys).values() if isinstance(value, (int, float))), default=0)
    return math.ceil(until - now) if until > now else 0


def login_attempt_check(*, address: str, username_key: str) -> None:
    """Raise RateLimited while the address or the account is locked out."""
    wait = login_lockout_remaining(address=address, username_key=username_key)
    if wait:
        raise RateLimited(LOCKED_MSG.format(wait=wait), retry_after=wait)


def login_failure_record(*, address: str, username_key: str) -> None:
    """Count a failed login for the address and the account; lock either out at its maximum."""
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    lockout = settings.LOGIN_LOCKOUT_SECONDS
    for scope, maximum in _scopes(address=address, username_key=username_key):
        cache.add(scope, 0, timeout=window)
        try:
            count = cache.incr(scope)
        except ValueError:  # expired between add and incr
            cache.set(scope, 1, timeout=window)
            count = 1
        if count >= maximum:
            cache.set(f"{scope}:locked", time.time() + lockout, timeout=lockout)
            cache.delete(scope)


def login_success_record(*, username_key: str) -> None:
    """A successful login: the account's failures so far are forgotten (the address's stay)."""
    cache.delete(f"login-fail:acct:{_digest(username_key)}")
