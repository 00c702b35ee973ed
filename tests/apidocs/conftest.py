"""Fixtures of the API docs tests: the schema as `/api/schema/` serves it, and a check that a
real reply is one the schema documents, field for field."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from rest_framework.response import Response
from rest_framework.test import APIClient

Schema = dict[str, Any]
ENVELOPE_REF = "#/components/schemas/Envelope"
ERROR_ENVELOPE_REF = "#/components/schemas/ErrorEnvelope"


@pytest.fixture
def schema(api: APIClient) -> Schema:
    response = api.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200, response.content[:500]
    return json.loads(response.content)


def _closed(node: Any) -> Any:
    """A copy in which every object schema with `properties` and no `additionalProperties`
    refuses other keys: a reply field the schema does not name fails the check."""
    if isinstance(node, dict):
        out = {key: _closed(value) for key, value in node.items()}
        if "properties" in out and "additionalProperties" not in out and "allOf" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [_closed(item) for item in node]
    return node


def _validate(schema: Schema, sub_schema: Schema, instance: Any, where: str) -> None:
    components = _closed(copy.deepcopy(schema["components"]))
    rooted = {**_closed(sub_schema), "components": components}
    errors = sorted(
        OAS30Validator(rooted, format_checker=oas30_format_checker).iter_errors(instance), key=lambda e: e.path
    )
    assert not errors, f"{where}: " + "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


def _json_schema(response_doc: Schema, where: str) -> Schema:
    content = response_doc.get("content", {})
    assert "application/json" in content, f"{where}: no application/json reply documented"
    return content["application/json"]["schema"]


@pytest.fixture
def conforms(schema: Schema) -> Callable[[Response, str, str], dict[str, Any]]:
    """`conforms(response, "POST", "/api/chat/send_message")`: the reply's status is documented
    for that operation and its body has exactly the documented shape (the envelope with the
    documented `data`, or the error envelope with `code` = status). Returns the body."""

    def check(response: Response, method: str, path: str) -> dict[str, Any]:
        operation = schema["paths"][path][method.lower()]
        status = str(response.status_code)
        where = f"{method} {path} → {status}"
        assert status in operation["responses"], f"{where}: status not documented ({response.content[:300]!r})"
        documented = _json_schema(operation["responses"][status], where)
        body = response.json()
        if response.status_code >= 400:
            assert documented == {"$ref": ERROR_ENVELOPE_REF}, where
            assert body["code"] == response.status_code, where
            _validate(schema, documented, body, where)
            return body
        assert body["code"] == 0 and isinstance(body["msg"], str), where
        if documented == {"$ref": ENVELOPE_REF}:
            assert set(body) == {"code", "msg"}, f"{where}: undocumented data {body}"
            return body
        envelope, data_part = documented["allOf"]
        assert envelope == {"$ref": ENVELOPE_REF}, where
        assert set(body) == {"code", "msg", "data"}, where
        _validate(schema, data_part["properties"]["data"], body["data"], where)
        return body

    return check
