"""The OpenAPI schema: generated from the code, committed, and checked for drift."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client

from tests.conftest import REPO

COMMITTED = REPO / "platform" / "taller" / "api" / "openapi.yaml"
REFRESH = (
    "python manage.py spectacular --validate --fail-on-warn "
    "--file platform/taller/api/openapi.yaml   (or: make schema)"
)


# Integer bounds in the schema come from the database backend's field ranges: the
# committed schema is PostgreSQL's, as in production and `make test`.
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the committed schema is generated on PostgreSQL"
)
def test_the_committed_schema_matches_the_code(tmp_path: Path) -> None:
    generated = tmp_path / "openapi.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(generated))
    assert COMMITTED.read_text() == generated.read_text(), (
        f"The API changed but {COMMITTED.relative_to(REPO)} did not. Refresh it with:\n"
        f"    {REFRESH}\nand commit it with the change."
    )


def test_the_site_serves_the_schema_and_swagger_ui_from_its_own_origin(db: None) -> None:
    client = Client()
    schema = client.get("/api/v1/schema/")
    assert schema.status_code == 200 and b"openapi: 3" in schema.content
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    page = docs.content.decode()
    # No CDN: the CSP allows only 'self', so the assets come from the site's static files.
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert "cdn" not in page.lower()
    assert "<script>" not in page  # every script is a file: no inline code for the CSP
    script = client.get("/api/v1/docs/?script=")
    assert script.status_code == 200 and b"SwaggerUIBundle" in script.content
