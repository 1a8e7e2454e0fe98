"""A small LMS of our own, for the tests: a real HTTP server on 127.0.0.1 with its own
RSA key, JWKS, OIDC authorisation endpoint, OAuth2 token endpoint, line items and
scores (AGS), memberships (NRPS) and a deep-linking return endpoint.

It plays the platform's part of LTI 1.3 the way Canvas and Moodle do, signing with its
key and checking Taller's signatures against Taller's published JWKS, over HTTP. Each
launch is prepared first (`prepare`): the message hint names it, as an LMS's hint names
the link that was clicked. Knobs on a prepared launch make the bad ones a test needs.
"""

from __future__ import annotations

import html
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import requests
from jwcrypto.jwk import JWK

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
AGS_SCOPES = [
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
]


def new_key() -> JWK:
    key = JWK.generate(kty="RSA", size=2048)
    return key


def private_pem(key: JWK) -> bytes:
    return key.export_to_pem(private_key=True, password=None)


@dataclass
class Person:
    sub: str
    given_name: str
    family_name: str
    email: str
    role: str  # "Learner" | "Instructor" | "TeachingAssistant"
    status: str = "Active"

    @property
    def roles(self) -> list[str]:
        if self.role == "TeachingAssistant":
            return [
                f"{MEMBERSHIP}Instructor",
                "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant",
            ]
        return [f"{MEMBERSHIP}{self.role}"]


@dataclass
class Launch:
    """One click in the LMS: who, where, what kind of message, and what to break."""

    person: Person
    message_type: str = "LtiResourceLinkRequest"
    resource_link_id: str = "link-1"
    custom: dict[str, str] = field(default_factory=dict)
    lineitem: str | None = None  # the link's line item URL, when it has one
    locale: str = "es-ES"
    with_context: bool = True  # the context claim is optional in LTI 1.3
    # Knobs for the refusal tests.
    issuer: str | None = None
    audience: str | None = None
    deployment_id: str | None = None
    expires_in: int = 300
    signing_key: JWK | None = None


@dataclass
class LineItemRecord:
    id: str
    label: str
    score_maximum: float
    resource_id: str = ""
    tag: str = ""
    resource_link_id: str = ""
    scores: list[dict[str, Any]] = field(default_factory=list)


