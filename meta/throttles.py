"""Rate limits of /login and /register (rates: settings DEFAULT_THROTTLE_RATES)."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace
from typing import Any

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle
from rest_framework.views import APIView

from meta.usernames import username_key


def client_address(meta: dict[str, Any]) -> str:
    """The client's address for throttles and lockouts, from a request's META.

    DRF trusts a client's X-Forwarded-For unless NUM_PROXIES is set, which would let anyone
    pick a fresh identity per request: without that setting it is the peer address.
    """
    if api_settings.NUM_PROXIES is None:
        return meta.get("REMOTE_ADDR") or "unknown"
    return BaseThrottle().get_ident(SimpleNamespace(META=meta))


class _ClientAddressThrottle(SimpleRateThrottle):
    def get_ident(self, request: Request) -> str:
        return client_address(request.META)


class RegisterThrottle(_ClientAddressThrottle):
    """Registrations per client address."""

    scope = "register"

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginThrottle(_ClientAddressThrottle):
    """Login attempts per client address and username (normalised), so that guessing one
    account's password is slowed down without locking its owner out from elsewhere."""

    scope = "login"

    def get_cache_key(self, request: Request, view: APIView) -> str:
        data = request.data
        username = data.get("username") if isinstance(data, dict) else None
        name = username_key(username) if isinstance(username, str) else ""
        # Hashed: a cache key must stay short and printable whatever the client sent.
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        ident = f"{self.get_ident(request)}|{digest}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
