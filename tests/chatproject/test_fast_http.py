"""`chatproject.fast_http`: `GET /registry/gateway/available` answered beside Django's stack when
plain, with the reply Django's stack gives for the same request (status, every header, the
body), and every other request handed to Django."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from asgiref.sync import async_to_sync

from chatproject import asgi
from chatproject.asgi_handler import OneHopASGIHandler
from chatproject.http_limits import BodyLimitMiddleware
from meta.tokens import access_token_for_user
from registry import services
from tests.observability.conftest import sample
from tests.support.asgi import Reply, asgi_request

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/registry/gateway/available"
ROUTE = {"method": "GET", "route": PATH, "status": "2xx"}


def call(app: Any, **request: Any) -> Reply:
    headers = [(b"x-request-id", b"req-1"), *request.pop("headers", [])]
    return async_to_sync(asgi_request)(app, PATH, headers=headers, **request)


@pytest.fixture
def entered_django(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The requests that went through Django's stack."""
    entered: list[str] = []
    handle = OneHopASGIHandler.handle

    async def counting(self: OneHopASGIHandler, scope: dict[str, Any], receive: Any, send: Any) -> None:
        entered.append(scope["path"])
        await handle(self, scope, receive, send)

    monkeypatch.setattr(OneHopASGIHandler, "handle", counting)
    return entered


@pytest.fixture
def gateways(settings: Any, make_user: Any) -> Any:
    settings.ALLOWED_HOSTS = ["localhost"]
    services.gateway_register(gateway_id="gw-1", address="127.0.0.1", port=8101)
    services.gateway_register(gateway_id="gw-2", address="127.0.0.1", port=8102)
    user = make_user()
    services.user_connect(user_id=user.pk, gateway_id="gw-2", connection_id="c1")
    return user


def django_reply(**request: Any) -> Reply:
    return call(BodyLimitMiddleware(asgi.django_asgi_app), **request)


def test_a_user_with_a_connection_gets_its_gateway_as_django_answers_it_without_entering_django(
    gateways: Any, entered_django: list[str]
) -> None:
    fast = call(asgi.application, query=f"user_id={gateways.pk}")
    assert entered_django == []
    assert fast[0] == 200
    assert fast[2] == (
        b'{"code":0,"msg":"ok","data":{"gateway_id":"gw-2","address":"127.0.0.1","port":8102,'
        b'"ws_url":"ws://127.0.0.1:8102/api/ws"}}'
    )
    assert fast == django_reply(query=f"user_id={gateways.pk}")
    assert entered_django == [PATH]


@pytest.mark.parametrize("query", ["user_id={user}&avoid=gw-2", "avoid=gw-2&user_id={user}", "avoid=gw-1"])
def test_a_gateway_to_avoid_is_read_as_django_reads_it_without_entering_django(
    gateways: Any, entered_django: list[str], query: str
) -> None:
    query = query.format(user=gateways.pk)
    fast = call(asgi.application, query=query)
    assert fast[0] == 200 and entered_django == []
    avoided = re.search(r"avoid=([^&]+)", query)[1]
    assert b'"gateway_id":"' + avoided.encode() not in fast[2]
    assert fast == django_reply(query=query)


def test_a_valid_bearer_token_names_the_user_and_an_invalid_one_is_ignored(
    gateways: Any, entered_django: list[str]
) -> None:
    token = access_token_for_user(user=gateways).encode()
    fast = call(asgi.application, headers=[(b"authorization", b"Bearer " + token)])
    assert b'"gw-2"' in fast[2]
    assert fast == django_reply(headers=[(b"authorization", b"Bearer " + token)])
    status, _, body = call(asgi.application, headers=[(b"authorization", b"Bearer not.a.token")])
    assert status == 200 and b'"gateway_id"' in body
    assert entered_django == [PATH]  # only the comparison went through Django


def test_the_access_log_and_the_duration_metric_see_a_fast_reply_once(
    gateways: Any, caplog: pytest.LogCaptureFixture
) -> None:
    before = sample("chat_http_request_duration_seconds_count", **ROUTE)
    with caplog.at_level(logging.INFO, logger="chatproject.access"):
        call(asgi.application, query="user_id=7")
    assert sample("chat_http_request_duration_seconds_count", **ROUTE) == before + 1
    lines = [r for r in caplog.records if r.name == "chatproject.access"]
    assert [r.getMessage().rsplit(" ", 1)[0] for r in lines] == [f"GET {PATH}?user_id=7 200"]
    assert lines[0].request_id == "req-1"


@pytest.mark.parametrize(
    ("query", "method", "headers"),
    [
        ("user_id=abc", "GET", []),
        ("user_id=0", "GET", []),
        ("user_id=9007199254740992", "GET", []),
        ("user_id=5&user_id=6", "GET", []),
        ("user_id=5&format=json", "GET", []),
        ("avoid=gw-1&avoid=gw-2", "GET", []),
        ("avoid=", "GET", []),
        ("avoid=gw%2D1", "GET", []),
        ("user_id=5&avoid=" + "x" * 65, "GET", []),
        ("", "POST", []),
        ("", "HEAD", []),
        ("", "OPTIONS", []),
        ("", "GET", [(b"accept", b"text/html")]),
        ("", "GET", [(b"accept", b"application/json; indent=4")]),
        ("", "GET", [(b"host", b"evil.example")]),
        ("", "GET", [(b"accept", b"application/json"), (b"accept", b"text/html")]),
        ("", "GET", [(b"content-length", b"3")]),
    ],
)
def test_anything_but_the_plain_request_is_django_s_to_answer(
    gateways: Any, entered_django: list[str], query: str, method: str, headers: list[tuple[bytes, bytes]]
) -> None:
    request = {"query": query, "method": method, "headers": headers}
    assert call(asgi.application, **request)[0] == django_reply(**request)[0]
    assert entered_django == [PATH, PATH]


def test_a_failed_choice_is_answered_by_django_in_the_envelope(settings: Any, entered_django: list[str]) -> None:
    settings.ALLOWED_HOSTS = ["localhost"]  # and no gateway at all
    status, _, body = call(asgi.application, query="user_id=5")
    assert (status, body) == (503, b'{"code":503,"msg":"no gateway is available"}')
    assert entered_django == [PATH]


@pytest.mark.parametrize(
    ("setting", "value", "headers"),
    [
        ("SECURE_SSL_REDIRECT", True, []),
        ("SECURE_PROXY_SSL_HEADER", ("HTTP_X_FORWARDED_PROTO", "https"), [(b"x-forwarded-proto", b"https")]),
        ("DISALLOWED_USER_AGENTS", [re.compile("^curl/")], [(b"user-agent", b"curl/8.5")]),
    ],
)
def test_a_request_django_s_middleware_would_answer_otherwise_is_django_s(
    gateways: Any, entered_django: list[str], settings: Any, setting: str, value: Any, headers: list[Any]
) -> None:
    setattr(settings, setting, value)
    settings.SECURE_HSTS_SECONDS = 3600
    fast = call(asgi.application, headers=headers)
    assert entered_django == [PATH]
    assert fast[0] == django_reply(headers=headers)[0]
