"""Reporting a message (API.md §9) and the moderation queue's actions.

Members report messages they can see; staff act on reports in the Django admin: delete the
message, mute or remove the sender in the room, ban the sender, or dismiss the report. Each
action goes through the service that does it for the API or the admin (the same rules hold)
and is recorded (`ModerationAction`: who, when, what). A report is never edited otherwise.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from chatproject.exceptions import Conflict, InvalidInput, NotFound
from meta.models import User
from meta.selectors import history_start_seq, membership_find
from meta.services import member_remove
from meta.services.moderation import member_mute, user_ban
from reports.models import Action, ModerationAction, Reason, Report, ReportStatus
from send.models import Message
from send.representation import message_object
from send.updates import message_delete

COMMENT_MAX = Report._meta.get_field("comment").max_length
MUTE_HOURS = 24


def message_erase_as_staff(*, message_id: int, staff: User) -> None:
    """Erase a message for everyone with staff's power: the send app's delete for everyone
    (API.md §8.3) with `actor=None` (any message, at any time), recorded as `staff`'s. Members
    receive the `delete` update with `by` 0. Raises NotFound for an unknown message; deleting a
    deleted one changes nothing."""
    message_delete(actor=None, message_id=message_id, moderator=staff)


def _visible_message(*, user: User, message_id: int) -> Message:
    """The message if `user` can see it (a member, and the message inside their view of the
    timeline); NotFound otherwise, the same for every reason."""
    message = Message.objects.filter(pk=message_id).first()
    membership = membership_find(room_id=message.room_id, user_id=user.pk) if message is not None else None
    if message is None or membership is None or message.seq <= history_start_seq(membership=membership):
        raise NotFound(f"message {message_id} does not exist")
    return message


def _comment_check(comment: str) -> None:
    if len(comment) > COMMENT_MAX:
        raise InvalidInput(f"a comment has at most {COMMENT_MAX} characters")
    if any(unicodedata.category(char) == "Cc" and char not in "\n\t" for char in comment):
        raise InvalidInput("a comment must not contain control characters")


def report_create(*, reporter: User, message_id: int, reason: str, comment: str = "") -> Report:
    """File `reporter`'s report of a message they can see. While their report of that message
    is open, reporting it again returns the open one unchanged.

    Raises NotFound (no such message, or not one the reporter can see), Conflict (the message
    was deleted), InvalidInput (their own message, unknown reason, bad comment).
    """
    if reason not in Reason.values:
        raise InvalidInput("reason must be one of spam, abuse, illegal, other")
    _comment_check(comment)
    message = _visible_message(user=reporter, message_id=message_id)
    if message_object(message)["content"] is None:
        raise Conflict(f"message {message_id} was deleted")
    if message.sender_id == reporter.pk:
        raise InvalidInput("you cannot report your own message")
    existing = Report.objects.filter(reporter=reporter, message=message, status=ReportStatus.OPEN).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Report.objects.create(
                reporter=reporter,
                message=message,
                room_id=message.room_id,
                sender_id=message.sender_id,
                reason=reason,
                comment=comment,
            )
    except IntegrityError:  # the same report, filed concurrently
        return Report.objects.get(reporter=reporter, message=message, status=ReportStatus.OPEN)


def _act(*, report_id: int, staff: User, action: Action, detail: str, do: Callable[[Report], None]) -> Report:
    """Lock the report, do `do(report)`, record the action and close the report (dismissed
    for a dismissal, action taken otherwise); all in one transaction."""
    with transaction.atomic():
        report = Report.objects.select_for_update().filter(pk=report_id).first()
        if report is None:
            raise NotFound(f"report {report_id} does not exist")
        do(report)
        ModerationAction.objects.create(
            report=report,
            staff=staff,
            action=action,
            target_id=None if action in {Action.DISMISS, Action.DELETE_MESSAGE} else report.sender_id,
            detail=detail,
        )
        report.status = ReportStatus.DISMISSED if action == Action.DISMISS else ReportStatus.ACTIONED
        report.handled_by = staff
        report.handled_at = timezone.now()
        report.save(update_fields=["status", "handled_by", "handled_at"])
    return report


def _sender_id(report: Report) -> int:
    if report.sender_id is None:
        raise InvalidInput("the sender's account no longer exists")
    return report.sender_id


def report_dismiss(*, report_id: int, staff: User) -> Report:
    """Close an open report without acting on it. Raises NotFound, Conflict (not open)."""

    def check(report: Report) -> None:
        if report.status != ReportStatus.OPEN:
            raise Conflict(f"report {report_id} was already handled ({report.get_status_display()})")

    return _act(report_id=report_id, staff=staff, action=Action.DISMISS, detail="", do=check)


def report_message_delete(*, report_id: int, staff: User) -> Report:
    """Delete the reported message for everyone (`message_erase_as_staff`). Raises NotFound,
    Conflict (the message is already deleted)."""

    def erase(report: Report) -> None:
        if report.message is None or message_object(report.message)["content"] is None:
            raise Conflict("the message is already deleted")
        message_erase_as_staff(message_id=report.message_id, staff=staff)

    return _act(report_id=report_id, staff=staff, action=Action.DELETE_MESSAGE, detail="", do=erase)


def report_sender_mute(*, report_id: int, staff: User, hours: int = MUTE_HOURS) -> Report:
    """Mute the sender in the report's room for `hours`. Raises NotFound (report, or the sender
    is no longer a member), InvalidInput (no sender)."""
    until = timezone.now() + timedelta(hours=hours)

    def mute(report: Report) -> None:
        member_mute(room_id=report.room_id, user_id=_sender_id(report), until=until)

    return _act(
        report_id=report_id, staff=staff, action=Action.MUTE, detail=f"until {until:%Y-%m-%d %H:%M} UTC", do=mute
    )


def report_sender_remove(*, report_id: int, staff: User) -> Report:
    """Remove the sender from the report's room (`member_remove` as staff: not the owner, not
    from a private room). Raises NotFound, InvalidInput, Conflict."""

    def remove(report: Report) -> None:
        member_remove(actor=None, room_id=report.room_id, target_user_id=_sender_id(report))

    return _act(report_id=report_id, staff=staff, action=Action.REMOVE, detail="", do=remove)


def report_sender_ban(*, report_id: int, staff: User) -> Report:
    """Ban the sender (`user_ban`: their tokens and sockets end). Raises NotFound, InvalidInput."""

    def ban(report: Report) -> None:
        user_ban(user_id=_sender_id(report))

    return _act(report_id=report_id, staff=staff, action=Action.BAN, detail="", do=ban)
