"""GET /metrics: the Prometheus text format with every family of the issue, the optional
METRICS_TOKEN, and the counters the HTTP and send paths move."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from gateway.delivery import delivery_engine
from meta.models import User
from meta.services import room_create
from tests.observability.conftest import sample, scrape_samples

pytestmark = pytest.mark.django_db

REQUIRED_FAMILIES = {
    "chat_gateway_connections": "gauge",
    "chat_messages_sent": "counter",
    "chat_frames_delivered": "counter",
    "chat_redeliveries": "counter",
    "chat_delivery_latency_seconds": "histogram",
    "chat_http_request_duration_seconds": "histogram",
    "chat_channel_layer_errors": "counter",
    "chat_gateway_events_received": "counter",
}


@pytest.fixture
def gateway_named() -> Any:
    """Make this process's engine the gateway of that id (as the runtime does at start-up)."""
    engine = delivery_engine()
    before = engine.gateway_id
    yield lambda gateway_id: engine.configure(gateway_id=gateway_id)
    engine.configure(gateway_id=before)


def scrape(client: Client | APIClient | None = None, **headers: str) -> str:
    response = (client or Client()).get("/metrics", headers=headers)
    assert response.status_code == 200, response.content
    return response.content.decode()


def test_metrics_are_prometheus_text_with_every_family(gateway_named: Callable[[str | None], None]) -> None:
    gateway_named("gw-7")
    response = Client().get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    families = {f.name: f.type for f in text_string_to_metric_families(response.content.decode())}
    assert {name: families.get(name) for name in REQUIRED_FAMILIES} == REQUIRED_FAMILIES
    # The connections gauge is this process's gateway, read from the hub at scrape time.
    assert scrape_samples(response.content.decode())[("chat_gateway_connections", (("gateway", "gw-7"),))] == 0


def test_openmetrics_is_served_when_the_scraper_asks_for_it() -> None:
    response = Client().get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
    assert response.content.decode().endswith("# EOF\n")


def test_a_process_without_the_gateway_role_reports_no_connections(not_a_gateway: None) -> None:
    samples = scrape_samples(scrape())
    assert [key for key in samples if key[0] == "chat_gateway_connections"] == []


def test_other_methods_are_refused_in_the_envelope() -> None:
    response = Client().post("/metrics")
    assert response.status_code == 405
    assert response.json() == {"code": 405, "msg": "method POST is not allowed on /metrics; use GET"}
    assert response["Allow"] == "GET, HEAD"


# --- METRICS_TOKEN --------------------------------------------------------------------------

METRICS_401 = {"code": 401, "msg": "metrics need the header 'Authorization: Bearer <METRICS_TOKEN>'"}


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", "Bearer m-secre", "Basic m-secret", "m-secret", "Bearer m-secret-and-more"],
)
def test_with_a_metrics_token_a_scrape_without_it_gets_401(settings: Any, authorization: str | None) -> None:
    settings.METRICS_TOKEN = "m-secret"
    headers = {"Authorization": authorization} if authorization else {}
    response = Client().get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.json() == METRICS_401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'


def test_with_a_metrics_token_a_user_access_token_is_not_enough(
    settings: Any, make_user: Callable[..., User], token_for: Callable[[User], str]
) -> None:
    settings.METRICS_TOKEN = "m-secret"
    response = Client().get("/metrics", headers={"Authorization": f"Bearer {token_for(make_user())}"})
    assert response.status_code == 401
    assert response.json() == METRICS_401


def test_with_a_metrics_token_the_right_bearer_gets_the_metrics(settings: Any) -> None:
    settings.METRICS_TOKEN = "m-secret"
    text = scrape(Authorization="Bearer m-secret")
    assert "# TYPE chat_messages_sent_total counter" in text


def test_without_a_metrics_token_the_endpoint_is_open(settings: Any) -> None:
    settings.METRICS_TOKEN = ""
    assert "chat_gateway_connections" in scrape()


# --- messages sent --------------------------------------------------------------------------


def _group(make_user: Callable[..., User]) -> tuple[User, User, User, int]:
    alice, bob, outsider = make_user(), make_user(), make_user()
    room = room_create(actor=alice, name="g", member_ids=[bob.pk], is_group=True)
    return alice, bob, outsider, room.pk


def _send(client: APIClient, room_id: int, text: str, **extra: Any) -> Any:
    body = {"room_id": room_id, "content": {"type": "text", "text": text}, **extra}
    return client.post("/api/chat/send_message", body, format="json")


