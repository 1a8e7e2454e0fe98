"""Who may open a WebSocket: pages of the site's own origin, nothing else.

Channels' AllowedHostsOriginValidator compares only the Origin's host with
ALLOWED_HOSTS: a page served from another port of the same host (another user's dev
server, any service on that machine) could open a student's live results with their
cookie. Here the Origin must be exactly one of the site's origins (scheme, host and
port): those listed in TALLER_WEBSOCKET_ORIGINS when set; otherwise the origin the
handshake itself came to (its Host header, in ALLOWED_HOSTS, over the same scheme) and
those in CSRF_TRUSTED_ORIGINS, the ones forms may post from.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

Origin = tuple[str, str, int]
DEFAULT_PORTS = {"http": 80, "https": 443}


def parse_origin(value: str) -> Origin | None:
    """(scheme, host, port) of an origin, the default port made explicit; None if it is
    not an http(s) origin."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/"):
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _secure(scope: dict[str, Any]) -> bool:
    """Whether the browser reached the site over TLS. The server may put no scheme in a
    WebSocket's scope (Daphne did not), or `ws` where a load balancer ended TLS (uvicorn,
    unless it trusts the balancer's address, FORWARDED_ALLOW_IPS); its X-Forwarded-Proto says.
    A page cannot set that header on a WebSocket handshake, so it cannot lie with it."""
    if scope.get("scheme") in ("wss", "https"):
        return True
    forwarded = _header(scope, b"x-forwarded-proto") or ""
    return forwarded.split(",")[0].strip().lower() == "https"


def site_origins(scope: dict[str, Any]) -> set[Origin]:
    configured = getattr(settings, "TALLER_WEBSOCKET_ORIGINS", [])
    if configured:
        return {o for o in map(parse_origin, configured) if o}
    origins = {o for o in map(parse_origin, settings.CSRF_TRUSTED_ORIGINS) if o}
    host = _header(scope, b"host")
    if host:
        domain, _port = split_domain_port(host)
        if domain and validate_host(domain, settings.ALLOWED_HOSTS):
            scheme = "https" if _secure(scope) else "http"
            own = parse_origin(f"{scheme}://{host}")
            if own:
                origins.add(own)
    return origins


class SiteOriginValidator:
    """Refuses the handshake (403) unless its Origin is one of the site's origins."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] != "websocket":
            raise ValueError("SiteOriginValidator only guards WebSocket connections")
        origin = _header(scope, b"origin")
        parsed = parse_origin(origin) if origin else None
        if parsed is not None and parsed in site_origins(scope):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
