"""Reports of abusive messages and what staff did about them (API.md §9)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from meta.models import Room
from send.models import Message


class Reason(models.TextChoices):
    SPAM = "spam", "spam"
    ABUSE = "abuse", "abuse"
    ILLEGAL = "illegal", "illegal"
    OTHER = "other", "other"


class ReportStatus(models.TextChoices):
    OPEN = "open", "open"
    ACTIONED = "actioned", "action taken"
    DISMISSED = "dismissed", "dismissed"


class Report(models.Model):
    """A member's report of a message. It never copies the message's content: a message deleted
    for everyone is gone from here too (`message` null, or its content erased), while `room` and
    `sender` stay, so staff can still act on the sender."""

    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="+")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    reason = models.CharField(max_length=16, choices=Reason.choices)
    comment = models.CharField(max_length=1000, blank=True, default="")
    status = models.CharField(max_length=16, choices=ReportStatus.choices, default=ReportStatus.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["reporter", "message"], condition=models.Q(status="open"), name="report_one_open_per_message"
            )
        ]
        indexes = [models.Index(fields=["status", "id"], name="report_status_idx")]

    def __str__(self) -> str:
        return f"report #{self.pk} ({self.reason}, {self.status})"


class Action(models.TextChoices):
    DELETE_MESSAGE = "delete_message", "deleted the message"
    MUTE = "mute", "muted the sender in the room"
    REMOVE = "remove", "removed the sender from the room"
    BAN = "ban", "banned the sender"
    DISMISS = "dismiss", "dismissed the report"


class ModerationAction(models.Model):
    """One thing a staff member did about a report: who, when, what. Never changed or deleted."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="actions")
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    action = models.CharField(max_length=32, choices=Action.choices)
    target = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    detail = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["-created_at"], name="moderationaction_recent_idx")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} (report #{self.report_id})"
