"""The moderation queue in the Django admin (API.md §9): open reports with the message (or a
note that it was deleted), the room and the reporter; actions that delete the message, mute
or remove the sender, ban the sender or dismiss the report, each recorded and shown as a log.
The admin's index shows how many reports are open."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from meta.admin import ModerationAdmin
from reports.models import ModerationAction, Report, ReportStatus
from reports.services import (
    MUTE_HOURS,
    report_dismiss,
    report_message_delete,
    report_sender_ban,
    report_sender_mute,
    report_sender_remove,
)
from send.representation import message_object

admin.site.index_template = "reports/admin/index.html"

EXCERPT_CHARS = 120


def message_text(report: Report) -> str:
    """What the reported message says now: its text, or what it carries; a note when deleted."""
    if report.message is None:
        return "(the message was deleted)"
    content = message_object(report.message)["content"]
    if content is None:
        return "(the message was deleted)"
    if content.get("type") == "text":
        return str(content.get("text", ""))
    return f"[{content.get('type')}] {content.get('file_name') or content.get('url', '')}"


def _user_link(user_id: int | None, name: str | None) -> SafeString | str:
    if user_id is None:
        return "—"
    return format_html('<a href="{}">{}</a>', reverse("admin:meta_user_change", args=[user_id]), name)


class ActionInline(admin.TabularInline):
    model = ModerationAction
    fields = ("created_at", "staff", "action", "target", "detail")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "what staff did (the log)"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Report)
class ReportAdmin(ModerationAdmin):
    list_display = ("id", "status", "reason", "excerpt", "room_link", "sender_link", "reporter_link", "created_at")
    list_display_links = ("id",)
    list_filter = ("status", "reason")
    list_select_related = ("message", "room", "sender", "reporter")
    search_fields = ("comment", "sender__username", "reporter__username", "room__name")
    fields = (
        "status",
        "reason",
        "comment",
        "message_shown",
        "room_link",
        "sender_link",
        "reporter_link",
        "created_at",
        "handled_by",
        "handled_at",
    )
    readonly_fields = fields
    inlines = (ActionInline,)
    actions = ["delete_message", "mute_sender", "remove_sender", "ban_sender", "dismiss"]

    def get_ordering(self, request: HttpRequest) -> list[Any]:
        open_first = Case(When(status=ReportStatus.OPEN, then=Value(0)), default=Value(1), output_field=IntegerField())
        return [open_first.asc(), "id"]  # the queue: open ones first, oldest first

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # members file reports through the API

    def has_delete_permission(self, request: HttpRequest, obj: Report | None = None) -> bool:
        return False  # a report and its log are a record

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        found = super().get_actions(request)
        found.pop("delete_selected", None)
        return found

    def label(self, obj: Report) -> str:
        return f"report #{obj.pk}"

    @admin.display(description="message")
    def excerpt(self, report: Report) -> str:
        text = message_text(report)
        return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"

    @admin.display(description="message")
    def message_shown(self, report: Report) -> str:
        return message_text(report)

    @admin.display(description="room")
    def room_link(self, report: Report) -> SafeString:
        url = reverse("admin:meta_room_change", args=[report.room_id])
        return format_html('<a href="{}">{} (#{})</a>', url, report.room.name, report.room_id)

    @admin.display(description="sender")
    def sender_link(self, report: Report) -> SafeString | str:
        return _user_link(report.sender_id, report.sender.username if report.sender else None)

    @admin.display(description="reporter")
    def reporter_link(self, report: Report) -> SafeString | str:
        return _user_link(report.reporter_id, report.reporter.username)

    def _each(
        self, request: HttpRequest, queryset: QuerySet[Report], *, what: str, act: Callable[[Report], str]
    ) -> None:
        self.apply_each(request, queryset.select_related("sender", "room").order_by("id"), what=what, act=act)

    def _run(
        self, request: HttpRequest, queryset: QuerySet[Report], *, what: str, service: Callable[..., Report], done: str
    ) -> None:
        def act(report: Report) -> str:
            service(report_id=report.pk, staff=request.user)
            self.log_change(request, report, done)
            sender = report.sender.username if report.sender else "the sender"
            return f"Report #{report.pk}: {done.format(sender=sender, room=report.room.name)}."

        self._each(request, queryset, what=what, act=act)

    @admin.action(description="Delete the message for everyone", permissions=["change"])
    def delete_message(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        self._run(
            request, queryset, what="delete the message of", service=report_message_delete, done="deleted the message"
        )

    @admin.action(description=f"Mute the sender in the room for {MUTE_HOURS} hours", permissions=["change"])
    def mute_sender(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        done = f"muted {{sender}} in “{{room}}” for {MUTE_HOURS} hours"
        self._run(request, queryset, what="mute the sender of", service=report_sender_mute, done=done)

    @admin.action(description="Remove the sender from the room", permissions=["change"])
    def remove_sender(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        done = "removed {sender} from “{room}”"
        self._run(request, queryset, what="remove the sender of", service=report_sender_remove, done=done)

    @admin.action(description="Ban the sender", permissions=["change"])
    def ban_sender(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        self._run(request, queryset, what="ban the sender of", service=report_sender_ban, done="banned {sender}")

    @admin.action(description="Dismiss (no action needed)", permissions=["change"])
    def dismiss(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        self._run(request, queryset, what="dismiss", service=report_dismiss, done="dismissed")


@admin.register(ModerationAction)
class ModerationActionAdmin(admin.ModelAdmin):
    """The moderation log: every action on a report, newest first. Read only."""

    list_display = ("created_at", "staff", "action", "target", "report_link", "detail")
    list_filter = ("action", ("staff", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("staff", "target", "report")
    search_fields = ("staff__username", "target__username", "detail")
    ordering = ("-created_at", "-id")
    fields = ("created_at", "staff", "action", "target", "report", "detail")
    readonly_fields = fields

    @admin.display(description="report")
    def report_link(self, action: ModerationAction) -> SafeString:
        url = reverse("admin:reports_report_change", args=[action.report_id])
        return format_html('<a href="{}">#{}</a>', url, action.report_id)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
