"""`POST /api/chat/report` (API.md §9)."""

from __future__ import annotations

import pytest

from meta.models import Room
from meta.services import member_add, room_settings_change
from reports.models import Report
from tests.meta.conftest import assert_error, post
from tests.reports.conftest import report_body
from tests.support.envelope import assert_ok

pytestmark = pytest.mark.django_db

REPORT = "/api/chat/report"


def test_a_member_reports_a_message_and_a_repeat_answers_the_open_report(scene, as_user):
    first = assert_ok(post(as_user(scene.victim), REPORT, report_body(scene, comment="rude\nagain")))["data"]
    report = Report.objects.get()
    assert first == {"report_id": report.pk}
    assert (report.reporter, report.message_id, report.room, report.sender, report.reason, report.comment) == (
        scene.victim,
        scene.message_id,
        scene.room,
        scene.troll,
        "abuse",
        "rude\nagain",
    )
    assert report.status == "open"
    again = assert_ok(post(as_user(scene.victim), REPORT, report_body(scene, reason="spam")))["data"]
    assert again == first
    assert Report.objects.count() == 1
    # Another member's report is another report.
    other = assert_ok(post(as_user(scene.owner), REPORT, report_body(scene, reason="spam")))["data"]
    assert other != first
    # Once the first is handled, the victim may report the message again.
    Report.objects.filter(pk=report.pk).update(status="dismissed")
    assert assert_ok(post(as_user(scene.victim), REPORT, report_body(scene)))["data"] != first


@pytest.mark.parametrize("reason", ["spam", "abuse", "illegal", "other"])
def test_every_reason_of_the_contract(scene, as_user, reason):
    assert_ok(post(as_user(scene.victim), REPORT, report_body(scene, reason=reason)))


def test_only_members_who_can_see_the_message_report_it(scene, as_user, make_user):
    missing = f"message {scene.message_id} does not exist"
    assert_error(post(as_user(scene.outsider), REPORT, report_body(scene)), 404, missing)
    assert_error(post(as_user(scene.victim), REPORT, report_body(scene, message_id=999999)), 404, "message 999999")
    late = make_user("late")
    member_add(actor=scene.owner, room_id=scene.room.pk, user_id=late.pk)
    assert_error(post(as_user(late), REPORT, report_body(scene)), 404, missing)  # from before they joined
    room_settings_change(actor=scene.owner, room_id=scene.room.pk, history_visible=True)
    assert_ok(post(as_user(late), REPORT, report_body(scene)))


def test_report_refusals(scene, as_user):
    client = as_user(scene.victim)
    assert_error(post(as_user(scene.troll), REPORT, report_body(scene)), 400, "you cannot report your own message")
    for body, field in [
        (report_body(scene, reason="boring"), "reason"),
        (report_body(scene, reason=None), "reason"),
        (report_body(scene, comment="x" * 1001), "comment"),
        (report_body(scene, comment=5), "comment"),
        (report_body(scene, message_id="1"), "message_id"),
        ({"reason": "spam"}, "message_id"),
    ]:
        response = post(client, REPORT, body)
        assert response.status_code == 400, body
        assert field in response.json()["errors"], body
    assert_error(post(client, REPORT, report_body(scene, comment="bell\x07")), 400, "control characters")
    assert not Report.objects.exists()


def test_a_report_survives_the_room_only_while_the_room_exists(scene, as_user):
    assert_ok(post(as_user(scene.victim), REPORT, report_body(scene)))
    Room.objects.filter(pk=scene.room.pk).delete()
    assert not Report.objects.exists()
