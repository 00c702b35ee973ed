"""Reads of the registry: live instances and user routes.

An instance is alive iff its last heartbeat is less than `REGISTRY_DEAD_AFTER_SECONDS` old
(`live_cutoff`) and, for a gateway, the fast signal has not seen it die (`registry.liveness`).
Every read filters on that, so dead instances and the routes through a dead gateway drop out
of every answer by themselves.

Route lookups are on the hot path of every message: each is one indexed query
(`user_id IN (...)` joined with the live gateways), whatever the number of users. There is
deliberately no cache: with several processes a per-process cache goes stale on every
connect elsewhere, and a Redis cache, invalidated on every connect and disconnect, would
save little over the query (measured: about 5 ms for 1 000 users among 50 000 connections
on PostgreSQL, where `user_id = ANY(array)` replaces a 1 000-literal IN list, 8 ms on SQLite)
while adding a second source of truth that can disagree with the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, TypedDict, TypeVar

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet

from chatproject.hosts import host_port
from meta.models import Membership
from registry import clock, liveness
from registry.models import GatewayInstance, Instance, SendInstance, UserConnection, UserLease

InstanceT = TypeVar("InstanceT", bound=Instance)


class UserRoute(TypedDict):
    gateway_id: str
    address: str
    status: str
    gateways: list[str]


def live_cutoff(*, now: datetime | None = None) -> datetime:
    """Instances whose last heartbeat is after this moment are alive."""
    return (now or clock.now()) - timedelta(seconds=settings.REGISTRY_DEAD_AFTER_SECONDS)


def live_gateways_q(*, via: str = "", now: datetime | None = None) -> Q:
    """Live gateways (through the relation `via`, e.g. "gateway__"): a fresh heartbeat, and not
    known dead by the fast signal (`registry.liveness`)."""
    q = Q(**{f"{via}last_heartbeat__gt": live_cutoff(now=now)})
    dead = liveness.dead_gateway_ids()
    if dead:
        q &= ~Q(**{f"{via}gateway_id__in": dead})
    return q


def instance_live_queryset(model: type[InstanceT], *, now: datetime | None = None) -> QuerySet[InstanceT]:
    """The live instances of one kind (gateways or send instances)."""
    if model is GatewayInstance:
        return model.objects.filter(live_gateways_q(now=now))
    return model.objects.filter(last_heartbeat__gt=live_cutoff(now=now))


def gateway_live_queryset(*, now: datetime | None = None) -> QuerySet[GatewayInstance]:
    return instance_live_queryset(GatewayInstance, now=now)


def send_instance_live_queryset(*, now: datetime | None = None) -> QuerySet[SendInstance]:
    return instance_live_queryset(SendInstance, now=now)


def instance_list(model: type[InstanceT]) -> list[InstanceT]:
    """The live instances of one kind, by id."""
    return list(instance_live_queryset(model).order_by("pk"))


def gateway_list() -> list[GatewayInstance]:
    """The live gateways, by id."""
    return instance_list(GatewayInstance)


def send_instance_list() -> list[SendInstance]:
    """The live send instances, by id."""
    return instance_list(SendInstance)


_STICKY_SQL = (
    # The user's sockets, newest first, then their reconnect lease if it is still running: one
    # query on two primary-key or indexed lookups. Liveness is judged by the caller, on its
    # snapshot of the live gateways (`registry.snapshot`).
    f"SELECT gateway_id, 0 AS kind, connected_at, id FROM {UserConnection._meta.db_table} "  # noqa: S608
    "WHERE user_id = %s "
    f"UNION ALL SELECT gateway_id, 1 AS kind, connected_at, 0 FROM {UserLease._meta.db_table} "
    "WHERE user_id = %s AND disconnected_at > %s "
    "ORDER BY 2, 3 DESC, 4 DESC"
)


def user_sticky_gateway_ids(*, user_id: int, now: datetime | None = None) -> list[str]:
    """The gateways a user should go back to, best first, dead or alive: those of their live
    sockets, most recent first, then the gateway of the connection they closed less than
    REGISTRY_RECONNECT_LEASE_SECONDS ago. One query."""
    lease_start = (now or clock.now()) - timedelta(seconds=settings.REGISTRY_RECONNECT_LEASE_SECONDS)
    with connection.cursor() as cursor:
        cursor.execute(_STICKY_SQL, [user_id, user_id, connection.ops.adapt_datetimefield_value(lease_start)])
        return [row[0] for row in cursor.fetchall()]


def _ids(user_ids: Iterable[int]) -> list[int]:
    return sorted({int(user_id) for user_id in user_ids})


def _live_connections(user_ids: list[int]) -> QuerySet[UserConnection]:
    return UserConnection.objects.filter(live_gateways_q(via="gateway__"), user_id__any=user_ids)


def user_ids_online(*, user_ids: Iterable[int]) -> set[int]:
    """Those of `user_ids` that hold at least one socket on a live gateway. One query."""
    ids = _ids(user_ids)
    if not ids:
        return set()
    return set(_live_connections(ids).values_list("user_id", flat=True).distinct())


def gateways_for_users(*, user_ids: Iterable[int]) -> dict[str, list[int]]:
    """Live gateway id → the sorted ids of those of `user_ids` with a socket on it. Users that
    are offline appear nowhere; a user with sockets on two gateways appears under both. One
    query."""
    ids = _ids(user_ids)
    if not ids:
        return {}
    # The ids travel as one array literal, which psycopg sends without adapting each one.
    return _by_gateway(
        condition="c.user_id = ANY(%s::bigint[])",
        params=["{" + ",".join(map(str, ids)) + "}"],
        users=Q(user_id__any=ids),
    )


def gateways_for_room(*, room_id: int, before_seq: int) -> dict[str, list[int]]:
    """`gateways_for_users` of the members of room `room_id` who joined before `before_seq` (those
    who may see the room's entry of that seq), found in the same query: a room's member ids never
    travel to the database and back (a thousand for a big room)."""
    members = Membership.objects.filter(room_id=room_id, joined_seq__lt=before_seq).values("user_id")
    return _by_gateway(condition=_ROOM_MEMBERS, params=[room_id, before_seq], users=Q(user_id__in=members))


_ROOM_MEMBERS = (
    f"c.user_id IN (SELECT user_id FROM {Membership._meta.db_table} "  # noqa: S608
    "WHERE room_id = %s AND joined_seq < %s)"
)


# `_live_connections` grouped by the database, one row per gateway rather than one per socket,
# in plain SQL: this runs after every message, and building the ORM query cost more CPU than
# running it. tests/registry/test_routes.py holds it to the ORM's answers. `{condition}` picks
# the users wanted.
_BY_GATEWAY_SQL = (
    f"SELECT c.gateway_id, array_agg(DISTINCT c.user_id ORDER BY c.user_id) "  # noqa: S608
    f"FROM {UserConnection._meta.db_table} c JOIN {GatewayInstance._meta.db_table} g "
    "ON g.gateway_id = c.gateway_id "
    "WHERE {condition} AND g.last_heartbeat > %s AND NOT (g.gateway_id = ANY(%s::text[])) "
    "GROUP BY c.gateway_id ORDER BY c.gateway_id"
)


def _by_gateway(*, condition: str, params: list[Any], users: Q) -> dict[str, list[int]]:
    """Live gateway id → the sorted ids of the users with a socket on it: on PostgreSQL those the
    SQL `condition` (with `params`) picks, elsewhere those `users` (the same, as the ORM's)."""
    if connection.vendor == "postgresql":
        dead = sorted(liveness.dead_gateway_ids())
        with connection.cursor() as cursor:
            cursor.execute(_BY_GATEWAY_SQL.format(condition=condition), [*params, live_cutoff(), dead])
            return dict(cursor.fetchall())
    by_gateway: dict[str, set[int]] = {}
    rows = UserConnection.objects.filter(live_gateways_q(via="gateway__"), users)
    for user_id, gateway_id in rows.values_list("user_id", "gateway_id"):
        by_gateway.setdefault(gateway_id, set()).add(user_id)
    return {gateway_id: sorted(ids) for gateway_id, ids in sorted(by_gateway.items())}


def routes_for_users(*, user_ids: Iterable[int]) -> dict[int, UserRoute]:
    """The route of each online user among `user_ids` (offline ones are left out): every live
    gateway holding a socket of theirs, most recent connection first, and the first of them
    with its `host:port` as the user's main route. One query."""
    ids = _ids(user_ids)
    if not ids:
        return {}
    rows = (
        _live_connections(ids)
        .order_by("user_id", "-connected_at", "-id")
        .values_list("user_id", "gateway_id", "gateway__address", "gateway__port")
    )
    routes: dict[int, UserRoute] = {}
    for user_id, gateway_id, address, port in rows:
        route = routes.get(user_id)
        if route is None:
            routes[user_id] = UserRoute(
                gateway_id=gateway_id, address=host_port(address, port), status="connected", gateways=[gateway_id]
            )
        elif gateway_id not in route["gateways"]:
            route["gateways"].append(gateway_id)
    return routes
