"""A cheap operator's view of the registry. Heartbeats write these records, so the admin
only reads them; deleting an instance (and its routes) is allowed, as DELETE is over HTTP."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from registry import clock
from registry.models import GatewayInstance, SendInstance, UserConnection, UserLease
from registry.selectors import live_cutoff


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class AliveFilter(admin.SimpleListFilter):
    title = "alive"
    parameter_name = "alive"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "alive"), ("no", "dead")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        cutoff = live_cutoff()
        if self.value() == "yes":
            return queryset.filter(last_heartbeat__gt=cutoff)
        if self.value() == "no":
            return queryset.filter(last_heartbeat__lte=cutoff)
        return queryset


def _alive(obj: GatewayInstance | SendInstance) -> bool:
    return obj.last_heartbeat > live_cutoff(now=clock.now())


@admin.register(GatewayInstance)
class GatewayInstanceAdmin(ReadOnlyAdmin):
    list_display = [
        "gateway_id",
        "alive",
        "address",
        "port",
        "load",
        "connected_users",
        "routes",
        "capacity",
        "last_heartbeat",
        "registered_at",
    ]
    list_filter = [AliveFilter]
    search_fields = ["gateway_id", "address"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[GatewayInstance]:
        return super().get_queryset(request).annotate(route_count=Count("connections"))

    @admin.display(boolean=True)
    def alive(self, obj: GatewayInstance) -> bool:
        return _alive(obj)

    @admin.display(description="routes", ordering="route_count")
    def routes(self, obj: GatewayInstance) -> int:
        return obj.route_count  # type: ignore[attr-defined]


@admin.register(SendInstance)
class SendInstanceAdmin(ReadOnlyAdmin):
    list_display = ["instance_id", "alive", "url", "last_heartbeat", "registered_at"]
    list_filter = [AliveFilter]
    search_fields = ["instance_id", "address"]

    @admin.display(boolean=True)
    def alive(self, obj: SendInstance) -> bool:
        return _alive(obj)


@admin.register(UserConnection)
class UserConnectionAdmin(ReadOnlyAdmin):
    list_display = ["user_id", "gateway", "connection_id", "connected_at"]
    list_filter = ["gateway"]
    search_fields = ["=user_id", "connection_id"]
    list_select_related = ["gateway"]


@admin.register(UserLease)
class UserLeaseAdmin(ReadOnlyAdmin):
    list_display = ["user_id", "gateway_id", "disconnected_at"]
    search_fields = ["=user_id", "gateway_id"]
