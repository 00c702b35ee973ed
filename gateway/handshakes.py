"""Handshakes and closes of sockets, gathered into batches: the database work of a storm of
connections costs a few queries per batch, not ten round trips and two thread hops per socket.

A socket whose access token verified (on the loop, no database) waits in a queue
(`chatproject.coalescer`); a batch is taken when its first socket has waited
WS_HANDSHAKE_BATCH_WAIT_MS, or at once when WS_HANDSHAKE_BATCH_MAX are waiting, and runs in one
`off_loop` call (`services.sockets_open`). While two batches run the next ones fill up. Closes are
gathered the same way (`services.sockets_close`).

Each socket gets its own answer (its opened socket, or its own refusal: unknown, banned); a
batch that fails as a whole (the database is down) fails each of its sockets, and the next
batch runs as usual. Bounded: beyond WS_HANDSHAKE_QUEUE_MAX sockets waiting or in a batch, a
new one is refused at once with QueueFull (the consumer closes it with 1013, try again later).
"""

from __future__ import annotations

import logging
import math

from django.conf import settings

from chatproject.coalescer import Coalescer, database_batches
from gateway import services
from gateway.delivery import DeliveryEngine, delivery_engine
from gateway.services import ClosedSocket, OpenedSocket, SocketRequest

logger = logging.getLogger(__name__)


class Handshakes:
    """The process's two coalescers, opens and closes, for the gateway `engine` is."""

    def __init__(self, engine: DeliveryEngine) -> None:
        self.engine = engine
        wait = lambda: settings.WS_HANDSHAKE_BATCH_WAIT_MS / 1000  # noqa: E731
        cap = lambda: settings.WS_HANDSHAKE_BATCH_MAX  # noqa: E731
        self.opens: Coalescer[SocketRequest, OpenedSocket] = Coalescer(
            self._open, wait=wait, cap=cap, queue_max=lambda: settings.WS_HANDSHAKE_QUEUE_MAX, gate=database_batches
        )
        # Closes are never refused (a refused close would leave its route behind): there are
        # never more of them than sockets this gateway held.
        self.closes: Coalescer[ClosedSocket, bool] = Coalescer(
            self._close, wait=wait, cap=cap, queue_max=lambda: math.inf, gate=database_batches
        )

    async def open(self, request: SocketRequest) -> OpenedSocket:
        """Record the route of a socket already in the hub, and read what it is owed. Raises
        QueueFull, NotAuthenticated or UserBanned for this socket, anything else when its
        batch failed."""
        return await self.opens.submit(request)

    async def close(self, socket: ClosedSocket) -> bool:
        """Remove the route of a socket gone from the hub; True when it was its user's last
        socket in the cluster (told once per user and batch). Raises QueueFull, or what the
        batch raised."""
        return await self.closes.submit(socket)

    def _open(self, requests: list[SocketRequest]) -> list[OpenedSocket | Exception]:
        gateway_id = self.engine.gateway_id
        if gateway_id is None:
            raise RuntimeError("this process is no gateway any more")
        return list(
            services.sockets_open(gateway_id=gateway_id, requests=requests, register_again=self.engine.register_again)
        )

    def _close(self, closed: list[ClosedSocket]) -> list[bool]:
        gateway_id = self.engine.gateway_id
        if gateway_id is None:
            return [False] * len(closed)
        gone = services.sockets_close(gateway_id=gateway_id, closed=closed)
        answers = []
        for socket in closed:
            answers.append(socket.user_id in gone)
            gone.discard(socket.user_id)
        return answers


_handshakes: Handshakes | None = None


def handshakes() -> Handshakes:
    """This process's coalescers, for its delivery engine; created on first use."""
    global _handshakes
    if _handshakes is None:
        _handshakes = Handshakes(delivery_engine())
    return _handshakes
