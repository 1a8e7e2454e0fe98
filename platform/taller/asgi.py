"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import os

from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taller.settings.local")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from taller.live.auth import JWTAuthMiddleware  # noqa: E402
from taller.live.routing import websocket_urlpatterns  # noqa: E402
from taller.web.serving import HttpConcurrencyLimit  # noqa: E402
from taller.web.warmup import warm_up  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": HttpConcurrencyLimit(django_asgi_app, settings.TALLER_HTTP_CONCURRENCY),
        "websocket": AllowedHostsOriginValidator(
            # The session first; a bearer token in the handshake, when sent, overrides it.
            AuthMiddlewareStack(JWTAuthMiddleware(URLRouter(websocket_urlpatterns)))
        ),
    }
)

# Last: what the first requests would pay for, paid now (taller/web/warmup.py).
warm_up()
