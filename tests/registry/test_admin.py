"""The registry in the Django admin: visible to staff, read-only, dead instances marked."""

from __future__ import annotations

import pytest
from django.test import Client

from registry import services
from registry.models import GatewayInstance

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(make_user) -> Client:
    user = make_user(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(user)
    return client


def test_changelist_shows_instances_with_liveness(staff, clock):
    services.gateway_register(gateway_id="gw-dead", address="10.0.0.1", port=8084)
    clock.advance(40)
    services.gateway_register(gateway_id="gw-live", address="10.0.0.2", port=8085)
    services.user_connect(user_id=9, gateway_id="gw-live", connection_id="c")
    response = staff.get("/admin/registry/gatewayinstance/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "gw-dead" in page and "gw-live" in page
    alive_only = staff.get("/admin/registry/gatewayinstance/?alive=yes").content.decode()
    assert "gw-live" in alive_only and "gw-dead" not in alive_only
    assert staff.get("/admin/registry/userconnection/").status_code == 200
    assert staff.get("/admin/registry/sendinstance/").status_code == 200
    assert staff.get("/admin/registry/userlease/").status_code == 200


def test_records_cannot_be_added_or_edited(staff, clock):
    services.gateway_register(gateway_id="gw-1", address="10.0.0.1", port=8084)
    assert staff.get("/admin/registry/gatewayinstance/add/").status_code == 403
    view = staff.get("/admin/registry/gatewayinstance/gw-1/change/")
    assert view.status_code == 200
    assert b'name="address"' not in view.content  # shown, not editable
    response = staff.post("/admin/registry/gatewayinstance/gw-1/change/", {"address": "evil", "port": 1})
    assert response.status_code == 403


def test_an_operator_may_delete_an_instance(staff, clock):
    services.gateway_register(gateway_id="gw-1", address="10.0.0.1", port=8084)
    response = staff.post("/admin/registry/gatewayinstance/gw-1/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not GatewayInstance.objects.exists()


def test_anonymous_is_sent_to_login(client):
    response = client.get("/admin/registry/gatewayinstance/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
