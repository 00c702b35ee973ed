"""DRF authentication with `Authorization: Bearer <access token>`; banned users are refused."""

from __future__ import annotations

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from chatproject.exceptions import NotAuthenticated
from meta.models import User
from meta.tokens import user_for_access_token


def bearer_token(header: str) -> str | None:
    """The token of a `Bearer <token>` header value, or None when it is not of that form."""
    parts = header.split()
    if len(parts) != 2 or parts[0].lower() != "bearer":
        return None
    return parts[1]


class JWTAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[User, str] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None  # IsAuthenticated then answers 401 "authentication required"
        raw = bearer_token(header)
        if raw is None:
            raise exceptions.AuthenticationFailed("the Authorization header must be 'Bearer <token>'")
        try:
            user = user_for_access_token(raw)
        except NotAuthenticated as error:
            raise exceptions.AuthenticationFailed(error.msg) from None
        return user, raw

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
