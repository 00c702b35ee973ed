"""Every INTERNAL endpoint of §4 refuses a missing (401) and a wrong (403) X-Internal-Token."""

from __future__ import annotations

import pytest

from registry.models import GatewayInstance

INTERNAL_ENDPOINTS = [
    ("post", "/registry/gateway/register", {"gateway_id": "gw-x", "address": "10.0.0.9", "port": 9000}),
    ("post", "/registry/gateway/heartbeat", {"gateway_id": "gw-a"}),
    ("delete", "/registry/gateway/gw-a", None),
    ("get", "/registry/gateway/instances", None),
    ("post", "/registry/send/register", {"instance_id": "send-x", "address": "10.0.0.9", "port": 9001}),
    ("post", "/registry/send/heartbeat", {"instance_id": "send-a"}),
    ("delete", "/registry/send/send-a", None),
    ("get", "/registry/send/instances", None),
    ("post", "/registry/user/connect", {"user_id": 7, "gateway_id": "gw-a", "connection_id": "c1"}),
    ("post", "/registry/user/disconnect", {"user_id": 7, "gateway_id": "gw-a", "connection_id": "c1"}),
    ("post", "/registry/user/routes/batch", {"user_ids": [7]}),
]


def _call(client, method, path, body):
    if body is None:
        return getattr(client, method)(path)
    return getattr(client, method)(path, body, format="json")


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "body"), INTERNAL_ENDPOINTS)
def test_missing_token_is_401_and_changes_nothing(api, register_gateway, clock, method, path, body):
    register_gateway("gw-a")
    response = _call(api, method, path, body)
    assert response.status_code == 401
    assert response.json() == {"code": 401, "msg": "the X-Internal-Token header is required"}
    assert list(GatewayInstance.objects.values_list("gateway_id", flat=True)) == ["gw-a"]


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "body"), INTERNAL_ENDPOINTS)
def test_wrong_token_is_403_and_changes_nothing(wrong_token_api, register_gateway, clock, method, path, body):
    register_gateway("gw-a")
    response = _call(wrong_token_api, method, path, body)
    assert response.status_code == 403
    assert response.json() == {"code": 403, "msg": "the X-Internal-Token header is wrong"}
    assert list(GatewayInstance.objects.values_list("gateway_id", flat=True)) == ["gw-a"]


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "body"), INTERNAL_ENDPOINTS)
def test_right_token_is_accepted(internal_api, register_gateway, clock, method, path, body):
    register_gateway("gw-a")
    internal_api.post("/registry/send/register", {"instance_id": "send-a", "address": "h", "port": 1}, format="json")
    response = _call(internal_api, method, path, body)
    assert response.status_code == 200, response.json()
    assert response.json()["code"] == 0


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/registry/gateway/available", "/registry/send/available", "/health"])
def test_public_endpoints_need_no_token(api, register_gateway, internal_api, clock, path):
    register_gateway("gw-a")
    internal_api.post("/registry/send/register", {"instance_id": "send-a", "address": "h", "port": 1}, format="json")
    assert api.get(path).status_code == 200
