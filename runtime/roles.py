"""Which background duties this process carries (every process answers every HTTP path):
CHAT_ROLES, "all" (the single-process default) or a list of meta, send, registry, gateway."""

from __future__ import annotations

from django.conf import settings


def _roles() -> set[str]:
    return set(settings.CHAT_ROLES)


def serves_gateway() -> bool:
    """A process with the `gateway` role (or `all`) holds sockets and registers as a gateway."""
    return bool(_roles() & {"all", "gateway"})


def serves_send() -> bool:
    """A process with the `send` role (or `all`) registers as a send instance."""
    return bool(_roles() & {"all", "send"})


def carries_registry() -> bool:
    """A process with the `registry` role (or `all`) purges long-dead records."""
    return bool(_roles() & {"all", "registry"})
