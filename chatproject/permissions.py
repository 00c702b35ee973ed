"""Permissions shared by the services."""

from __future__ import annotations

import hmac

from django.conf import settings
from rest_framework import exceptions, permissions
from rest_framework.request import Request
from rest_framework.views import APIView

INTERNAL_TOKEN_HEADER = "X-Internal-Token"


def internal_token_valid(presented: str | None) -> bool:
    expected = settings.INTERNAL_API_TOKEN
    if not presented or not expected:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())


class IsInternal(permissions.BasePermission):
    """INTERNAL endpoints: `X-Internal-Token` must equal INTERNAL_API_TOKEN (constant time).

    Missing token → 401, wrong token → 403. Use with `authentication_classes = []`.
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        presented = request.headers.get(INTERNAL_TOKEN_HEADER)
        if not presented:
            raise exceptions.NotAuthenticated(f"the {INTERNAL_TOKEN_HEADER} header is required")
        if not internal_token_valid(presented):
            raise exceptions.PermissionDenied(f"the {INTERNAL_TOKEN_HEADER} header is wrong")
        return True


class InternalAPIView:
    """Mixin for INTERNAL views: no user authentication, the internal token instead."""

    authentication_classes: list = []
    permission_classes = [IsInternal]
