"""HTTP endpoints of the registry (API.md §4). Thin: validate, call one service or selector,
shape the reply."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chatproject.envelope import json_error, ok, validated
from chatproject.exceptions import NotAuthenticated
from chatproject.openapi import JWT_SCHEME
from chatproject.permissions import InternalAPIView
from meta.authentication import bearer_token
from meta.serializers import UtcDateTimeField
from meta.tokens import access_token_claims
from registry import selectors, services
from registry.health import health_report
from registry.serializers import (
    AvailableQuerySerializer,
    GatewayHeartbeatSerializer,
    GatewayRegisterSerializer,
    RoutesBatchSerializer,
    SendHeartbeatSerializer,
    SendRegisterSerializer,
    UserConnectionSerializer,
    gateway_address_data,
    gateway_data,
    send_address_data,
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
_CONNECTION = OpenApiResponse(UserConnectionSerializer, description="the connection as recorded")
_GATEWAY_GONE = OpenApiResponse(description="the gateway is not registered or is dead: register again")
_SEND_GONE = OpenApiResponse(description="the send instance is not registered or is dead: register again")


def _path_id(name: str) -> OpenApiParameter:
    return OpenApiParameter(name, str, OpenApiParameter.PATH, pattern=r"^[A-Za-z0-9._-]{1,64}$")


class GatewayRegisterView(InternalAPIView, APIView):
    @extend_schema(
        operation_id="registry_gateway_register",
        summary="Register (upsert) a gateway",
        description="INTERNAL. `ws_url` defaults to `ws://address:port/api/ws`.",
        tags=["registry"],
        request=GatewayRegisterSerializer,
        responses={200: _GATEWAY},
    )
    def post(self, request: Request) -> Response:
        data = validated(GatewayRegisterSerializer, request.data)
        gateway = services.gateway_register(
            gateway_id=data["gateway_id"],
            address=data["address"],
            port=data["port"],
            capacity=data.get("capacity"),
            ws_url=data.get("ws_url") or None,
            connections=[(s["user_id"], s["connection_id"]) for s in data.get("sockets", [])],
        )
        return ok(gateway_data(gateway), "gateway registered")


class GatewayHeartbeatView(InternalAPIView, APIView):
    @extend_schema(
        operation_id="registry_gateway_heartbeat",
        summary="Keep a gateway alive, with its load",
        description="INTERNAL. Every 10 s by default; no heartbeat for 30 s and the gateway is dead.",
        tags=["registry"],
        request=GatewayHeartbeatSerializer,
        responses={
            200: _GATEWAY,
            404: _GATEWAY_GONE,
        },
    )
    def post(self, request: Request) -> Response:
        data = validated(GatewayHeartbeatSerializer, request.data)
        gateway = services.gateway_heartbeat(**data)
        return ok(gateway_data(gateway), "heartbeat received")


class GatewayDeleteView(InternalAPIView, APIView):
    @extend_schema(
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
    def delete(self, request: Request, gateway_id: str) -> Response:
        services.gateway_unregister(gateway_id=gateway_id)
        return ok({"gateway_id": gateway_id}, "gateway unregistered")


class GatewayListView(InternalAPIView, APIView):
    @extend_schema(
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
    def get(self, request: Request) -> Response:
        gateways = [gateway_data(gateway) for gateway in selectors.gateway_list()]
        return ok({"gateways": gateways, "count": len(gateways)})


class GatewayAvailableView(APIView):
    """Open to anyone; the user comes from `?user_id=` or, failing that, from a valid Bearer
    token (an invalid one is ignored here, not refused)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="registry_gateway_available",
        summary="The gateway a client should open its socket on",
        description=(
            "The user (`user_id`, else a valid Bearer token, else none: an invalid token is ignored) keeps "
            "the gateway of a live connection, or of one closed less than 120 s ago while that gateway "
            "lives; otherwise the least-loaded live gateway with room left. Never a dead one."
        ),
        tags=["registry"],
        parameters=[AvailableQuerySerializer],
        auth=[{}, {JWT_SCHEME: []}],
        responses={
            200: inline_serializer(
                "GatewayAvailableData",
                {
                    "gateway_id": serializers.CharField(),
                    "address": serializers.CharField(help_text="a bare host: connect to ws://address:port/api/ws"),
                    "port": serializers.IntegerField(),
                    "ws_url": serializers.CharField(),
                },
            ),
            503: OpenApiResponse(description="no live gateway has room"),
        },
    )
    def get(self, request: Request) -> Response:
        query = {key: value for key, value in request.query_params.items() if key == "user_id" and value != ""}
        data = validated(AvailableQuerySerializer, query)
        user_id = data.get("user_id")
        if user_id is None:
            user_id = _user_id_from_bearer(request)
        gateway = services.gateway_choose(user_id=user_id)
        return ok(gateway_address_data(gateway))


def _user_id_from_bearer(request: Request) -> int | None:
    raw = bearer_token(request.META.get("HTTP_AUTHORIZATION", ""))
    if raw is None:
        return None
    try:
        return access_token_claims(raw)["user_id"]
    except NotAuthenticated:
        return None


