"""How a process's background duties reach the registry: in process (the shared database,
the default) or over HTTP with the internal token (when REGISTRY_URL is set). Both are
blocking; the lifecycle calls them off the event loop (`chatproject.offloop`).

Both clients speak of an `InstanceIdentity` of either kind; what a gateway's record has
beyond a send instance's (its ws_url and capacity, its load and sockets) is mapped here once.
"""

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
from registry.models import GatewayInstance, Instance, SendInstance
from runtime.identity import InstanceIdentity

Sockets = list[tuple[int, str]]


class RegistryClient(Protocol):
    def register(self, identity: InstanceIdentity, *, sockets: Sockets = ()) -> None:
        """Register (upsert) the record; a gateway passes the sockets it holds right now."""

    def heartbeat(self, identity: InstanceIdentity, *, load: float = 0.0, connections: int = 0) -> None:
        """Keep the record alive (a gateway reports its load and socket count). Raises NotFound
        when the registry no longer knows it."""

    def unregister(self, identity: InstanceIdentity) -> None: ...

    def purge(self) -> None: ...


_MODELS: dict[str, type[Instance]] = {"gateway": GatewayInstance, "send": SendInstance}


class InProcessClient:
    """Calls the registry's services directly (processes share the database, API.md §6)."""

    def register(self, identity: InstanceIdentity, *, sockets: Sockets = ()) -> None:
        if identity.kind == "gateway":
            services.gateway_register(
                gateway_id=identity.instance_id,
                address=identity.address,
                port=identity.port,
                capacity=identity.capacity,
                ws_url=identity.url,
                connections=sockets,
            )
        else:
            services.send_instance_register(
                instance_id=identity.instance_id, address=identity.address, port=identity.port, url=identity.url
            )

    def heartbeat(self, identity: InstanceIdentity, *, load: float = 0.0, connections: int = 0) -> None:
        if identity.kind == "gateway":
            services.gateway_heartbeat(gateway_id=identity.instance_id, load=load, connected_users=connections)
        else:
            services.send_instance_heartbeat(instance_id=identity.instance_id)

    def unregister(self, identity: InstanceIdentity) -> None:
        services.instance_unregister(_MODELS[identity.kind], instance_id=identity.instance_id)

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

    @staticmethod
    def _id(identity: InstanceIdentity) -> dict[str, str]:
        return {"gateway_id" if identity.kind == "gateway" else "instance_id": identity.instance_id}

    def register(self, identity: InstanceIdentity, *, sockets: Sockets = ()) -> None:
        body: dict[str, Any] = {**self._id(identity), "address": identity.address, "port": identity.port}
        if identity.kind == "gateway":
            body |= {
                "capacity": identity.capacity,
                "ws_url": identity.url,
                "sockets": [{"user_id": user_id, "connection_id": conn} for user_id, conn in sockets],
            }
        else:
            body["url"] = identity.url
        self._request("POST", f"/registry/{identity.kind}/register", body)

    def heartbeat(self, identity: InstanceIdentity, *, load: float = 0.0, connections: int = 0) -> None:
        body: dict[str, Any] = self._id(identity)
        if identity.kind == "gateway":
            body |= {"load": load, "connected_users": connections}
        self._request("POST", f"/registry/{identity.kind}/heartbeat", body)

    def unregister(self, identity: InstanceIdentity) -> None:
        self._request("DELETE", f"/registry/{identity.kind}/{quote(identity.instance_id)}")

    def purge(self) -> None:
        """The remote registry purges its own records."""


def registry_client() -> RegistryClient:
    """HTTP when REGISTRY_URL is set, else in process."""
    if settings.REGISTRY_URL:
        timeout = max(1.0, min(5.0, settings.REGISTRY_HEARTBEAT_SECONDS))
        return HttpClient(settings.REGISTRY_URL, token=settings.INTERNAL_API_TOKEN, timeout=timeout)
    return InProcessClient()
