"""The registry's instance endpoints (API.md §4): register, heartbeat, unregister and list, the
same four for gateways and for send instances, written once (`InstanceKind` says what differs)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chatproject.envelope import ok, validated
from chatproject.permissions import InternalAPIView
from meta.serializers import UtcDateTimeField
from registry import selectors, services
from registry.models import Instance
from registry.serializers import (
    GatewayHeartbeatSerializer,
    GatewayRegisterSerializer,
    SendHeartbeatSerializer,
    SendRegisterSerializer,
    gateway_data,
    send_instance_data,
)

# Reply shapes for the schema (chatproject.openapi); the replies themselves come from
# registry.serializers' *_data functions.
_GATEWAY_RECORD = inline_serializer(
    "Gateway",
    {
        "gateway_id": serializers.CharField(),
        "address": serializers.CharField(),
        "port": serializers.IntegerField(),
        "ws_url": serializers.CharField(),
        "capacity": serializers.IntegerField(),
        "load": serializers.FloatField(help_text="the gateway's own figure, 0 to 1"),
        "connected_users": serializers.IntegerField(),
        "last_heartbeat": UtcDateTimeField(),
    },
).__class__
_SEND_RECORD = inline_serializer(
    "SendInstance",
    {
        "instance_id": serializers.CharField(),
        "address": serializers.CharField(),
        "port": serializers.IntegerField(),
        "url": serializers.CharField(),
        "last_heartbeat": UtcDateTimeField(),
    },
).__class__
_GATEWAY = OpenApiResponse(_GATEWAY_RECORD, description="the gateway's record")
_SEND_INSTANCE = OpenApiResponse(_SEND_RECORD, description="the send instance's record")
GATEWAY_GONE = OpenApiResponse(description="the gateway is not registered or is dead: register again")
_SEND_GONE = OpenApiResponse(description="the send instance is not registered or is dead: register again")


def _path_id(name: str) -> OpenApiParameter:
    return OpenApiParameter(name, str, OpenApiParameter.PATH, pattern=r"^[A-Za-z0-9._-]{1,64}$")


# --- Instances: the same four endpoints for gateways and send instances ----------------------


@dataclass(frozen=True)
class InstanceKind:
    """What the endpoints of one kind of instance differ in; the views below are written once."""

    label: str  # "gateway", "send instance"
    id_field: str  # the id's name in bodies, paths and records
    plural: str  # the list's key in `data`
    register_input: type[serializers.Serializer]
    heartbeat_input: type[serializers.Serializer]
    register: Callable[[dict[str, Any]], Instance]
    heartbeat: Callable[[dict[str, Any]], Instance]
    unregister: Callable[[str], None]
    live: Callable[[], Sequence[Instance]]
    record: Callable[[Any], dict[str, Any]]


GATEWAYS = InstanceKind(
    label="gateway",
    id_field="gateway_id",
    plural="gateways",
    register_input=GatewayRegisterSerializer,
    heartbeat_input=GatewayHeartbeatSerializer,
    register=lambda data: services.gateway_register(
        gateway_id=data["gateway_id"],
        address=data["address"],
        port=data["port"],
        capacity=data.get("capacity"),
        ws_url=data.get("ws_url") or None,
        connections=[(s["user_id"], s["connection_id"]) for s in data.get("sockets", [])],
    ),
    heartbeat=lambda data: services.gateway_heartbeat(**data),
    unregister=lambda instance_id: services.gateway_unregister(gateway_id=instance_id),
    live=selectors.gateway_list,
    record=gateway_data,
)
SEND_INSTANCES = InstanceKind(
    label="send instance",
    id_field="instance_id",
    plural="instances",
    register_input=SendRegisterSerializer,
    heartbeat_input=SendHeartbeatSerializer,
    register=lambda data: services.send_instance_register(
        instance_id=data["instance_id"], address=data["address"], port=data["port"], url=data.get("url") or None
    ),
    heartbeat=lambda data: services.send_instance_heartbeat(**data),
    unregister=lambda instance_id: services.send_instance_unregister(instance_id=instance_id),
    live=selectors.send_instance_list,
    record=send_instance_data,
)


class InstanceView(InternalAPIView, APIView):
    kind: ClassVar[InstanceKind]


class InstanceRegisterView(InstanceView):
    """Register (upsert) an instance."""

    def post(self, request: Request) -> Response:
        data = validated(self.kind.register_input, request.data)
        return ok(self.kind.record(self.kind.register(data)), f"{self.kind.label} registered")


class InstanceHeartbeatView(InstanceView):
    """Keep a live instance alive; 404 tells it to register again."""

    def post(self, request: Request) -> Response:
        data = validated(self.kind.heartbeat_input, request.data)
        return ok(self.kind.record(self.kind.heartbeat(data)), "heartbeat received")


class InstanceDeleteView(InstanceView):
    """Unregister an instance (idempotent)."""

    def delete(self, request: Request, **path: str) -> Response:
        instance_id = path[self.kind.id_field]
        self.kind.unregister(instance_id)
        return ok({self.kind.id_field: instance_id}, f"{self.kind.label} unregistered")


class InstanceListView(InstanceView):
    """The live instances."""

    def get(self, request: Request) -> Response:
        records = [self.kind.record(instance) for instance in self.kind.live()]
        return ok({self.kind.plural: records, "count": len(records)})


@extend_schema_view(
    post=extend_schema(
        operation_id="registry_gateway_register",
        summary="Register (upsert) a gateway",
        description="INTERNAL. `ws_url` defaults to `ws://address:port/api/ws`.",
        tags=["registry"],
        request=GatewayRegisterSerializer,
        responses={200: _GATEWAY},
    )
)
class GatewayRegisterView(InstanceRegisterView):
    kind = GATEWAYS


@extend_schema_view(
    post=extend_schema(
        operation_id="registry_gateway_heartbeat",
        summary="Keep a gateway alive, with its load",
        description="INTERNAL. Every 10 s by default; no heartbeat for 30 s and the gateway is dead.",
        tags=["registry"],
        request=GatewayHeartbeatSerializer,
        responses={200: _GATEWAY, 404: GATEWAY_GONE},
    )
)
class GatewayHeartbeatView(InstanceHeartbeatView):
    kind = GATEWAYS


@extend_schema_view(
    delete=extend_schema(
        operation_id="registry_gateway_unregister",
        summary="Unregister a gateway (idempotent)",
        description="INTERNAL. Its user routes go with it.",
        tags=["registry"],
        parameters=[_path_id("gateway_id")],
        responses={
            200: inline_serializer("GatewayUnregisterData", {"gateway_id": serializers.CharField()}),
            404: OpenApiResponse(description="the path holds no valid gateway id"),
        },
    )
)
class GatewayDeleteView(InstanceDeleteView):
    kind = GATEWAYS


@extend_schema_view(
    get=extend_schema(
        operation_id="registry_gateway_instances",
        summary="The live gateways",
        description="INTERNAL.",
        tags=["registry"],
        responses={
            200: inline_serializer(
                "GatewayInstancesData", {"gateways": _GATEWAY_RECORD(many=True), "count": serializers.IntegerField()}
            )
        },
    )
)
class GatewayListView(InstanceListView):
    kind = GATEWAYS


@extend_schema_view(
    post=extend_schema(
        operation_id="registry_send_register",
        summary="Register (upsert) a send instance",
        description="INTERNAL. `url` defaults to `http://address:port`, stored without a trailing slash.",
        tags=["registry"],
        request=SendRegisterSerializer,
        responses={200: _SEND_INSTANCE},
    )
)
class SendRegisterView(InstanceRegisterView):
    kind = SEND_INSTANCES


@extend_schema_view(
    post=extend_schema(
        operation_id="registry_send_heartbeat",
        summary="Keep a send instance alive",
        description="INTERNAL.",
        tags=["registry"],
        request=SendHeartbeatSerializer,
        responses={200: _SEND_INSTANCE, 404: _SEND_GONE},
    )
)
class SendHeartbeatView(InstanceHeartbeatView):
    kind = SEND_INSTANCES


@extend_schema_view(
    delete=extend_schema(
        operation_id="registry_send_unregister",
        summary="Unregister a send instance (idempotent)",
        description="INTERNAL.",
        tags=["registry"],
        parameters=[_path_id("instance_id")],
        responses={
            200: inline_serializer("SendUnregisterData", {"instance_id": serializers.CharField()}),
            404: OpenApiResponse(description="the path holds no valid instance id"),
        },
    )
)
class SendDeleteView(InstanceDeleteView):
    kind = SEND_INSTANCES


@extend_schema_view(
    get=extend_schema(
        operation_id="registry_send_instances",
        summary="The live send instances",
        description="INTERNAL.",
        tags=["registry"],
        responses={
            200: inline_serializer(
                "SendInstancesData", {"instances": _SEND_RECORD(many=True), "count": serializers.IntegerField()}
            )
        },
    )
)
class SendListView(InstanceListView):
    kind = SEND_INSTANCES
