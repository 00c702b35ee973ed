"""The Django admin for moderating users, rooms, memberships and join requests.

Every write goes through a service (`meta.services` with `actor=None`, or
`meta.services.moderation`), so staff are bound by the rules the API enforces: one owner per
room, the owner is never removed, answered join requests stay answered. A rule refusing a
change shows as an error message on the page, never as a server error. Users cannot be
deleted here (ban them, or clear "active"): deleting one would leave their groups without an
owner.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any, TypeVar

from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.admin.utils import quote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import models, transaction
from django.db.models import Case, Count, IntegerField, QuerySet, Value, When
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from chatproject.exceptions import ApplicationError
from meta.admin_login import LockoutAdminAuthenticationForm
from meta.models import JoinRequest, JoinRequestStatus, Membership, Role, Room, User
from meta.services import (
    join_request_respond,
    member_add,
    member_nickname_change,
    member_remove,
    member_role_change,
)
from meta.services.moderation import member_mute, member_unmute, room_delete, room_update, user_ban, user_unban

# Failed logins lock the address and the account out, as on /login.
admin.site.login_form = LockoutAdminAuthenticationForm

M = TypeVar("M", bound=models.Model)

# The room page lists this many members; the Memberships page, filtered by room, has them all.
ROOM_PAGE_MEMBERS = 100


class ModerationAdmin(admin.ModelAdmin):
    """Shows a service's refusal as an error message, and runs actions item by item."""

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # The admin runs a POST of this view in one transaction: a refusal rolls all of it back.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ApplicationError as error:
            self.message_user(request, f"Nothing was saved: {error.msg}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)
        except ApplicationError as error:
            self.message_user(request, f"Nothing was deleted: {error.msg}", messages.ERROR)
            opts = self.opts
            return HttpResponseRedirect(
                reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[quote(object_id)])
            )

    def label(self, obj: Any) -> str:
        return str(obj)

    def apply_each(self, request: HttpRequest, items: Iterable[M], *, what: str, act: Callable[[M], str]) -> None:
        """Run `act` on each item in a transaction of its own and report each outcome: `act`
        returns the success message; an ApplicationError undoes that item only and is shown as
        "Could not <what> <item>: <reason>"."""
        for item in items:
            try:
                with transaction.atomic():
                    done = act(item)
            except ApplicationError as error:
                self.message_user(request, f"Could not {what} {self.label(item)}: {error.msg}", messages.ERROR)
            else:
                self.message_user(request, done, messages.SUCCESS)


def _room_label(room_id: int, name: str) -> str:
    return f"“{name}” (#{room_id})"


# --- Users ----------------------------------------------------------------------------------


@admin.register(User)
class UserAdmin(ModerationAdmin, DjangoUserAdmin):
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        ("Chat", {"fields": ("nickname", "is_banned")}),
    )
    list_display = ("username", "nickname", "email", "is_banned", "is_staff", "date_joined")
    list_filter = ("is_banned", "is_staff", "is_superuser", "is_active")
    search_fields = ("username", "nickname")
    ordering = ("username",)
    actions = ["ban_users", "unban_users"]

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: User, form: ModelForm, change: bool) -> None:
        if not (change and "is_banned" in form.changed_data):
            super().save_model(request, obj, form, change)
            return
        wanted = obj.is_banned
        obj.is_banned = not wanted
        super().save_model(request, obj, form, change)
        (user_ban if wanted else user_unban)(user_id=obj.pk)
        obj.is_banned = wanted

    @admin.action(description="Ban selected users", permissions=["change"])
    def ban_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        def ban(user: User) -> str:
            user_ban(user_id=user.pk)
            self.log_change(request, user, "Banned")
            return f"Banned {user.username}: their tokens are refused from their next request."

        self.apply_each(request, queryset.order_by("username"), what="ban", act=ban)

    @admin.action(description="Unban selected users", permissions=["change"])
    def unban_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        def unban(user: User) -> str:
            user_unban(user_id=user.pk)
            self.log_change(request, user, "Unbanned")
            return f"Unbanned {user.username}."

        self.apply_each(request, queryset.order_by("username"), what="unban", act=unban)


# --- Rooms ----------------------------------------------------------------------------------


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
            return f"Deleted room {_room_label(room.pk, room.name)} with its members, join requests and messages."

        self.apply_each(request, queryset.order_by("pk"), what="delete", act=delete)
        return None

    def label(self, obj: Room) -> str:
        return f"room {_room_label(obj.pk, obj.name)}"


# --- Memberships ----------------------------------------------------------------------------


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
        return f"{obj.user.username} in {_room_label(obj.room_id, obj.room.name)}"

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
            return f"Removed {m.user.username} from {_room_label(m.room_id, m.room.name)}."

        self._each(request, queryset, what="remove", act=remove)

    def _role_action(self, request: HttpRequest, queryset: QuerySet[Membership], role: Role) -> None:
        def change(m: Membership) -> str:
            member_role_change(actor=None, room_id=m.room_id, target_user_id=m.user_id, new_role=role)
            self.log_change(request, m, f"Made {role.label}")
            return f"{m.user.username} is now {role.label} of {_room_label(m.room_id, m.room.name)}."

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
            return f"Muted {m.user.username} in {_room_label(m.room_id, m.room.name)} until {until:%Y-%m-%d %H:%M} UTC."

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
            return f"Unmuted {m.user.username} in {_room_label(m.room_id, m.room.name)}."

        self._each(request, queryset, what="unmute", act=unmute)


# --- Join requests --------------------------------------------------------------------------


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
        return f"request #{obj.pk} ({obj.user.username} → {_room_label(obj.room_id, obj.room.name)})"

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
