"""WebSocket URL routes."""

from django.urls import path

from gateway.consumers import ChatConsumer

websocket_urlpatterns = [path("api/ws", ChatConsumer.as_asgi())]
