"""The processes of `manage.py cluster`: which services, on which ports, with which roles and
environment, and the table of their URLs.

    send 8081, meta 8082, registry 8083, gateways gw-1 8084 and gw-2 8085

Each is a `manage.py serve` child with its role (`CHAT_ROLES`); `runtime.supervisor` runs them.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

from chatproject.hosts import bracketed

DEFAULT_BASE_PORT = 8081
# Variables that give a process its identity: each child gets its own, never the caller's.
_IDENTITY_VARIABLES = (
    "CHAT_ROLES",
    "CHAT_SERVER",
    "GATEWAY_ID",
    "GATEWAY_PORT",
    "GATEWAY_WS_URL",
    "SEND_INSTANCE_ID",
    "SEND_PORT",
    "SEND_URL",
    "HOST",
    "PORT",
)
_WILDCARDS = {"0.0.0.0", "::", ""}  # noqa: S104 - names of the wildcard addresses, not a bind


@dataclass(frozen=True)
class Service:
    """One child process of the cluster."""

    name: str
    offset: int
    roles: str
    what: str
    # Stopped in the first group: they hold sockets and registry records.
    first_to_stop: bool
    env: dict[str, str] = field(default_factory=dict)


SERVICES: tuple[Service, ...] = (
    Service("send", 0, "send", "POST /api/chat/send_message, /api/chat/messages", True, {"SEND_INSTANCE_ID": "send-1"}),
    Service("meta", 1, "meta", "/register, /login, /api/chat/group/..., /admin/", False),
    Service("registry", 2, "registry", "GET /registry/gateway/available, /health", False),
    Service("gw-1", 3, "gateway", "WebSocket /api/ws", True, {"GATEWAY_ID": "gw-1"}),
    Service("gw-2", 4, "gateway", "WebSocket /api/ws", True, {"GATEWAY_ID": "gw-2"}),
)


def url_host(host: str) -> str:
    """An address to reach a server bound to host (the wildcards mean loopback)."""
    if host in _WILDCARDS:
        return "[::1]" if host == "::" else "127.0.0.1"
    return bracketed(host)


def service_url(service: Service, *, host: str, port: int) -> str:
    """Where clients reach the service: a gateway's WebSocket, else its HTTP root."""
    reach = url_host(host)
    return f"ws://{reach}:{port}/api/ws" if service.roles == "gateway" else f"http://{reach}:{port}/"


def serve_command(*, host: str, port: int, server: str) -> list[str]:
    """The command line of one child, run from the project's directory."""
    return [sys.executable, "manage.py", "serve", "--host", host, "--port", str(port), "--server", server]


def child_env(service: Service, *, port: int, host: str, extra: dict[str, str], without_redis: bool) -> dict[str, str]:
    """The environment of one child: this command's, without the variables that give a process
    its identity, plus `extra` (DEBUG and generated secrets) and the service's own role, ids
    and port. The advertised address is the bound host (127.0.0.1 for a wildcard)."""
    env = {key: value for key, value in os.environ.items() if key not in _IDENTITY_VARIABLES}
    advertised = host if host not in _WILDCARDS else "127.0.0.1"
    env.setdefault("GATEWAY_ADDRESS", advertised.strip("[]"))
    env.setdefault("SEND_ADDRESS", advertised.strip("[]"))
    env.update(extra)
    env.update({"CHAT_ROLES": service.roles, "PYTHONUNBUFFERED": "1", **service.env})
    env.setdefault("DJANGO_SETTINGS_MODULE", "chatproject.settings")
    if service.roles == "gateway":
        env["GATEWAY_PORT"] = str(port)
    if service.roles == "send":
        env["SEND_PORT"] = str(port)
    if without_redis:
        env.pop("REDIS_URL", None)
    return env


def url_table(rows: list[tuple[str, str, str, str]]) -> list[str]:
    """Lines of a table of (service, pid, url, serves), the header first, columns aligned."""
    table = [("service", "pid", "url", "serves"), *rows]
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    return ["  " + "  ".join(cell.ljust(widths[i]) if i < 3 else cell for i, cell in enumerate(row)) for row in table]
