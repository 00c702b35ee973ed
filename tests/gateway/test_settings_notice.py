"""The `settings_changed` notice of API.md §9 reaches every member's socket (5.2's shape)."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from meta import services as meta_services
from tests.gateway.test_consumer import make_user, post

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_settings_change_reaches_every_member_and_nobody_else(connect):
    owner, bob, stranger = [await make_user(n) for n in ("owner", "bob", "stranger")]
    room = await database_sync_to_async(meta_services.room_create)(
        actor=owner, name="news", member_ids=[bob.pk], is_group=True
    )
    o, b, s = [await connect(u) for u in (owner, bob, stranger)]
    response = await post(
        owner, "/api/chat/group/settings", {"room_id": room.pk, "announcement_only": True, "history_visible": True}
    )
    assert response.status_code == 200
    expected = {
        "id": -1,
        "type": "notice",
        "room_id": room.pk,
        "sender_id": 0,
        "payload": {
            "event": "settings_changed",
            "room_id": room.pk,
            "name": "news",
            "join_policy": "open",
            "announcement_only": True,
            "history_visible": True,
            "changed": ["announcement_only", "history_visible"],
            "by": owner.pk,
        },
    }
    for client in (o, b):
        assert await client.frame() == expected
    await s.nothing()
