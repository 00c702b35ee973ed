"""Devices (API.md §7.2): positions per device, confirmations that raise both the device and the
user, the first position of a new device, and the `/api/me/devices` endpoints."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from meta.models import Membership
from send.models import Device, DevicePosition
from send.positions import (
    confirmations_record,
    device_forget,
    device_open,
    devices_forget_unseen,
    position_for_member,
    positions_for_socket,
)
from tests.send.conftest import Group, assert_ok

pytestmark = pytest.mark.django_db


def _last_seq(group: Group, seq: int) -> None:
    group.room.last_seq = seq
    group.room.save(update_fields=["last_seq"])


def test_a_new_device_starts_at_the_users_positions_and_then_keeps_its_own(group: Group) -> None:
    _last_seq(group, 10)
    Membership.objects.filter(user=group.alice).update(acked_seq=4)
    phone = device_open(user_id=group.alice.pk, device_id="phone")
    assert positions_for_socket(user_id=group.alice.pk, device=phone)[group.room.pk].start == 4
    # The laptop (another device) reads up to 9: the user's position moves, the phone's does not.
    laptop = device_open(user_id=group.alice.pk, device_id="laptop")
    confirmations_record(confirmed={(group.alice.pk, group.room.pk): 9}, device_confirmed={(laptop, group.room.pk): 9})
    assert position_for_member(user_id=group.alice.pk, room_id=group.room.pk).start == 9
    assert position_for_member(user_id=group.alice.pk, room_id=group.room.pk, device=phone).start == 4
    assert position_for_member(user_id=group.alice.pk, room_id=group.room.pk, device=laptop).start == 9
    # Opening the phone again keeps its position.
    assert device_open(user_id=group.alice.pk, device_id="phone") == phone
    assert positions_for_socket(user_id=group.alice.pk, device=phone)[group.room.pk].start == 4


def test_a_room_joined_after_the_device_was_first_seen_starts_at_the_join(group: Group, make_user) -> None:
    from meta.services import member_add

    carol = make_user("carol")
    tablet = device_open(user_id=carol.pk, device_id="tablet")
    _last_seq(group, 7)
    member_add(actor=group.owner, room_id=group.room.pk, user_id=carol.pk)
    position = positions_for_socket(user_id=carol.pk, device=tablet)[group.room.pk]
    assert (position.start, position.joined_seq, position.last_seq) == (7, 7, 7)


def test_device_confirmations_are_never_lowered_and_create_missing_rows(group: Group) -> None:
    phone = device_open(user_id=group.bob.pk, device_id="phone")
    DevicePosition.objects.filter(device_id=phone).delete()  # as for a room joined later
    confirmations_record(confirmed={}, device_confirmed={(phone, group.room.pk): 5})
    confirmations_record(confirmed={}, device_confirmed={(phone, group.room.pk): 3})
    assert DevicePosition.objects.get(device_id=phone, room=group.room).acked_seq == 5


def test_a_malformed_device_id_is_refused(group: Group) -> None:
    from chatproject.exceptions import InvalidInput

    for bad in ("", "a" * 65, "has space", "ü"):
        with pytest.raises(InvalidInput):
            device_open(user_id=group.bob.pk, device_id=bad)


def test_unseen_devices_are_forgotten_with_their_positions(group: Group) -> None:
    old = device_open(user_id=group.bob.pk, device_id="old")
    device_open(user_id=group.bob.pk, device_id="new")
    Device.objects.filter(pk=old).update(last_seen=timezone.now() - timedelta(days=91))
    call_command("forget_devices", "--days", "90")
    assert list(Device.objects.values_list("device_id", flat=True)) == ["new"]
    assert not DevicePosition.objects.filter(device_id=old).exists()
    assert devices_forget_unseen(days=90) == 0


def test_the_devices_endpoints(group: Group, api) -> None:
    device_open(user_id=group.bob.pk, device_id="phone")
    device_open(user_id=group.bob.pk, device_id="laptop")
    device_open(user_id=group.alice.pk, device_id="alices")
    bob = group.client(group.bob)
    devices = assert_ok(bob.get("/api/me/devices"))["data"]["devices"]
    assert sorted(d["device_id"] for d in devices) == ["laptop", "phone"]
    assert all(d["last_seen"].endswith("Z") for d in devices)
    assert assert_ok(bob.delete("/api/me/devices/phone"))["data"] == {"forgotten": True}
    assert assert_ok(bob.delete("/api/me/devices/phone"))["data"] == {"forgotten": False}  # 200 either way
    assert assert_ok(bob.delete("/api/me/devices/alices"))["data"] == {"forgotten": False}  # not his
    assert device_forget(user_id=group.alice.pk, device_id="alices")
    response = bob.delete("/api/me/devices/not%20valid")
    assert response.status_code == 404 and response.json()["code"] == 404
    response = api.get("/api/me/devices")
    assert response.status_code == 401
