"""Who this process is in the registry: its records as a gateway and as a send instance.

Computed once from settings and the port the process serves on; settings are never changed.
Values the environment sets win; unset ones derive from the serving port (see settings):
GATEWAY_ID "gw-<hostname>-<port>", SEND_INSTANCE_ID "send-<hostname>-<port>", the URLs from
the advertised address and port.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from django.conf import settings

from registry.services import default_send_url, default_ws_url
from runtime.roles import serves_gateway, serves_send

Kind = Literal["gateway", "send"]


@dataclass(frozen=True)
class InstanceIdentity:
    """One record of this process in the registry: a gateway (`url` its ws_url, with a
    `capacity`) or a send instance (`url` its base URL)."""

    kind: Kind
    instance_id: str
    address: str
    port: int
    url: str
    capacity: int = 0


@dataclass(frozen=True)
class ProcessIdentity:
    gateway: InstanceIdentity | None
    send: InstanceIdentity | None

    @property
    def records(self) -> list[InstanceIdentity]:
        return [record for record in (self.gateway, self.send) if record is not None]


def _from_env(name: str) -> bool:
    return bool(os.environ.get(name, "").strip())


def gateway_identity(*, port: int | None = None) -> InstanceIdentity:
    """This process as a gateway, serving on `port` (None: the configured GATEWAY_PORT)."""
    if port is None or _from_env("GATEWAY_PORT"):
        port = settings.GATEWAY_PORT
    gateway_id = settings.GATEWAY_ID if _from_env("GATEWAY_ID") else f"gw-{settings._HOST_LABEL}-{port}"
    address = settings.GATEWAY_ADDRESS
    return InstanceIdentity(
        kind="gateway",
        instance_id=gateway_id,
        address=address,
        port=port,
        url=settings.GATEWAY_WS_URL or default_ws_url(address=address, port=port),
        capacity=settings.GATEWAY_CAPACITY,
    )


def send_identity(*, port: int | None = None) -> InstanceIdentity:
    """This process as a send instance, serving on `port` (None: the configured SEND_PORT)."""
    if port is None or _from_env("SEND_PORT"):
        port = settings.SEND_PORT
    instance_id = settings.SEND_INSTANCE_ID if _from_env("SEND_INSTANCE_ID") else f"send-{settings._HOST_LABEL}-{port}"
    address = settings.SEND_ADDRESS
    return InstanceIdentity(
        kind="send",
        instance_id=instance_id,
        address=address,
        port=port,
        url=settings.SEND_URL or default_send_url(address=address, port=port),
    )


def process_identity(*, port: int | None = None) -> ProcessIdentity:
    """This process's records for its roles, serving on `port`."""
    return ProcessIdentity(
        gateway=gateway_identity(port=port) if serves_gateway() else None,
        send=send_identity(port=port) if serves_send() else None,
    )
