"""Token authentication for the WebSocket handshake, for clients without a session.

The terminal client sends `Authorization: Bearer <access>` with the handshake (browsers
cannot set headers on a WebSocket; they keep using the session cookie). A token, when
present, decides who the user is: an invalid or expired one makes the connection
anonymous (the consumer then refuses it) rather than falling back to a session.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.contrib.auth.models import AnonymousUser
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken, TokenError


def bearer_token(scope: dict[str, Any]) -> str | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"authorization":
            kind, _, token = value.decode("latin-1").partition(" ")
            if kind.lower() == "bearer" and token.strip():
                return token.strip()
    return None


@database_sync_to_async
def user_for_token(raw: str) -> Any:
    auth = JWTAuthentication()
    try:
        return auth.get_user(auth.get_validated_token(raw.encode()))
    except (InvalidToken, AuthenticationFailed, TokenError):
        return AnonymousUser()


class JWTAuthMiddleware(BaseMiddleware):
    """Put the token's user in the scope; without a token, leave the session's user."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        token = bearer_token(scope)
        if token is not None:
            scope = {**scope, "user": await user_for_token(token)}
        return await super().__call__(scope, receive, send)
