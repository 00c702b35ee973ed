from django.urls import path

from gateway import pages, views

urlpatterns = [
    path("center/forward", views.ForwardView.as_view()),
    path("api/ws", views.websocket_over_http),
    path("", pages.client_page, name="client"),
]
