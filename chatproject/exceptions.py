"""The one hierarchy of domain errors.

Services raise these; the HTTP exception handler turns them into the contract's envelope and
the WebSocket consumer turns them into `error` frames. `code` on the wire equals `status`.
"""

from __future__ import annotations


class ApplicationError(Exception):
    status: int = 400
    default_msg: str = "bad request"

    def __init__(self, msg: str | None = None, *, errors: dict[str, list[str]] | None = None) -> None:
        self.msg = msg or self.default_msg
        self.errors = errors
        super().__init__(self.msg)


class InvalidInput(ApplicationError):
    status = 400
    default_msg = "invalid input"


class NotAuthenticated(ApplicationError):
    status = 401
    default_msg = "authentication required"


class Forbidden(ApplicationError):
    status = 403
    default_msg = "not allowed"


class NotFound(ApplicationError):
    status = 404
    default_msg = "not found"


class Conflict(ApplicationError):
    status = 409
    default_msg = "conflict"


class TooLarge(ApplicationError):
    status = 413
    default_msg = "too large"


class UnsupportedMediaType(ApplicationError):
    status = 415
    default_msg = "unsupported media type"


class RateLimited(ApplicationError):
    """429; `retry_after` (seconds) becomes the `Retry-After` header."""

    status = 429
    default_msg = "too many requests"

    def __init__(self, msg: str | None = None, *, retry_after: int) -> None:
        super().__init__(msg)
        self.retry_after = max(int(retry_after), 1)


class ServiceUnavailable(ApplicationError):
    status = 503
    default_msg = "service unavailable"
