"""The benchmark's users, rooms and tokens, written straight into its database with the ORM
(the servers' own models), and the few reads the driver needs (routes left on a gateway).

The chat list's user (`chat_list_create`) is in a thousand rooms with messages, unread ones and
mentions, written with a few bulk INSERTs per table, not an API call per room.

Users are bulk-inserted with one precomputed password hash (hashing 10,000 passwords would
take minutes and measure nothing); tokens are minted with `meta.tokens.token_pair_for_user`
under the servers' SECRET_KEY. Call `django_setup` first.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

BENCH_PASSWORD = "bench-password-123"
IDLE_ROOM_SIZE = 50


@dataclass(frozen=True)
class BenchUser:
    id: int
    token: str


@dataclass(frozen=True)
class ChatList:
    """A user in `rooms` rooms, and what `GET /api/joined_rooms` must count for them."""

    user: BenchUser
    rooms: int
    messages_per_room: int
    unread: int  # over every room
    mentions: int  # over every room


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


def chat_list_create(*, rooms: int, messages_per_room: int = 5, batch_size: int = 2000) -> ChatList:
    """A user in `rooms` groups with another member, bulk-inserted: each room holds
    `messages_per_room` messages of the other member. The user read every even room to the
    end and every odd one up to its second message; the last message of each odd room mentions
    them (by name in one of two, `mention_all` in the other). Rooms are active one second apart."""
    from django.db import transaction

    from meta.models import Membership, Role, Room
    from send.models import Mention, Message

    if rooms <= 0 or messages_per_room < 3:
        raise ValueError("a chat list needs rooms, and at least 3 messages in each")
    reader, peer = users_create(prefix="chatlist", count=2)
    now = datetime.now(UTC)
    last = messages_per_room
    with transaction.atomic():
        created = Room.objects.bulk_create(
            [
                Room(
                    name=f"chat list {n}",
                    is_group=True,
                    creator_id=peer.id,
                    last_seq=last,
                    last_activity_at=now - timedelta(seconds=n),
                )
                for n in range(rooms)
            ],
            batch_size=batch_size,
        )
        Membership.objects.bulk_create(
            [Membership(room=room, user_id=peer.id, role=Role.OWNER, read_seq=last) for room in created]
            + [
                Membership(room=room, user_id=reader.id, role=Role.MEMBER, read_seq=last if n % 2 == 0 else 2)
                for n, room in enumerate(created)
            ],
            batch_size=batch_size,
        )
        messages = Message.objects.bulk_create(
            [
                Message(
                    room=room,
                    sender_id=peer.id,
                    seq=seq,
                    content={"type": "text", "text": f"chat list {n}, message {seq}"},
                    mention_all=seq == last and n % 4 == 3,
                )
                for n, room in enumerate(created)
                for seq in range(1, last + 1)
            ],
            batch_size=batch_size,
        )
        Mention.objects.bulk_create(
            [
                Mention(room_id=message.room_id, message=message, user_id=reader.id, seq=message.seq)
                for n, message in enumerate(messages)
                if message.seq == last and (n // last) % 4 == 1
            ],
            batch_size=batch_size,
        )
    odd = rooms // 2
    return ChatList(user=reader, rooms=rooms, messages_per_room=last, unread=odd * (last - 2), mentions=odd)


def read_receipts_max_members() -> int:
    """The servers' READ_RECEIPTS_MAX_MEMBERS: rooms above it get no receipts broadcast."""
    from django.conf import settings

    return int(settings.READ_RECEIPTS_MAX_MEMBERS)


def rooms_last_seq(*, room_ids: list[int]) -> dict[int, int]:
    """The last `seq` each room handed out: what each of its members is owed, up to."""
    from meta.models import Room

    return dict(Room.objects.filter(pk__in=room_ids).values_list("pk", "last_seq"))


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
