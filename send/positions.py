"""Where each member, and each of their devices, stands in each room: what they are owed, and
the confirmations that move them on (API.md §5.4, §7.2).

- A member's position is `Membership.acked_seq`: every confirmation, from any socket of the
  user, raises it. A socket without a device id (the original clients) is owed what lies above
  it, so it is never sent what another socket of the user confirmed.
- A device's position is its `DevicePosition` row per room: a socket with a device id is owed
  everything above its own device's position, whatever the user's other devices confirmed. A
  device seen for the first time starts at the user's positions of that moment; a room without
  a row for the device (joined later) starts at the member's join.
- Nobody is owed anything from before they joined (`joined_seq`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from chatproject.exceptions import InvalidInput
from meta.models import Membership
from send.models import Device, DevicePosition

DEVICE_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


@dataclass(frozen=True)
class RoomPosition:
    """Where a member (or device) stands in a room: owed every entry with `start < seq <= last_seq`."""

    room_id: int
    start: int
    last_seq: int
    joined_seq: int


def _position(*, room_id: int, seen: int, joined: int, last_seq: int) -> RoomPosition:
    """The one rule: owed what lies above what was confirmed (`seen`: the member's, or their
    device's), never anything from before the join."""
    return RoomPosition(room_id=room_id, start=max(seen, joined), last_seq=last_seq, joined_seq=joined)


def positions_for_users(*, user_ids: Iterable[int]) -> dict[int, dict[int, RoomPosition]]:
    """For each user, their position in every room they belong to. One query."""
    ids = list({int(u) for u in user_ids})
    result: dict[int, dict[int, RoomPosition]] = {u: {} for u in ids}
    if not ids:
        return result
    rows = Membership.objects.filter(user_id__in=ids).values_list(
        "user_id", "room_id", "acked_seq", "joined_seq", "room__last_seq"
    )
    for user_id, room_id, acked, joined, last_seq in rows:
        result[user_id][room_id] = _position(room_id=room_id, seen=acked, joined=joined, last_seq=last_seq)
    return result


def positions_for_socket(*, user_id: int, device: int | None) -> dict[int, RoomPosition]:
    """A socket's position in every room of its user: the device's own with a device, the
    user's without. Two queries (`positions_for_sockets` of one socket)."""
    return positions_for_sockets(sockets=[(user_id, device)])[(user_id, device)]


def positions_for_sockets(
    *, sockets: Iterable[tuple[int, int | None]]
) -> dict[tuple[int, int | None], dict[int, RoomPosition]]:
    """`positions_for_socket` for many `(user_id, device)` sockets at once (a batch of
    handshakes): two queries whatever their number, the members' rows and the devices' rows."""
    wanted = set(sockets)
    result: dict[tuple[int, int | None], dict[int, RoomPosition]] = {key: {} for key in wanted}
    if not wanted:
        return result
    device_seqs: dict[int, dict[int, int]] = defaultdict(dict)
    devices = sorted({d for _, d in wanted if d is not None})
    if devices:
        for device, room_id, acked in DevicePosition.objects.filter(device_id__in=devices).values_list(
            "device_id", "room_id", "acked_seq"
        ):
            device_seqs[device][room_id] = acked
    by_user: dict[int, list[int | None]] = defaultdict(list)
    for user_id, device in wanted:
        by_user[user_id].append(device)
    rows = Membership.objects.filter(user_id__in=sorted(by_user)).values_list(
        "user_id", "room_id", "acked_seq", "joined_seq", "room__last_seq"
    )
    for user_id, room_id, acked, joined, last_seq in rows:
        for device in by_user[user_id]:
            seen = acked if device is None else device_seqs[device].get(room_id, 0)
            result[(user_id, device)][room_id] = _position(room_id=room_id, seen=seen, joined=joined, last_seq=last_seq)
    return result


def position_for_member(*, user_id: int, room_id: int, device: int | None = None) -> RoomPosition | None:
    """The member's (or their device's) position in one room, or None when they are not (or no
    longer) a member."""
    return positions_for_members(keys=[(user_id, room_id, device)])[0]


def positions_for_members(*, keys: Sequence[tuple[int, int, int | None]]) -> list[RoomPosition | None]:
    """`position_for_member` for many `(user_id, room_id, device)` at once (sockets catching up
    together), one answer per key, in order: two queries whatever their number, the members'
    rows and the devices' rows."""
    if not keys:
        return []
    users, rooms = {u for u, _, _ in keys}, {r for _, r, _ in keys}
    devices = {d for _, _, d in keys if d is not None}
    device_seqs: dict[tuple[int, int], int] = {}
    if devices:
        device_seqs = {
            (device, room_id): acked
            for device, room_id, acked in DevicePosition.objects.filter(
                device_id__in=devices, room_id__in=rooms
            ).values_list("device_id", "room_id", "acked_seq")
        }
    members = {
        (user_id, room_id): (acked, joined, last_seq)
        for user_id, room_id, acked, joined, last_seq in Membership.objects.filter(
            user_id__in=users, room_id__in=rooms
        ).values_list("user_id", "room_id", "acked_seq", "joined_seq", "room__last_seq")
    }
    answers: list[RoomPosition | None] = []
    for user_id, room_id, device in keys:
        row = members.get((user_id, room_id))
        if row is None:
            answers.append(None)
            continue
        acked, joined, last_seq = row
        seen = acked if device is None else device_seqs.get((device, room_id), 0)
        answers.append(_position(room_id=room_id, seen=seen, joined=joined, last_seq=last_seq))
    return answers


def confirmations_record(
    *, confirmed: Mapping[tuple[int, int], int], device_confirmed: Mapping[tuple[int, int], int] | None = None
) -> int:
    """Raise confirmed positions, never lowering one: `confirmed` {(user_id, room_id): seq} for
    members, `device_confirmed` {(device, room_id): seq} for devices (their users' positions are
    in `confirmed` too). Returns the number of memberships changed.

    One transaction. On PostgreSQL one UPDATE for all the members (`_RAISE_SQL`: the positions
    as arrays), and for devices one INSERT and one UPDATE, whatever their number: a gateway
    whose clients all came back at once confirms thousands of positions in rooms at many
    different seqs each second. Elsewhere one UPDATE per distinct (room, seq): the members of a
    room who read the same message (the usual case: a fan-out) are confirmed together.
    """
    with transaction.atomic():
        changed = _raise(Membership, "user", confirmed)
        if device_confirmed:
            # Rooms the device has no row for yet get one; then the rows are raised.
            DevicePosition.objects.bulk_create(
                [DevicePosition(device_id=d, room_id=r, acked_seq=s) for (d, r), s in device_confirmed.items()],
                ignore_conflicts=True,
            )
            _raise(DevicePosition, "device", device_confirmed)
    return changed


_RAISE_SQL = """
UPDATE {table} AS t SET acked_seq = v.seq
FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS v(owner_id, room_id, seq)
WHERE t.{owner} = v.owner_id AND t.{room} = v.room_id AND t.acked_seq < v.seq
"""


def _raise(model: type[Membership] | type[DevicePosition], owner: str, confirmed: Mapping[tuple[int, int], int]) -> int:
    """Raise `model`'s acked_seq of each (owner, room) in `confirmed` to its seq, never lowering
    one; the number of rows changed."""
    if not confirmed:
        return 0
    if connection.vendor == "postgresql":
        quote, meta = connection.ops.quote_name, model._meta
        sql = _RAISE_SQL.format(
            table=quote(meta.db_table),
            owner=quote(meta.get_field(owner).column),
            room=quote(meta.get_field("room").column),
        )
        owners, rooms, seqs = zip(*((who, room_id, seq) for (who, room_id), seq in confirmed.items()), strict=True)
        with connection.cursor() as cursor:
            cursor.execute(sql, [list(owners), list(rooms), list(seqs)])
            return cursor.rowcount
    changed = 0
    for (room_id, seq), who in _by_room_and_seq(confirmed).items():
        rows = model.objects.filter(room_id=room_id, acked_seq__lt=seq, **{f"{owner}_id__in": who})
        changed += rows.update(acked_seq=seq)
    return changed


def _by_room_and_seq(confirmed: Mapping[tuple[int, int], int]) -> dict[tuple[int, int], list[int]]:
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    for (who, room_id), seq in confirmed.items():
        groups[(room_id, seq)].append(who)
    return groups


# --- devices --------------------------------------------------------------------------------


def device_id_valid(device_id: object) -> bool:
    return isinstance(device_id, str) and bool(DEVICE_ID_RE.match(device_id))


def device_open(*, user_id: int, device_id: str) -> int:
    """The key of the user's device `device_id`, recorded as seen now. A device seen for the
    first time starts at the user's confirmed positions. Raises InvalidInput for a malformed id."""
    if not device_id_valid(device_id):
        raise InvalidInput("device_id must be 1 to 64 letters, digits, '-', '_' or '.'")
    now = timezone.now()
    device = Device.objects.filter(user_id=user_id, device_id=device_id).first()
    if device is not None:
        Device.objects.filter(pk=device.pk).update(last_seen=now)
        return device.pk
    try:
        with transaction.atomic():
            device = Device.objects.create(user_id=user_id, device_id=device_id, last_seen=now)
            DevicePosition.objects.bulk_create(
                [
                    DevicePosition(device=device, room_id=room_id, acked_seq=acked)
                    for room_id, acked in Membership.objects.filter(user_id=user_id).values_list("room_id", "acked_seq")
                ]
            )
    except IntegrityError:  # the same device opened two sockets at once: the other one made it
        device = Device.objects.get(user_id=user_id, device_id=device_id)
    return device.pk


def devices_open(*, devices: Iterable[tuple[int, str]]) -> dict[tuple[int, str], int]:
    """`device_open` for many `(user_id, device_id)` at once (a batch of handshakes; the ids are
    valid): their keys, each recorded as seen now; those seen for the first time start at their
    user's confirmed positions. At most six queries whatever their number."""
    wanted = set(devices)
    if not wanted:
        return {}
    now = timezone.now()
    users = sorted({u for u, _ in wanted})

    def known() -> dict[tuple[int, str], int]:
        rows = Device.objects.filter(user_id__in=users, device_id__in={d for _, d in wanted})
        return {(u, d): pk for pk, u, d in rows.values_list("pk", "user_id", "device_id") if (u, d) in wanted}

    keys = known()
    if keys:
        Device.objects.filter(pk__in=list(keys.values())).update(last_seen=now)
    new = wanted - set(keys)
    if not new:
        return keys
    with transaction.atomic():
        Device.objects.bulk_create(
            [Device(user_id=u, device_id=d, last_seen=now) for u, d in sorted(new)], ignore_conflicts=True
        )
        keys = known()
        # A device made meanwhile by another socket got its positions with it: these are ignored.
        new_of: dict[int, list[int]] = defaultdict(list)
        for user_id, device_id in new:
            new_of[user_id].append(keys[(user_id, device_id)])
        acked = Membership.objects.filter(user_id__in=sorted(new_of)).values_list("user_id", "room_id", "acked_seq")
        DevicePosition.objects.bulk_create(
            [
                DevicePosition(device_id=device, room_id=room_id, acked_seq=seq)
                for user_id, room_id, seq in acked
                for device in new_of[user_id]
            ],
            ignore_conflicts=True,
        )
    return keys


def devices_seen(*, devices: Iterable[int]) -> None:
    """Sockets of these devices closed: they were last seen now. One query."""
    keys = sorted(set(devices))
    if keys:
        Device.objects.filter(pk__in=keys).update(last_seen=timezone.now())


def device_seen(*, device: int) -> None:
    """A socket of the device closed: it was last seen now."""
    Device.objects.filter(pk=device).update(last_seen=timezone.now())


def devices_list(*, user_id: int) -> list[Device]:
    """The user's devices, most recently seen first."""
    return list(Device.objects.filter(user_id=user_id).order_by("-last_seen", "device_id"))


def device_forget(*, user_id: int, device_id: str) -> bool:
    """Forget one of the user's devices and its positions (its next socket starts afresh at the
    user's positions). Returns whether there was such a device."""
    deleted, _ = Device.objects.filter(user_id=user_id, device_id=device_id).delete()
    return bool(deleted)


def devices_forget_unseen(*, days: float) -> int:
    """Forget devices unseen for `days` (DEVICE_FORGET_DAYS); returns how many went."""
    before = timezone.now() - timedelta(days=days)
    _, by_model = Device.objects.filter(last_seen__lt=before).delete()
    return by_model.get(Device._meta.label, 0)