class TestLMS:
    __test__ = False

    def __init__(
        self,
        *,
        client_id: str = "taller-client",
        deployment_id: str = "dep-1",
        host: str = "127.0.0.1",
    ) -> None:
        # Listens on 127.0.0.1 whatever name its URLs use ("localhost" for a browser,
        # whose cookies for Taller at localhost then stay same-site).
        self.host = host
        self.key = new_key()
        self.kid = self.key.thumbprint()
        self.client_id = client_id
        self.deployment_id = deployment_id
        self.context_id = "curso-42"
        self.context_title = "Backend con Node.js (2026)"
        self.launches: dict[str, Launch] = {}
        self.members: list[Person] = []
        self.line_items: dict[str, LineItemRecord] = {}
        self.tokens: dict[str, list[str]] = {}
        self.deep_link_responses: list[dict[str, Any]] = []
        self.tool_jwks_url = ""
        self.tool_login_url = ""
        self.fail_scores = 0  # answer this many score posts with 503 first
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # Lifecycle --------------------------------------------------------------------

    @property
    def url(self) -> str:
        port = self.server.server_address[1]
        return f"http://{self.host}:{port}"

    @property
    def issuer(self) -> str:
        return self.url

    def start(self) -> TestLMS:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # What the tests set up -------------------------------------------------------

    def prepare(self, launch: Launch) -> str:
        hint = secrets.token_urlsafe(8)
        self.launches[hint] = launch
        return hint

    def add_line_item(self, label: str, score_maximum: float, resource_id: str = "") -> str:
        item_id = f"{self.url}/lineitems/{len(self.line_items) + 1}"
        self.line_items[item_id] = LineItemRecord(item_id, label, score_maximum, resource_id)
        return item_id

    def login_params(self, hint: str, target_link_uri: str) -> dict[str, str]:
        """What the LMS's page posts to Taller's login initiation URL."""
        launch = self.launches[hint]
        return {
            "iss": self.issuer,
            "login_hint": launch.person.sub,
            "target_link_uri": target_link_uri,
            "lti_message_hint": hint,
            "client_id": self.client_id,
            "lti_deployment_id": launch.deployment_id or self.deployment_id,
        }

    def launch_page(self, hint: str, target_link_uri: str) -> str:
        """The LMS's page with the link: a form posted to Taller, as an LMS does."""
        inputs = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in self.login_params(hint, target_link_uri).items()
        )
        return (
            "<!doctype html><html><body><h1>LMS</h1>"
            f'<form id="launch" method="post" action="{html.escape(self.tool_login_url)}" '
            f'target="tool">{inputs}<button type="submit">Abrir Taller</button></form>'
            '<iframe name="tool" title="Taller" style="width:100%;height:600px"></iframe>'
            "</body></html>"
        )

    # The id_token -------------------------------------------------------------------

    def id_token(self, launch: Launch, *, nonce: str, redirect_uri: str) -> str:
        now = int(time.time())
        person = launch.person
        claims: dict[str, Any] = {
            "iss": launch.issuer or self.issuer,
            "aud": launch.audience or self.client_id,
            "sub": person.sub,
            "iat": now,
            "exp": now + launch.expires_in,
            "nonce": nonce,
            "given_name": person.given_name,
            "family_name": person.family_name,
            "name": f"{person.given_name} {person.family_name}",
            "email": person.email,
            f"{LTI}message_type": launch.message_type,
            f"{LTI}version": "1.3.0",
            f"{LTI}deployment_id": launch.deployment_id or self.deployment_id,
            f"{LTI}target_link_uri": redirect_uri,
            f"{LTI}roles": person.roles,
            f"{LTI}context": {
                "id": self.context_id,
                "title": self.context_title,
                "label": "NODE",
                "type": ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"],
            },
            f"{LTI}custom": launch.custom,
            f"{LTI}tool_platform": {"guid": "test-lms", "name": "Test LMS"},
            f"{LTI}launch_presentation": {"document_target": "iframe", "locale": launch.locale},
            "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice": {
                "context_memberships_url": f"{self.url}/memberships",
                "service_versions": ["2.0"],
            },
            "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": {
                "scope": AGS_SCOPES,
                "lineitems": f"{self.url}/lineitems",
                **({"lineitem": launch.lineitem} if launch.lineitem else {}),
            },
        }
        if not launch.with_context:
            del claims[f"{LTI}context"]
        if launch.message_type == "LtiResourceLinkRequest":
            claims[f"{LTI}resource_link"] = {"id": launch.resource_link_id, "title": "Taller"}
        else:
            claims["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"] = {
                "deep_link_return_url": f"{self.url}/deep-link-return",
                "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["iframe", "window"],
                "accept_multiple": False,
                "data": "opaque-data",
            }
        key = launch.signing_key or self.key
        return jwt.encode(claims, private_pem(key), algorithm="RS256", headers={"kid": self.kid})

    # Checking what Taller signs ------------------------------------------------------

    def verify_tool_jwt(self, token: str, audience: str) -> dict[str, Any]:
        keys = requests.get(self.tool_jwks_url, timeout=10).json()["keys"]
        kid = jwt.get_unverified_header(token)["kid"]
        (jwk,) = [k for k in keys if k["kid"] == kid]
        public = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(jwk))
        return jwt.decode(token, public, algorithms=["RS256"], audience=audience)

    # HTTP ------------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        lms = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(
                self,
                status: int,
                body: Any,
                content_type: str = "application/json",
                headers: dict[str, str] | None = None,
            ) -> None:
                data = (
                    body
                    if isinstance(body, bytes)
                    else (body.encode() if isinstance(body, str) else json.dumps(body).encode())
                )
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _token_scopes(self) -> list[str] | None:
                auth = self.headers.get("Authorization", "")
                if not auth.startswith("Bearer "):
                    return None
                return lms.tokens.get(auth.removeprefix("Bearer "))

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if parts.path == "/jwks":
                    public = json.loads(lms.key.export_public())
                    public.update(kid=lms.kid, alg="RS256", use="sig")
                    return self._send(200, {"keys": [public]})
                if parts.path == "/auth":
                    return self._authorize(query)
                if parts.path == "/course":
                    return self._send(
                        200, lms.launch_page(query["hint"], query["target"]), "text/html"
                    )
                if parts.path == "/memberships":
                    scopes = self._token_scopes()
                    if scopes is None or not any("contextmembership" in s for s in scopes):
                        return self._send(401, {"error": "unauthorized"})
                    return self._send(
                        200,
                        {
                            "id": f"{lms.url}/memberships",
                            "context": {"id": lms.context_id, "title": lms.context_title},
                            "members": [
                                {
                                    "user_id": p.sub,
                                    "status": p.status,
                                    "given_name": p.given_name,
                                    "family_name": p.family_name,
                                    "name": f"{p.given_name} {p.family_name}",
                                    "email": p.email,
                                    "roles": p.roles,
                                }
                                for p in lms.members
                            ],
                        },
                        "application/vnd.ims.lti-nrps.v2.membershipcontainer+json",
                    )
                if parts.path == "/lineitems":
                    if self._token_scopes() is None:
                        return self._send(401, {"error": "unauthorized"})
                    return self._send(
                        200,
                        [lms._line_item_json(li) for li in lms.line_items.values()],
                        "application/vnd.ims.lis.v2.lineitemcontainer+json",
                    )
                return self._send(404, {"error": "not found"})

            def _authorize(self, query: dict[str, str]) -> None:
                # The platform's checks of an OIDC authorisation request (LTI 1.3 §5.1.1).
                launch = lms.launches.get(query.get("lti_message_hint", ""))
                if (
                    launch is None
                    or query.get("client_id") != lms.client_id
                    or query.get("response_type") != "id_token"
                    or query.get("scope") != "openid"
                    or query.get("login_hint") != launch.person.sub
                    or not query.get("nonce")
                ):
                    return self._send(400, {"error": "invalid_request"})
                token = lms.id_token(
                    launch, nonce=query["nonce"], redirect_uri=query["redirect_uri"]
                )
                action = html.escape(query["redirect_uri"])
                form = (
                    f'<form id="ltiform" method="post" action="{action}">'
                    f'<input type="hidden" name="id_token" value="{token}">'
                    f'<input type="hidden" name="state" value="{html.escape(query["state"])}">'
                    "</form><script>document.getElementById('ltiform').submit()</script>"
                )
                return self._send(200, form, "text/html")

            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                body = self._body()
                if parts.path == "/token":
                    form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                    try:
                        claims = lms.verify_tool_jwt(
                            form["client_assertion"], audience=f"{lms.url}/token"
                        )
                    except Exception as exc:
                        return self._send(401, {"error": "invalid_client", "detail": str(exc)})
                    if claims.get("iss") != lms.client_id or claims.get("sub") != lms.client_id:
                        return self._send(401, {"error": "invalid_client"})
                    token = uuid.uuid4().hex
                    lms.tokens[token] = form.get("scope", "").split()
                    return self._send(
                        200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600}
                    )
                if parts.path == "/lineitems":
                    scopes = self._token_scopes()
                    if scopes is None or AGS_SCOPES[0] not in scopes:
                        return self._send(401, {"error": "unauthorized"})
                    data = json.loads(body)
                    item_id = lms.add_line_item(
                        data["label"], data["scoreMaximum"], data.get("resourceId", "")
                    )
                    lms.line_items[item_id].tag = data.get("tag", "")
                    return self._send(
                        201,
                        lms._line_item_json(lms.line_items[item_id]),
                        "application/vnd.ims.lis.v2.lineitem+json",
                    )
                if parts.path.startswith("/lineitems/") and parts.path.endswith("/scores"):
                    scopes = self._token_scopes()
                    if scopes is None or AGS_SCOPES[1] not in scopes:
                        return self._send(401, {"error": "unauthorized"})
                    if self.headers.get("Content-Type") != "application/vnd.ims.lis.v1.score+json":
                        return self._send(415, {"error": "content type"})
                    item = lms.line_items.get(f"{lms.url}{parts.path.removesuffix('/scores')}")
                    if item is None:
                        return self._send(404, {"error": "no such line item"})
                    with lms.lock:
                        if lms.fail_scores > 0:
                            lms.fail_scores -= 1
                            return self._send(503, {"error": "try later"})
                        item.scores.append(json.loads(body))
                    return self._send(204, b"")
                if parts.path == "/deep-link-return":
                    form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                    claims = lms.verify_tool_jwt(form["JWT"], audience=lms.issuer)
                    lms.deep_link_responses.append(claims)
                    return self._send(200, "<p>Añadido</p>", "text/html")
                return self._send(404, {"error": "not found"})

        return Handler

    def _line_item_json(self, item: LineItemRecord) -> dict[str, Any]:
        return {
            "id": item.id,
            "label": item.label,
            "scoreMaximum": item.score_maximum,
            "resourceId": item.resource_id,
            "tag": item.tag,
        }
