"""Fixtures shared by every test module."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from meta.models import User
from meta.tokens import access_token_for_user

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
    if settings.CACHES["default"]["BACKEND"].endswith("LocMemCache"):
        cache.clear()
    else:
        # Redis (REDIS_URL set): clear() would flush the whole database, the channel layer's
        # too; a fresh key prefix gives the test fresh counters instead.
        settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}}


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
