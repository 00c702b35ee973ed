"""Editing and deleting for everyone (API.md §8.3): every rule and error, the seq each change
takes (none when nothing changes), and a delete that erases the content from the database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from meta.models import Membership, Role, Room
from meta.services import member_add, member_remove, member_role_change
from send.models import Mention, Message, MessageUpdate, Reaction
from send.updates import message_delete
from tests.conftest import MISSING_TOKEN_MSG
from tests.send.conftest import (
    FIXED_NOW,
    FIXED_NOW_WIRE,
    Group,
    assert_error,
    delete,
    edit,
    frozen_now,
    pin,
    react,
    sent,
    text,
    updated,
)

pytestmark = pytest.mark.django_db


def _last_seq(group: Group) -> int:
    return Room.objects.get(pk=group.room.pk).last_seq


# --- edit ----------------------------------------------------------------------------------------


def test_the_sender_edits_and_the_edit_takes_the_rooms_next_seq(group: Group) -> None:
    first = sent(group, group.alice, "helo")
    sent(group, group.bob, "in between")
    with frozen_now(FIXED_NOW + timedelta(minutes=5)):
        message, seq = updated(edit(group.client(group.alice), first["msgID"], text("hello")))
    assert seq == 3 == _last_seq(group)
    assert message["id"] == first["msgID"] and message["seq"] == 1
    assert message["content"] == {"type": "text", "text": "hello"}
    assert message["edited_at"] == "2026-11-23T10:09:05.123Z"
    update = MessageUpdate.objects.get()
    assert (update.seq, update.event, update.actor_id, update.payload) == (3, "edit", group.alice.pk, {})
    assert update.previous_content == {"type": "text", "text": "helo"}
    assert Message.objects.get(pk=first["msgID"]).content == {"type": "text", "text": "hello"}


def test_the_same_content_again_changes_nothing_and_takes_no_seq(group: Group) -> None:
    first = sent(group, group.alice, "same")
    message, seq = updated(edit(group.client(group.alice), first["msgID"], text("same")))
    assert seq is None
    assert message["edited_at"] is None and message["content"] == text("same")
    assert _last_seq(group) == 1
    assert not MessageUpdate.objects.exists()


def test_only_the_sender_edits(group: Group) -> None:
    first = sent(group, group.alice)
    for user in (group.bob, group.owner):
        assert_error(
            edit(group.client(user), first["msgID"], text("mine now")), 403, "only the sender of a message may edit it"
        )
    assert _last_seq(group) == 1


def test_an_edit_keeps_the_content_type(group: Group) -> None:
    first = sent(group, group.alice)
    image = {"type": "image", "url": "https://x.example/a.png"}
    assert_error(
        edit(group.client(group.alice), first["msgID"], image),
        400,
        "content.type: must stay 'text': an edit keeps the message's type",
        errors={"content.type": ["must stay 'text': an edit keeps the message's type"]},
    )


@pytest.mark.parametrize(
    ("content", "msg", "errors"),
    [
        (
            {"type": "text", "text": ""},
            "content.text: must be 1 to 4000 characters",
            {"content.text": ["must be 1 to 4000 characters"]},
        ),
        ("hello", "content: must be an object", {"content": ["must be an object"]}),
    ],
)
def test_edited_content_is_checked_like_sent_content(group: Group, content: Any, msg: str, errors: Any) -> None:
    first = sent(group, group.alice)
    assert_error(edit(group.client(group.alice), first["msgID"], content), 400, msg, errors=errors)


def test_the_edit_window(group: Group, settings: Any) -> None:
    settings.MESSAGE_EDIT_WINDOW_SECONDS = 60
    with frozen_now():
        first = sent(group, group.alice)
    with frozen_now(FIXED_NOW + timedelta(seconds=60)):
        assert updated(edit(group.client(group.alice), first["msgID"], text("in time")))[1] == 2
    with frozen_now(FIXED_NOW + timedelta(seconds=61)):
        assert_error(
            edit(group.client(group.alice), first["msgID"], text("too late")),
            403,
            "a message can be edited within 60 seconds of sending",
        )
    settings.MESSAGE_EDIT_WINDOW_SECONDS = 0  # no limit
    with frozen_now(FIXED_NOW + timedelta(days=400)):
        assert updated(edit(group.client(group.alice), first["msgID"], text("a year on")))[1] == 3


def test_a_deleted_message_cannot_be_edited(group: Group) -> None:
    first = sent(group, group.alice)
    updated(delete(group.client(group.alice), first["msgID"]))
    assert_error(
        edit(group.client(group.alice), first["msgID"], text("back")), 409, f"message {first['msgID']} was deleted"
    )


def test_a_message_the_caller_cannot_see_is_404(group: Group, make_user: Callable[..., Any]) -> None:
    first = sent(group, group.alice)
    missing = f"message {first['msgID'] + 1000} does not exist"
    hidden = f"message {first['msgID']} does not exist"
    assert_error(edit(group.client(group.alice), first["msgID"] + 1000, text("x")), 404, missing)
    assert_error(edit(group.client(group.outsider), first["msgID"], text("x")), 404, hidden)
    # Removed from the room: the message is gone for them, their own included.
    member_remove(actor=group.owner, room_id=group.room.pk, target_user_id=group.alice.pk)
    assert_error(edit(group.client(group.alice), first["msgID"], text("x")), 404, hidden)
    # Back in the room: they joined after it, so they still cannot see it.
    member_add(actor=group.owner, room_id=group.room.pk, user_id=group.alice.pk)
    assert_error(edit(group.client(group.alice), first["msgID"], text("x")), 404, hidden)
    assert _last_seq(group) == 1  # the seqs the refused requests took were rolled back


def test_updates_need_a_token(group: Group, api: Any) -> None:
    first = sent(group, group.alice)
    for path, body in (
        ("/api/chat/edit_message", {"message_id": first["msgID"], "content": text()}),
        ("/api/chat/delete_message", {"message_id": first["msgID"]}),
        ("/api/chat/react", {"message_id": first["msgID"], "key": "👍"}),
        ("/api/chat/pin", {"message_id": first["msgID"]}),
    ):
        assert_error(api.post(path, body, format="json"), 401, MISSING_TOKEN_MSG)


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({}, "message_id", "This field is required."),
        ({"message_id": "1"}, "message_id", "must be an integer id"),
        ({"message_id": 0}, "message_id", "must be an id from 1 to 9007199254740991"),
        ({"message_id": True}, "message_id", "must be an integer id"),
    ],
)
def test_a_malformed_message_id_is_400(group: Group, body: dict[str, Any], field: str, reason: str) -> None:
    response = group.client(group.alice).post("/api/chat/delete_message", body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {field: [reason]}


# --- delete for everyone -----------------------------------------------------------------------


def test_the_sender_deletes_and_the_content_is_erased_from_the_database(group: Group) -> None:
    first = sent(group, group.alice, "secret plan", mentions=[group.bob.pk])
    updated(edit(group.client(group.alice), first["msgID"], text("secret plan v2")))
    updated(react(group.client(group.bob), first["msgID"], "👍"))
    updated(pin(group.client(group.owner), first["msgID"]))
    with frozen_now():
        message, seq = updated(delete(group.client(group.alice), first["msgID"]))
    assert seq == 5 == _last_seq(group)
    assert message == {
        "id": first["msgID"],
        "room_id": group.room.pk,
        "sender_id": group.alice.pk,
        "seq": 1,
        "client_msg_id": None,
        "created_at": first["created_at"],
        "content": None,
        "reply_to": None,
        "mentions": [],
        "mention_all": False,
        "edited_at": message["edited_at"],
        "deleted": True,
        "reactions": [],
        "pinned": False,
    }
    row = Message.objects.get(pk=first["msgID"])
    assert (row.content, row.search_vector, row.pinned_seq, row.deleted_at) == (None, None, None, FIXED_NOW)
    assert not Reaction.objects.exists() and not Mention.objects.exists()
    # The content its edit replaced is gone too; the updates keep who did what, when.
    assert list(
        MessageUpdate.objects.order_by("seq").values_list("event", "previous_content", "actor_id", "payload")
    ) == [
        ("edit", None, group.alice.pk, {}),
        ("reaction", None, group.bob.pk, {"key": "👍", "user_id": group.bob.pk, "on": True}),
        ("pin", None, group.owner.pk, {"pinned": True}),
        ("delete", None, group.alice.pk, {"by": group.alice.pk}),
    ]
    everything = repr(list(Message.objects.values())) + repr(list(MessageUpdate.objects.values()))
    assert "secret plan" not in everything
    # History keeps its place, without the content; search finds nothing.
    history = group.client(group.bob).get("/api/chat/messages", {"room_id": group.room.pk}).json()["data"]
    assert history["messages"] == [message]
    found = group.client(group.bob).get("/api/chat/search", {"q": "secret"}).json()["data"]
    assert found == {"messages": [], "has_more": False}


def test_deleting_a_deleted_message_changes_nothing(group: Group) -> None:
    first = sent(group, group.alice)
    updated(delete(group.client(group.alice), first["msgID"]))
    message, seq = updated(delete(group.client(group.alice), first["msgID"]))
    assert seq is None and message["deleted"] is True
    assert _last_seq(group) == 2


def test_the_delete_window_binds_the_sender_only(group: Group, settings: Any) -> None:
    settings.MESSAGE_DELETE_WINDOW_SECONDS = 60
    with frozen_now():
        late, early = sent(group, group.alice, "late"), sent(group, group.alice, "early")
    with frozen_now(FIXED_NOW + timedelta(seconds=60)):
        assert updated(delete(group.client(group.alice), early["msgID"]))[1] == 3
    with frozen_now(FIXED_NOW + timedelta(seconds=61)):
        assert_error(
            delete(group.client(group.alice), late["msgID"]),
            403,
            "a message can be deleted by its sender within 60 seconds of sending",
        )
    # The owner outranks alice: at any time.
    with frozen_now(FIXED_NOW + timedelta(days=30)):
        assert updated(delete(group.client(group.owner), late["msgID"]))[1] == 4
    settings.MESSAGE_DELETE_WINDOW_SECONDS = 0
    old = sent(group, group.bob)
    with frozen_now(timezone.now() + timedelta(days=400)):
        assert updated(delete(group.client(group.bob), old["msgID"]))[1] is not None


def test_who_outranks_whom(group: Group, make_user: Callable[..., Any]) -> None:
    member_role_change(actor=group.owner, room_id=group.room.pk, target_user_id=group.bob.pk, new_role=Role.ADMIN)
    carol = make_user("carol")
    member_add(actor=group.owner, room_id=group.room.pk, user_id=carol.pk)
    member_role_change(actor=group.owner, room_id=group.room.pk, target_user_id=carol.pk, new_role=Role.ADMIN)
    refused = "only the sender, or a member whose role is above the sender's, may delete a message"
    by_owner, by_bob, by_alice = sent(group, group.owner), sent(group, group.bob), sent(group, group.alice)
    by_carol = sent(group, carol)
    assert_error(delete(group.client(group.alice), by_bob["msgID"]), 403, refused)  # a member, an admin's
    assert_error(delete(group.client(group.bob), by_owner["msgID"]), 403, refused)  # an admin, the owner's
    assert_error(delete(group.client(group.bob), by_carol["msgID"]), 403, refused)  # an admin, another admin's
    assert updated(delete(group.client(group.bob), by_alice["msgID"]))[1] is not None  # an admin, a member's
    assert updated(delete(group.client(group.owner), by_carol["msgID"]))[1] is not None  # the owner, anyone's
    message, _ = updated(delete(group.client(group.owner), by_bob["msgID"]))
    assert message["deleted"] is True


def test_a_sender_who_left_counts_as_a_plain_member(group: Group) -> None:
    member_role_change(actor=group.owner, room_id=group.room.pk, target_user_id=group.bob.pk, new_role=Role.ADMIN)
    first = sent(group, group.bob)
    member_remove(actor=group.bob, room_id=group.room.pk, target_user_id=group.bob.pk)
    assert_error(
        delete(group.client(group.alice), first["msgID"]),
        403,
        "only the sender, or a member whose role is above the sender's, may delete a message",
    )
    Membership.objects.filter(room=group.room, user=group.alice).update(role=Role.ADMIN)
    assert updated(delete(group.client(group.alice), first["msgID"]))[1] is not None


def test_deleting_a_message_the_caller_cannot_see_is_404(group: Group) -> None:
    first = sent(group, group.alice)
    assert_error(delete(group.client(group.outsider), first["msgID"]), 404, f"message {first['msgID']} does not exist")


def test_staff_delete_through_the_same_service(group: Group, make_user: Callable[..., Any]) -> None:
    moderator = make_user("moderator", is_staff=True)
    first = sent(group, group.alice, "spam")
    result = message_delete(actor=None, message_id=first["msgID"], moderator=moderator)
    assert result.seq == 2 and result.message["deleted"] is True
    update = MessageUpdate.objects.get()
    assert (update.actor_id, update.by_staff, update.payload) == (moderator.pk, True, {"by": 0})
    assert Message.objects.get(pk=first["msgID"]).content is None


def test_edit_and_delete_publish_update_frames_after_commit(
    group: Group, updates_published: list[dict[str, Any]], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with frozen_now():
        first = sent(group, group.alice, "v1")
    with django_capture_on_commit_callbacks(execute=False) as callbacks, frozen_now():
        updated(edit(group.client(group.alice), first["msgID"], text("v2")))
    assert updates_published == []  # nothing before the commit
    callbacks[0]()
    [call] = updates_published
    expected_message = {
        "id": first["msgID"],
        "room_id": group.room.pk,
        "sender_id": group.alice.pk,
        "seq": 1,
        "client_msg_id": None,
        "created_at": FIXED_NOW_WIRE,
        "content": text("v2"),
        "reply_to": None,
        "mentions": [],
        "mention_all": False,
        "edited_at": FIXED_NOW_WIRE,
        "deleted": False,
        "reactions": [],
        "pinned": False,
    }
    frame = {
        "id": first["msgID"],
        "type": "update",
        "room_id": group.room.pk,
        "sender_id": group.alice.pk,
        "seq": 2,
        "created_at": FIXED_NOW_WIRE,
        "payload": {"event": "edit", "message": expected_message},
    }
    assert call == {
        "room_id": group.room.pk,
        "seq": 2,
        "msg_id": first["msgID"],
        "actor_id": group.alice.pk,
        "frame": frame,
        "hidden_frame": {**frame, "payload": {"event": "edit", "message": None}},
        "user_ids": sorted(group.member_ids),
        "hidden_user_ids": [],
        "sent_at_ms": call["sent_at_ms"],
    }
    with django_capture_on_commit_callbacks(execute=True), frozen_now():
        updated(delete(group.client(group.owner), first["msgID"]))
    deleted = updates_published[1]["frame"]
    assert deleted["sender_id"] == group.owner.pk
    assert deleted["payload"] == {
        "event": "delete",
        "by": group.owner.pk,
        "message": {**expected_message, "content": None, "deleted": True},
    }


def test_a_refused_or_empty_update_publishes_nothing(
    group: Group, updates_published: list[dict[str, Any]], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    first = sent(group, group.alice, "same")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        edit(group.client(group.alice), first["msgID"], text("same"))
        edit(group.client(group.bob), first["msgID"], text("other"))
        delete(group.client(group.outsider), first["msgID"])
    assert callbacks == [] and updates_published == []


def test_members_who_joined_later_get_the_frame_without_the_message(
    group: Group,
    make_user: Callable[..., Any],
    updates_published: list[dict[str, Any]],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    first = sent(group, group.alice, "before carol")
    carol = make_user("carol")
    member_add(actor=group.owner, room_id=group.room.pk, user_id=carol.pk)
    with django_capture_on_commit_callbacks(execute=True):
        updated(edit(group.client(group.alice), first["msgID"], text("edited")))
    [call] = updates_published
    assert call["user_ids"] == sorted([*group.member_ids, carol.pk])
    assert call["hidden_user_ids"] == [carol.pk]
    assert call["hidden_frame"]["payload"] == {"event": "edit", "message": None}
    assert call["hidden_frame"]["seq"] == call["frame"]["seq"] == 2
