"""Who this process is in the registry: its roles, and its records as a gateway and as a send
instance, all from settings."""

from __future__ import annotations

import os
from dataclasses import dataclass

from django.conf import settings

from registry.services import default_send_url, default_ws_url


@dataclass(frozen=True)
class GatewayIdentity:
    gateway_id: str
    address: str
    port: int
    ws_url: str
    capacity: int


@dataclass(frozen=True)
class SendIdentity:
    instance_id: str
    address: str
    port: int
    url: str


def _roles() -> set[str]:
    return set(settings.CHAT_ROLES)


def serves_gateway() -> bool:
    """A process with the `gateway` role (or `all`) registers as a gateway instance."""
    return bool(_roles() & {"all", "gateway"})


def serves_send() -> bool:
    """A process with the `send` role (or `all`) registers as a send instance."""
    return bool(_roles() & {"all", "send"})


def carries_registry() -> bool:
    """A process with the `registry` role (or `all`) purges long-dead records."""
    return bool(_roles() & {"all", "registry"})


def gateway_identity() -> GatewayIdentity:
    return GatewayIdentity(
        gateway_id=settings.GATEWAY_ID,
        address=settings.GATEWAY_ADDRESS,
        port=settings.GATEWAY_PORT,
        ws_url=settings.GATEWAY_WS_URL or default_ws_url(address=settings.GATEWAY_ADDRESS, port=settings.GATEWAY_PORT),
        capacity=settings.GATEWAY_CAPACITY,
    )


def send_identity() -> SendIdentity:
    return SendIdentity(
        instance_id=settings.SEND_INSTANCE_ID,
        address=settings.SEND_ADDRESS,
        port=settings.SEND_PORT,
        url=settings.SEND_URL or default_send_url(address=settings.SEND_ADDRESS, port=settings.SEND_PORT),
    )


def _unset(name: str) -> bool:
    return not os.environ.get(name, "").strip()


def adopt_serving_port(port: int) -> None:
    """Make the port this process serves on the advertised one, for every value the
    environment leaves unset (GATEWAY_PORT and SEND_PORT, and the ids derived from them).
    Called once before serving starts, so that every reader sees the final values."""
    if _unset("GATEWAY_PORT"):
        settings.GATEWAY_PORT = port
        if _unset("GATEWAY_ID"):
            settings.GATEWAY_ID = f"gw-{settings._HOST_LABEL}-{port}"
    if _unset("SEND_PORT"):
        settings.SEND_PORT = port
        if _unset("SEND_INSTANCE_ID"):
            settings.SEND_INSTANCE_ID = f"send-{settings._HOST_LABEL}-{port}"
