"""Reading the token of a WebSocket handshake (API.md §5.1) and checking its origin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.http.request import split_domain_port, validate_host

from meta.authentication import bearer_token


@dataclass(frozen=True)
class HandshakeCredentials:
    token: str | None
    subprotocol: str | None  # "bearer" when the token came as a subprotocol, to select it
    ack_mode: bool | None  # True with ?ack=1, False with ?ack=0, None when not said
    device_id: str | None = None  # ?device_id=, as given (checked by the consumer)


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def handshake_credentials(scope: dict[str, Any]) -> HandshakeCredentials:
    """The token from, in order: `Authorization: Bearer`, the subprotocols `bearer, <token>`,
    the `?token=` query parameter."""
    headers = _headers(scope)
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    ack_values = query.get("ack", [])
    ack_mode = None
    if ack_values:
        ack_mode = ack_values[-1].lower() in {"1", "true", "yes", "on"}
    # An empty `device_id=` is named too (and refused), unlike other empty parameters.
    devices = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True).get("device_id", [])
    device_id = devices[-1] if devices else None
    header = headers.get("authorization", "")
    if header:
        token, subprotocol = bearer_token(header) or "", None
    else:
        subprotocols = [p.strip() for p in scope.get("subprotocols", []) if p.strip()]
        if subprotocols and subprotocols[0].lower() == "bearer":
            token, subprotocol = (subprotocols[1] if len(subprotocols) > 1 else ""), subprotocols[0]
        else:
            tokens = query.get("token", [])
            token, subprotocol = (tokens[-1] if tokens else None), None
    return HandshakeCredentials(token=token, subprotocol=subprotocol, ack_mode=ack_mode, device_id=device_id)


def origin_allowed(scope: dict[str, Any]) -> bool:
    """Clients without an Origin header (not browsers) are allowed. A browser's Origin must be
    in WS_ALLOWED_ORIGINS, or, when that is empty, its host must be one of ALLOWED_HOSTS."""
    origin = _headers(scope).get("origin")
    if not origin:
        return True
    allowed = settings.WS_ALLOWED_ORIGINS
    if "*" in allowed:
        return True
    if allowed:
        return origin.rstrip("/") in allowed
    parsed = urlsplit(origin)
    if not parsed.hostname:
        return False
    host, _port = split_domain_port(parsed.netloc)
    return validate_host(host, settings.ALLOWED_HOSTS)
