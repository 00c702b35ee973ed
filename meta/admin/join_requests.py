"""Join requests in the Django admin: approving or rejecting pending ones, through
`join_request_respond`."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import HttpRequest

from meta.admin.base import ModerationAdmin, room_label
from meta.models import JoinRequest, JoinRequestStatus
from meta.services import join_request_respond


@admin.register(JoinRequest)
class JoinRequestAdmin(ModerationAdmin):
    list_display = ("id", "user", "room", "status", "message", "created_at", "handled_by", "handled_at")
    list_filter = ("status", ("room", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("user", "room", "handled_by")
    search_fields = ("user__username", "room__name")
    fields = ("room", "user", "message", "status", "created_at", "handled_by", "handled_at")
    readonly_fields = fields
    actions = ["approve", "reject"]

    def get_ordering(self, request: HttpRequest) -> list[Any]:
        pending_first = Case(
            When(status=JoinRequestStatus.PENDING, then=Value(0)), default=Value(1), output_field=IntegerField()
        )
        return [pending_first.asc(), "id"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # users file requests through the API

    def has_change_permission(self, request: HttpRequest, obj: JoinRequest | None = None) -> bool:
        return False  # answered through the actions only

    def has_answer_permission(self, request: HttpRequest) -> bool:
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    def label(self, obj: JoinRequest) -> str:
        return f"request #{obj.pk} ({obj.user.username} → {room_label(obj.room_id, obj.room.name)})"

    def _answer(self, request: HttpRequest, queryset: QuerySet[JoinRequest], *, approve: bool) -> None:
        def answer(join_request: JoinRequest) -> str:
            answered = join_request_respond(actor=None, request_id=join_request.pk, approve=approve)
            self.log_change(request, answered, answered.status.capitalize())
            if approve:
                return f"Approved {self.label(join_request)}: {join_request.user.username} is now a member."
            return f"Rejected {self.label(join_request)}."

        requests = queryset.select_related("user", "room").order_by("id")
        self.apply_each(request, requests, what="approve" if approve else "reject", act=answer)

    @admin.action(description="Approve", permissions=["answer"])
    def approve(self, request: HttpRequest, queryset: QuerySet[JoinRequest]) -> None:
        self._answer(request, queryset, approve=True)

    @admin.action(description="Reject", permissions=["answer"])
    def reject(self, request: HttpRequest, queryset: QuerySet[JoinRequest]) -> None:
        self._answer(request, queryset, approve=False)
