"""Routes of the registry (API.md §4)."""

from django.urls import path, re_path

from registry.views import health, instances, routes

_ID = r"(?P<{}>[A-Za-z0-9._-]{{1,64}})"

urlpatterns = [
    path("registry/gateway/register", instances.GatewayRegisterView.as_view()),
    path("registry/gateway/heartbeat", instances.GatewayHeartbeatView.as_view()),
    path("registry/gateway/instances", instances.GatewayListView.as_view()),
    path("registry/gateway/available", routes.GatewayAvailableView.as_view()),
    re_path(rf"^registry/gateway/{_ID.format('gateway_id')}$", instances.GatewayDeleteView.as_view()),
    path("registry/send/register", instances.SendRegisterView.as_view()),
    path("registry/send/heartbeat", instances.SendHeartbeatView.as_view()),
    path("registry/send/instances", instances.SendListView.as_view()),
    path("registry/send/available", routes.SendAvailableView.as_view()),
    re_path(rf"^registry/send/{_ID.format('instance_id')}$", instances.SendDeleteView.as_view()),
    path("registry/user/connect", routes.UserConnectView.as_view()),
    path("registry/user/disconnect", routes.UserDisconnectView.as_view()),
    path("registry/user/routes/batch", routes.RoutesBatchView.as_view()),
    path("health", health.health),
]
