"""What deskbot's SCIM 2.0 endpoint holds (RFC 7643): the User, Group and enterprise User
schemas as data, and the discovery documents built from them (/Schemas, /ResourceTypes,
/ServiceProviderConfig).

The schemas list exactly the attributes the endpoint keeps and gives back, so a client
(or a compliance tester) reading /Schemas knows what round-trips. Anything else a client
sends (Okta's `password`, Entra ID's `roles`) is ignored and never stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SP_CONFIG = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"


@dataclass(frozen=True)
class Attr:
    name: str
    type: str = "string"  # string | boolean | integer | dateTime | reference | complex
    multi: bool = False
    required: bool = False
    case_exact: bool = False
    mutability: str = "readWrite"  # readOnly | readWrite | immutable | writeOnly
    returned: str = "default"  # always | never | default | request
    uniqueness: str = "none"
    sub: tuple[Attr, ...] = ()
    canonical: tuple[str, ...] = ()
    refs: tuple[str, ...] = ()
    description: str = ""

    def child(self, name: str) -> Attr | None:
        low = name.lower()
        return next((a for a in self.sub if a.name.lower() == low), None)

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "multiValued": self.multi,
            "description": self.description or self.name,
            "required": self.required,
            "mutability": self.mutability,
            "returned": self.returned,
        }
        if self.type in ("string", "reference"):
            doc["caseExact"] = self.case_exact
            doc["uniqueness"] = self.uniqueness
        if self.canonical:
            doc["canonicalValues"] = list(self.canonical)
        if self.refs:
            doc["referenceTypes"] = list(self.refs)
        if self.sub:
            doc["subAttributes"] = [a.document() for a in self.sub]
        return doc


@dataclass(frozen=True)
class Schema:
    id: str
    name: str
    attributes: tuple[Attr, ...]
    description: str = ""

    def attr(self, name: str) -> Attr | None:
        low = name.lower()
        return next((a for a in self.attributes if a.name.lower() == low), None)

    def document(self, base: str) -> dict[str, Any]:
        return {
            "schemas": [SCHEMA],
            "id": self.id,
            "name": self.name,
            "description": self.description or self.name,
            "attributes": [a.document() for a in self.attributes],
            "meta": {"resourceType": "Schema", "location": f"{base}/Schemas/{self.id}"},
        }


def _typed(*extra: Attr, kinds: tuple[str, ...] = ("work", "home", "other")) -> tuple[Attr, ...]:
    """A multi-valued attribute's usual sub-attributes (value, display, type, primary)."""
    return (
        Attr("value", description="the value"),
        Attr("display", description="a label for the value"),
        Attr("type", canonical=kinds, description="work, home, other, ..."),
        Attr("primary", "boolean", description="the preferred value (at most one)"),
        *extra,
    )


_MEMBER_REF = Attr(
    "$ref", "reference", refs=("User", "Group"), mutability="immutable", description="its URI"
)

USER_SCHEMA = Schema(
    USER,
    "User",
    (
        Attr(
            "userName",
            required=True,
            uniqueness="server",
            description="unique on this server; deskbot's person id is taken from it",
        ),
        Attr(
            "name",
            "complex",
            sub=(
                Attr("formatted"),
                Attr("familyName"),
                Attr("givenName"),
                Attr("middleName"),
                Attr("honorificPrefix"),
                Attr("honorificSuffix"),
            ),
        ),
        Attr("displayName"),
        Attr("nickName"),
        Attr("profileUrl", "reference", refs=("external",)),
        Attr("title"),
        Attr("userType"),
        Attr("preferredLanguage", description="e.g. zh-CN; deskbot speaks en and zh"),
        Attr("locale"),
        Attr("timezone", description="an IANA time zone, e.g. Europe/London"),
        Attr("active", "boolean", description="false: the person left (deactivated)"),
        Attr("emails", "complex", multi=True, sub=_typed()),
        Attr(
            "phoneNumbers",
            "complex",
            multi=True,
            sub=_typed(kinds=("work", "home", "mobile", "fax", "pager", "other")),
        ),
        Attr(
            "addresses",
            "complex",
            multi=True,
            sub=(
                Attr("formatted"),
                Attr("streetAddress"),
                Attr("locality", description="the city; deskbot's location"),
                Attr("region"),
                Attr("postalCode"),
                Attr("country"),
                Attr("type", canonical=("work", "home", "other")),
                Attr("primary", "boolean"),
            ),
        ),
        Attr(
            "groups",
            "complex",
            multi=True,
            mutability="readOnly",
            sub=(
                Attr("value", mutability="readOnly"),
                Attr("$ref", "reference", refs=("Group",), mutability="readOnly"),
                Attr("display", mutability="readOnly"),
                Attr("type", canonical=("direct",), mutability="readOnly"),
            ),
            description="the groups listing this user (set through /Groups)",
        ),
    ),
    "User Account",
)

