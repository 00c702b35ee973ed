"""The OpenAPI schema at `/api/schema/`: valid OpenAPI 3, in step with the URLconf, every reply
in the envelope, and the auth of the wire contract."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from chatproject.views import not_found
from gateway.routing import websocket_routes
from tests.apidocs.conftest import ENVELOPE_REF, ERROR_ENVELOPE_REF, Schema
from tests.conftest import INTERNAL_TOKEN

DOCS_VIEWS = (SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView)
PROBED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# Operations outside DRF, documented by hand in chatproject.openapi: not in the envelope.
PLAIN_OPERATIONS = {"health", "metrics", "client_page", "websocket_connect", "attachment_file"}

JWT = [{"jwtAuth": []}]
INTERNAL = [{"internalToken": []}]
NONE = [{}]
JWT_OPTIONAL = [{}, {"jwtAuth": []}]
# The Auth column of the wire contract's tables (API.md §2-§5).
CONTRACT_AUTH = {
    ("POST", "/register"): NONE,
    ("POST", "/login"): NONE,
    ("POST", "/api/token/refresh"): NONE,
    **{
        ("POST", f"/api/chat/group/{name}"): JWT
        for name in (
            "create",
            "add_member",
            "add_members",
            "remove_member",
            "join",
            "join/request",
            "join/respond",
            "change_nickname",
            "change_member_role",
        )
    },
    ("GET", "/api/chat/group/join/requests"): JWT,
    ("GET", "/api/chat/group/search"): JWT,
    ("GET", "/api/joined_rooms"): JWT,
    ("GET", "/api/chat/group/members"): JWT,
    ("POST", "/api/chat/send_message"): JWT,
    ("POST", "/api/chat/resend_message"): JWT,
    ("GET", "/api/chat/messages"): JWT,
    ("POST", "/internal/pushback"): INTERNAL,
    ("POST", "/internal/push/notify_online"): INTERNAL,
    ("POST", "/registry/gateway/register"): INTERNAL,
    ("POST", "/registry/gateway/heartbeat"): INTERNAL,
    ("DELETE", "/registry/gateway/{gateway_id}"): INTERNAL,
    ("GET", "/registry/gateway/instances"): INTERNAL,
    ("GET", "/registry/gateway/available"): JWT_OPTIONAL,
    ("POST", "/registry/send/register"): INTERNAL,
    ("POST", "/registry/send/heartbeat"): INTERNAL,
    ("DELETE", "/registry/send/{instance_id}"): INTERNAL,
    ("GET", "/registry/send/instances"): INTERNAL,
    ("GET", "/registry/send/available"): NONE,
    ("POST", "/registry/user/connect"): INTERNAL,
    ("POST", "/registry/user/disconnect"): INTERNAL,
    ("POST", "/registry/user/routes/batch"): INTERNAL,
    ("GET", "/health"): NONE,
    ("GET", "/api/ws"): [{"jwtAuth": []}, {}],
    ("POST", "/center/forward"): INTERNAL,
}


def _operations(schema: Schema) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, item in schema["paths"].items() for method, op in item.items()]


# --- the URLconf, walked independently of drf-spectacular ---------------------------------


def _route(pattern: RoutePattern | RegexPattern) -> str:
    if isinstance(pattern, RoutePattern):
        return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern))
    regex = pattern.regex.pattern.removeprefix("^").removesuffix("$").removesuffix(r"\Z")
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", regex)
    assert not re.search(r"[\\^$()*+?|\[\]]", re.sub(r"\{\w+\}", "", path)), f"cannot read the route {regex!r}"
    return path


def _allowed_methods(callback: Any, path: str, client: APIClient) -> set[str]:
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if view_class is not None:
        return {
            m.upper()
            for m in view_class.http_method_names
            if m not in {"head", "options", "trace"} and hasattr(view_class, m)
        }
    # A plain function view: whatever it does not answer 405.
    return {method for method in PROBED_METHODS if client.generic(method, path).status_code != 405}


def _urlconf_paths(client: APIClient) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}

    def walk(patterns: list[Any], prefix: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                route = _route(entry.pattern)
                if route != "admin/":
                    walk(entry.url_patterns, prefix + route)
                continue
            assert isinstance(entry, URLPattern)
            view_class = getattr(entry.callback, "cls", None)
            if entry.callback is not_found or (view_class and issubclass(view_class, DOCS_VIEWS)):
                continue  # the catch-all, and the schema and docs pages themselves
            path = "/" + prefix + _route(entry.pattern)
            found[path] = _allowed_methods(entry.callback, path, client)

    walk(get_resolver().url_patterns, "")
    for path in websocket_routes:
        found[path] = {"GET"}
    return found


# --- tests ----------------------------------------------------------------------------------


def test_the_schema_is_yaml_by_default_and_json_on_request(api: APIClient, schema: Schema) -> None:
    response = api.get("/api/schema/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert yaml.safe_load(response.content) == schema
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Chat backend API"


def test_the_schema_is_valid_openapi(schema: Schema) -> None:
    validate(schema)  # raises on any violation of the OpenAPI 3 specification, dangling $refs included


def test_the_schema_is_public_even_with_a_stale_token(api: APIClient) -> None:
    api.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")

    assert api.get("/api/schema/").status_code == 200
    assert api.get("/api/docs/").status_code == 200


@pytest.mark.django_db
def test_every_url_is_documented_with_the_methods_it_allows(api: APIClient, schema: Schema) -> None:
    api.credentials(HTTP_X_INTERNAL_TOKEN=INTERNAL_TOKEN)
    in_urlconf = _urlconf_paths(api)
    in_schema = {path: {method.upper() for method in item} for path, item in schema["paths"].items()}

    undocumented = {p: m for p, m in in_urlconf.items() if in_schema.get(p) != m}
    not_served = sorted(set(in_schema) - set(in_urlconf))
    assert not undocumented, f"URLs without docs (path: methods it allows): {undocumented}"
    assert not not_served, f"documented paths that no URL serves: {not_served}"
    # The walk did see the contract, not an empty URLconf.
    assert {"/register", "/api/chat/send_message", "/center/forward", "/health", "/api/ws"} <= set(in_urlconf)
    assert in_urlconf["/registry/gateway/{gateway_id}"] == {"DELETE"}


def test_operation_ids_are_unique_and_every_operation_is_tagged_by_service(schema: Schema) -> None:
    operations = _operations(schema)
    ids = [op["operationId"] for _, _, op in operations]

    assert len(ids) == len(set(ids))
    for method, path, op in operations:
        assert len(op["tags"]) == 1 and op["tags"][0] in {"meta", "send", "gateway", "registry"}, (method, path)
        assert op.get("summary"), (method, path)
    assert [tag["name"] for tag in schema["tags"]] == ["meta", "send", "gateway", "registry"]


def test_every_success_reply_is_the_envelope_and_every_error_the_error_envelope(schema: Schema) -> None:
    components = schema["components"]["schemas"]
    assert components["Envelope"]["required"] == ["code", "msg"]
    assert components["ErrorEnvelope"]["required"] == ["code", "msg"]
    assert set(components["ErrorEnvelope"]["properties"]) == {"code", "msg", "errors"}
    enveloped = [(m, p, op) for m, p, op in _operations(schema) if op["operationId"] not in PLAIN_OPERATIONS]
    successes = 0
    for method, path, op in enveloped:
        for status, response in op["responses"].items():
            where = (method, path, status)
            body = response["content"]["application/json"]["schema"]
            if int(status) >= 400:
                assert body == {"$ref": ERROR_ENVELOPE_REF}, where
                assert response["content"]["application/json"]["example"]["code"] == int(status), where
                continue
            successes += 1
            if body == {"$ref": ENVELOPE_REF}:  # no `data`
                continue
            envelope, data = body["allOf"]
            assert envelope == {"$ref": ENVELOPE_REF}, where
            assert data["required"] == ["data"], where
            data_schema = data["properties"]["data"]
            assert "$ref" in data_schema or data_schema.get("type") == "object", where
    assert successes == len(enveloped) > 30


def test_notify_online_answers_202_and_every_other_operation_200(schema: Schema) -> None:
    successes = {
        (method, path): sorted(s for s in op["responses"] if s < "300")
        for method, path, op in _operations(schema)
        if op["operationId"] not in PLAIN_OPERATIONS
    }

    assert successes.pop(("POST", "/internal/push/notify_online")) == ["202"]
    assert set(map(tuple, successes.values())) == {("200",)}


def test_each_operation_documents_the_errors_it_can_answer(schema: Schema) -> None:
    def statuses(method: str, path: str) -> list[str]:
        return sorted(schema["paths"][path][method]["responses"])

    # JWT + body + service errors + the database.
    assert statuses("post", "/api/chat/send_message") == ["200", "400", "401", "403", "404", "413", "415", "503"]
    # Throttled and public: 429, no 401 from a token.
    assert statuses("post", "/register") == ["200", "400", "409", "413", "415", "429", "503"]
    assert statuses("post", "/login") == ["200", "400", "401", "403", "413", "415", "429", "503"]
    # INTERNAL: 401 without the token, 403 with a wrong one; forwarding needs no database.
    assert statuses("post", "/center/forward") == ["200", "400", "401", "403", "413", "415"]
    # No body and no query: no 400; the path id is checked by the route, whose 404 (the catch-all)
    # is documented since the schema fuzzer found it missing.
    assert statuses("delete", "/registry/gateway/{gateway_id}") == ["200", "401", "403", "404", "503"]
    assert statuses("get", "/api/joined_rooms") == ["200", "401", "503"]
    # The reason of a declared status is merged with the kind's.
    available_503 = schema["paths"]["/registry/gateway/available"]["get"]["responses"]["503"]["description"]
    assert available_503.startswith("no live gateway has room; or a backing service")
    throttled = schema["paths"]["/login"]["post"]["responses"]["429"]
    assert "Retry-After" in throttled["headers"]


def test_auth_is_the_contracts(schema: Schema) -> None:
    documented = {(method, path): op.get("security") for method, path, op in _operations(schema)}
    schemes = schema["components"]["securitySchemes"]

    for key, expected in CONTRACT_AUTH.items():
        assert key in documented, f"{key} is in the contract but not in the schema"
        assert sorted(map(json.dumps, documented[key])) == sorted(map(json.dumps, expected)), key
    assert schemes["jwtAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": schemes["jwtAuth"]["description"],
    }
    assert (schemes["internalToken"]["type"], schemes["internalToken"]["in"], schemes["internalToken"]["name"]) == (
        "apiKey",
        "header",
        "X-Internal-Token",
    )


def test_request_shapes_carry_the_contracts_rules(schema: Schema) -> None:
    components = schema["components"]["schemas"]
    register = components["RegisterInput"]
    send = components["SendMessageInput"]
    content = components["MessageContent"]

    assert register["required"] == ["password", "username"]
    assert register["properties"]["username"]["minLength"] == 3
    assert register["properties"]["username"]["maxLength"] == 50
    assert send["properties"]["room_id"] == {
        "type": "integer",
        "format": "int64",
        "minimum": 1,
        "maximum": 2**53 - 1,
    }
    assert send["properties"]["content"] == {"$ref": "#/components/schemas/MessageContent"}
    assert content["discriminator"]["propertyName"] == "type"
    assert sorted(content["discriminator"]["mapping"]) == ["file", "image", "text", "voice"]
    assert components["TextContent"]["properties"]["text"]["maxLength"] == 4000
    assert components["VoiceContent"]["properties"]["duration"]["maximum"] == 2**53 - 1
    for name, field in (("GatewayRegister", "gateway_id"), ("SendHeartbeat", "instance_id")):
        assert (
            components[name]["properties"][field]["minLength"],
            components[name]["properties"][field]["maxLength"],
        ) == (1, 64)
    parameters = {p["name"]: p for p in schema["paths"]["/api/chat/messages"]["get"]["parameters"]}
    assert set(parameters) == {"room_id", "after_seq", "before_seq", "limit"}
    assert parameters["room_id"]["required"] is True and parameters["limit"]["schema"]["maximum"] == 200


def test_the_websocket_route_points_to_its_protocol_document(schema: Schema) -> None:
    operation = schema["paths"]["/api/ws"]["get"]
    document = Path(settings.BASE_DIR) / "docs" / "websocket.md"

    assert "docs/websocket.md" in operation["description"]
    assert {p["name"] for p in operation["parameters"]} == {"token", "ack", "Sec-WebSocket-Protocol"}
    assert list(operation["responses"]) == ["101", "404"]  # 404: a plain GET, without the upgrade
    assert document.is_file()
    text = document.read_text()
    for close_code in ("4401", "4403", "4409", "1008", "1009", "1001"):
        assert close_code in text and close_code in operation["description"]


def test_the_management_command_validates_without_warnings(tmp_path: Path, schema: Schema) -> None:
    out = tmp_path / "schema.yaml"

    # --fail-on-warn raises on any warning or error of the generator.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))

    assert yaml.safe_load(out.read_text())["paths"].keys() == schema["paths"].keys()
