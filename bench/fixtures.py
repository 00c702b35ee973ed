"""The benchmark's users, rooms and tokens, written straight into its database with the ORM
(the servers' own models), and the few reads the driver needs (routes left on a gateway).

Users are bulk-inserted with one precomputed password hash (hashing 10,000 passwords would
take minutes and measure nothing); tokens are minted with `meta.tokens.token_pair_for_user`
under the servers' SECRET_KEY. Call `django_setup` first.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

BENCH_PASSWORD = "bench-password-123"
IDLE_ROOM_SIZE = 50


@dataclass(frozen=True)
class BenchUser:
    id: int
    token: str


def django_setup(env: dict[str, str]) -> None:
    """Configure Django in the driver with the servers' database and secret (no background
    duties, no channel layer)."""
    os.environ.update({k: v for k, v in env.items() if k != "REDIS_URL"})
    os.environ.pop("REDIS_URL", None)
    os.environ["CHAT_BACKGROUND_TASKS"] = "0"
    import django

    django.setup()


def users_create(*, prefix: str, count: int) -> list[BenchUser]:
    """`count` users named `<prefix><n>`, each with an access token."""
    from django.contrib.auth.hashers import make_password

    from meta.models import User
    from meta.tokens import token_pair_for_user

    if count <= 0:
        return []
    hashed = make_password(BENCH_PASSWORD)
    users = User.objects.bulk_create(
        [User(username=f"{prefix}{n}", password=hashed) for n in range(count)], batch_size=2000
    )
    return [BenchUser(id=user.pk, token=token_pair_for_user(user=user).access) for user in users]


def room_create(*, name: str, member_ids: list[int]) -> int:
    """A group owned by the first member, the others members, with no message yet."""
    from django.db import transaction

    from meta.models import Membership, Role, Room

    with transaction.atomic():
        room = Room.objects.create(name=name[:100], is_group=True, creator_id=member_ids[0])
        Membership.objects.bulk_create(
            [Membership(room=room, user_id=member_ids[0], role=Role.OWNER)]
            + [Membership(room=room, user_id=uid, role=Role.MEMBER) for uid in member_ids[1:]],
            batch_size=2000,
        )
    return room.pk


def rooms_idle_create(*, name: str, member_ids: list[int], size: int = IDLE_ROOM_SIZE) -> int:
    """Put `member_ids` in groups of `size` with no messages (a connecting user's rooms are read
    on connect, so idle users belong somewhere, as real ones do). Returns the number of rooms."""
    rooms = 0
    for start in range(0, len(member_ids), size):
        room_create(name=f"{name}-{start // size}", member_ids=member_ids[start : start + size])
        rooms += 1
    return rooms


def routes_count(*, gateway_ids: list[str]) -> int:
    """Sockets the registry still records on these gateways."""
    from registry.models import UserConnection

    return UserConnection.objects.filter(gateway_id__in=gateway_ids).count()


def instances_forget(*, gateway_ids: list[str], send_ids: list[str]) -> None:
    """Remove a stopped cluster's records (a graceful stop already did; a killed one did not)."""
    from registry.models import GatewayInstance, SendInstance

    GatewayInstance.objects.filter(pk__in=gateway_ids).delete()
    SendInstance.objects.filter(pk__in=send_ids).delete()


def close_db() -> None:
    from django.db import connections

    connections.close_all()
