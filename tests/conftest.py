"""Fixtures shared by every test module."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from meta.models import User
from meta.tokens import access_token_for_user
from registry.snapshot import gateway_snapshot

INTERNAL_TOKEN = "test-internal-token"
MISSING_TOKEN_MSG = "authentication required: send the header 'Authorization: Bearer <access token>'"
_usernames = itertools.count(1)


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings: Any) -> None:
    """Cheap password hashing, a known internal token, no background duties, and fresh
    throttle counters per test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # No registration or heartbeats from the test process itself; server processes the tests
    # start get their own environment.
    settings.CHAT_BACKGROUND_TASKS = False
    settings.INTERNAL_API_TOKEN = INTERNAL_TOKEN
    gateway_snapshot().reset()  # each test's gateways, not the previous test's
    if settings.CACHES["default"]["BACKEND"].endswith("LocMemCache"):
        cache.clear()
    else:
        # Redis (REDIS_URL set): clear() would flush the whole database, the channel layer's
        # too; a fresh key prefix gives the test fresh counters instead.
        settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}}


@pytest.fixture
def not_a_gateway(settings: Any) -> Any:
    """This process without the gateway role, as the runtime configures it at start-up
    (CHAT_ROLES without `gateway`); the engine's configuration is restored afterwards."""
    from gateway.delivery import delivery_engine
    from runtime.lifecycle import configure_gateway

    engine = delivery_engine()
    before = (engine.gateway_id, engine.register_again)
    settings.CHAT_ROLES = ["send", "meta"]
    configure_gateway()
    yield
    engine.configure(gateway_id=before[0], register_again=before[1])


@pytest.fixture
def api() -> APIClient:
    """An anonymous JSON client going through the real URLs, middleware and exception handler."""
    return APIClient()


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    def make(username: str | None = None, password: str = "secret123", **fields: Any) -> User:
        name = username or f"user{next(_usernames)}"
        return User.objects.create_user(username=name, password=password, **fields)

    return make


@pytest.fixture
def token_for() -> Callable[[User], str]:
    return lambda user: access_token_for_user(user=user)


@pytest.fixture
def client_for(token_for: Callable[[User], str]) -> Callable[[User], APIClient]:
    """An APIClient authenticated as the given user with a real access token."""

    def make(user: User) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
        return client

    return make


@pytest.fixture
def internal_api() -> APIClient:
    client = APIClient()
    client.credentials(HTTP_X_INTERNAL_TOKEN=INTERNAL_TOKEN)
    return client


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> datetime:
        self.current += timedelta(seconds=seconds)
        return self.current


START = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """Time stands still until the test calls `clock.advance(seconds)`."""
    fake = FakeClock(START)
    monkeypatch.setattr("registry.clock.now", fake.now)
    return fake
