"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import os

import django
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taller.settings.local")
django.setup(set_prefix=False)

from taller.web.serving import http_application  # noqa: E402

django_asgi_app = http_application(settings.TALLER_HTTP_CONCURRENCY)

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from taller.live.auth import JWTAuthMiddleware  # noqa: E402
from taller.live.routing import websocket_urlpatterns  # noqa: E402
from taller.live.security import SiteOriginValidator  # noqa: E402
from taller.web.warmup import warm_up  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": SiteOriginValidator(
            # The session first; a bearer token in the handshake, when sent, overrides it.
            AuthMiddlewareStack(JWTAuthMiddleware(URLRouter(websocket_urlpatterns)))
        ),
    }
)

# Last: what the first requests would pay for, paid now (taller/web/warmup.py); under
# gunicorn, once, before it forks the web processes (taller/web/gunicorn_conf.py).
warm_up()
