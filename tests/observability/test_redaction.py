"""The redaction of secrets from log records: each shape a token or password takes in a log line."""

from __future__ import annotations

import logging
import sys

import pytest

from chatproject.logging import RedactSecretsFilter, redact

JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyX2lkIjo0Mn0.c2lnbmF0dXJlLXBhcnQtMTIz"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # Tokens in query strings (daphne and uvicorn log paths with them).
        ("GET /api/ws?token=abc123&ack=1 HTTP/1.1", "GET /api/ws?token=[redacted]&ack=1 HTTP/1.1"),
        ("GET /api/ws?ack=1&token=abc123", "GET /api/ws?ack=1&token=[redacted]"),
        (
            "GET /cb?access_token=a1&refresh_token=r2&x=3",
            "GET /cb?access_token=[redacted]&refresh_token=[redacted]&x=3",
        ),
        (
            '127.0.0.1:5 - "WebSocket /api/ws?TOKEN=abc" [accepted]',
            '127.0.0.1:5 - "WebSocket /api/ws?TOKEN=[redacted]" [accepted]',
        ),
        ("form password=hunter22&username=bob", "form password=[redacted]&username=bob"),
        # Authorization headers, as a header line and inside a dict repr.
        ("Authorization: Bearer abc.def.ghi", "Authorization: Bearer [redacted]"),
        ("authorization: Basic YWxpY2U6cHc=", "authorization: Basic [redacted]"),
        ("Authorization: some-raw-key", "Authorization: [redacted]"),
        ("{'HTTP_AUTHORIZATION': 'Bearer xyz'}", "{'HTTP_AUTHORIZATION': 'Bearer [redacted]'}"),
        ("sent with bearer abc", "sent with bearer [redacted]"),
        # The internal shared secret.
        ("X-Internal-Token: s3cr3t", "X-Internal-Token: [redacted]"),
        ("{'HTTP_X_INTERNAL_TOKEN': 's3cr3t'}", "{'HTTP_X_INTERNAL_TOKEN': '[redacted]'}"),
        # Passwords and refresh tokens in JSON bodies and Python reprs.
        ('{"username": "alice", "password": "hunter22"}', '{"username": "alice", "password": "[redacted]"}'),
        ('{"password":"hunter22","new_password":"x"}', '{"password":"[redacted]","new_password":"[redacted]"}'),
        ('{"refresh": "r.t.x"}', '{"refresh": "[redacted]"}'),
        ('{"token": "abc", "expires_in": 7200}', '{"token": "[redacted]", "expires_in": 7200}'),
        ("{'password': 'hunter22'}", "{'password': '[redacted]'}"),
        ('b\'{"password":"hunter22"}\'', 'b\'{"password":"[redacted]"}\''),
        ('{"msg": "{\\"password\\": \\"hunter22\\"}"}', '{"msg": "{\\"password\\": \\"[redacted]\\"}"}'),
        # JWT-looking strings anywhere, e.g. the `bearer, <token>` subprotocol pair.
        (f"subprotocols ['bearer', '{JWT}']", "subprotocols ['bearer', '[redacted]']"),
        (f"could not decode {JWT}: bad signature", "could not decode [redacted]: bad signature"),
        # Django password hashes (SQL parameters in debug logs).
        ("params ('md5$salt$0123abcd', 'bob')", "params ('[redacted]', 'bob')"),
        ("pbkdf2_sha256$600000$abc$def=", "[redacted]"),
    ],
)
def test_each_secret_shape_is_redacted(line: str, expected: str) -> None:
    assert redact(line) == expected
    assert redact(expected) == expected  # redacting twice changes nothing


@pytest.mark.parametrize(
    "line",
    [
        "GET /api/chat/messages?room_id=3&limit=50 200",
        "tokens=5 passwords=2 (counts, not secrets)",
        "send the header 'Authorization: Bearer <access token>'",
        "user 42 joined room 7",
        "price is $5",
    ],
)
def test_lines_without_secrets_are_left_alone(line: str) -> None:
    assert redact(line) == line


def _record(msg: str, *args: object, exc: bool = False, **extra: object) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError(f"bad token {JWT}")
        except ValueError:
            exc_info = sys.exc_info()
    record = logging.LogRecord("test", logging.WARNING, __file__, 1, msg, args or None, exc_info)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_the_filter_redacts_the_formatted_message_with_its_arguments() -> None:
    record = _record("request %s from %s", f"/api/ws?token={JWT}", "127.0.0.1")
    assert RedactSecretsFilter().filter(record) is True
    assert record.getMessage() == "request /api/ws?token=[redacted] from 127.0.0.1"
    assert logging.Formatter("%(message)s").format(record) == "request /api/ws?token=[redacted] from 127.0.0.1"


def test_the_filter_redacts_exception_text_and_string_extras() -> None:
    record = _record("failed", exc=True, path="/x?token=abc", status=500)
    RedactSecretsFilter().filter(record)
    text = logging.Formatter("%(message)s").format(record)
    assert JWT not in text
    assert "ValueError: bad token [redacted]" in text
    assert record.path == "/x?token=[redacted]"
    assert record.status == 500


def test_the_filter_leaves_clean_records_untouched() -> None:
    record = _record("user %s joined room %s", 42, 7)
    RedactSecretsFilter().filter(record)
    assert (record.msg, record.args) == ("user %s joined room %s", (42, 7))
