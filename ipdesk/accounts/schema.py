"""How the API's bearer tokens appear in the OpenAPI schema (a security scheme)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object

from .authentication import ApiTokenAuthentication


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = ApiTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        scheme = build_bearer_security_scheme_object(
            header_name="Authorization",
            token_prefix=ApiTokenAuthentication.keyword,
            bearer_format="ipd_…",
        )
        scheme["description"] = (
            "An API token (ipd_…) issued to a user or a wallet app, or the token that "
            "phone sign-in (POST /api/v1/auth/phone/login) answers."
        )
        return scheme
