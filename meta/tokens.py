"""JWT access and refresh tokens (simplejwt, HS256), shared by HTTP and WebSocket auth."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from chatproject.exceptions import NotAuthenticated
from meta.models import User


class UserBanned(NotAuthenticated):
    """A valid token whose user is banned: 401 over HTTP, close code 4403 on a socket."""

    default_msg = "this user is banned"


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str
    expires_in: int


def token_pair_for_user(*, user: User) -> TokenPair:
    refresh = RefreshToken.for_user(user)
    refresh["user_id"] = user.pk  # simplejwt >= 5.4 writes it as a string; the contract says integer
    refresh["username"] = user.username
    access = refresh.access_token  # copies user_id and username
    lifetime = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"]
    return TokenPair(access=str(access), refresh=str(refresh), expires_in=int(lifetime.total_seconds()))


def _token_error_msg(error: TokenError, kind: str) -> str:
    text = str(error).lower()
    if "expired" in text:
        return f"the {kind} token has expired"
    return f"the {kind} token is invalid"


def access_token_claims(raw: str) -> dict[str, Any]:
    """Verify an access token's signature, expiry and type; raise NotAuthenticated otherwise."""
    try:
        token = AccessToken(raw)
    except TokenError as error:
        raise NotAuthenticated(_token_error_msg(error, "access")) from None
    claims = dict(token.payload)
    if not isinstance(claims.get("user_id"), int):
        raise NotAuthenticated("the access token is invalid")
    return claims


def user_for_access_token(raw: str) -> User:
    """The active, unbanned user an access token belongs to.

    Raises NotAuthenticated (bad, expired or forged token, unknown user) or UserBanned.
    """
    claims = access_token_claims(raw)
    user = User.objects.filter(pk=claims["user_id"]).first()
    if user is None or not user.is_active:
        raise NotAuthenticated("the user of this token no longer exists")
    if user.is_banned:
        raise UserBanned()
    return user


def access_token_from_refresh(*, raw: str) -> TokenPair:
    """A fresh access token for a valid refresh token of an existing, unbanned user."""
    try:
        refresh = RefreshToken(raw)
    except TokenError as error:
        raise NotAuthenticated(_token_error_msg(error, "refresh")) from None
    user = User.objects.filter(pk=refresh.payload.get("user_id")).first()
    if user is None or not user.is_active:
        raise NotAuthenticated("the user of this token no longer exists")
    if user.is_banned:
        raise UserBanned()
    access = refresh.access_token
    access["user_id"] = user.pk
    access["username"] = user.username
    lifetime = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"]
    return TokenPair(access=str(access), refresh=raw, expires_in=int(lifetime.total_seconds()))
