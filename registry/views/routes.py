"""The registry's choice of an instance for a client, and user routes (API.md §4)."""

from __future__ import annotations

import re

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chatproject.envelope import ok, validated
from chatproject.exceptions import NotAuthenticated
from chatproject.fast_http import FastRoute, Work
from chatproject.fast_http import Request as FastRequest
from chatproject.ids import MAX_ID
from chatproject.openapi import JWT_SCHEME
from chatproject.permissions import InternalAPIView
from meta.authentication import bearer_token
from meta.tokens import access_token_claims
from registry import selectors, services
from registry.serializers import (
    AvailableQuerySerializer,
    RoutesBatchSerializer,
    UserConnectionSerializer,
    gateway_address_data,
    send_address_data,
)
from registry.views.instances import GATEWAY_GONE

_CONNECTION = OpenApiResponse(UserConnectionSerializer, description="the connection as recorded")
_QUERY = ("user_id", "avoid")  # what GET /registry/gateway/available reads of its query; the rest is ignored


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
            "lives; otherwise the least-loaded live gateway with room left. Never a dead one. `avoid` names "
            "a gateway the client just lost or could not reach: it is not named while another live gateway "
            "has room."
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
        # An empty user_id is no user_id (as clients of the original design send it); an empty
        # avoid is refused.
        params = request.query_params
        query = {key: params[key] for key in _QUERY if key in params and (params[key] != "" or key == "avoid")}
        data = validated(AvailableQuerySerializer, query)
        user_id = data.get("user_id")
        if user_id is None:
            user_id = _user_id_from_bearer(request)
        gateway = services.gateway_choose(user_id=user_id, avoid=data.get("avoid"))
        return ok(gateway_address_data(gateway))


def _user_id_from_bearer(request: Request) -> int | None:
    return user_id_from_authorization(request.META.get("HTTP_AUTHORIZATION", ""))


def user_id_from_authorization(header: str) -> int | None:
    """The user of a valid Bearer access token; None for no token or an invalid one."""
    raw = bearer_token(header)
    if raw is None:
        return None
    try:
        return access_token_claims(raw)["user_id"]
    except NotAuthenticated:
        return None


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
            404: GATEWAY_GONE,
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


# --- the same choice beside Django's stack (chatproject.fast_http) ---------------------------

# `avoid` as the serializer takes it: a gateway id (services.INSTANCE_ID_RE, without its anchors).
_PLAIN_QUERY = re.compile(rf"(?:user_id=([1-9][0-9]{{0,15}})|avoid=({services.INSTANCE_ID_RE.pattern.strip('^$')}))")


def _prepare_gateway_available(request: FastRequest) -> Work | None:
    """The plain `GatewayAvailableView.get`: no query, or `user_id=<id>` and `avoid=<gateway id>`,
    each at most once and written plainly (any other query, an invalid value among them, goes to
    the view, which answers or refuses it)."""
    user_id: int | None = None
    avoid: str | None = None
    for part in request.query.split("&") if request.query else ():
        match = _PLAIN_QUERY.fullmatch(part)
        if match is None:
            return None
        if match[1] is not None:
            if user_id is not None or int(match[1]) > MAX_ID:
                return None
            user_id = int(match[1])
        else:
            if avoid is not None:
                return None
            avoid = match[2]
    if user_id is None:
        user_id = user_id_from_authorization(request.headers.get("authorization", ""))
    return lambda: gateway_address_data(services.gateway_choose(user_id=user_id, avoid=avoid))


FAST_ROUTES = {
    "/registry/gateway/available": FastRoute(
        pattern="registry/gateway/available", allow="GET, HEAD, OPTIONS", prepare=_prepare_gateway_available
    ),
}
