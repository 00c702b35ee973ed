"""`notice` frames for room events (API.md §5.2), raised by the meta services."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async

from meta import services as meta_services
from meta.models import JoinPolicy
from tests.gateway.test_consumer import make_user, post

pytestmark = pytest.mark.django_db(transaction=True)


def notice(room_id: int, **payload: Any) -> dict[str, Any]:
    return {"id": -1, "type": "notice", "room_id": room_id, "sender_id": 0, "payload": {"room_id": room_id, **payload}}


async def test_join_request_reaches_owner_and_admins_and_the_answer_reaches_the_applicant(connect):
    owner, admin, member, applicant = [await make_user(n) for n in ("owner", "admin", "member", "dora")]
    room = await database_sync_to_async(meta_services.room_create)(
        actor=owner, name="club", member_ids=[admin.pk, member.pk], is_group=True, join_policy=JoinPolicy.APPROVAL
    )
    await database_sync_to_async(meta_services.member_role_change)(
        actor=owner, room_id=room.pk, target_user_id=admin.pk, new_role=1
    )
    o, a, m, d = [await connect(u) for u in (owner, admin, member, applicant)]
    response = await post(applicant, "/api/chat/group/join/request", {"room_id": room.pk, "message": "hi"})
    request_id = response.json()["data"]["request_id"]
    for client in (o, a):
        frame = await client.frame()
        created_at = frame["payload"]["created_at"]
        assert frame == notice(
            room.pk,
            event="join_request",
            request_id=request_id,
            user_id=applicant.pk,
            username="dora",
            nickname="",
            message="hi",
            created_at=created_at,
        )
    await m.nothing()
    await d.nothing()
    await post(admin, "/api/chat/group/join/respond", {"request_id": request_id, "approve": True})
    assert await d.frame() == notice(room.pk, event="join_request_answered", request_id=request_id, status="approved")
    added = notice(room.pk, event="member_added", user_ids=[applicant.pk], by=admin.pk)
    assert await d.frame() == added
    for client in (o, a, m):
        assert await client.frame() == added


async def test_removal_reaches_the_room_and_the_removed_member(connect):
    owner, bob, carol = [await make_user(n) for n in ("owner", "bob", "carol")]
    room = await database_sync_to_async(meta_services.room_create)(
        actor=owner, name="g", member_ids=[bob.pk, carol.pk], is_group=True
    )
    o, b, c = [await connect(u) for u in (owner, bob, carol)]
    await post(owner, "/api/chat/group/remove_member", {"room_id": room.pk, "target_user_id": bob.pk})
    removed = notice(room.pk, event="member_removed", user_id=bob.pk, by=owner.pk)
    for client in (o, b, c):
        assert await client.frame() == removed


async def test_handing_ownership_on_announces_both_role_changes(connect):
    owner, bob = [await make_user(n) for n in ("owner", "bob")]
    room = await database_sync_to_async(meta_services.room_create)(
        actor=owner, name="g", member_ids=[bob.pk], is_group=True
    )
    o, b = [await connect(u) for u in (owner, bob)]
    response = await post(
        owner, "/api/chat/group/change_member_role", {"room_id": room.pk, "target_user_id": bob.pk, "new_role": 0}
    )
    assert response.status_code == 200
    expected = [
        notice(room.pk, event="role_changed", user_id=owner.pk, role=1, by=owner.pk),
        notice(room.pk, event="role_changed", user_id=bob.pk, role=0, by=owner.pk),
    ]
    for client in (o, b):
        assert [await client.frame(), await client.frame()] == expected


async def test_a_new_private_chat_is_announced_to_the_other_user(connect):
    alice, bob = [await make_user(n) for n in ("alice", "bob")]
    b = await connect(bob)
    response = await post(alice, "/api/chat/group/create", {"name": "dm", "member_ids": [bob.pk]})
    room_id = response.json()["data"]["room_id"]
    assert await b.frame() == notice(room_id, event="member_added", user_ids=[bob.pk], by=alice.pk)


async def test_banning_closes_the_users_open_sockets_with_4403(connect):
    from meta.services.moderation import user_ban

    mallory = await make_user("mallory")
    socket = await connect(mallory)
    await database_sync_to_async(user_ban)(user_id=mallory.pk)
    assert await socket.ws.receive_output(timeout=2) == {"type": "websocket.close", "code": 4403}