class SendRegisterView(InternalAPIView, APIView):
    @extend_schema(
        operation_id="registry_send_register",
        summary="Register (upsert) a send instance",
        description="INTERNAL. `url` defaults to `http://address:port`, stored without a trailing slash.",
        tags=["registry"],
        request=SendRegisterSerializer,
        responses={200: _SEND_INSTANCE},
    )
    def post(self, request: Request) -> Response:
        data = validated(SendRegisterSerializer, request.data)
        instance = services.send_instance_register(
            instance_id=data["instance_id"], address=data["address"], port=data["port"], url=data.get("url") or None
        )
        return ok(send_instance_data(instance), "send instance registered")


class SendHeartbeatView(InternalAPIView, APIView):
    @extend_schema(
        operation_id="registry_send_heartbeat",
        summary="Keep a send instance alive",
        description="INTERNAL.",
        tags=["registry"],
        request=SendHeartbeatSerializer,
        responses={
            200: _SEND_INSTANCE,
            404: _SEND_GONE,
        },
    )
    def post(self, request: Request) -> Response:
        data = validated(SendHeartbeatSerializer, request.data)
        instance = services.send_instance_heartbeat(**data)
        return ok(send_instance_data(instance), "heartbeat received")


class SendDeleteView(InternalAPIView, APIView):
    @extend_schema(
        operation_id="registry_send_unregister",
        summary="Unregister a send instance (idempotent)",
        description="INTERNAL.",
        tags=["registry"],
        parameters=[_path_id("instance_id")],
        responses={
            404: OpenApiResponse(description="the path holds no valid instance id"),
            200: inline_serializer("SendUnregisterData", {"instance_id": serializers.CharField()}),
        },
    )
    def delete(self, request: Request, instance_id: str) -> Response:
        services.send_instance_unregister(instance_id=instance_id)
        return ok({"instance_id": instance_id}, "send instance unregistered")


class SendListView(InternalAPIView, APIView):
    @extend_schema(
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
    def get(self, request: Request) -> Response:
        instances = [send_instance_data(instance) for instance in selectors.send_instance_list()]
        return ok({"instances": instances, "count": len(instances)})


class SendAvailableView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="registry_send_available",
        summary="A live send instance, picked at random",
        tags=["registry"],
        responses={
            200: inline_serializer(
                "SendAvailableData",
                {
                    "instance_id": serializers.CharField(),
                    "address": serializers.CharField(),
                    "port": serializers.IntegerField(),
                    "url": serializers.CharField(help_text="without a trailing slash"),
                },
            ),
            503: OpenApiResponse(description="no send instance is alive"),
        },
    )
    def get(self, request: Request) -> Response:
        return ok(send_address_data(services.send_instance_choose()))


class UserConnectView(InternalAPIView, APIView):
    @extend_schema(
        operation_id="registry_user_connect",
        summary="Record a user's connection on a gateway",
        description="INTERNAL. The route stays valid as long as the gateway lives.",
        tags=["registry"],
        request=UserConnectionSerializer,
        responses={
            200: _CONNECTION,
            404: _GATEWAY_GONE,
        },
    )
    def post(self, request: Request) -> Response:
        data = validated(UserConnectionSerializer, request.data)
        services.user_connect(**data)
        return ok(data, "connection recorded")


class UserDisconnectView(InternalAPIView, APIView):
    @extend_schema(
        operation_id="registry_user_disconnect",
        summary="Remove a user's connection",
        description="INTERNAL. Removes only the matching connection; one that matches nothing is a no-op.",
        tags=["registry"],
        request=UserConnectionSerializer,
        responses={200: _CONNECTION},
    )
    def post(self, request: Request) -> Response:
        data = validated(UserConnectionSerializer, request.data)
        services.user_disconnect(**data)
        return ok(data, "disconnection recorded")


class RoutesBatchView(InternalAPIView, APIView):
    @extend_schema(
        operation_id="registry_user_routes_batch",
        summary="Where users are online",
        description="INTERNAL. `data` is keyed by the decimal user id and holds online users only.",
        tags=["registry"],
        request=RoutesBatchSerializer,
        responses={
            200: {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "required": ["gateway_id", "address", "status", "gateways"],
                    "properties": {
                        "gateway_id": {"type": "string", "description": "one of `gateways`"},
                        "address": {"type": "string", "description": "that gateway's host:port"},
                        "status": {"type": "string", "enum": ["connected"]},
                        "gateways": {
                            "type": "array",
                            "items": {"type": "string"},
                            "description": "every gateway of the user",
                        },
                    },
                },
                "example": {
                    "42": {
                        "gateway_id": "gw-1",
                        "address": "127.0.0.1:8084",
                        "status": "connected",
                        "gateways": ["gw-1"],
                    }
                },
            }
        },
    )
    def post(self, request: Request) -> Response:
        data = validated(RoutesBatchSerializer, request.data)
        routes = selectors.routes_for_users(user_ids=data["user_ids"])
        return ok({str(user_id): route for user_id, route in routes.items()})


@csrf_exempt
def health(request: HttpRequest) -> JsonResponse:
    """`/health`, without the envelope: 200 when the database and Redis (if configured)
    answer, else 503."""
    if request.method not in ("GET", "HEAD"):
        response = json_error(405, f'Method "{request.method}" not allowed.')
        response["Allow"] = "GET, HEAD"
        return response
    report = health_report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
