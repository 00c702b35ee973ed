"""Writes of the registry: instances registering, heartbeating and leaving, users connecting
and disconnecting, and the choice of a gateway or send instance for a client.

Every function takes the time from `registry.clock.now()` so that tests can drive it.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction

from chatproject.exceptions import InvalidInput, NotFound, ServiceUnavailable
from chatproject.hosts import bracketed
from chatproject.ids import is_id
from registry import clock, liveness
from registry.models import GatewayInstance, Instance, SendInstance, UserConnection, UserLease
from registry.selectors import (
    gateway_live_queryset,
    instance_live_queryset,
    send_instance_live_queryset,
    user_sticky_gateway_ids,
)
from registry.snapshot import GatewayEntry, GatewaySnapshot, gateway_snapshot

INSTANCE_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
CONNECTION_ID_MAX = 128
_TIE = 1e-9
_random = random.SystemRandom()
InstanceT = TypeVar("InstanceT", bound=Instance)


def _check_instance_id(value: str, field: str) -> None:
    if not isinstance(value, str) or not INSTANCE_ID_RE.match(value):
        raise InvalidInput(
            f"{field} must be 1-64 letters, digits, '-', '_' or '.'",
            errors={field: ["1-64 letters, digits, '-', '_' or '.'"]},
        )


def _check_connection(user_id: int, connection_id: str) -> None:
    if not is_id(user_id):
        raise InvalidInput("user_id must be a positive integer below 2^53", errors={"user_id": ["invalid"]})
    if not isinstance(connection_id, str) or len(connection_id) > CONNECTION_ID_MAX:
        raise InvalidInput(
            f"connection_id must be a string of at most {CONNECTION_ID_MAX} characters",
            errors={"connection_id": ["too long"]},
        )


def default_ws_url(*, address: str, port: int) -> str:
    return f"ws://{bracketed(address)}:{port}/api/ws"


def default_send_url(*, address: str, port: int) -> str:
    return f"http://{bracketed(address)}:{port}"


# --- Any kind of instance ---------------------------------------------------------------
# Gateways and send instances are registered, kept alive and removed the same way; only
# their own fields differ (a gateway's ws_url, capacity and load, a send instance's url).


def _label(model: type[Instance]) -> str:
    return "gateway" if model is GatewayInstance else "send instance"


def _id_field(model: type[Instance]) -> str:
    return model._meta.pk.name


def instance_register(model: type[InstanceT], *, instance_id: str, address: str, port: int, **fields: Any) -> InstanceT:
    """Create or replace the record of an instance and mark it alive now (an upsert). Raises
    InvalidInput for a malformed id."""
    _check_instance_id(instance_id, _id_field(model))
    now = clock.now()
    instance, _ = model.objects.update_or_create(
        pk=instance_id,
        defaults={"address": address, "port": port, "registered_at": now, "last_heartbeat": now, **fields},
    )
    return instance


def instance_heartbeat(model: type[InstanceT], *, instance_id: str, **fields: Any) -> InstanceT:
    """Keep a live instance alive, storing `fields` with its heartbeat. Raises NotFound for an
    unknown or dead instance: it must register again."""
    now = clock.now()
    updated = instance_live_queryset(model, now=now).filter(pk=instance_id).update(last_heartbeat=now, **fields)
    if not updated:
        raise NotFound(f"{_label(model)} {instance_id!r} is not registered or has expired; register again")
    return model.objects.get(pk=instance_id)


def instance_unregister(model: type[Instance], *, instance_id: str) -> None:
    """Remove an instance (a gateway's routes go with it). Idempotent."""
    model.objects.filter(pk=instance_id).delete()


# --- Gateways ---------------------------------------------------------------------------


@transaction.atomic
def gateway_register(
    *,
    gateway_id: str,
    address: str,
    port: int,
    capacity: int | None = None,
    ws_url: str | None = None,
    connections: Iterable[tuple[int, str]] = (),
) -> GatewayInstance:
    """Create or replace the record of a gateway and mark it alive now (an upsert).

    A registration starts a new life of the instance: the routes recorded for its previous
    life are dropped (after a restart its sockets are gone), and `connections` — the
    `(user_id, connection_id)` pairs the gateway holds right now — are recorded instead. A
    gateway that registers again after a 404 heartbeat passes the sockets it still holds
    (over HTTP: the `sockets` list of the register body). `capacity` defaults to GATEWAY_CAPACITY,
    `ws_url` to `ws://address:port/api/ws`. Raises InvalidInput for a malformed id.
    """
    gateway = instance_register(
        GatewayInstance,
        instance_id=gateway_id,
        address=address,
        port=port,
        ws_url=ws_url or default_ws_url(address=address, port=port),
        capacity=capacity or settings.GATEWAY_CAPACITY,
        load=0.0,
        connected_users=0,
    )
    now = gateway.registered_at
    liveness.forget(gateway_id)  # a new life: its beat thread writes again
    gateway_snapshot().heard(gateway_id)
    UserConnection.objects.filter(gateway_id=gateway_id).delete()
    restored = {(user_id, connection_id) for user_id, connection_id in connections}
    for user_id, connection_id in restored:
        _check_connection(user_id, connection_id)
    UserConnection.objects.bulk_create(
        [
            UserConnection(user_id=user_id, gateway_id=gateway_id, connection_id=connection_id, connected_at=now)
            for user_id, connection_id in sorted(restored)
        ],
        ignore_conflicts=True,
    )
    return gateway


def gateway_heartbeat(
    *, gateway_id: str, load: float | None = None, connected_users: int | None = None
) -> GatewayInstance:
    """Keep a live gateway alive and store the figures it reports (`load` as reported, 0..1;
    `connected_users` its socket count). Raises NotFound for an unknown or dead gateway: it
    must register again."""
    fields: dict[str, object] = {}
    if load is not None:
        if not (isinstance(load, (int, float)) and math.isfinite(load) and 0.0 <= load <= 1.0):
            raise InvalidInput("load must be a number from 0 to 1", errors={"load": ["from 0 to 1"]})
        fields["load"] = float(load)
    if connected_users is not None:
        if isinstance(connected_users, bool) or not isinstance(connected_users, int) or connected_users < 0:
            raise InvalidInput(
                "connected_users must be a non-negative integer", errors={"connected_users": ["invalid"]}
            )
        fields["connected_users"] = connected_users
    gateway = instance_heartbeat(GatewayInstance, instance_id=gateway_id, **fields)
    gateway_snapshot().heard(gateway_id)
    return gateway


def gateway_unregister(*, gateway_id: str) -> None:
    """Remove a gateway and every route through it. Idempotent."""
    instance_unregister(GatewayInstance, instance_id=gateway_id)
    liveness.forget(gateway_id)
    gateway_snapshot().invalidate()


def gateway_choose(*, user_id: int | None, avoid: str | None = None) -> GatewayEntry:
    """The gateway a client should open its socket on, from this process's snapshot of the
    live gateways (`registry.snapshot`); never a dead one.

    `avoid`: a gateway the client has just lost or could not reach. A killed gateway counts as
    alive until its liveness entry expires (REGISTRY_LIVENESS_TTL_SECONDS), and until then its
    clients, all asking at once, would each be sent straight back to it by stickiness. So it is
    left out of the choice while another live gateway has room; when it is the only one, it is
    the answer (a restart: the client must get back).

    Sticky first: the gateway of the user's most recent connection on a live gateway, else the
    gateway the user left less than REGISTRY_RECONNECT_LEASE_SECONDS ago if it is still alive
    (one query; none when a single gateway is alive and has room: it is the answer). Else the
    least loaded live gateway with room left, a random one among equals
    (no query). A gateway's load is the larger of the figure it reports and its share of
    capacity in use: the sockets of its last heartbeat plus the clients this process has sent
    it since. Raises ServiceUnavailable when no live gateway has room.
    """
    now = clock.now()
    snapshot = gateway_snapshot()
    live = snapshot.live(now=now)
    if avoid in live and any(_has_room(snapshot, g) for gateway_id, g in live.items() if gateway_id != avoid):
        live = {gateway_id: g for gateway_id, g in live.items() if gateway_id != avoid}
    if len(live) == 1:
        # One live gateway with room is the answer whatever the user's history: no query (the
        # clients of a dead gateway all ask at once, and the survivor is the only choice).
        (only,) = live.values()
        if _has_room(snapshot, only):
            snapshot.sent(only)
            return only
    if user_id is not None and live:
        for gateway_id in user_sticky_gateway_ids(user_id=user_id, now=now):
            sticky = live.get(gateway_id)
            if sticky is not None:
                snapshot.sent(sticky)
                return sticky
    if not live:
        raise ServiceUnavailable("no gateway is available")
    scored: list[tuple[float, GatewayEntry]] = []
    for gateway in live.values():
        if _has_room(snapshot, gateway):
            scored.append((max(gateway.load, snapshot.in_use(gateway) / gateway.capacity), gateway))
    if not scored:
        raise ServiceUnavailable("every gateway is full")
    lowest = min(score for score, _ in scored)
    chosen = _random.choice([gateway for score, gateway in scored if score <= lowest + _TIE])
    snapshot.sent(chosen)
    return chosen


def _has_room(snapshot: GatewaySnapshot, gateway: GatewayEntry) -> bool:
    """A gateway takes another client: sockets below its capacity, reported load below full."""
    return snapshot.in_use(gateway) < gateway.capacity and gateway.load < 1.0


# --- Send instances ---------------------------------------------------------------------


def send_instance_register(*, instance_id: str, address: str, port: int, url: str | None = None) -> SendInstance:
    """Create or replace the record of a send instance and mark it alive now. `url` defaults
    to `http://address:port` and is stored without a trailing slash."""
    url = (url or default_send_url(address=address, port=port)).rstrip("/")
    return instance_register(SendInstance, instance_id=instance_id, address=address, port=port, url=url)


def send_instance_heartbeat(*, instance_id: str) -> SendInstance:
    """Keep a live send instance alive. Raises NotFound for an unknown or dead one: it must
    register again."""
    return instance_heartbeat(SendInstance, instance_id=instance_id)


def send_instance_unregister(*, instance_id: str) -> None:
    """Remove a send instance. Idempotent."""
    instance_unregister(SendInstance, instance_id=instance_id)


def send_instance_choose() -> SendInstance:
    """A live send instance, picked at random. Raises ServiceUnavailable when none is alive."""
    instances = list(send_instance_live_queryset())
    if not instances:
        raise ServiceUnavailable("no send instance is available")
    return _random.choice(instances)


def instances_purge_dead() -> int:
    """Delete the records (and routes) of instances dead for REGISTRY_PURGE_AFTER_SECONDS;
    returns how many went. Until then the admin still shows them."""
    before = clock.now() - timedelta(seconds=settings.REGISTRY_PURGE_AFTER_SECONDS)
    _, gateways = GatewayInstance.objects.filter(last_heartbeat__lt=before).delete()
    _, sends = SendInstance.objects.filter(last_heartbeat__lt=before).delete()
    liveness.purge_expired()
    UserLease.objects.filter(disconnected_at__lt=before).delete()
    return gateways.get(GatewayInstance._meta.label, 0) + sends.get(SendInstance._meta.label, 0)


# --- User routes ------------------------------------------------------------------------


def user_connect(*, user_id: int, gateway_id: str, connection_id: str = "") -> None:
    """Record one socket of a user on a gateway. The route stays valid for as long as the
    gateway is alive. Connecting the same `(user, gateway, connection_id)` twice is a no-op.
    Raises NotFound for an unknown or dead gateway (which must register again, passing the
    sockets it holds), InvalidInput for a malformed id."""
    _check_connection(user_id, connection_id)
    if not gateway_live_queryset().filter(pk=gateway_id).exists():
        raise NotFound(f"gateway {gateway_id!r} is not registered or has expired; register again")
    try:
        with transaction.atomic():
            UserConnection.objects.get_or_create(
                user_id=user_id,
                gateway_id=gateway_id,
                connection_id=connection_id,
                defaults={"connected_at": clock.now()},
            )
    except IntegrityError:  # the gateway was unregistered in the meantime
        raise NotFound(f"gateway {gateway_id!r} is not registered or has expired; register again")


def user_disconnect(*, user_id: int, gateway_id: str, connection_id: str = "") -> None:
    """Forget exactly the socket `(user, gateway, connection_id)`; other sockets of the user,
    on this or another gateway, stay, so a late disconnect never hides a newer connection.
    A disconnect that matches nothing is a no-op. Opens the reconnect lease on this gateway,
    unless the user's lease is already for a connection opened later."""
    _check_connection(user_id, connection_id)
    now = clock.now()
    with transaction.atomic():
        found = (
            UserConnection.objects.filter(user_id=user_id, gateway_id=gateway_id, connection_id=connection_id)
            .values_list("pk", "connected_at")
            .first()
        )
        if found is None:
            return
        pk, connected_at = found
        deleted, _ = UserConnection.objects.filter(pk=pk).delete()
        if not deleted:  # a concurrent disconnect of the same socket did it
            return
        _lease_open(
            user_id=user_id, gateway_id=gateway_id, connection_id=connection_id, connected_at=connected_at, now=now
        )


def _lease_open(*, user_id: int, gateway_id: str, connection_id: str, connected_at: datetime, now: datetime) -> None:
    values = {
        "gateway_id": gateway_id,
        "connection_id": connection_id,
        "connected_at": connected_at,
        "disconnected_at": now,
    }
    for _ in range(2):
        if UserLease.objects.filter(user_id=user_id, connected_at__lte=connected_at).update(**values):
            return
        if UserLease.objects.filter(user_id=user_id).exists():
            return  # the lease is for a connection opened later: keep it
        try:
            with transaction.atomic():
                UserLease.objects.create(user_id=user_id, **values)
            return
        except IntegrityError:  # created concurrently: compare with that one
            continue


# --- Many sockets of one gateway at once (its handshake and close batches) ---------------


def users_connect(*, gateway_id: str, connections: Iterable[tuple[int, str]]) -> None:
    """`user_connect` for many `(user_id, connection_id)` sockets of one gateway: one liveness
    check and one insert, whatever their number (a route recorded already stays as it is).
    Raises NotFound for an unknown or dead gateway, InvalidInput for a malformed id."""
    pairs = sorted(set(connections))
    for user_id, connection_id in pairs:
        _check_connection(user_id, connection_id)
    if not pairs:
        return
    gone = NotFound(f"gateway {gateway_id!r} is not registered or has expired; register again")
    if not gateway_live_queryset().filter(pk=gateway_id).exists():
        raise gone
    now = clock.now()
    routes = [UserConnection(user_id=u, gateway_id=gateway_id, connection_id=c, connected_at=now) for u, c in pairs]
    try:
        with transaction.atomic():
            UserConnection.objects.bulk_create(routes, ignore_conflicts=True)
    except IntegrityError:  # the gateway was unregistered in the meantime
        raise gone from None


def users_disconnect(*, gateway_id: str, connections: Iterable[tuple[int, str]]) -> None:
    """`user_disconnect` for many `(user_id, connection_id)` sockets of one gateway: their routes
    go in one statement and their users' reconnect leases are opened together (a user's newest
    connection of the batch counts), in a constant number of queries."""
    wanted = set(connections)
    if not wanted:
        return
    now = clock.now()
    with transaction.atomic():
        rows = (
            UserConnection.objects.select_for_update()
            .filter(gateway_id=gateway_id, user_id__in={u for u, _ in wanted}, connection_id__in={c for _, c in wanted})
            .order_by("pk")
            .values_list("pk", "user_id", "connection_id", "connected_at")
        )
        found = [row for row in rows if (row[1], row[2]) in wanted]
        if not found:
            return
        UserConnection.objects.filter(pk__in=[row[0] for row in found]).delete()
        newest: dict[int, tuple[str, datetime]] = {}
        for _, user_id, connection_id, connected_at in found:
            if user_id not in newest or connected_at >= newest[user_id][1]:
                newest[user_id] = (connection_id, connected_at)
        _leases_open(gateway_id=gateway_id, newest=newest, now=now)


def _leases_open(*, gateway_id: str, newest: dict[int, tuple[str, datetime]], now: datetime) -> None:
    """`_lease_open` for many users at once (in the caller's transaction): a lease for an older
    connection is moved here, one for a connection opened later is kept, a missing one made."""
    leases = {lease.user_id: lease for lease in UserLease.objects.select_for_update().filter(user_id__in=list(newest))}
    moved = []
    for user_id, lease in leases.items():
        connection_id, connected_at = newest[user_id]
        if lease.connected_at <= connected_at:
            lease.gateway_id, lease.connection_id = gateway_id, connection_id
            lease.connected_at, lease.disconnected_at = connected_at, now
            moved.append(lease)
    if moved:
        UserLease.objects.bulk_update(moved, ["gateway_id", "connection_id", "connected_at", "disconnected_at"])
    made = [
        UserLease(user_id=u, gateway_id=gateway_id, connection_id=c, connected_at=at, disconnected_at=now)
        for u, (c, at) in newest.items()
        if u not in leases
    ]
    # One made meanwhile by another gateway's close wins: a lease only says where to go back.
    UserLease.objects.bulk_create(made, ignore_conflicts=True)
