"""The envelope rules of API.md §1.1 that hold for every path."""

from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_unknown_path_is_enveloped_404(api):
    response = api.get("/no/such/thing")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == 404
    assert "no such endpoint" in body["msg"]
    assert "data" not in body


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/me/devices/a%0Ab", "/registry/gateway/x%0A", "/%0A", "/a\nb"])
def test_a_path_with_a_newline_is_enveloped_404_even_with_debug_on(api, settings, path):
    # With DEBUG on, a path no pattern matched got Django's HTML 404 page: the catch-all's
    # "." did not match a newline (the schema fuzzer found it).
    settings.DEBUG = True
    response = api.delete(path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == 404


@pytest.mark.django_db
def test_unknown_path_post_is_enveloped_404(api):
    response = api.post("/api/nothing", {"a": 1}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == 404


@pytest.mark.django_db
def test_oversized_body_is_413_before_parsing(api):
    body = b'{"username": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    response = api.generic("POST", "/register", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json() == {"code": 413, "msg": "the body is larger than 1048576 bytes"}


@pytest.mark.django_db
def test_reply_carries_request_id(api):
    response = api.get("/nowhere", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"
    assert len(api.get("/nowhere")["X-Request-ID"]) == 16


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [True, False])
def test_a_foreign_host_gets_the_envelope_400_and_one_log_line(api, settings, caplog, debug):
    settings.DEBUG = debug
    response = api.get("/api/joined_rooms", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response.json() == {"code": 400, "msg": "this server does not serve the host named in the Host header"}
    records = [r for r in caplog.records if "evil.example" in r.getMessage()]
    assert len(records) == 1
    assert records[0].exc_info is None
