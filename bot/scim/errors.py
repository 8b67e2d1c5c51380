"""SCIM errors (RFC 7644 section 3.12): an HTTP status, a `scimType` and a detail."""

from __future__ import annotations

from typing import Any

from bot.scim.schemas import ERROR


class ScimError(Exception):
    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "schemas": [ERROR],
            "status": str(self.status),
            "detail": self.detail,
        }
        if self.scim_type:
            doc["scimType"] = self.scim_type
        return doc


def invalid_value(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidValue")


def invalid_filter(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidFilter")


def invalid_path(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidPath")


def not_found(kind: str, rid: str) -> ScimError:
    return ScimError(404, f"{kind} {rid} not found")
