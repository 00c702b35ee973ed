"""Fixtures of the registry tests: no background duties (the registry's clock, `clock`, is in
tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from registry import services


@pytest.fixture(autouse=True)
def _no_background_tasks(settings: Any) -> None:
    """No process registration or heartbeat loop during tests (the top conftest should do this
    for every test that touches the ASGI application)."""
    settings.CHAT_BACKGROUND_TASKS = False


@pytest.fixture
def register_gateway(db: None) -> Callable[..., Any]:
    def register(gateway_id: str, port: int = 8084, **fields: Any) -> Any:
        return services.gateway_register(gateway_id=gateway_id, address="127.0.0.1", port=port, **fields)

    return register


@pytest.fixture
def wrong_token_api() -> APIClient:
    client = APIClient()
    client.credentials(HTTP_X_INTERNAL_TOKEN="not-the-token")
    return client
