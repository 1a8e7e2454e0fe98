"""Request ids and health checks as a load balancer and a log reader meet them."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from django.test import Client

from taller.observability import ContextFilter, JsonFormatter

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The access log as production writes it: the ids filter and the JSON formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("taller.request")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(logging.NOTSET)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_the_load_balancers_request_id_is_echoed_and_logged(
    client: Client, json_log: io.StringIO
) -> None:
    response = client.get("/entrar/", HTTP_X_REQUEST_ID="lb-7f3a9c")
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "lb-7f3a9c"
    [line] = lines(json_log)
    assert line["request_id"] == "lb-7f3a9c"
    assert (line["logger"], line["level"], line["path"], line["status"]) == (
        "taller.request",
        "INFO",
        "/entrar/",
        200,
    )


def test_without_an_id_each_request_gets_a_new_one(client: Client, json_log: io.StringIO) -> None:
    first = client.get("/entrar/").headers["X-Request-ID"]
    second = client.get("/entrar/").headers["X-Request-ID"]
    assert len(first) == 32 and first != second
    assert [line["request_id"] for line in lines(json_log)] == [first, second]


@pytest.mark.parametrize("hostile", ['x" "level": "ERROR', "a" * 200, "ñandú", "-rm"])
def test_an_implausible_id_is_replaced_not_logged(
    client: Client, json_log: io.StringIO, hostile: str
) -> None:
    response = client.get("/entrar/", HTTP_X_REQUEST_ID=hostile)
    assert response.headers["X-Request-ID"] != hostile
    assert hostile not in json_log.getvalue()


def test_ids_are_gone_once_the_request_is_over(client: Client, json_log: io.StringIO) -> None:
    client.get("/entrar/", HTTP_X_REQUEST_ID="lb-1")
    logging.getLogger("taller.request").info("after")
    assert "request_id" not in lines(json_log)[-1]


def test_healthz_answers_any_host_over_plain_http_and_is_not_logged(
    client: Client, settings, json_log: io.StringIO
) -> None:
    settings.SECURE_SSL_REDIRECT = True  # as in production
    response = client.get("/healthz", HTTP_HOST="10.0.3.17:8000")
    assert (response.status_code, response.content) == (200, b"ok")
    assert client.get("/entrar/", HTTP_HOST="10.0.3.17:8000").status_code == 400
    assert all(line["path"] != "/healthz" for line in lines(json_log))
