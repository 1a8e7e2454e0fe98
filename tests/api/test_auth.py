"""Tokens: obtain, expiry, refresh with rotation, verify, logout (blacklist); and the
WebSocket handshake authenticated with a bearer token."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from taller.asgi import application
from tests.api.world import token_for
from tests.factories import PASSWORD, SubmissionFactory, UserFactory

pytestmark = pytest.mark.django_db


def obtain(client: APIClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post(
        "/api/v1/auth/token/", {"username": username, "password": password}, format="json"
    )
    assert response.status_code == 200, response.content
    return dict(response.json())


def test_a_token_pair_opens_the_api() -> None:
    UserFactory(username="ana")
    client = APIClient()
    tokens = obtain(client, "ana")
    assert set(tokens) == {"access", "refresh"}
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert client.get("/api/v1/me/").json()["username"] == "ana"


def test_wrong_credentials_get_no_token() -> None:
    UserFactory(username="ana")
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "ana", "password": "otra"}, format="json"
    )
    assert response.status_code == 401
    assert "access" not in response.json()


def test_an_expired_access_token_is_refused() -> None:
    user = UserFactory()
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=-timedelta(seconds=1))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_a_garbled_token_is_refused_not_an_error() -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer no.es.un.token")
    assert client.get("/api/v1/me/").status_code == 401


def test_refresh_rotates_and_the_old_refresh_token_stops_working() -> None:
    UserFactory(username="ana")
    client = APIClient()
    first = obtain(client, "ana")
    response = client.post("/api/v1/auth/token/refresh/", {"refresh": first["refresh"]})
    assert response.status_code == 200
    second = response.json()
    assert second["refresh"] != first["refresh"] and second["access"]
    # The rotated-out refresh token is on the blacklist.
    again = client.post("/api/v1/auth/token/refresh/", {"refresh": first["refresh"]})
    assert again.status_code == 401
    latest = client.post("/api/v1/auth/token/refresh/", {"refresh": second["refresh"]})
    assert latest.status_code == 200


def test_verify_tells_valid_from_invalid_tokens() -> None:
    user = UserFactory()
    client = APIClient()
    assert client.post("/api/v1/auth/token/verify/", {"token": token_for(user)}).status_code == 200
    assert client.post("/api/v1/auth/token/verify/", {"token": "x"}).status_code == 401


def test_logout_blacklists_the_refresh_token() -> None:
    UserFactory(username="ana")
    client = APIClient()
    tokens = obtain(client, "ana")
    assert client.post("/api/v1/auth/logout/", {"refresh": tokens["refresh"]}).status_code == 200
    response = client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]})
    assert response.status_code == 401


# --- the WebSocket handshake -------------------------------------------------------------


async def _connect(submission_id: int, headers: list[tuple[bytes, bytes]]) -> tuple[bool, int]:
    communicator = WebsocketCommunicator(
        application,
        f"/ws/submissions/{submission_id}/",
        headers=[(b"origin", b"http://testserver"), (b"host", b"testserver"), *headers],
    )
    connected, code = await communicator.connect(timeout=5)
    if connected:
        snapshot = await communicator.receive_json_from(timeout=5)
        assert snapshot["type"] == "snapshot" and snapshot["id"] == submission_id
    await communicator.disconnect()
    return connected, code


@pytest.mark.django_db(transaction=True)
def test_the_websocket_accepts_the_owners_bearer_token_only() -> None:
    submission = SubmissionFactory()
    expired = AccessToken.for_user(submission.student)
    expired.set_exp(lifetime=-timedelta(seconds=1))

    def connect(token: str | None) -> bool:
        headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
        return async_to_sync(_connect)(submission.pk, headers)[0]

    assert connect(token_for(submission.student)) is True
    assert connect(token_for(UserFactory())) is False
    assert connect(str(expired)) is False
    assert connect("basura") is False
    assert connect(None) is False


@pytest.mark.parametrize(
    "body",
    [
        {"username": "a" * 100_000, "password": "x"},
        {"username": "ana", "password": "x" * 10_000},
        {"username": "a\x00b", "password": "x"},
        {"username": 5, "password": ["x"]},
    ],
)
def test_odd_credentials_are_refused_not_errors(body: dict[str, object]) -> None:
    assert APIClient().post("/api/v1/auth/token/", body).status_code in (400, 401)
