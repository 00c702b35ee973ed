"""Memberships in the Django admin: adding, removing, roles, nicknames and mutes, each through
its service."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils import timezone

from meta.admin.base import ModerationAdmin, room_label
from meta.models import Membership, Role
from meta.services import member_add, member_nickname_change, member_remove, member_role_change
from meta.services.moderation import member_mute, member_unmute


class MutedFilter(admin.SimpleListFilter):
    title = "muted"
    parameter_name = "muted"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "muted now"), ("no", "not muted")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Membership]) -> QuerySet[Membership]:
        now = timezone.now()
        if self.value() == "yes":
            return queryset.filter(muted_until__gt=now)
        if self.value() == "no":
            return queryset.exclude(muted_until__gt=now)
        return queryset


@admin.register(Membership)
class MembershipAdmin(ModerationAdmin):
    list_display = ("user", "room", "role", "nickname", "muted_until", "joined_at")
    list_filter = ("role", MutedFilter)
    list_select_related = ("user", "room")
    search_fields = ("room__name", "user__username")
    autocomplete_fields = ("room", "user")
    ordering = ("room_id", "role", "joined_at")
    actions = ["remove_from_room", "make_admin", "make_member", "make_owner", "mute_1h", "mute_24h", "unmute"]

    def get_fields(self, request: HttpRequest, obj: Membership | None = None) -> list[str]:
        if obj is None:
            return ["room", "user"]  # a new member always starts with role 2
        return ["room", "user", "role", "nickname", "muted_until", "joined_at", "joined_seq", "acked_seq"]

    def get_readonly_fields(self, request: HttpRequest, obj: Membership | None = None) -> list[str]:
        if obj is None:
            return []
        return ["room", "user", "joined_at", "joined_seq", "acked_seq"]

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        found = super().get_actions(request)
        found.pop("delete_selected", None)  # "Remove from room" goes through member_remove
        return found

    def label(self, obj: Membership) -> str:
        return f"{obj.user.username} in {room_label(obj.room_id, obj.room.name)}"

    def save_model(self, request: HttpRequest, obj: Membership, form: ModelForm, change: bool) -> None:
        if not change:
            added = member_add(actor=None, room_id=obj.room_id, user_id=obj.user_id)
            obj.pk = added.pk
            obj.refresh_from_db()
            obj._state.adding = False
            return
        changed = set(form.changed_data)
        if "role" in changed:
            member_role_change(actor=None, room_id=obj.room_id, target_user_id=obj.user_id, new_role=obj.role)
        if "muted_until" in changed:
            if obj.muted_until is None:
                member_unmute(room_id=obj.room_id, user_id=obj.user_id)
            else:
                member_mute(room_id=obj.room_id, user_id=obj.user_id, until=obj.muted_until)
        if "nickname" in changed:
            # The room nickname is the member's own: staff set it on the member's behalf.
            member_nickname_change(actor=obj.user, room_id=obj.room_id, nickname=obj.nickname)
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        member_remove(actor=None, room_id=obj.room_id, target_user_id=obj.user_id)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        for room_id, user_id in queryset.values_list("room_id", "user_id"):
            member_remove(actor=None, room_id=room_id, target_user_id=user_id)

    def _each(
        self, request: HttpRequest, queryset: QuerySet[Membership], *, what: str, act: Callable[[Membership], str]
    ) -> None:
        memberships = queryset.select_related("user", "room").order_by("room_id", "role", "user__username")
        self.apply_each(request, memberships, what=what, act=act)

    @admin.action(description="Remove from room", permissions=["delete"])
    def remove_from_room(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        def remove(m: Membership) -> str:
            self.log_deletions(request, [m])
            member_remove(actor=None, room_id=m.room_id, target_user_id=m.user_id)
            return f"Removed {m.user.username} from {room_label(m.room_id, m.room.name)}."

        self._each(request, queryset, what="remove", act=remove)

    def _role_action(self, request: HttpRequest, queryset: QuerySet[Membership], role: Role) -> None:
        def change(m: Membership) -> str:
            member_role_change(actor=None, room_id=m.room_id, target_user_id=m.user_id, new_role=role)
            self.log_change(request, m, f"Made {role.label}")
            return f"{m.user.username} is now {role.label} of {room_label(m.room_id, m.room.name)}."

        self._each(request, queryset, what=f"make {role.label}", act=change)

    @admin.action(description="Make admin", permissions=["change"])
    def make_admin(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        self._role_action(request, queryset, Role.ADMIN)

    @admin.action(description="Make member", permissions=["change"])
    def make_member(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        self._role_action(request, queryset, Role.MEMBER)

    @admin.action(description="Make owner (hand ownership on)", permissions=["change"])
    def make_owner(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        per_room = dict(queryset.order_by().values_list("room_id").annotate(n=Count("pk")).values_list("room_id", "n"))
        crowded = sorted(room_id for room_id, n in per_room.items() if n > 1)
        if crowded:
            rooms = ", ".join(f"#{room_id}" for room_id in crowded)
            self.message_user(
                request,
                f"Nothing was changed: a room has one owner, so select one member per room (several in {rooms}).",
                messages.ERROR,
            )
            return
        self._role_action(request, queryset, Role.OWNER)

    def _mute_action(self, request: HttpRequest, queryset: QuerySet[Membership], hours: int) -> None:
        until = timezone.now() + timedelta(hours=hours)

        def mute(m: Membership) -> str:
            member_mute(room_id=m.room_id, user_id=m.user_id, until=until)
            self.log_change(request, m, f"Muted until {until.isoformat()}")
            return f"Muted {m.user.username} in {room_label(m.room_id, m.room.name)} until {until:%Y-%m-%d %H:%M} UTC."

        self._each(request, queryset, what="mute", act=mute)

    @admin.action(description="Mute for 1 hour", permissions=["change"])
    def mute_1h(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        self._mute_action(request, queryset, 1)

    @admin.action(description="Mute for 24 hours", permissions=["change"])
    def mute_24h(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        self._mute_action(request, queryset, 24)

    @admin.action(description="Unmute", permissions=["change"])
    def unmute(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        def unmute(m: Membership) -> str:
            member_unmute(room_id=m.room_id, user_id=m.user_id)
            self.log_change(request, m, "Unmuted")
            return f"Unmuted {m.user.username} in {room_label(m.room_id, m.room.name)}."

        self._each(request, queryset, what="unmute", act=unmute)
