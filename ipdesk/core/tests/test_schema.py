"""The OpenAPI schema is complete: typed answers, documented errors, unique operations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}
ERROR_REF = "#/components/schemas/ErrorResponse"


def api_schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def _typed(body: dict[str, Any]) -> bool:
    """A documented body a client can be generated from: a reference, an array of typed
    items, an object with properties, or a binary file; not a free-form object."""
    if "$ref" in body or body.get("format") == "binary":
        return True
    if body.get("type") == "array":
        return _typed(body.get("items", {}))
    if "oneOf" in body:
        return all(_typed(option) for option in body["oneOf"])
    return bool(body.get("properties"))


def untyped_operations(schema: dict[str, Any]) -> list[str]:
    """Operations with a success answer that is not typed, or with an error answer whose body
    is not the shared error shape, or with no error answer at all."""
    found = []
    for method, path, operation in operations(schema):
        responses = operation.get("responses", {})
        successes = {code: r for code, r in responses.items() if code.startswith("2")}
        errors = {code: r for code, r in responses.items() if code[0] in "45"}
        ok = bool(successes) and bool(errors)
        for code, response in successes.items():
            content = response.get("content")
            if code == "204":
                ok = ok and not content
                continue
            ok = ok and bool(content) and all(_typed(c.get("schema", {})) for c in content.values())
        for response in errors.values():
            content = response.get("content", {})
            ok = ok and list(content) == ["application/json"]
            ok = ok and content["application/json"]["schema"] == {"$ref": ERROR_REF}
        if not ok:
            found.append(f"{method} {path}")
    return found


def test_every_operation_is_typed_with_documented_errors() -> None:
    schema = api_schema()
    assert len(operations(schema)) >= 57
    assert untyped_operations(schema) == []


def test_operation_ids_are_unique_and_plain() -> None:
    ids = [operation["operationId"] for _m, _p, operation in operations(api_schema())]
    assert len(ids) == len(set(ids))


def test_bearer_tokens_are_the_security_scheme() -> None:
    schema = api_schema()
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "ipd_…",
        "description": schema["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    me = schema["paths"]["/api/v1/me"]["get"]
    assert {"bearerAuth": []} in me["security"]


def test_schema_generation_has_no_warnings(tmp_path: Path) -> None:
    """``spectacular --validate --fail-on-warn``: valid OpenAPI 3, no unresolved types, no
    colliding operationIds, every authenticator known."""
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yaml"))


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/api/v1/payments/{id}/paper-receipt.pdf", "application/pdf"),
        ("/api/v1/receipts/{code}/{number}/pdf", "application/pdf"),
        ("/api/v1/receipts/{code}/{number}/ofd", "application/ofd"),
        ("/api/v1/receipts/{code}/{number}/xml", "application/xml"),
        ("/api/v1/wallet/receipts/{code}/{number}/ofd", "application/ofd"),
        ("/api/v1/offices/{code}/daily-report", "application/pdf"),
        (
            "/api/v1/settlement/summary",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    ],
)
def test_files_are_documented_with_their_content_type(path: str, content_type: str) -> None:
    content = api_schema()["paths"][path]["get"]["responses"]["200"]["content"]
    assert content[content_type]["schema"]["format"] == "binary"
