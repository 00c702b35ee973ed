"""The process lifecycle: the agent's register / heartbeat / re-register after 404 /
unregister, the ASGI wrapper (lifespan and lazy start), and the HTTP client."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async

from chatproject.exceptions import NotFound
from gateway.delivery import delivery_engine
from gateway.hub import Hub
from registry import selectors, services
from registry.models import GatewayInstance, SendInstance
from runtime import lifecycle
from runtime.clients import HttpClient, InProcessClient, registry_client
from runtime.identity import InstanceIdentity, gateway_identity, send_identity
from runtime.lifecycle import RegistryAgent, RegistryLifecycleMiddleware, configure_gateway, gateway_figures
from tests.conftest import INTERNAL_TOKEN

GATEWAY = InstanceIdentity(
    kind="gateway", instance_id="gw-me", address="10.1.1.1", port=8084, url="ws://10.1.1.1:8084/api/ws", capacity=4
)
SEND = InstanceIdentity(kind="send", instance_id="send-me", address="10.1.1.1", port=8081, url="http://10.1.1.1:8081")


@dataclass
class FakeSocket:
    user_id: int
    connection_id: str


async def _db(func):
    """Read the database from a worker thread whose connection is closed afterwards."""
    return await database_sync_to_async(func, thread_sensitive=False)()


def _hub(*sockets: tuple[int, str]) -> Hub:
    hub = Hub()
    for user_id, connection_id in sockets:
        hub.add(FakeSocket(user_id, connection_id))
    return hub


def _agent(client=None, source=None) -> RegistryAgent:
    return RegistryAgent(client=client or InProcessClient(), records=[GATEWAY, SEND], hub=source or _hub())


@pytest.mark.django_db(transaction=True)
def test_agent_registers_and_heartbeats_with_the_hubs_figures(clock):
    source = _hub((1, "a"), (1, "b"), (2, "c"))
    agent = _agent(source=source)
    async_to_sync(agent.register)()
    gateway = GatewayInstance.objects.get()
    assert (gateway.gateway_id, gateway.address, gateway.port, gateway.capacity) == ("gw-me", "10.1.1.1", 8084, 4)
    assert SendInstance.objects.get().url == "http://10.1.1.1:8081"
    clock.advance(10)
    async_to_sync(agent.beat)()
    gateway.refresh_from_db()
    assert (gateway.load, gateway.connected_users, gateway.last_heartbeat) == (0.75, 3, clock.now())
    assert SendInstance.objects.get().last_heartbeat == clock.now()


def test_gateway_figures_cap_the_load_at_1():
    assert gateway_figures(capacity=2, hub=_hub((1, "a"), (2, "b"), (3, "c"))) == (1.0, 3)
    assert gateway_figures(capacity=10, hub=_hub()) == (0.0, 0)


@pytest.mark.django_db(transaction=True)
def test_agent_registers_again_after_a_404_and_restores_its_routes(clock):
    source = _hub((7, "phone"))
    agent = _agent(source=source)
    async_to_sync(agent.register)()
    services.user_connect(user_id=7, gateway_id="gw-me", connection_id="phone")
    clock.advance(31)  # a long pause: the record expired
    assert selectors.gateway_list() == []
    assert selectors.user_ids_online(user_ids=[7]) == set()
    with pytest.raises(NotFound):
        services.gateway_heartbeat(gateway_id="gw-me")
    async_to_sync(agent.beat)()  # 404, then register again
    assert [g.gateway_id for g in selectors.gateway_list()] == ["gw-me"]
    assert [s.instance_id for s in selectors.send_instance_list()] == ["send-me"]
    assert selectors.routes_for_users(user_ids=[7])[7]["gateways"] == ["gw-me"]


@pytest.mark.django_db(transaction=True)
def test_agent_registers_again_after_an_unregister(clock):
    agent = _agent()
    async_to_sync(agent.register)()
    services.gateway_unregister(gateway_id="gw-me")
    services.send_instance_unregister(instance_id="send-me")
    clock.advance(10)
    async_to_sync(agent.beat)()
    assert GatewayInstance.objects.get().registered_at == clock.now()
    assert SendInstance.objects.get().registered_at == clock.now()


class FlakyClient(InProcessClient):
    def __init__(self, failures: int) -> None:
        self.failures = failures

    def register(self, identity, *, sockets=()):
        if identity.kind == "gateway" and self.failures:
            self.failures -= 1
            raise ConnectionError("registry down")
        super().register(identity, sockets=sockets)


@pytest.mark.django_db(transaction=True)
def test_a_failed_registration_is_retried_at_the_next_beat(clock, caplog):
    agent = _agent(client=FlakyClient(failures=1))
    async_to_sync(agent.register)()
    assert not GatewayInstance.objects.exists()
    assert "could not register gateway gw-me; retrying" in caplog.text
    async_to_sync(agent.beat)()
    assert GatewayInstance.objects.get().gateway_id == "gw-me"


@pytest.mark.django_db(transaction=True)
def test_agent_unregisters_async_and_sync(clock):
    agent = _agent()
    async_to_sync(agent.register)()
    async_to_sync(agent.unregister)()
    assert not GatewayInstance.objects.exists() and not SendInstance.objects.exists()
    async_to_sync(agent.register)()
    agent.unregister_sync()
    assert not GatewayInstance.objects.exists() and not SendInstance.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_purge_removes_only_long_dead_records(clock, settings):
    settings.REGISTRY_PURGE_AFTER_SECONDS = 3600
    services.gateway_register(gateway_id="gw-old", address="h", port=1)
    services.user_connect(user_id=1, gateway_id="gw-old", connection_id="a")
    clock.advance(3000)
    services.gateway_register(gateway_id="gw-dead", address="h", port=2)
    clock.advance(601)
    services.gateway_register(gateway_id="gw-live", address="h", port=3)
    assert services.instances_purge_dead() == 1
    assert sorted(GatewayInstance.objects.values_list("gateway_id", flat=True)) == ["gw-dead", "gw-live"]


@pytest.mark.django_db(transaction=True)
def test_housekeeping_runs_every_chore_even_when_one_fails(clock, monkeypatch, caplog):
    """The registry's process purges dead records, forgets unseen devices and deletes
    unreferenced uploads every PURGE_EVERY_BEATS beats; a failing chore stops none of the others."""
    done: list[str] = []

    class FailingPurge(InProcessClient):
        def purge(self) -> int:
            done.append("purge")
            raise RuntimeError("registry down")

    monkeypatch.setattr("runtime.lifecycle.devices_forget_unseen", lambda days: done.append(f"devices {days:g}"))
    monkeypatch.setattr("runtime.lifecycle.attachments_cleanup", lambda: done.append("attachments"))
    agent = RegistryAgent(client=FailingPurge(), records=[GATEWAY], hub=_hub(), purge=True)
    async_to_sync(agent.register)()
    for _ in range(lifecycle.PURGE_EVERY_BEATS - 1):
        agent.beats += 1
    async_to_sync(agent.beat)()
    assert done == ["purge", "devices 90", "attachments"]
    assert "housekeeping: removing dead registry records failed" in caplog.text
    done.clear()
    async_to_sync(agent.beat)()
    assert done == []  # once every PURGE_EVERY_BEATS beats only


# --- The ASGI wrapper -------------------------------------------------------------------


async def _noop_app(scope, receive, send):
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture
def process_settings(settings, monkeypatch):
    """Background duties on, a known identity, and settings changes undone after the test."""
    for name in ("GATEWAY_PORT", "GATEWAY_ID", "SEND_PORT", "SEND_INSTANCE_ID", "REGISTRY_URL"):
        monkeypatch.delenv(name, raising=False)
    settings.CHAT_BACKGROUND_TASKS = True
    settings.CHAT_ROLES = ["all"]
    settings.REGISTRY_URL = ""
    settings.GATEWAY_PORT = 8000
    settings.GATEWAY_ID = "gw-test-8000"
    settings.GATEWAY_WS_URL = ""
    settings.SEND_PORT = 8000
    settings.SEND_INSTANCE_ID = "send-test-8000"
    settings.SEND_URL = ""
    settings._HOST_LABEL = "test"
    return settings


@pytest.mark.django_db(transaction=True)
def test_lifespan_startup_registers_and_shutdown_unregisters(process_settings):
    middleware = RegistryLifecycleMiddleware(_noop_app)

    async def run() -> list[str]:
        incoming: asyncio.Queue = asyncio.Queue()
        sent: list[str] = []

        async def send(message):
            sent.append(message["type"])

        await incoming.put({"type": "lifespan.startup"})
        task = asyncio.create_task(middleware({"type": "lifespan"}, incoming.get, send))
        while not sent:
            await asyncio.sleep(0.01)
        assert middleware.running()
        ids = await _db(lambda: sorted(GatewayInstance.objects.values_list("gateway_id", flat=True)))
        assert ids == ["gw-test-8000"]
        await incoming.put({"type": "lifespan.shutdown"})
        await task
        return sent

    assert async_to_sync(run)() == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert not GatewayInstance.objects.exists()
    assert not SendInstance.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_first_scope_starts_lazily_with_the_served_port(process_settings):
    middleware = RegistryLifecycleMiddleware(_noop_app)

    async def run() -> None:
        sent: list[dict] = []

        async def send(message):
            sent.append(message)

        async def receive():
            return {"type": "http.request", "body": b""}

        scope = {"type": "http", "path": "/", "server": ("127.0.0.1", 8123)}
        await middleware(scope, receive, send)
        await middleware(scope, receive, send)  # once only
        assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [204, 204]
        await middleware.shutdown()

    async_to_sync(run)()
    # Registered under the port it serves on before answering; unregistered at shutdown.
    assert middleware.identity.gateway.instance_id == "gw-test-8123"
    assert not GatewayInstance.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_request_after_shutdown_does_not_register_again(process_settings):
    middleware = RegistryLifecycleMiddleware(_noop_app)

    async def run() -> None:
        async def send(message):
            return None

        await middleware.startup()
        await middleware.shutdown()
        await middleware({"type": "http"}, None, send)  # still in flight while the server stops
        assert not middleware.running()

    async_to_sync(run)()
    assert not GatewayInstance.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_first_scope_is_served_after_the_registration(process_settings):
    seen: list[list[str]] = []

    async def app(scope, receive, send):
        seen.append(await _db(lambda: list(GatewayInstance.objects.values_list("gateway_id", flat=True))))

    middleware = RegistryLifecycleMiddleware(app)

    async def run() -> None:
        await asyncio.gather(*(middleware({"type": "http"}, None, None) for _ in range(3)))
        await middleware.shutdown()

    async_to_sync(run)()
    assert seen == [["gw-test-8000"]] * 3


@pytest.mark.django_db(transaction=True)
def test_nothing_starts_when_background_tasks_are_off(process_settings):
    process_settings.CHAT_BACKGROUND_TASKS = False
    middleware = RegistryLifecycleMiddleware(_noop_app)

    async def run() -> None:
        async def send(message):
            return None

        await middleware({"type": "http"}, None, send)
        assert not middleware.running()

    async_to_sync(run)()
    assert not GatewayInstance.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_roles_decide_what_registers(process_settings):
    process_settings.CHAT_ROLES = ["send"]
    middleware = RegistryLifecycleMiddleware(_noop_app)

    async def run() -> None:
        await middleware.startup()
        assert await _db(lambda: list(SendInstance.objects.values_list("instance_id", flat=True))) == ["send-test-8000"]
        assert not await _db(GatewayInstance.objects.exists)
        await middleware.shutdown()

    async_to_sync(run)()
    process_settings.CHAT_ROLES = ["meta"]
    middleware = RegistryLifecycleMiddleware(_noop_app)
    async_to_sync(middleware.startup)()
    assert middleware.agent is None
    assert not GatewayInstance.objects.exists() and not SendInstance.objects.exists()


def test_the_serving_port_leaves_values_from_the_environment(process_settings, monkeypatch):
    monkeypatch.setenv("GATEWAY_ID", "gw-fixed")
    process_settings.GATEWAY_ID = "gw-fixed"
    monkeypatch.setenv("SEND_PORT", "8081")
    process_settings.SEND_PORT = 8081
    gateway, send = gateway_identity(port=9001), send_identity(port=9001)
    assert (gateway.instance_id, gateway.port) == ("gw-fixed", 9001)
    assert (send.instance_id, send.port) == ("send-test-8081", 8081)


@pytest.mark.django_db
def test_registering_again_records_the_hubs_sockets(process_settings, clock, monkeypatch):
    engine = delivery_engine()
    monkeypatch.setattr(engine, "hub", _hub((5, "a"), (6, "b")))
    monkeypatch.setattr(engine, "gateway_id", None)
    monkeypatch.setattr(engine, "register_again", None)
    configure_gateway()
    engine.register_again()
    assert selectors.gateways_for_users(user_ids=[5, 6]) == {"gw-test-8000": [5, 6]}


# --- Over HTTP ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_http_client_against_a_live_registry(live_server, settings):
    settings.REGISTRY_URL = live_server.url
    client = registry_client()
    assert isinstance(client, HttpClient)
    client.register(GATEWAY, sockets=[(3, "x")])
    client.heartbeat(GATEWAY, load=0.5, connections=9)
    client.register(SEND)
    client.heartbeat(SEND)
    gateway = GatewayInstance.objects.get()
    assert (gateway.load, gateway.connected_users, gateway.ws_url) == (0.5, 9, "ws://10.1.1.1:8084/api/ws")
    assert selectors.user_ids_online(user_ids=[3]) == {3}
    client.unregister(GATEWAY)
    client.unregister(SEND)
    assert not GatewayInstance.objects.exists() and not SendInstance.objects.exists()
    with pytest.raises(NotFound):
        client.heartbeat(GATEWAY, load=0.5, connections=9)
    with pytest.raises(NotFound):
        client.heartbeat(SEND)


@pytest.mark.django_db(transaction=True)
def test_http_agent_registers_again_after_a_404(live_server):
    agent = _agent(client=HttpClient(live_server.url, token=INTERNAL_TOKEN), source=_hub((4, "tab")))
    async_to_sync(agent.register)()
    services.gateway_unregister(gateway_id="gw-me")
    async_to_sync(agent.beat)()
    assert selectors.routes_for_users(user_ids=[4])[4]["gateway_id"] == "gw-me"


def test_http_client_reports_an_unreachable_registry():
    from chatproject.exceptions import ServiceUnavailable

    client = HttpClient("http://127.0.0.1:1", token="t", timeout=1)
    with pytest.raises(ServiceUnavailable):
        client.heartbeat(SEND)
    with pytest.raises(ValueError, match="http"):
        HttpClient("ftp://x", token="t")
