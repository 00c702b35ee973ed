"""JWT access and refresh tokens (simplejwt, HS256), shared by HTTP and WebSocket auth.

Refresh tokens are recorded (simplejwt's token_blacklist app) and rotated: each works once,
and a password change or a ban revokes all of a user's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connections, router, transaction
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from chatproject.exceptions import NotAuthenticated
from chatproject.ids import is_id
from meta.models import User

REFRESH_USED = "the refresh token was used already or revoked: log in again"


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


def access_token_for_user(*, user: User) -> str:
    """An access token alone, with the claims of `token_pair_for_user`; nothing is recorded."""
    access = AccessToken.for_user(user)
    access["user_id"] = user.pk
    access["username"] = user.username
    return str(access)


def _token_error_msg(error: TokenError, kind: str) -> str:
    text = str(error).lower()
    if "expired" in text:
        return f"the {kind} token has expired"
    return f"the {kind} token is invalid"


def _is_user_id(value: Any) -> bool:
    # `true` is an int to Python: a JWT whose user_id is true must not be user 1; one beyond
    # the ids the database holds must not reach a query (a bigint overflow fails it).
    return is_id(value)


def access_token_claims(raw: str) -> dict[str, Any]:
    """Verify an access token's signature, expiry and type; raise NotAuthenticated otherwise."""
    try:
        token = AccessToken(raw)
    except TokenError as error:
        raise NotAuthenticated(_token_error_msg(error, "access")) from None
    claims = dict(token.payload)
    if not _is_user_id(claims.get("user_id")):
        raise NotAuthenticated("the access token is invalid")
    return claims


def user_for_access_token(raw: str) -> User:
    """The active, unbanned user an access token belongs to.

    Raises NotAuthenticated (bad, expired or forged token, unknown user) or UserBanned.
    """
    claims = access_token_claims(raw)
    return user_may_connect(user_by_id(claims["user_id"]))


def user_may_connect(user: User | None) -> User:
    """The user a verified token names, when they may still use it: raises NotAuthenticated
    (unknown or inactive) or UserBanned. The one rule of HTTP and WebSocket auth."""
    if user is None or not user.is_active:
        raise NotAuthenticated("the user of this token no longer exists")
    if user.is_banned:
        raise UserBanned()
    return user


def users_for_sockets(*, user_ids: Iterable[int]) -> dict[int, User]:
    """The users of many verified tokens at once (a batch of handshakes), as the database holds
    them now: id, is_active, is_banned and last_seen only. One query; unknown ids are absent."""
    ids = sorted({int(u) for u in user_ids})
    if not ids:
        return {}
    rows = User.objects.filter(pk__in=ids).only("id", "is_active", "is_banned", "last_seen")
    return {user.pk: user for user in rows}


@dataclass(frozen=True)
class _CompiledSelect:
    sql: str
    attnames: list[str]
    converters: dict[int, tuple[list[Any], Any]]


_compiled_user_select: dict[str, _CompiledSelect] = {}


def _user_select(alias: str) -> _CompiledSelect:
    """`User.objects.filter(pk=...)` compiled once per database: its SQL, the attribute of each
    column, and the backend's converters of each (a timestamp from SQLite's text, say)."""
    compiled = _compiled_user_select.get(alias)
    if compiled is None:
        compiler = User.objects.using(alias).filter(pk=0).query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        if list(params) != [0]:  # the one parameter is the pk
            raise RuntimeError(f"unexpected parameters {params!r} of the user lookup")
        columns = [col for col, _, _ in compiler.select]
        compiled = _CompiledSelect(
            sql=sql, attnames=[col.target.attname for col in columns], converters=compiler.get_converters(columns)
        )
        _compiled_user_select[alias] = compiled
    return compiled


def user_by_id(user_id: int) -> User | None:
    """The user with this id as the database holds it now (None when there is none): what
    `User.objects.filter(pk=user_id).first()` returns, with the query built once per process
    rather than once per request (building it cost more CPU than running it, and every
    authenticated request runs it)."""
    alias = router.db_for_read(User)
    connection = connections[alias]
    compiled = _user_select(alias)
    with connection.cursor() as cursor:
        cursor.execute(compiled.sql, [user_id])
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    for position, (converters, expression) in compiled.converters.items():
        value = values[position]
        for converter in converters:
            value = converter(value, expression, connection)
        values[position] = value
    return User.from_db(alias, compiled.attnames, values)


def token_pair_from_refresh(*, raw: str) -> TokenPair:
    """Rotate a refresh token: a new access token and a new refresh token for a valid refresh
    token of an existing, unbanned user; the one given is blacklisted, so it works once.

    Raises NotAuthenticated (bad, expired, used or revoked token, unknown user; also a token
    the server has no record of, issued before tokens were recorded) or UserBanned.
    """
    try:
        refresh = RefreshToken(raw)
    except TokenError as error:
        if "blacklisted" in str(error).lower():
            raise NotAuthenticated(REFRESH_USED) from None
        raise NotAuthenticated(_token_error_msg(error, "refresh")) from None
    user_id = refresh.payload.get("user_id")
    if not _is_user_id(user_id):
        raise NotAuthenticated("the refresh token is invalid")
    with transaction.atomic():
        outstanding = OutstandingToken.objects.select_for_update().filter(jti=refresh.payload.get("jti")).first()
        if outstanding is None:
            raise NotAuthenticated(REFRESH_USED)
        user = User.objects.filter(pk=user_id).first()
        if user is None or not user.is_active:
            raise NotAuthenticated("the user of this token no longer exists")
        if user.is_banned:
            raise UserBanned()
        _blacklisted, created = BlacklistedToken.objects.get_or_create(token=outstanding)
        if not created:  # a concurrent refresh with the same token won
            raise NotAuthenticated(REFRESH_USED)
        return token_pair_for_user(user=user)


def refresh_tokens_revoke(*, user_id: int) -> int:
    """Blacklist every unexpired refresh token of a user (a password change, a ban): each is
    refused from then on. Returns how many were revoked."""
    live = OutstandingToken.objects.filter(
        user_id=user_id, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
    )
    revoked = BlacklistedToken.objects.bulk_create([BlacklistedToken(token=t) for t in live], ignore_conflicts=True)
    return len(revoked)


def revoke_refresh_tokens_on_password_change(sender: type[User], instance: User, created: bool, **kwargs: Any) -> None:
    """post_save of User: `set_password` leaves the new password in `_password` until the save
    is done, so a password changed anywhere (the admin, `changepassword`, a service) ends the
    user's refresh tokens."""
    if not created and getattr(instance, "_password", None) is not None:
        refresh_tokens_revoke(user_id=instance.pk)
