"""HTTP views of accounts (API.md §2): registering, logging in, refreshing tokens. They need no
user authentication."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chatproject.envelope import ok, validated
from meta import serializers as s
from meta import services
from meta.throttles import LoginThrottle, RegisterThrottle, client_address
from meta.tokens import token_pair_for_user, token_pair_from_refresh


class _PublicView(APIView):
    """No user authentication: a stray or stale Authorization header must not get in the way."""

    authentication_classes: list = []
    permission_classes = [AllowAny]


class RegisterView(_PublicView):
    throttle_classes = [RegisterThrottle]

    @extend_schema(
        operation_id="register",
        summary="Create an account",
        tags=["meta"],
        request=s.RegisterInput,
        responses={
            200: inline_serializer("RegisterData", {"user_id": s.IdField(), "username": serializers.CharField()}),
            409: OpenApiResponse(description="the username is taken (compared without regard to case)"),
        },
    )
    def post(self, request: Request) -> Response:
        user = services.user_register(**validated(s.RegisterInput, request.data))
        return ok({"user_id": user.pk, "username": user.username}, "registered")


class LoginView(_PublicView):
    throttle_classes = [LoginThrottle]

    @extend_schema(
        operation_id="login",
        summary="Log in: an access token and a refresh token",
        tags=["meta"],
        request=s.LoginInput,
        responses={
            200: inline_serializer(
                "LoginData",
                {
                    "token": serializers.CharField(help_text="the access token (JWT)"),
                    "refresh": serializers.CharField(help_text="the refresh token, for POST /api/token/refresh"),
                    "user_id": s.IdField(),
                    "username": serializers.CharField(),
                    "expires_in": serializers.IntegerField(help_text="seconds the access token lives"),
                },
            ),
            401: OpenApiResponse(description="wrong username or password (the same reply either way)"),
            403: OpenApiResponse(description="the user is banned"),
            429: OpenApiResponse(
                description="too many attempts, or this address or account is locked out after failed logins"
            ),
        },
    )
    def post(self, request: Request) -> Response:
        user = services.user_authenticate(**validated(s.LoginInput, request.data), address=client_address(request.META))
        pair = token_pair_for_user(user=user)
        return ok(
            {
                "token": pair.access,
                "refresh": pair.refresh,
                "user_id": user.pk,
                "username": user.username,
                "expires_in": pair.expires_in,
            },
            "logged in",
        )


class TokenRefreshView(_PublicView):
    @extend_schema(
        operation_id="token_refresh",
        summary="A new access token and a new refresh token for a refresh token (which is then spent)",
        tags=["meta"],
        request=s.RefreshInput,
        responses={
            200: inline_serializer(
                "TokenRefreshData",
                {
                    "token": serializers.CharField(help_text="the new access token (JWT)"),
                    "refresh": serializers.CharField(
                        help_text="the new refresh token: the one sent is spent (refresh tokens work once)"
                    ),
                    "expires_in": serializers.IntegerField(help_text="seconds the access token lives"),
                },
            ),
            401: OpenApiResponse(
                description="the refresh token is invalid, expired, used already or revoked (password change, "
                "ban), or its user is deleted or banned"
            ),
        },
    )
    def post(self, request: Request) -> Response:
        pair = token_pair_from_refresh(raw=validated(s.RefreshInput, request.data)["refresh"])
        return ok({"token": pair.access, "refresh": pair.refresh, "expires_in": pair.expires_in}, "token refreshed")
