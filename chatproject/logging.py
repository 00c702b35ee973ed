"""Log output: secrets redacted from every line, plain or JSON lines (`LOG_FORMAT`).

- `RedactSecretsFilter` rewrites a record before any handler writes it: tokens in query
  strings (`token=...`), `Authorization`/`X-Internal-Token` values, `"password": "..."` and
  `"refresh": "..."` pairs, JWT-looking strings (`eyJ...`) and Django password hashes become
  `[redacted]`, in the message, its exception text and its string `extra` fields. Settings put
  it on the console handler (every propagated record) and on the servers' own loggers (daphne,
  uvicorn), which log request paths with their query strings.
- `JsonFormatter` writes one JSON object per line: time, level, logger, message, request_id,
  the exception text when there is one, and any `extra` fields.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

import orjson

from chatproject.middleware import request_id_var

REDACTED = "[redacted]"

# Key names whose values are secrets, in query strings, form bodies, JSON and Python reprs.
_SECRET_KEY = r"[A-Za-z_-]*(?:token|password|passwd|secret)|refresh|access|api_?key|sessionid"
_QUERY_PARAM = re.compile(rf"(?i)\b({_SECRET_KEY})=(?!\[redacted\])[^&\s\"'#;,]+")
# "password": "..." and 'refresh': '...' (also inside JSON that was itself JSON-escaped: \"...\").
_QUOTED_PAIR = re.compile(rf"(?i)(\\?[\"'])({_SECRET_KEY})\1(\s*:\s*)(\\?[\"'])(?!\[redacted\]).*?(?<!\\)\4")
_HEADER = re.compile(
    r"(?i)\b(authorization|x-internal-token|cookie)([\"']?\s*[:=]\s*[\"']?)(?:(bearer|basic|token)\s+)?+"
    r"(?!\[redacted\]|<)[^\s,;\"']+"
)
_SCHEME = re.compile(r"(?i)\b(bearer|basic)(\s+)(?!\[redacted\])(?![<\[])[^\s,;\"'&<>]+")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{6,}(?:\.[A-Za-z0-9_-]*){0,2}")
_PASSWORD_HASH = re.compile(r"\b(?:pbkdf2_sha256|pbkdf2_sha1|argon2|bcrypt_sha256|bcrypt|scrypt|md5)\$[^\s\"',)]+")
# Cheap test before any regular expression runs: most lines carry none of these.
_HINTS = (
    "token", "password", "passwd", "secret", "refresh", "access", "api_key", "apikey", "session",
    "bearer", "basic", "authorization", "cookie", "eyj", "$",
)  # fmt: skip


def redact(text: str) -> str:
    """`text` with every secret this module recognises replaced by `[redacted]`."""
    lowered = text.lower()
    if not any(hint in lowered for hint in _HINTS):
        return text
    text = _JWT.sub(REDACTED, text)
    text = _PASSWORD_HASH.sub(REDACTED, text)
    text = _QUOTED_PAIR.sub(lambda m: f"{m[1]}{m[2]}{m[1]}{m[3]}{m[4]}{REDACTED}{m[4]}", text)
    text = _QUERY_PARAM.sub(lambda m: f"{m[1]}={REDACTED}", text)
    text = _HEADER.sub(lambda m: f"{m[1]}{m[2]}{m[3] + ' ' if m[3] else ''}{REDACTED}", text)
    return _SCHEME.sub(lambda m: f"{m[1]}{m[2]}{REDACTED}", text)


# Attributes every LogRecord has; anything else on a record came in through `extra=`.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_id",
    "taskName",
}
_exception_formatter = logging.Formatter()


class RedactSecretsFilter(logging.Filter):
    """Redact secrets from a record in place (message, exception and stack text, string extras),
    so that no handler after this one, and no formatter, sees them."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: logging reports it itself when formatting
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = _exception_formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, key, redact(value))
        return True


# The lines uvicorn (and the websockets library through uvicorn's logger) writes for every
# WebSocket that opens or closes: two lines a socket, a tenth of a gateway's time in a reconnect
# storm (issue 15), and nothing the gateway's own metrics do not count.
_PER_SOCKET_MESSAGES = frozenset({'%s - "WebSocket %s" [accepted]', "connection open", "connection closed"})


class PerSocketLinesFilter(logging.Filter):
    """Drop the server's line for each socket opened or closed (LOG_EACH_SOCKET=true keeps
    them); refusals and errors still go through."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg not in _PER_SOCKET_MESSAGES


class JsonFormatter(logging.Formatter):
    """One JSON object per line: `time` (ISO 8601 UTC, ms), `level`, `logger`, `message`,
    `request_id` ("-" outside a request), `exception` (text, when there is one), `stack`
    (with `stack_info`), then any `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        created = datetime.fromtimestamp(record.created, tz=UTC)
        entry: dict[str, Any] = {
            "time": f"{created:%Y-%m-%dT%H:%M:%S}.{created.microsecond // 1000:03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and key not in entry:
                entry[key] = value
        # Extras may hold objects whose text has secrets (Django's `request` extra prints its
        # path with the query string): the whole line goes through redaction.
        return redact(orjson.dumps(entry, default=str, option=orjson.OPT_NON_STR_KEYS).decode())