ENTERPRISE_SCHEMA = Schema(
    ENTERPRISE,
    "EnterpriseUser",
    (
        Attr("employeeNumber"),
        Attr("costCenter"),
        Attr("organization"),
        Attr("division"),
        Attr("department"),
        Attr(
            "manager",
            "complex",
            sub=(
                Attr("value", description="the manager's id (or externalId or userName)"),
                Attr("$ref", "reference", refs=("User",)),
                Attr("displayName", mutability="readOnly"),
            ),
        ),
    ),
    "Enterprise User",
)

GROUP_SCHEMA = Schema(
    GROUP,
    "Group",
    (
        Attr("displayName", required=True, description="roles come from group names"),
        Attr(
            "members",
            "complex",
            multi=True,
            sub=(
                Attr("value", mutability="immutable", description="a User's or Group's id"),
                _MEMBER_REF,
                Attr("display"),
                Attr("type", canonical=("User", "Group"), mutability="immutable"),
            ),
        ),
    ),
    "Group",
)

# Attributes every resource has (RFC 7643 section 3.1).
ID = Attr("id", mutability="readOnly", returned="always", case_exact=True, uniqueness="server")
EXTERNAL_ID = Attr("externalId", case_exact=True)
META = Attr(
    "meta",
    "complex",
    mutability="readOnly",
    sub=(
        Attr("resourceType", mutability="readOnly", case_exact=True),
        Attr("created", "dateTime", mutability="readOnly"),
        Attr("lastModified", "dateTime", mutability="readOnly"),
        Attr("location", "reference", mutability="readOnly", case_exact=True),
        Attr("version", mutability="readOnly", case_exact=True),
    ),
)
COMMON = (ID, EXTERNAL_ID, META)


@dataclass(frozen=True)
class Kind:
    """A resource type: its endpoint, core schema and extensions."""

    name: str
    endpoint: str
    schema: Schema
    extensions: tuple[Schema, ...] = ()

    def extension(self, urn: str) -> Schema | None:
        return next((s for s in self.extensions if s.id.lower() == urn.lower()), None)

    def document(self, base: str) -> dict[str, Any]:
        return {
            "schemas": [RESOURCE_TYPE],
            "id": self.name,
            "name": self.name,
            "endpoint": f"/{self.endpoint}",
            "description": self.schema.description,
            "schema": self.schema.id,
            "schemaExtensions": [{"schema": s.id, "required": False} for s in self.extensions],
            "meta": {
                "resourceType": "ResourceType",
                "location": f"{base}/ResourceTypes/{self.name}",
            },
        }


USERS = Kind("User", "Users", USER_SCHEMA, (ENTERPRISE_SCHEMA,))
GROUPS = Kind("Group", "Groups", GROUP_SCHEMA)
KINDS = {"Users": USERS, "Groups": GROUPS}
SCHEMAS = {s.id: s for s in (USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE_SCHEMA)}


def service_provider_config(base: str, max_results: int) -> dict[str, Any]:
    return {
        "schemas": [SP_CONFIG],
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": max_results},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": True},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "Bearer token",
                "description": "The token in directory.scim.token, as `Authorization: Bearer`",
                "primary": True,
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": f"{base}/ServiceProviderConfig",
        },
    }