def test_sending_a_message_moves_messages_sent_after_commit(
    make_user: Callable[..., User],
    client_for: Callable[[User], APIClient],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    alice, _, _, room_id = _group(make_user)
    before = sample("chat_messages_sent_total")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = _send(client_for(alice), room_id, "hello", client_msg_id="m-1")
        assert response.status_code == 200, response.json()
        # Stored but not yet committed: nothing counted.
        assert sample("chat_messages_sent_total") == before
    for callback in callbacks:
        callback()
    assert sample("chat_messages_sent_total") == before + 1
    assert f"chat_messages_sent_total {before + 1}" in scrape()


def test_repeats_and_refusals_are_not_counted_as_sent(
    make_user: Callable[..., User],
    client_for: Callable[[User], APIClient],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    alice, _, outsider, room_id = _group(make_user)
    with django_capture_on_commit_callbacks(execute=True):
        assert _send(client_for(alice), room_id, "once", client_msg_id="k").status_code == 200
    before = sample("chat_messages_sent_total")
    with django_capture_on_commit_callbacks(execute=True):
        assert _send(client_for(alice), room_id, "once", client_msg_id="k").status_code == 200  # idempotent repeat
        assert _send(client_for(outsider), room_id, "not a member").status_code == 403
        assert _send(client_for(alice), room_id, "").status_code == 400
    assert sample("chat_messages_sent_total") == before


# --- HTTP latency -----------------------------------------------------------------------------


def _http_count(method: str, route: str, status: str) -> float:
    return sample("chat_http_request_duration_seconds_count", method=method, route=route, status=status)


def test_a_request_is_timed_under_its_route(
    make_user: Callable[..., User], client_for: Callable[[User], APIClient]
) -> None:
    before = _http_count("GET", "/api/joined_rooms", "2xx")
    assert client_for(make_user()).get("/api/joined_rooms").status_code == 200
    assert _http_count("GET", "/api/joined_rooms", "2xx") == before + 1
    samples = scrape_samples(scrape())
    labels = (("method", "GET"), ("route", "/api/joined_rooms"), ("status", "2xx"))
    assert samples[("chat_http_request_duration_seconds_count", labels)] == before + 1
    assert samples[("chat_http_request_duration_seconds_bucket", (("le", "+Inf"), *labels))] == before + 1


def test_errors_are_timed_under_their_status_class(api: APIClient) -> None:
    before = _http_count("POST", "/api/chat/send_message", "4xx")
    assert api.post("/api/chat/send_message", {}, format="json").status_code == 401
    assert _http_count("POST", "/api/chat/send_message", "4xx") == before + 1


def test_a_route_with_an_id_is_labelled_by_its_pattern_not_the_path(internal_api: APIClient) -> None:
    before = _http_count("DELETE", "/registry/gateway/<gateway_id>", "2xx")
    assert internal_api.delete("/registry/gateway/gw-secret-name-42").status_code == 200
    assert _http_count("DELETE", "/registry/gateway/<gateway_id>", "2xx") == before + 1
    assert "gw-secret-name-42" not in scrape()


def test_unknown_paths_share_one_label(api: APIClient) -> None:
    before = _http_count("GET", "<unmatched>", "4xx")
    assert api.get("/api/rooms/98765/whatever").status_code == 404
    assert api.get("/nothing-here-12345").status_code == 404
    assert _http_count("GET", "<unmatched>", "4xx") == before + 2
    # No label carries the paths' ids (a sample's value may contain any digits: the check of
    # the whole text failed when a histogram sum happened to end in 12345).
    labels = {value for _, pairs in scrape_samples(scrape()) for _, value in pairs}
    assert not [value for value in labels if "98765" in value or "12345" in value]


def test_a_body_refused_before_routing_is_timed_as_unresolved(api: APIClient, settings: Any) -> None:
    settings.MAX_BODY_BYTES = 100
    before = _http_count("POST", "<unresolved>", "4xx")
    response = api.post("/login", "x" * 2048, content_type="application/json")
    assert response.status_code == 413
    assert _http_count("POST", "<unresolved>", "4xx") == before + 1


def test_unusual_methods_share_one_label(api: APIClient) -> None:
    before = _http_count("other", "/health", "4xx")
    response = api.generic("BREW", "/health")
    assert response.status_code == 405
    assert _http_count("other", "/health", "4xx") == before + 1
