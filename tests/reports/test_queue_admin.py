"""The moderation queue in the Django admin, as a logged-in staff user: open reports with the
message (or a note that it was deleted), the room and the reporter; each action recorded and
shown as a log; the count of open reports on the index."""

from __future__ import annotations

from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from meta.models import Membership, User
from reports.models import ModerationAction, Report
from reports.services import report_create
from send.models import Message, MessageUpdate
from tests.meta_admin.conftest import result_rows, shown

pytestmark = pytest.mark.django_db

QUEUE = "/admin/reports/report/"
LOG = "/admin/reports/moderationaction/"


def report(scene, reporter=None, message_id=None, reason="abuse"):
    return report_create(reporter=reporter or scene.victim, message_id=message_id or scene.message_id, reason=reason)


def act(client, action, reports):
    return client.post(QUEUE, {"action": action, "_selected_action": [str(r.pk) for r in reports]}, follow=True)


def log_of(report_obj):
    return list(
        ModerationAction.objects.filter(report=report_obj).values_list("staff__username", "action", "target__username")
    )


def test_the_index_counts_open_reports(staff_client, scene):
    page = staff_client.get(reverse("admin:index")).content.decode()
    assert '<strong id="open-report-count">0</strong> waiting' in page
    report(scene)
    report(scene, reporter=scene.owner)
    page = staff_client.get(reverse("admin:index")).content.decode()
    assert '<strong id="open-report-count">2</strong> waiting' in page
    assert f'href="{QUEUE}?status__exact=open"' in page


def test_the_queue_lists_open_reports_first_with_message_room_sender_and_reporter(staff_client, scene):
    handled = report(scene, reporter=scene.owner)
    Report.objects.filter(pk=handled.pk).update(status="dismissed")
    image = Message.objects.create(
        room=scene.room, sender=scene.troll, seq=99, content={"type": "image", "url": "https://x.example/a.png"}
    )
    first = report(scene)
    second = report(scene, message_id=image.pk, reason="illegal")
    rows = result_rows(staff_client.get(QUEUE))
    assert [row[:7] for row in rows] == [
        [str(first.pk), "open", "abuse", "you are all idiots", f"Town square (#{scene.room.pk})", "troll", "victim"],
        [
            str(second.pk),
            "open",
            "illegal",
            "[image] https://x.example/a.png",
            f"Town square (#{scene.room.pk})",
            "troll",
            "victim",
        ],
        [
            str(handled.pk),
            "dismissed",
            "abuse",
            "you are all idiots",
            f"Town square (#{scene.room.pk})",
            "troll",
            "owner",
        ],
    ]
    page = staff_client.get(reverse("admin:reports_report_change", args=[first.pk])).content.decode()
    assert "you are all idiots" in page and "Town square" in page


def test_a_deleted_message_shows_as_a_note(staff_client, scene):
    first = report(scene)
    Message.objects.filter(pk=scene.message_id).delete()
    rows = result_rows(staff_client.get(QUEUE))
    assert rows[0][3] == "(the message was deleted)"
    page = staff_client.get(reverse("admin:reports_report_change", args=[first.pk])).content.decode()
    assert "(the message was deleted)" in page and "you are all idiots" not in page


def test_mute_records_who_when_what(staff_client, staff, scene):
    first = report(scene)
    before = timezone.now()
    messages = shown(act(staff_client, "mute_sender", [first]))
    assert messages == [("success", f"Report #{first.pk}: muted troll in “Town square” for 24 hours.")]
    muted = Membership.objects.get(room=scene.room, user=scene.troll).muted_until
    assert muted > before + timezone.timedelta(hours=23)
    first.refresh_from_db()
    assert (first.status, first.handled_by, first.handled_at >= before) == ("actioned", staff, True)
    assert log_of(first) == [("moderator", "mute", "troll")]
    entry = ModerationAction.objects.get()
    assert entry.created_at >= before and entry.detail.startswith("until ")


def test_remove_takes_the_sender_out_of_the_room(staff_client, scene):
    first = report(scene)
    assert shown(act(staff_client, "remove_sender", [first])) == [
        ("success", f"Report #{first.pk}: removed troll from “Town square”.")
    ]
    assert not Membership.objects.filter(room=scene.room, user=scene.troll).exists()
    assert log_of(first) == [("moderator", "remove", "troll")]


