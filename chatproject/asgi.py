"""ASGI entry point: HTTP through Django, WebSocket through Channels."""

import os

from chatproject.asgi_handler import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatproject.settings")

# Django must be set up before anything imports models. One thread hop per request: see
# chatproject.asgi_handler.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from chatproject.http_limits import BodyLimitMiddleware  # noqa: E402
from gateway.routing import websocket_urlpatterns  # noqa: E402
from runtime.lifecycle import RegistryLifecycleMiddleware  # noqa: E402

# The lifecycle wrapper registers this process in the registry and keeps it alive. Request
# bodies over the limit are refused before Django reads them.
application = RegistryLifecycleMiddleware(
    ProtocolTypeRouter(
        {
            "http": BodyLimitMiddleware(django_asgi_app),
            "websocket": URLRouter(websocket_urlpatterns),
        }
    )
)
