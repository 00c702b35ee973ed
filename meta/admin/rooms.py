"""Rooms in the Django admin: settings through `room_update`, deleting through `room_delete`,
with a confirmation page that counts what goes with a room instead of listing it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.contrib import admin
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.db import models
from django.db.models import Count, QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from meta.admin.base import ModerationAdmin, room_label
from meta.models import Membership, Room
from meta.services.moderation import room_delete, room_update

# The room page lists this many members; the Memberships page, filtered by room, has them all.
ROOM_PAGE_MEMBERS = 100


class FirstMembersFormSet(BaseInlineFormSet):
    """The room's first `ROOM_PAGE_MEMBERS` memberships, so a huge room's page stays small."""

    def get_queryset(self) -> QuerySet[Membership]:
        if not hasattr(self, "_first_members"):
            first_ids = list(super().get_queryset().values_list("pk", flat=True)[:ROOM_PAGE_MEMBERS])
            self._first_members = super().get_queryset().filter(pk__in=first_ids)
        return self._first_members


class MembershipInline(admin.TabularInline):
    """Read-only: roles, mutes and removals are changed on the Memberships page, through the
    services."""

    model = Membership
    formset = FirstMembersFormSet
    fields = ("user", "role", "nickname", "muted_until", "joined_at")
    readonly_fields = fields
    ordering = ("role", "joined_at", "user_id")
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = f"members (owner first; the first {ROOM_PAGE_MEMBERS} — all of them under Memberships)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        return super().get_queryset(request).select_related("user")

    def has_add_permission(self, request: HttpRequest, obj: Room | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Room | None = None) -> bool:
        return False


def _cascade_counts(room_ids: Sequence[int]) -> dict[int, list[tuple[models.Options, int]]]:
    """Per room, how many rows of each model deleting it takes along (memberships, join
    requests, messages, ...), one COUNT per model: listing them one by one, as the admin does
    by default, would load every message of the room."""
    counts: dict[int, list[tuple[models.Options, int]]] = defaultdict(list)
    for relation in Room._meta.related_objects:
        if relation.on_delete is not models.CASCADE or not relation.one_to_many:
            continue
        fk = relation.field.name
        related = relation.related_model
        per_room = dict(
            related._default_manager.filter(**{f"{fk}__in": room_ids})
            .order_by()
            .values_list(fk)
            .annotate(n=Count("pk"))
            .values_list(fk, "n")
        )
        for room_id in room_ids:
            counts[room_id].append((related._meta, per_room.get(room_id, 0)))
    return counts


@admin.register(Room)
class RoomAdmin(ModerationAdmin):
    list_display = ("id", "name", "is_group", "join_policy", "member_count", "last_seq", "created_at")
    list_display_links = ("id", "name")
    list_filter = ("is_group", "join_policy", "announcement_only", "history_visible")
    search_fields = ("name", "id__exact")
    ordering = ("-id",)
    fields = (
        "name",
        "join_policy",
        "announcement_only",
        "history_visible",
        "is_group",
        "creator",
        "last_seq",
        "created_at",
    )
    readonly_fields = ("is_group", "creator", "last_seq", "created_at")
    inlines = (MembershipInline,)
    actions = ["delete_selected"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Room]:
        return super().get_queryset(request).annotate(member_count=Count("memberships"))

    @admin.display(description="members", ordering="member_count")
    def member_count(self, room: Room) -> SafeString:
        url = reverse("admin:meta_membership_changelist")
        count: int = room.member_count  # type: ignore[attr-defined]
        return format_html('<a href="{}?room__id__exact={}">{}</a>', url, room.pk, count)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A room needs an owner: users create rooms through the API.
        return False

    def save_model(self, request: HttpRequest, obj: Room, form: ModelForm, change: bool) -> None:
        if {"name", "join_policy", "announcement_only", "history_visible"} & set(form.changed_data):
            room_update(
                room_id=obj.pk,
                name=obj.name,
                join_policy=obj.join_policy,
                announcement_only=obj.announcement_only,
                history_visible=obj.history_visible,
            )

    def delete_model(self, request: HttpRequest, obj: Room) -> None:
        room_delete(room_id=obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Room]) -> None:
        for room_id in queryset.values_list("pk", flat=True):
            room_delete(room_id=room_id)

    def get_deleted_objects(
        self, objs: Sequence[Room] | QuerySet[Room], request: HttpRequest
    ) -> tuple[list[Any], dict[str, int], set[str], list[Any]]:
        rooms = list(objs)
        counts = _cascade_counts([room.pk for room in rooms])
        nested: list[Any] = []
        totals: dict[str, int] = {str(Room._meta.verbose_name_plural): len(rooms)}
        for room in rooms:
            url = reverse("admin:meta_room_change", args=[room.pk])
            nested.append(format_html('Room: <a href="{}">{}</a>', url, room))
            nested.append(
                [f"{n} {opts.verbose_name if n == 1 else opts.verbose_name_plural}" for opts, n in counts[room.pk]]
            )
            for opts, n in counts[room.pk]:
                name = str(opts.verbose_name_plural)
                totals[name] = totals.get(name, 0) + n
        return nested, totals, set(), []

    @admin.action(description="Delete selected rooms", permissions=["delete"])
    def delete_selected(self, request: HttpRequest, queryset: QuerySet[Room]) -> HttpResponse | None:
        if not request.POST.get("post"):
            return django_delete_selected(self, request, queryset)  # the confirmation page

        def delete(room: Room) -> str:
            self.log_deletions(request, [room])
            room_delete(room_id=room.pk)
            return f"Deleted room {room_label(room.pk, room.name)} with its members, join requests and messages."

        self.apply_each(request, queryset.order_by("pk"), what="delete", act=delete)
        return None

    def label(self, obj: Room) -> str:
        return f"room {room_label(obj.pk, obj.name)}"
