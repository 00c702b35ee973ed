"""Input shapes of the registry's HTTP endpoints and the JSON form of its records."""

from __future__ import annotations

import math
import re
from typing import Any

from django.core.validators import URLValidator
from rest_framework import serializers

from chatproject.ids import MAX_ID as MAX_USER_ID
from chatproject.timefmt import iso_utc
from meta.serializers import QueryIdField, StrictCharField, StrictFloatField, StrictIntegerField
from registry.models import GatewayInstance, SendInstance
from registry.services import CONNECTION_ID_MAX, INSTANCE_ID_RE
from registry.snapshot import GatewayEntry

MAX_BATCH_USERS = 10_000
_HOST_RE = re.compile(r"^[A-Za-z0-9._:-]{1,253}$")
_INSTANCE_ID_MSG = "1 to 64 letters, digits, '-', '_' or '.'"


class _StrictRegexField(serializers.RegexField):
    """A JSON string matching the pattern (DRF's RegexField also takes numbers)."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def _instance_id_field() -> serializers.RegexField:
    # The lengths repeat the pattern's for the schema (generated clients check them first).
    return _StrictRegexField(INSTANCE_ID_RE, min_length=1, max_length=64, error_messages={"invalid": _INSTANCE_ID_MSG})


class HostField(StrictCharField):
    """A bare host name or IP address (an IPv6 address may come in brackets; stored without)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_length=1, max_length=255, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if value.startswith("[") and value.endswith("]"):
            value = value[1:-1]
        if not _HOST_RE.match(value):
            raise serializers.ValidationError("a bare host name or IP address, without scheme or port")
        return value


def _url_field(schemes: list[str]) -> serializers.CharField:
    return StrictCharField(
        max_length=512,
        required=False,
        allow_null=True,
        allow_blank=True,
        validators=[URLValidator(schemes=schemes, message=f"a {' or '.join(schemes)} URL")],
    )


class SocketSerializer(serializers.Serializer):
    user_id = StrictIntegerField(min_value=1, max_value=MAX_USER_ID)
    connection_id = StrictCharField(
        max_length=CONNECTION_ID_MAX, required=False, allow_blank=True, trim_whitespace=False, default=""
    )


class GatewayRegisterSerializer(serializers.Serializer):
    gateway_id = _instance_id_field()
    address = HostField()
    port = StrictIntegerField(min_value=1, max_value=65535)
    capacity = StrictIntegerField(min_value=1, max_value=10**9, required=False, allow_null=True)
    ws_url = _url_field(["ws", "wss"])
    # Extension: the sockets a re-registering gateway still holds (see gateway_register).
    sockets = SocketSerializer(many=True, required=False, max_length=1_000_000)


class GatewayHeartbeatSerializer(serializers.Serializer):
    gateway_id = _instance_id_field()
    load = StrictFloatField(min_value=0.0, max_value=1.0, required=False, allow_null=True)
    connected_users = StrictIntegerField(min_value=0, max_value=10**9, required=False, allow_null=True)
    connections = StrictIntegerField(min_value=0, max_value=10**9, required=False, allow_null=True)

    def validate_load(self, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise serializers.ValidationError("a number from 0 to 1")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        connections = attrs.pop("connections", None)
        if attrs.get("connected_users") is None:
            attrs["connected_users"] = connections
        return attrs


class SendRegisterSerializer(serializers.Serializer):
    instance_id = _instance_id_field()
    address = HostField()
    port = StrictIntegerField(min_value=1, max_value=65535)
    url = _url_field(["http", "https"])


class SendHeartbeatSerializer(serializers.Serializer):
    instance_id = _instance_id_field()


class UserConnectionSerializer(serializers.Serializer):
    user_id = StrictIntegerField(min_value=1, max_value=MAX_USER_ID)
    gateway_id = _instance_id_field()
    connection_id = StrictCharField(
        max_length=CONNECTION_ID_MAX, required=False, allow_blank=True, allow_null=True, trim_whitespace=False
    )

    def validate_connection_id(self, value: str | None) -> str:
        return value or ""


class RoutesBatchSerializer(serializers.Serializer):
    user_ids = serializers.ListField(
        child=StrictIntegerField(min_value=1, max_value=MAX_USER_ID),
        min_length=1,
        max_length=MAX_BATCH_USERS,
        error_messages={
            "min_length": "give at least one user id",
            "max_length": f"at most {MAX_BATCH_USERS} user ids per request",
        },
    )


class AvailableQuerySerializer(serializers.Serializer):
    user_id = QueryIdField(required=False)
    avoid = _StrictRegexField(
        INSTANCE_ID_RE,
        min_length=1,
        max_length=64,
        required=False,
        error_messages={"invalid": _INSTANCE_ID_MSG},
        help_text="the gateway this client just lost or could not reach: another one is named if any has room",
    )


def gateway_data(gateway: GatewayInstance) -> dict[str, Any]:
    return {
        "gateway_id": gateway.gateway_id,
        "address": gateway.address,
        "port": gateway.port,
        "ws_url": gateway.ws_url,
        "capacity": gateway.capacity,
        "load": gateway.load,
        "connected_users": gateway.connected_users,
        "last_heartbeat": iso_utc(gateway.last_heartbeat),
    }


def gateway_address_data(gateway: GatewayInstance | GatewayEntry) -> dict[str, Any]:
    """What a client needs to open its socket (`address` is a bare host)."""
    return {
        "gateway_id": gateway.gateway_id,
        "address": gateway.address,
        "port": gateway.port,
        "ws_url": gateway.ws_url,
    }


def send_instance_data(instance: SendInstance) -> dict[str, Any]:
    return {
        "instance_id": instance.instance_id,
        "address": instance.address,
        "port": instance.port,
        "url": instance.url,
        "last_heartbeat": iso_utc(instance.last_heartbeat),
    }


def send_address_data(instance: SendInstance) -> dict[str, Any]:
    return {
        "instance_id": instance.instance_id,
        "address": instance.address,
        "port": instance.port,
        "url": instance.url,
    }
