"""Fixtures of the reports tests: a group where `troll` wrote something `victim` reports, and
the admin's logged-in staff user (tests.meta_admin)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from meta.models import Room, User
from meta.services import room_create
from send.services import message_send
from tests.meta.conftest import as_user  # noqa: F401 (fixtures)
from tests.meta_admin.conftest import staff, staff_client  # noqa: F401


@dataclass
class Scene:
    room: Room
    owner: User
    troll: User
    victim: User
    outsider: User
    message_id: int

    def say(self, user: User, text: str) -> int:
        return message_send(sender=user, room_id=self.room.pk, content={"type": "text", "text": text})["id"]


@pytest.fixture
def scene(make_user: Callable[..., User]) -> Scene:
    owner, troll, victim, outsider = (make_user(n) for n in ("owner", "troll", "victim", "outsider"))
    room = room_create(actor=owner, name="Town square", is_group=True, member_ids=[troll.pk, victim.pk])
    message_id = message_send(sender=troll, room_id=room.pk, content={"type": "text", "text": "you are all idiots"})[
        "id"
    ]
    return Scene(room=room, owner=owner, troll=troll, victim=victim, outsider=outsider, message_id=message_id)


def report_body(scene: Scene, **fields: Any) -> dict[str, Any]:
    return {"message_id": scene.message_id, "reason": "abuse", **fields}
