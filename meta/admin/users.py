"""Users in the Django admin: banning and unbanning through `meta.services.moderation`; no
deleting (ban them, or clear "active")."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from meta.admin.base import ModerationAdmin
from meta.models import User
from meta.services.moderation import user_ban, user_unban


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
