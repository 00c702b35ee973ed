"""uvicorn's line for every socket opened is dropped unless LOG_EACH_SOCKET; its other lines (a
refusal, startup) still go through."""

from __future__ import annotations

import logging

from chatproject.logging import PerSocketLinesFilter


def _record(msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, msg, args, None)


def test_the_per_socket_lines_are_dropped_and_the_others_kept():
    keep = PerSocketLinesFilter().filter
    assert not keep(_record('%s - "WebSocket %s" [accepted]', "127.0.0.1:5", "/api/ws"))
    assert not keep(_record("connection open"))
    assert not keep(_record("connection closed"))
    assert keep(_record('%s - "WebSocket %s" %d', "127.0.0.1:5", "/api/ws", 403))
    assert keep(_record("Uvicorn running on %s://%s:%d", "http", "127.0.0.1", 8000))


def test_the_settings_put_the_filter_on_uvicorns_logger_only_and_first():
    from django.conf import settings

    loggers = settings.LOGGING["loggers"]
    assert loggers["uvicorn.error"]["filters"] == ["per_socket_lines", "redact_secrets"]
    assert loggers["uvicorn.access"]["filters"] == ["redact_secrets"]
