"""Fixtures for WebSocket tests on the real ASGI application."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator

from chatproject.asgi import application
from gateway.delivery import delivery_engine
from meta.models import User
from meta.tokens import access_token_for_user
from registry import services as registry_services

GATEWAY_ID = "gw-test"


@pytest.fixture(autouse=True)
def _gateway_settings(settings: Any) -> None:
    settings.GATEWAY_ID = GATEWAY_ID
    settings.CHAT_BACKGROUND_TASKS = False
    settings.DELIVERY_CONFIRM_FLUSH_SECONDS = 0.05
    settings.DELIVERY_SWEEP_SECONDS = 3600
    settings.DELIVERY_REDELIVERY_SECONDS = 10
    # No presence frames unless a test asks for them (tests/gateway/test_live.py): the others
    # assert which frame comes next.
    settings.PRESENCE_MAX_MEMBERS = 0


@pytest.fixture
async def gateway(transactional_db: None) -> AsyncIterator[str]:
    """This process registered as the gateway `gw-test`, with a fresh channel layer and hub."""
    channel_layers.backends.clear()
    engine = delivery_engine()
    engine.hub.__init__()
    engine.configure(gateway_id=GATEWAY_ID)
    await database_sync_to_async(registry_services.gateway_register)(gateway_id=GATEWAY_ID, address="127.0.0.1", port=1)
    yield GATEWAY_ID
    await engine.stop()
    channel_layers.backends.clear()


class Client:
    """A WebSocket client on the ASGI application that collects frames as a user would."""

    def __init__(self, communicator: WebsocketCommunicator) -> None:
        self.ws = communicator
        self.subprotocol: str | None = None

    async def frame(self, timeout: float = 2) -> dict[str, Any]:
        return json.loads(await self.ws.receive_from(timeout=timeout))

    async def frames_until(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 3) -> list[dict]:
        got: list[dict] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"condition not met; got {got}")
            got.append(await self.frame(timeout=remaining))
            if predicate(got[-1]):
                return got

    async def nothing(self, timeout: float = 0.3) -> None:
        assert await self.ws.receive_nothing(timeout=timeout), "expected no frame"

    async def send(self, frame: Any) -> None:
        await self.ws.send_to(text_data=frame if isinstance(frame, str) else json.dumps(frame))

    async def close(self) -> None:
        await self.ws.disconnect()


@pytest.fixture
async def connect(gateway: str) -> AsyncIterator[Callable[..., Any]]:
    """`await connect(user, how="header"|"subprotocol"|"query", ack=None, welcome=True)`."""
    opened: list[Client] = []

    async def open_socket(
        user: User | None = None,
        *,
        token: str | None = None,
        how: str = "header",
        ack: bool | None = None,
        welcome: bool = True,
        headers: list[tuple[bytes, bytes]] | None = None,
        expect_close: int | None = None,
        device_id: str | None = None,
    ) -> Client:
        raw = token if token is not None else access_token_for_user(user=user)
        path = "/api/ws"
        query = []
        all_headers = list(headers or [])
        subprotocols = None
        if how == "header":
            all_headers.append((b"authorization", f"Bearer {raw}".encode()))
        elif how == "subprotocol":
            subprotocols = ["bearer", raw]
        elif how == "query":
            query.append(f"token={raw}")
        if ack is not None:
            query.append(f"ack={int(ack)}")
        if device_id is not None:
            query.append(f"device_id={device_id}")
        if query:
            path += "?" + "&".join(query)
        communicator = WebsocketCommunicator(application, path, headers=all_headers, subprotocols=subprotocols)
        connected, subprotocol = await communicator.connect(timeout=3)
        client = Client(communicator)
        client.subprotocol = subprotocol
        opened.append(client)
        if expect_close is not None:
            output = await communicator.receive_output(timeout=3)
            assert output == {"type": "websocket.close", "code": expect_close}
            return client
        assert connected
        if welcome:
            assert await client.frame() == {
                "id": -1,
                "type": "system",
                "room_id": -1,
                "sender_id": -1,
                "payload": "Connected to WebSocket server",
            }
        return client

    yield open_socket
    for client in opened:
        try:
            await client.ws.disconnect()
        except Exception:
            pass
    await asyncio.sleep(0)
