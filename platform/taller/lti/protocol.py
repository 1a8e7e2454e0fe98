"""Taller's few additions to django-lti and pylti1p3's launch handling.

All JWT and OIDC work is theirs. Added here: a launch's nonce is accepted once
(pylti1p3 only checks that the nonce was issued, so the same id_token posted twice
would launch twice), the refusals get codes the pages can word, and the cookie check
page is one of ours, since pylti1p3's has inline script the site's CSP blocks.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from lti_tool.models import LtiLaunch
from lti_tool.utils import DjangoToolConfig
from pylti1p3.contrib.django import DjangoCacheDataStorage, DjangoMessageLaunch, DjangoOIDCLogin
from pylti1p3.exception import LtiException

from taller.lti.models import UsedNonce


class Refused(Exception):
    """A launch Taller will not accept; `code` says why (views word it)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code, detail)
        self.code = code
        self.detail = detail


# pylti1p3's messages, as codes. Anything else is "invalid".
_CODES = (
    ("nonce already used", "nonce_reused"),
    ("Invalid Nonce", "nonce_unknown"),
    ("Signature has expired", "expired"),
    ("Registration not found", "unknown_platform"),
    ("Client id not registered", "unknown_platform"),
    ("Could not find registration", "unknown_platform"),
    ("Unable to find public key", "bad_signature"),
    ("Signature verification failed", "bad_signature"),
    ("Can't decode id_token", "bad_signature"),
    # The state cookie set at login did not come back: a browser that blocks
    # third-party cookies in the LMS's frame.
    ("State not found", "no_state"),
    ("cookie", "no_state"),
)


def refusal(exc: Exception) -> Refused:
    message = str(exc)
    for fragment, code in _CODES:
        if fragment in message:
            return Refused(code, message)
    return Refused("invalid", message)


class TallerMessageLaunch(DjangoMessageLaunch):  # type: ignore[misc]
    def save_launch_data(self) -> TallerMessageLaunch:
        # Reached only once state, signature, registration, deployment and message are
        # valid: only a genuine launch uses its nonce up.
        body = self._get_jwt_body()
        try:
            with transaction.atomic():
                UsedNonce.objects.create(issuer=body["iss"], nonce=body["nonce"])
        except IntegrityError as exc:
            raise LtiException("nonce already used") from exc
        super().save_launch_data()
        return self


def launch_from_request(request: Any) -> LtiLaunch:
    """Validate the id_token the LMS posted; Refused if it is not a launch to accept."""
    message_launch = TallerMessageLaunch(
        request, DjangoToolConfig(), launch_data_storage=DjangoCacheDataStorage()
    )
    try:
        message_launch.validate()
    except (LtiException, KeyError, ValueError, TypeError) as exc:
        raise refusal(exc) from exc
    return LtiLaunch(message_launch)


def launch_from_cache(request: Any, launch_id: str) -> LtiLaunch | None:
    """A launch validated earlier in this browser (the deep-linking picker's)."""
    try:
        message_launch = TallerMessageLaunch.from_cache(
            launch_id, request, DjangoToolConfig(), launch_data_storage=DjangoCacheDataStorage()
        )
    except LtiException:
        return None
    return LtiLaunch(message_launch)


class TallerOIDCLogin(DjangoOIDCLogin):  # type: ignore[misc]
    def get_cookies_allowed_js_check(self) -> str:
        params = {"lti1p3_new_window": "1"}
        for key in (
            "iss",
            "login_hint",
            "target_link_uri",
            "lti_message_hint",
            "lti_deployment_id",
            "client_id",
        ):
            value = self._get_request_param(key)
            if value:
                params[key] = value
        request = self._request._request
        return render_to_string("lti/cookie_check.html", {"params": params}, request=request)


def oidc_login(request: Any, registration_uuid: Any) -> TallerOIDCLogin:
    return TallerOIDCLogin(
        request,
        DjangoToolConfig(registration_uuid),
        launch_data_storage=DjangoCacheDataStorage(),
    )
