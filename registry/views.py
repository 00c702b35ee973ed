"""HTTP endpoints of the registry (API.md §4). Thin: validate, call one service or selector,
shape the reply."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chatproject.envelope import json_error, ok
from chatproject.exceptions import NotAuthenticated
from chatproject.permissions import InternalAPIView
from meta.authentication import bearer_token
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


class GatewayRegisterView(InternalAPIView, APIView):
    def post(self, request: Request) -> Response:
        serializer = GatewayRegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
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
    def post(self, request: Request) -> Response:
        serializer = GatewayHeartbeatSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        gateway = services.gateway_heartbeat(**serializer.validated_data)
        return ok(gateway_data(gateway), "heartbeat received")


class GatewayDeleteView(InternalAPIView, APIView):
    def delete(self, request: Request, gateway_id: str) -> Response:
        services.gateway_unregister(gateway_id=gateway_id)
        return ok({"gateway_id": gateway_id}, "gateway unregistered")


class GatewayListView(InternalAPIView, APIView):
    def get(self, request: Request) -> Response:
        gateways = [gateway_data(gateway) for gateway in selectors.gateway_list()]
        return ok({"gateways": gateways, "count": len(gateways)})


class GatewayAvailableView(APIView):
    """Open to anyone; the user comes from `?user_id=` or, failing that, from a valid Bearer
    token (an invalid one is ignored here, not refused)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        query = {key: value for key, value in request.query_params.items() if key == "user_id" and value != ""}
        serializer = AvailableQuerySerializer(data=query)
        serializer.is_valid(raise_exception=True)
        user_id = serializer.validated_data.get("user_id")
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
    def post(self, request: Request) -> Response:
        serializer = SendRegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        instance = services.send_instance_register(
            instance_id=data["instance_id"], address=data["address"], port=data["port"], url=data.get("url") or None
        )
        return ok(send_instance_data(instance), "send instance registered")


class SendHeartbeatView(InternalAPIView, APIView):
    def post(self, request: Request) -> Response:
        serializer = SendHeartbeatSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        instance = services.send_instance_heartbeat(**serializer.validated_data)
        return ok(send_instance_data(instance), "heartbeat received")


class SendDeleteView(InternalAPIView, APIView):
    def delete(self, request: Request, instance_id: str) -> Response:
        services.send_instance_unregister(instance_id=instance_id)
        return ok({"instance_id": instance_id}, "send instance unregistered")


class SendListView(InternalAPIView, APIView):
    def get(self, request: Request) -> Response:
        instances = [send_instance_data(instance) for instance in selectors.send_instance_list()]
        return ok({"instances": instances, "count": len(instances)})


class SendAvailableView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        return ok(send_address_data(services.send_instance_choose()))


class UserConnectView(InternalAPIView, APIView):
    def post(self, request: Request) -> Response:
        serializer = UserConnectionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.user_connect(**serializer.validated_data)
        return ok(serializer.validated_data, "connection recorded")


class UserDisconnectView(InternalAPIView, APIView):
    def post(self, request: Request) -> Response:
        serializer = UserConnectionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.user_disconnect(**serializer.validated_data)
        return ok(serializer.validated_data, "disconnection recorded")


class RoutesBatchView(InternalAPIView, APIView):
    def post(self, request: Request) -> Response:
        serializer = RoutesBatchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        routes = selectors.routes_for_users(user_ids=serializer.validated_data["user_ids"])
        return ok({str(user_id): route for user_id, route in routes.items()})


@csrf_exempt
def health(request: HttpRequest) -> JsonResponse:
    """`/health`, without the envelope: 200 when the database and Redis (if configured)
    answer, else 503."""
    if request.method not in ("GET", "HEAD"):
        return json_error(405, f'Method "{request.method}" not allowed.')
    report = health_report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
