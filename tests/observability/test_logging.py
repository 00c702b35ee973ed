"""What the logs of real requests hold: one access line per request with its request id, no
token or password anywhere, and JSON lines when LOG_FORMAT=json."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from typing import Any

import pytest
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from chatproject.logging import JsonFormatter, PerSocketLinesFilter, RedactSecretsFilter
from chatproject.middleware import request_id_var
from meta.models import User
from tests.observability.conftest import console_handler

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


def test_a_request_writes_one_access_line_with_its_request_id(api: APIClient, console: io.StringIO) -> None:
    response = api.get("/health", headers={"X-Request-ID": "req-abc-123"})
    assert response.status_code == 200
    lines = [line for line in console.getvalue().splitlines() if " chatproject.access " in line]
    assert len(lines) == 1
    assert lines[0].endswith("ms")
    assert " INFO chatproject.access [req-abc-123] GET /health 200 " in lines[0]


def test_secrets_of_login_and_of_query_strings_never_reach_the_logs(
    api: APIClient, console: io.StringIO, caplog: pytest.LogCaptureFixture, settings: Any
) -> None:
    # Everything, SQL with its parameters included.
    settings.DEBUG = True
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.db.backends")
    assert api.post("/register", {"username": "alice", "password": PASSWORD}, format="json").status_code == 200
    login = api.post("/login", {"username": "alice", "password": PASSWORD}, format="json")
    assert login.status_code == 200
    access, refresh = login.json()["data"]["token"], login.json()["data"]["refresh"]
    wrong = api.post("/login", {"username": "alice", "password": PASSWORD + "x"}, format="json")
    assert wrong.status_code == 401
    assert api.post("/api/token/refresh", {"refresh": refresh}, format="json").status_code == 200
    history = api.get(f"/api/chat/messages?room_id=1&token={access}")
    assert history.status_code == 401  # a query token is not how the HTTP API authenticates
    authorized = APIClient()
    authorized.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert authorized.get(f"/api/joined_rooms?token={access}").status_code == 200
    password_hash = User.objects.get(username="alice").password

    captured, written = caplog.text, console.getvalue()
    for secret in (PASSWORD, access, refresh, password_hash):
        assert secret not in captured
        assert secret not in written
    # The lines are there, with the secrets cut out.
    assert "GET /api/chat/messages?room_id=1&token=[redacted] 401" in written
    assert "GET /api/joined_rooms?token=[redacted] 200" in written
    assert "POST /login 200" in written and "POST /login 401" in written
    assert "[redacted]" in captured


def test_an_error_logged_with_a_secret_in_its_exception_is_redacted(console: io.StringIO) -> None:
    logger = logging.getLogger("chatproject.tests")
    try:
        raise RuntimeError('could not parse {"password": "hunter22"} from Authorization: Bearer abc')
    except RuntimeError:
        logger.exception("login body was %s", b'{"username":"a","password":"hunter22"}')
    written = console.getvalue()
    assert "hunter22" not in written and "Bearer abc" not in written
    assert 'login body was b\'{"username":"a","password":"[redacted]"}\'' in written
    assert 'RuntimeError: could not parse {"password": "[redacted]"} from Authorization: Bearer [redacted]' in written


@pytest.fixture
def json_console(console: io.StringIO) -> io.StringIO:
    """The console handler with the JSON formatter, as LOG_FORMAT=json configures it."""
    handler = console_handler()
    previous = handler.formatter
    handler.setFormatter(JsonFormatter())
    yield console
    handler.setFormatter(previous)


def test_json_lines_parse_and_carry_the_request_id(api: APIClient, json_console: io.StringIO) -> None:
    response = api.get("/nothing/here?token=abc&page=2", headers={"X-Request-ID": "rid-json-1"})
    assert response.status_code == 404
    entries = [json.loads(line) for line in json_console.getvalue().splitlines()]
    access = [e for e in entries if e["logger"] == "chatproject.access"]
    assert len(access) == 1
    entry = access[0]
    assert set(entry) >= {"time", "level", "logger", "message", "request_id"}
    assert entry["request_id"] == "rid-json-1" == response["X-Request-ID"]
    assert entry["level"] == "INFO"
    assert entry["message"].startswith("GET /nothing/here?token=[redacted]&page=2 404 ")
    assert entry["time"].endswith("Z") and entry["time"][10] == "T"
    # The structured fields of the access line come along (the route is the pattern, not the path).
    assert (entry["http_method"], entry["route"], entry["status"]) == ("GET", "<unmatched>", 404)


def test_json_lines_carry_the_exception_text_and_redact_extras(json_console: io.StringIO) -> None:
    token = request_id_var.set("rid-exc")
    try:
        try:
            raise KeyError("boom")
        except KeyError:
            logging.getLogger("chatproject.tests").error(
                "failed for %s", "bob", exc_info=True, extra={"headers": {"Authorization": "Bearer abc123"}}
            )
    finally:
        request_id_var.reset(token)
    (entry,) = [json.loads(line) for line in json_console.getvalue().splitlines()]
    assert entry["message"] == "failed for bob"
    assert entry["level"] == "ERROR"
    assert entry["logger"] == "chatproject.tests"
    assert entry["request_id"] == "rid-exc"
    assert entry["exception"].startswith("Traceback (most recent call last):")
    assert entry["exception"].endswith("KeyError: 'boom'")
    assert entry["headers"] == {"Authorization": "Bearer [redacted]"}


def test_json_formatter_outside_a_request_says_dash() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    entry = json.loads(JsonFormatter().format(record))
    assert entry == {
        "time": entry["time"],
        "level": "INFO",
        "logger": "x",
        "message": "hello world",
        "request_id": "-",
    }


def test_the_server_loggers_write_through_the_redacting_handler() -> None:
    for name in ("daphne.server", "daphne.http_protocol", "daphne.ws_protocol", "uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        # (Each django.setup() configures logging again and dictConfig adds filters again: one or more.)
        assert any(isinstance(f, RedactSecretsFilter) for f in logger.filters), name
        # Only the line of each socket opened (uvicorn.error) may be dropped before it.
        assert all(isinstance(f, RedactSecretsFilter | PerSocketLinesFilter) for f in logger.filters), name
        # The project's console handler, not one of the server's own (pytest adds its capture handlers).
        assert console_handler() in logger.handlers, name
        assert logger.propagate is False, name


def test_a_server_logger_line_with_a_token_is_redacted(console: io.StringIO) -> None:
    logging.getLogger("uvicorn.error").warning('%s - "WebSocket %s" %d', "127.0.0.1:5", "/api/ws?token=abc", 403)
    assert '127.0.0.1:5 - "WebSocket /api/ws?token=[redacted]" 403' in console.getvalue()
    assert "token=abc" not in console.getvalue()


def _settings_with(**env: str) -> subprocess.CompletedProcess[str]:
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(("LOG_", "PYTEST_"))}
    child_env.update(env)
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.LOGGING['handlers']['console']['formatter'])"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=django_settings.BASE_DIR,
        env={**child_env, "DJANGO_SETTINGS_MODULE": "chatproject.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_log_format_selects_the_formatter_and_refuses_unknown_values() -> None:
    assert _settings_with().stdout.strip() == "plain"
    assert _settings_with(LOG_FORMAT="JSON").stdout.strip() == "json"
    bad = _settings_with(LOG_FORMAT="xml")
    assert bad.returncode != 0
    assert "LOG_FORMAT must be plain or json, got 'xml'" in bad.stderr
