"""How a process's background duties reach the registry: in process (the shared database,
the default) or over HTTP with the internal token (when REGISTRY_URL is set). Both are
blocking; the lifecycle calls them off the event loop."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any, Protocol
from urllib.parse import quote

from django.conf import settings

from chatproject.exceptions import NotFound, ServiceUnavailable
from chatproject.permissions import INTERNAL_TOKEN_HEADER
from registry import services
from registry.identity import GatewayIdentity, SendIdentity

Sockets = list[tuple[int, str]]


class RegistryClient(Protocol):
    def gateway_register(self, identity: GatewayIdentity, sockets: Sockets) -> None: ...

    def gateway_heartbeat(self, gateway_id: str, load: float, connected_users: int) -> None:
        """Raises NotFound when the registry no longer knows the gateway."""

    def gateway_unregister(self, gateway_id: str) -> None: ...

    def send_register(self, identity: SendIdentity) -> None: ...

    def send_heartbeat(self, instance_id: str) -> None:
        """Raises NotFound when the registry no longer knows the instance."""

    def send_unregister(self, instance_id: str) -> None: ...

    def purge(self) -> None: ...


class InProcessClient:
    """Calls the registry's services directly (processes share the database, API.md §6)."""

    def gateway_register(self, identity: GatewayIdentity, sockets: Sockets) -> None:
        services.gateway_register(
            gateway_id=identity.gateway_id,
            address=identity.address,
            port=identity.port,
            capacity=identity.capacity,
            ws_url=identity.ws_url,
            connections=sockets,
        )

    def gateway_heartbeat(self, gateway_id: str, load: float, connected_users: int) -> None:
        services.gateway_heartbeat(gateway_id=gateway_id, load=load, connected_users=connected_users)

    def gateway_unregister(self, gateway_id: str) -> None:
        services.gateway_unregister(gateway_id=gateway_id)

    def send_register(self, identity: SendIdentity) -> None:
        services.send_instance_register(
            instance_id=identity.instance_id, address=identity.address, port=identity.port, url=identity.url
        )

    def send_heartbeat(self, instance_id: str) -> None:
        services.send_instance_heartbeat(instance_id=instance_id)

    def send_unregister(self, instance_id: str) -> None:
        services.send_instance_unregister(instance_id=instance_id)

    def purge(self) -> None:
        services.instances_purge_dead()


class HttpClient:
    """Talks to a remote registry's INTERNAL endpoints (API.md §4)."""

    def __init__(self, base_url: str, *, token: str, timeout: float = 5.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("REGISTRY_URL must be an http(s) URL")
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            self.base_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", INTERNAL_TOKEN_HEADER: self.token},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            if error.code == 404:
                raise NotFound(f"the registry answered 404 to {method} {path}") from None
            raise ServiceUnavailable(f"the registry answered {error.code} to {method} {path}") from None
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise ServiceUnavailable(f"the registry at {self.base_url} is unreachable: {error}") from None

    def gateway_register(self, identity: GatewayIdentity, sockets: Sockets) -> None:
        self._request(
            "POST",
            "/registry/gateway/register",
            {
                "gateway_id": identity.gateway_id,
                "address": identity.address,
                "port": identity.port,
                "capacity": identity.capacity,
                "ws_url": identity.ws_url,
                "sockets": [{"user_id": user_id, "connection_id": conn} for user_id, conn in sockets],
            },
        )

    def gateway_heartbeat(self, gateway_id: str, load: float, connected_users: int) -> None:
        self._request(
            "POST",
            "/registry/gateway/heartbeat",
            {"gateway_id": gateway_id, "load": load, "connected_users": connected_users},
        )

    def gateway_unregister(self, gateway_id: str) -> None:
        self._request("DELETE", f"/registry/gateway/{quote(gateway_id)}")

    def send_register(self, identity: SendIdentity) -> None:
        self._request(
            "POST",
            "/registry/send/register",
            {
                "instance_id": identity.instance_id,
                "address": identity.address,
                "port": identity.port,
                "url": identity.url,
            },
        )

    def send_heartbeat(self, instance_id: str) -> None:
        self._request("POST", "/registry/send/heartbeat", {"instance_id": instance_id})

    def send_unregister(self, instance_id: str) -> None:
        self._request("DELETE", f"/registry/send/{quote(instance_id)}")

    def purge(self) -> None:
        """The remote registry purges its own records."""


def registry_client() -> RegistryClient:
    """HTTP when REGISTRY_URL is set, else in process."""
    if settings.REGISTRY_URL:
        timeout = max(1.0, min(5.0, settings.REGISTRY_HEARTBEAT_SECONDS))
        return HttpClient(settings.REGISTRY_URL, token=settings.INTERNAL_API_TOKEN, timeout=timeout)
    return InProcessClient()
