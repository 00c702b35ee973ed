"""Routes of the registry (API.md §4)."""

from django.urls import path, re_path

from registry import views

_ID = r"(?P<{}>[A-Za-z0-9._-]{{1,64}})"

urlpatterns = [
    path("registry/gateway/register", views.GatewayRegisterView.as_view()),
    path("registry/gateway/heartbeat", views.GatewayHeartbeatView.as_view()),
    path("registry/gateway/instances", views.GatewayListView.as_view()),
    path("registry/gateway/available", views.GatewayAvailableView.as_view()),
    re_path(rf"^registry/gateway/{_ID.format('gateway_id')}$", views.GatewayDeleteView.as_view()),
    path("registry/send/register", views.SendRegisterView.as_view()),
    path("registry/send/heartbeat", views.SendHeartbeatView.as_view()),
    path("registry/send/instances", views.SendListView.as_view()),
    path("registry/send/available", views.SendAvailableView.as_view()),
    re_path(rf"^registry/send/{_ID.format('instance_id')}$", views.SendDeleteView.as_view()),
    path("registry/user/connect", views.UserConnectView.as_view()),
    path("registry/user/disconnect", views.UserDisconnectView.as_view()),
    path("registry/user/routes/batch", views.RoutesBatchView.as_view()),
    path("health", views.health),
]
