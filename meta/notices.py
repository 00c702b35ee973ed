"""Room events as `notice` frames (API.md §5.2), published to online users after commit.

Every payload has `event` and `room_id`; the events and their other fields:

| event | to | fields |
|---|---|---|
| `join_request` | owner and admins | `request_id`, `user_id`, `username`, `nickname`, `message`, `created_at` |
| `join_request_answered` | the applicant | `request_id`, `status` ("approved" or "rejected") |
| `member_added` | every member, the new ones included | `user_ids`, `by` |
| `member_removed` | every member, and the removed user | `user_id`, `by` (= `user_id` when leaving) |
| `role_changed` | every member | `user_id`, `role`, `by` |
| `settings_changed` | every member | `name`, `join_policy`, `announcement_only`, `history_visible`, `changed`, `by` |

`settings_changed` carries the room's settings as they are now and, in `changed`, the names of
those that changed.

`by` is the acting user's id, 0 for a staff moderator. Notices are not stored: a user who is
offline misses them and reads the state through the HTTP API.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chatproject.bus import notice_publish_on_commit
from chatproject.timefmt import iso_utc
from meta.models import JoinRequest, Membership, Role, Room, User


def _on_commit(*, room_id: int, user_ids: Iterable[int], payload: dict[str, Any]) -> None:
    notice_publish_on_commit(room_id=room_id, user_ids=user_ids, payload=payload)


def _members(room_id: int) -> list[int]:
    return list(Membership.objects.filter(room_id=room_id).values_list("user_id", flat=True))


def _by(actor: User | None) -> int:
    return actor.pk if actor is not None else 0


def join_request_filed(*, request: JoinRequest) -> None:
    managers = Membership.objects.filter(room_id=request.room_id, role__lte=Role.ADMIN).values_list(
        "user_id", flat=True
    )
    _on_commit(
        room_id=request.room_id,
        user_ids=managers,
        payload={
            "event": "join_request",
            "room_id": request.room_id,
            "request_id": request.pk,
            "user_id": request.user_id,
            "username": request.user.username,
            "nickname": request.user.nickname,
            "message": request.message,
            "created_at": iso_utc(request.created_at),
        },
    )


def join_request_answered(*, request: JoinRequest) -> None:
    _on_commit(
        room_id=request.room_id,
        user_ids=[request.user_id],
        payload={
            "event": "join_request_answered",
            "room_id": request.room_id,
            "request_id": request.pk,
            "status": request.status,
        },
    )


def members_added(*, room_id: int, user_ids: list[int], actor: User | None) -> None:
    if user_ids:
        _on_commit(
            room_id=room_id,
            user_ids=_members(room_id),
            payload={"event": "member_added", "room_id": room_id, "user_ids": list(user_ids), "by": _by(actor)},
        )


def member_removed(*, room_id: int, user_id: int, actor: User | None) -> None:
    _on_commit(
        room_id=room_id,
        user_ids=[*_members(room_id), user_id],
        payload={"event": "member_removed", "room_id": room_id, "user_id": user_id, "by": _by(actor)},
    )


def role_changed(*, room_id: int, user_id: int, role: int, actor: User | None) -> None:
    _on_commit(
        room_id=room_id,
        user_ids=_members(room_id),
        payload={"event": "role_changed", "room_id": room_id, "user_id": user_id, "role": role, "by": _by(actor)},
    )


def settings_changed(*, room: Room, changed: list[str], actor: User | None) -> None:
    _on_commit(
        room_id=room.pk,
        user_ids=_members(room.pk),
        payload={
            "event": "settings_changed",
            "room_id": room.pk,
            "name": room.name,
            "join_policy": room.join_policy,
            "announcement_only": room.announcement_only,
            "history_visible": room.history_visible,
            "changed": list(changed),
            "by": _by(actor),
        },
    )
