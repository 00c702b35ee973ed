"""The Django admin for messages: each message with its updates (edits, deletes, reactions,
pins: who, when), and "Delete for everyone" for staff, through the same service as the API
(`send.updates.message_delete`), so a deleted message's content is erased, not hidden, and no
page here shows it again. Messages are never added, changed or removed as rows here.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from meta.admin import ModerationAdmin
from send.models import Message, MessageUpdate
from send.updates import message_delete

PREVIEW_CHARS = 80


class DeletedFilter(admin.SimpleListFilter):
    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "deleted for everyone"), ("no", "not deleted")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Message]) -> QuerySet[Message]:
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        return queryset


class MessageUpdateInline(admin.TabularInline):
    """The message's updates in seq order: what, who, when; an edit also shows the content it
    replaced (erased when the message is deleted)."""

    model = MessageUpdate
    fields = ("seq", "event", "who", "created_at", "details", "previous_content")
    readonly_fields = fields
    ordering = ("seq",)
    extra = 0
    can_delete = False
    verbose_name = "update"
    verbose_name_plural = "updates (edits, deletes, reactions, pins), oldest first"

    def get_queryset(self, request: HttpRequest) -> QuerySet[MessageUpdate]:
        return super().get_queryset(request).select_related("actor")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="by")
    def who(self, update: MessageUpdate) -> str:
        name = update.actor.username if update.actor is not None else "a deleted user"
        return f"staff: {name}" if update.by_staff else name

    @admin.display(description="details")
    def details(self, update: MessageUpdate) -> str:
        payload = update.payload
        if update.event == "reaction":
            return f"{payload.get('key')} {'added' if payload.get('on') else 'removed'}"
        if update.event == "pin":
            return "pinned" if payload.get("pinned") else "unpinned"
        return ""


@admin.register(Message)
class MessageAdmin(ModerationAdmin):
    list_display = ("id", "room", "sender", "seq", "preview", "created_at", "edited_at", "deleted_at", "pinned")
    list_display_links = ("id", "preview")
    list_filter = (DeletedFilter,)
    list_select_related = ("room", "sender")
    search_fields = ("=id", "room__name", "sender__username")
    ordering = ("-id",)
    fields = (
        "room",
        "sender",
        "seq",
        "client_msg_id",
        "content",
        "reply_to",
        "mention_all",
        "created_at",
        "edited_at",
        "deleted_at",
        "pinned",
    )
    readonly_fields = fields
    inlines = (MessageUpdateInline,)
    actions = ["delete_for_everyone"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # users send messages through the API

    def has_change_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False  # a message is read here; deleting is the action below

    def has_delete_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False  # never as a row: "Delete for everyone" keeps its place in the timeline

    def has_erase_permission(self, request: HttpRequest) -> bool:
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.delete_{opts.model_name}")

    def label(self, obj: Message) -> str:
        return f"message #{obj.pk} (room #{obj.room_id}, seq {obj.seq})"

    @admin.display(description="content")
    def preview(self, message: Message) -> str:
        if message.deleted:
            return "(deleted)"
        content = message.content or {}
        if content.get("type") == "text":
            text = content.get("text", "")
            return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"
        return f"({content.get('type', '?')}) {content.get('file_name') or content.get('url', '')}"

    @admin.display(boolean=True, description="pinned")
    def pinned(self, message: Message) -> bool:
        return message.pinned_seq is not None

    @admin.action(description="Delete for everyone (erases the content)", permissions=["erase"])
    def delete_for_everyone(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        def erase(message: Message) -> str:
            result = message_delete(actor=None, message_id=message.pk, moderator=request.user)
            if result.seq is None:
                return f"{self.label(message)} was deleted already."
            self.log_change(request, message, "Deleted for everyone")
            return f"Deleted {self.label(message)} for everyone: its content is erased."

        self.apply_each(request, queryset.order_by("pk"), what="delete", act=erase)
