"""The page at `/` that loads the browser client, and its static files."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def test_root_serves_the_client_page_under_a_strict_policy(api):
    response = api.get("/")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["Content-Security-Policy"] == CSP
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cache-Control"] == "no-cache"
    page = response.content.decode()
    assert '<script type="module" src="/static/gateway/chat.js"></script>' in page
    assert '<link rel="stylesheet" href="/static/gateway/chat.css">' in page
    # Everything the client needs to start is in the page: both forms and the live regions.
    for fragment in ('id="login-form"', 'id="register-form"', 'id="announcer"', 'aria-live="polite"'):
        assert fragment in page
    # No inline script or style: the policy would block them.
    assert "<script>" not in page and "<style" not in page and " style=" not in page


def test_root_answers_head_without_a_body(api):
    response = api.head("/")
    assert response.status_code == 200
    assert response.content == b""


def test_root_refuses_other_methods_in_the_envelope(api):
    response = api.post("/", {"a": 1}, format="json")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert response.json() == {"code": 405, "msg": "method POST not allowed on /; the client page is read with GET"}


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/static/gateway/chat.js", "text/javascript"),
        ("/static/gateway/api.js", "text/javascript"),
        ("/static/gateway/socket.js", "text/javascript"),
        ("/static/gateway/timeline.js", "text/javascript"),
        ("/static/gateway/state.js", "text/javascript"),
        ("/static/gateway/dom.js", "text/javascript"),
        ("/static/gateway/format.js", "text/javascript"),
        ("/static/gateway/notices.js", "text/javascript"),
        ("/static/gateway/session.js", "text/javascript"),
        ("/static/gateway/layout.js", "text/javascript"),
        ("/static/gateway/rooms.js", "text/javascript"),
        ("/static/gateway/messages.js", "text/javascript"),
        ("/static/gateway/bubbles.js", "text/javascript"),
        ("/static/gateway/composer.js", "text/javascript"),
        ("/static/gateway/members.js", "text/javascript"),
        ("/static/gateway/requests.js", "text/javascript"),
        ("/static/gateway/events.js", "text/javascript"),
        ("/static/gateway/people.js", "text/javascript"),
        ("/static/gateway/profile.js", "text/javascript"),
        ("/static/gateway/safety.js", "text/javascript"),
        ("/static/gateway/settings.js", "text/javascript"),
        ("/static/gateway/uploads.js", "text/javascript"),
        ("/static/gateway/lifecycle.js", "text/javascript"),
        ("/static/gateway/reactions.js", "text/javascript"),
        ("/static/gateway/replies.js", "text/javascript"),
        ("/static/gateway/mentions.js", "text/javascript"),
        ("/static/gateway/pins.js", "text/javascript"),
        ("/static/gateway/search.js", "text/javascript"),
        ("/static/gateway/conversation.js", "text/javascript"),
        ("/static/gateway/receipts.js", "text/javascript"),
        ("/static/gateway/typing.js", "text/javascript"),
        ("/static/gateway/chat.css", "text/css"),
    ],
)
def test_client_files_are_served_as_what_they_are(client, path, content_type):
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Type"].split(";")[0] == content_type
    assert b"".join(response.streaming_content if response.streaming else [response.content])


def test_unknown_paths_still_get_the_enveloped_404(api):
    response = api.get("/index.html")
    assert response.status_code == 404
    assert response.json() == {"code": 404, "msg": "no such endpoint: GET /index.html"}
