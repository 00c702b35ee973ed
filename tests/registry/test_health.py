"""`GET /health`: no envelope; the database and Redis state and the live instance counts."""

from __future__ import annotations

import pytest
from django.db.utils import OperationalError

from registry import services

pytestmark = pytest.mark.django_db


def test_ok_without_redis(api, register_gateway, clock, settings):
    settings.REDIS_URL = ""
    register_gateway("gw-1")
    register_gateway("gw-2")
    services.send_instance_register(instance_id="send-1", address="h", port=1)
    clock.advance(40)
    register_gateway("gw-3")
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "redis": "not configured",
        "gateways": 1,
        "send_instances": 0,
    }


def test_unreachable_redis_is_503_degraded(api, clock, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = api.get("/health")
    assert response.status_code == 503
    assert response.json() == {
        "status": "degraded",
        "database": "ok",
        "redis": "error",
        "gateways": 0,
        "send_instances": 0,
    }


def test_a_database_error_is_503_degraded(api, clock, settings, monkeypatch):
    settings.REDIS_URL = ""

    def broken(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("registry.health.connection.cursor", broken)
    response = api.get("/health")
    assert response.status_code == 503
    assert response.json() == {
        "status": "degraded",
        "database": "error",
        "redis": "not configured",
        "gateways": 0,
        "send_instances": 0,
    }


def test_wrong_method_is_an_enveloped_405(api, clock):
    response = api.post("/health", {}, format="json")
    assert response.status_code == 405
    assert response.json() == {"code": 405, "msg": 'Method "POST" not allowed.'}


@pytest.mark.skipif("not __import__('os').environ.get('REDIS_URL')", reason="needs REDIS_URL")
def test_reachable_redis_is_ok(api, clock, settings):
    import os

    settings.REDIS_URL = os.environ["REDIS_URL"]
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json()["redis"] == "ok"
