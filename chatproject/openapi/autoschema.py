"""The schema class of every view: the envelope around every reply, the errors each kind of view
answers, and the internal token."""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.permissions import AllowAny
from rest_framework.settings import api_settings

from chatproject.openapi.components import INTERNAL_SCHEME, envelope_ref, error_envelope_ref, internal_scheme
from chatproject.permissions import IsInternal


@dataclass(frozen=True)
class _Reason:
    """Why a status comes back, and a `msg` the server really sends for it."""

    description: str
    msg: str
    errors: dict[str, list[str]] | None = None


# The statuses every endpoint of a kind can answer.
_INVALID = _Reason(
    "invalid input: `msg` says what is wrong, `errors` names each field and its reasons",
    "room_id: must be an integer id",
    {"room_id": ["must be an integer id"]},
)
_JWT_401 = _Reason(
    "the `Authorization: Bearer <access token>` header is missing or malformed, the token is expired "
    "or forged, or its user is banned or deleted",
    "authentication required: send the header 'Authorization: Bearer <access token>'",
)
_INTERNAL_401 = _Reason("the `X-Internal-Token` header is missing", "the X-Internal-Token header is required")
_INTERNAL_403 = _Reason("the `X-Internal-Token` header is wrong", "the X-Internal-Token header is wrong")
_TOO_LARGE = _Reason("the body is larger than 1 MiB", "the body is larger than 1048576 bytes")
_NOT_JSON = _Reason(
    "the body is not JSON (`Content-Type` must be `application/json`)",
    "the body must be JSON (Content-Type: application/json)",
)
_THROTTLED = _Reason("too many requests: try again after `Retry-After` seconds", "too many requests, retry in 42 s")
_UNAVAILABLE = _Reason(
    "a backing service (the database or Redis) is unreachable: try again later",
    "the database is unavailable, try again later (error id 3f2a9c1b7d4e)",
)
_BODY_METHODS = {"POST", "PUT", "PATCH"}


class EnvelopeAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema with the project's envelope, errors and internal auth."""

    def _is_internal(self) -> bool:
        return any(isinstance(permission, IsInternal) for permission in self.view.get_permissions())

    def _takes_jwt(self) -> bool:
        # The project's user authentication is DRF's default (settings: meta's JWT).
        user_auth = tuple(api_settings.DEFAULT_AUTHENTICATION_CLASSES)
        authenticators = self.view.get_authenticators()
        return any(isinstance(a, user_auth) for a in authenticators) and not any(
            isinstance(p, AllowAny) for p in self.view.get_permissions()
        )

    def get_auth(self) -> list[dict[str, Any]]:
        if self._is_internal():
            self.registry.register_on_missing(
                ResolvedComponent(
                    name=INTERNAL_SCHEME,
                    type=ResolvedComponent.SECURITY_SCHEMA,
                    object=INTERNAL_SCHEME,
                    schema=internal_scheme(),
                )
            )
            return [{INTERNAL_SCHEME: []}]
        return super().get_auth()

    def _automatic_errors(self) -> dict[str, _Reason]:
        """The statuses this operation answers because of what kind of view it is."""
        has_body = self.method in _BODY_METHODS and self.get_request_serializer() is not None
        takes_query = any(
            not (isinstance(p, OpenApiParameter) and p.location == OpenApiParameter.PATH)
            for p in self.get_override_parameters()
        )
        errors: dict[str, _Reason] = {}
        if has_body or takes_query:
            errors["400"] = _INVALID
        if self._is_internal():
            errors["401"] = _INTERNAL_401
            errors["403"] = _INTERNAL_403
        elif self._takes_jwt():
            errors["401"] = _JWT_401
        if has_body:
            errors["413"] = _TOO_LARGE
            errors["415"] = _NOT_JSON
        if self.view.get_throttles():
            errors["429"] = _THROTTLED
        errors["503"] = _UNAVAILABLE
        return errors

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        declared = self.get_response_serializers()
        never: set[str] = set()
        reasons: dict[str, _Reason] = {}
        if isinstance(declared, dict):
            for code, value in declared.items():
                if int(code) < 400:
                    continue
                if value is None:
                    never.add(str(code))
                    continue
                text = str(value.description) if isinstance(value, OpenApiResponse) else ""
                text = text or HTTPStatus(int(code)).phrase.lower()
                reasons[str(code)] = _Reason(text, text)
        for code, reason in self._automatic_errors().items():
            if code in never:
                continue
            declared_reason = reasons.get(code)
            if declared_reason is None:
                reasons[code] = reason
            else:  # the view's own reason first, then the kind's
                reasons[code] = _Reason(f"{declared_reason.description}; or {reason.description}", declared_reason.msg)
        responses = {
            code: response for code, response in super()._get_response_bodies(direction).items() if int(code) < 400
        }
        for code, reason in reasons.items():
            responses[code] = self._error_response(code, reason)
        return dict(sorted(responses.items()))

    def _get_response_for_code(
        self, serializer: Any, status_code: str, media_types: Any = None, direction: str = "response"
    ) -> dict[str, Any]:
        if int(status_code) >= 400:  # replaced by _get_response_bodies
            return {"description": ""}
        response = super()._get_response_for_code(serializer, status_code, media_types, direction)
        response["description"] = response.get("description") or "success"
        envelope = envelope_ref(self.registry)
        content = response.get("content")
        if not content:
            response["content"] = {"application/json": {"schema": envelope}}
            return response
        for media in content.values():
            media["schema"] = {
                "allOf": [
                    envelope,
                    {"type": "object", "required": ["data"], "properties": {"data": media["schema"]}},
                ]
            }
        return response

    def _error_response(self, status_code: str, reason: _Reason) -> dict[str, Any]:
        example: dict[str, Any] = {"code": int(status_code), "msg": reason.msg}
        if reason.errors:
            example["errors"] = reason.errors
        response: dict[str, Any] = {
            "description": reason.description,
            "content": {"application/json": {"schema": error_envelope_ref(self.registry), "example": example}},
        }
        if status_code == "429":
            response["headers"] = {
                "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer", "minimum": 1}}
            }
        return response