def test_ban_bans_the_sender(staff_client, scene):
    first = report(scene)
    with mock.patch("meta.services.moderation.sockets_close_publish_on_commit") as close:
        assert shown(act(staff_client, "ban_sender", [first])) == [("success", f"Report #{first.pk}: banned troll.")]
    assert User.objects.get(pk=scene.troll.pk).is_banned
    close.assert_called_once()
    assert log_of(first) == [("moderator", "ban", "troll")]


def test_dismiss_closes_an_open_report_once(staff_client, scene):
    first = report(scene)
    assert shown(act(staff_client, "dismiss", [first])) == [("success", f"Report #{first.pk}: dismissed.")]
    first.refresh_from_db()
    assert first.status == "dismissed"
    assert shown(act(staff_client, "dismiss", [first])) == [
        ("error", f"Could not dismiss report #{first.pk}: report {first.pk} was already handled (dismissed)")
    ]
    assert log_of(first) == [("moderator", "dismiss", None)]


def test_delete_message_erases_it_for_everyone_through_the_send_app(
    staff_client, scene, django_capture_on_commit_callbacks
):
    first = report(scene)
    with mock.patch("send.updates.update_publish") as publish, django_capture_on_commit_callbacks(execute=True):
        assert shown(act(staff_client, "delete_message", [first])) == [
            ("success", f"Report #{first.pk}: deleted the message.")
        ]
    message = Message.objects.get(pk=scene.message_id)
    assert message.content is None and message.deleted_at is not None
    update = MessageUpdate.objects.get(message=message)
    assert (update.event, update.by_staff, update.actor.username, update.payload) == (
        "delete",
        True,
        "moderator",
        {"by": 0},
    )
    publish.assert_called_once()
    assert publish.call_args.kwargs["frame"]["payload"]["event"] == "delete"
    first.refresh_from_db()
    assert first.status == "actioned"
    assert log_of(first) == [("moderator", "delete_message", None)]
    page = staff_client.get(f"{QUEUE}{first.pk}/change/").content.decode()
    assert "the message was deleted" in page


def test_delete_message_of_an_already_deleted_message_says_so_and_changes_nothing(staff_client, scene):
    first, second = report(scene), report(scene, reporter=scene.owner)
    act(staff_client, "delete_message", [first])
    messages = shown(act(staff_client, "delete_message", [second]))
    assert messages == [
        ("error", f"Could not delete the message of report #{second.pk}: the message is already deleted")
    ]
    second.refresh_from_db()
    assert second.status == "open"
    assert MessageUpdate.objects.filter(message_id=scene.message_id).count() == 1
    assert ModerationAction.objects.count() == 1


def test_a_refused_action_records_nothing(staff_client, scene):
    first = report(scene)
    Membership.objects.filter(room=scene.room, user=scene.troll).delete()
    messages = shown(act(staff_client, "mute_sender", [first]))
    assert messages[0][0] == "error" and "is not a member" in messages[0][1]
    first.refresh_from_db()
    assert first.status == "open"
    assert not ModerationAction.objects.exists()


def test_the_log_lists_every_action_newest_first(staff_client, scene):
    first, second = report(scene), report(scene, reporter=scene.owner)
    act(staff_client, "mute_sender", [first])
    act(staff_client, "dismiss", [second])
    rows = result_rows(staff_client.get(LOG))
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [  # the first column, the time, is dropped
        ("moderator", "dismissed the report", "-", f"#{second.pk}"),
        ("moderator", "muted the sender in the room", "troll", f"#{first.pk}"),
    ]
    page = staff_client.get(reverse("admin:reports_report_change", args=[first.pk])).content.decode()
    assert "muted the sender in the room" in page


def test_staff_cannot_add_or_delete_reports_or_log_entries(staff_client, scene):
    first = report(scene)
    assert staff_client.get(QUEUE + "add/").status_code == 403
    assert staff_client.get(reverse("admin:reports_report_delete", args=[first.pk])).status_code == 403
    assert staff_client.get(LOG + "add/").status_code == 403
