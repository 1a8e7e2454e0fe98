"""The schema tells a client every answer it can get, not only the happy one.

drf-spectacular documents what a view's `extend_schema` names; the refusals that come
from the framework (401 without credentials, 403 from a permission class, 404 for an
object or a page that is not there, 400 for a bad body or query, 413 for a big body)
are added here from what the view really does, so a client reading the schema (and
schemathesis) finds no undeclared status.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as BaseAutoSchema
from rest_framework.permissions import AllowAny

from taller.api.permissions import IsStaffMember


class AutoSchema(BaseAutoSchema):
    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        from taller.api.serializers import ErrorSerializer, RateLimitedSerializer

        def add(code: str, description: str, serializer: Any = ErrorSerializer) -> None:
            if code not in responses:
                response = self._get_response_for_code(serializer, code, direction=direction)
                response["description"] = description
                responses[code] = response
            elif not responses[code].get("description"):
                responses[code]["description"] = description

        permissions = self.view.get_permissions()
        public = all(isinstance(p, AllowAny) for p in permissions)
        if not public or "/auth/" in self.path:
            add("401", "No credentials, or credentials not valid")
        if any(isinstance(p, IsStaffMember) for p in permissions):
            add("403", "Only instructors and admins")
        if "{" in self.path:
            add("404", "Not found, or not visible to this account")
        if self.method == "GET" and self._is_list_view() and self._get_paginator():
            add("404", "A page past the last one")
        if self._get_filter_parameters() or self.get_override_parameters():
            add("400", "A query parameter not valid")
        if self.method in ("POST", "PUT", "PATCH"):
            add("400", "A body not valid; `detail` says why")
            add("413", "Request too large")
            add("415", "A body that is not JSON")
        if self.path.endswith("/auth/token/"):
            add(
                "429",
                "Too many failed sign-ins for this user name from this address; see Retry-After",
                RateLimitedSerializer,
            )
        return dict(sorted(responses.items()))
