"""The WebSocket's handshake: only the site's own origins (scheme, host and port), and
a path that names no submission is refused without an error."""

from __future__ import annotations

import logging

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from taller.asgi import application
from tests.api.world import token_for
from tests.factories import SubmissionFactory

pytestmark = pytest.mark.django_db(transaction=True)


def connect(path: str, origin: str | None, host: str = "testserver:8000", **scope: str) -> bool:
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))

    async def attempt() -> bool:
        communicator = WebsocketCommunicator(application, path, headers=headers)
        communicator.scope.update(scope)
        connected, _code = await communicator.connect(timeout=5)
        await communicator.disconnect()
        return bool(connected)

    return async_to_sync(attempt)()


def as_owner(path: str, origin: str | None, **kwargs: str) -> bool:
    submission = SubmissionFactory()
    token = token_for(submission.student)
    headers_path = path.format(id=submission.pk)
    # The owner's token, so only the origin can decide.
    return _with_token(headers_path, origin, token, **kwargs)


def _with_token(path: str, origin: str | None, token: str, host: str = "testserver:8000") -> bool:
    headers = [(b"host", host.encode()), (b"authorization", f"Bearer {token}".encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))

    async def attempt() -> bool:
        communicator = WebsocketCommunicator(application, path, headers=headers)
        connected, _code = await communicator.connect(timeout=5)
        await communicator.disconnect()
        return bool(connected)

    return async_to_sync(attempt)()


def test_the_sites_own_origin_is_accepted() -> None:
    assert as_owner("/ws/submissions/{id}/", "http://testserver:8000") is True


@pytest.mark.parametrize(
    "origin",
    [
        "http://testserver:9999",  # another port of the same host
        "https://testserver:8000",  # another scheme
        "http://testserver",  # the default port is another port
        "http://evil.example:8000",
        "null",
        None,
    ],
)
def test_any_other_origin_is_refused(origin: str | None) -> None:
    assert as_owner("/ws/submissions/{id}/", origin) is False


def test_configured_origins_are_the_only_ones(settings) -> None:
    settings.TALLER_WEBSOCKET_ORIGINS = ["https://taller.example.org"]
    assert as_owner("/ws/submissions/{id}/", "https://taller.example.org") is True
    assert as_owner("/ws/submissions/{id}/", "https://taller.example.org:443") is True
    assert as_owner("/ws/submissions/{id}/", "http://testserver:8000") is False


def test_csrf_trusted_origins_are_the_sites_too(settings) -> None:
    settings.CSRF_TRUSTED_ORIGINS = ["https://taller.example.org"]
    assert as_owner("/ws/submissions/{id}/", "https://taller.example.org") is True
    assert as_owner("/ws/submissions/{id}/", "https://taller.example.org:8443") is False


def test_a_host_outside_allowed_hosts_has_no_origin_of_its_own() -> None:
    assert as_owner("/ws/submissions/{id}/", "http://evil.example", host="evil.example") is False


@pytest.mark.parametrize(
    "path", ["/ws/nope/", "/ws/submissions/abc/", f"/ws/submissions/{'9' * 30}/", "/"]
)
def test_an_unknown_path_is_a_refused_handshake_not_an_error(
    path: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        assert connect(path, "http://testserver:8000") is False
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_behind_a_load_balancer_that_ends_tls_the_https_origin_is_the_sites() -> None:
    submission = SubmissionFactory()
    token = token_for(submission.student)
    path = f"/ws/submissions/{submission.pk}/"

    def attempt(origin: str, proto: str) -> bool:
        headers = [
            (b"host", b"testserver"),
            (b"x-forwarded-proto", proto.encode()),
            (b"authorization", f"Bearer {token}".encode()),
            (b"origin", origin.encode()),
        ]

        async def run() -> bool:
            communicator = WebsocketCommunicator(application, path, headers=headers)
            connected, _code = await communicator.connect(timeout=5)
            await communicator.disconnect()
            return bool(connected)

        return async_to_sync(run)()

    assert attempt("https://testserver", "https") is True
    assert attempt("http://testserver", "https") is False
