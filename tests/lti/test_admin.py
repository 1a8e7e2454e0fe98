"""An admin registers a platform in the Django admin: its deployments and the origins
that may frame Taller, on one page."""

from __future__ import annotations

import pytest
from django.test import Client
from lti_tool.models import LtiRegistration

from taller.lti.selectors import frame_origins

pytestmark = pytest.mark.django_db


def test_an_admin_registers_a_platform_with_its_deployment_and_frame_origins(
    admin_client: Client,
) -> None:
    assert admin_client.get("/admin/lti_tool/ltiregistration/add/").status_code == 200
    assert frame_origins() == []

    response = admin_client.post(
        "/admin/lti_tool/ltiregistration/add/",
        {
            "name": "Canvas de la universidad",
            "uuid": "7f1c2a38-6f5e-4b43-9a38-1d2f0e4c7b10",
            "issuer": "https://canvas.instructure.com",
            "client_id": "10000000000042",
            "audience": "",
            "auth_url": "https://sso.canvaslms.com/api/lti/authorize_redirect",
            "token_url": "https://sso.canvaslms.com/login/oauth2/token",
            "keyset_url": "https://sso.canvaslms.com/api/lti/security/jwks",
            "is_active": "on",
            "public_key": "",
            "private_key": "",
            "deployments-TOTAL_FORMS": "1",
            "deployments-INITIAL_FORMS": "0",
            "deployments-0-deployment_id": "42:abc",
            "deployments-0-is_active": "on",
            "deployments-0-pns_url": "",
            "taller-TOTAL_FORMS": "1",
            "taller-INITIAL_FORMS": "0",
            "taller-0-frame_origins": "https://uni.instructure.com\nno-es-una-url",
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    registration = LtiRegistration.objects.get(client_id="10000000000042")
    assert registration.deployments.get().is_active
    # The cache of origins was dropped when the registration changed; bad lines ignored.
    assert frame_origins() == ["https://uni.instructure.com"]
