"""Assertions on the reply envelope (API.md §1.1), shared by the endpoint tests."""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response


def assert_ok(response: Response, data: dict[str, Any] | None = None, *, msg: str | None = None) -> dict[str, Any]:
    """A 200 envelope; compares `data` exactly when given. Returns the body."""
    body = response.json()
    assert response.status_code == 200, body
    assert body["code"] == 0
    if data is not None:
        assert body["data"] == data
    if msg is not None:
        assert body["msg"] == msg
    return body
