"""The SCIM 2.0 endpoint over real HTTP on 127.0.0.1, on SQLite and PostgreSQL: the calls
Okta and Entra ID make when they provision (shaped as their documentation shows them),
filters, paging, ETags, errors and the bearer token."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from store.backup import backup, restore
from store.db import Store
from tests.directory.scim_http import (
    CORE_GROUP,
    CORE_USER,
    ENTERPRISE,
    PATCH_OP,
    TOKEN,
    Api,
    running,
)
from tests.outages import BUSY_TIMEOUT, Outage

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


@pytest.fixture
async def api(db_url: str) -> Any:
    async with running(db_url) as server:
        yield server


# --- Okta ---------------------------------------------------------------------------------


async def test_okta_provisions_a_user_deactivates_and_reactivates(api: Api) -> None:
    # Okta first asks whether the user exists...
    found = await api.call(
        "GET",
        "/Users",
        params={"filter": 'userName eq "test.user@okta.local"', "startIndex": "1", "count": "100"},
    )
    assert found.status == 200
    assert found.body["totalResults"] == 0 and found.body["Resources"] == []
    assert found.headers["Content-Type"].startswith("application/scim+json")
    # ...then creates it, with a password deskbot must neither keep nor show.
    created = await api.call(
        "POST",
        "/Users",
        {
            "schemas": [CORE_USER],
            "userName": "test.user@okta.local",
            "name": {"givenName": "Test", "familyName": "User"},
            "emails": [{"primary": True, "value": "test.user@okta.local", "type": "work"}],
            "displayName": "Test User",
            "locale": "en-US",
            "externalId": "00ujl29u0le5T6Aj10h7",
            "groups": [],
            "password": "1mz050nq",
            "active": True,
        },
    )
    assert created.status == 201, created.body
    user = created.body
    uid = user["id"]
    assert "password" not in user and "1mz050nq" not in str(user)
    assert user["meta"]["resourceType"] == "User"
    assert user["meta"]["location"] == f"{api.url}/Users/{uid}"
    assert created.headers["Location"] == user["meta"]["location"]
    assert created.headers["ETag"] == user["meta"]["version"]
    assert user["active"] is True and user["locale"] == "en-US"
    # Okta reads it back by id, then deactivates it with a PATCH without a path.
    assert (await api.call("GET", f"/Users/{uid}")).body["userName"] == "test.user@okta.local"
    off = await api.patch(f"/Users/{uid}", {"op": "replace", "value": {"active": False}})
    assert off.status == 200 and off.body["active"] is False
    assert off.body["meta"]["version"] != user["meta"]["version"]
    # Profile pushes are a full PUT.
    put = await api.call(
        "PUT",
        f"/Users/{uid}",
        {
            "schemas": [CORE_USER],
            "id": uid,
            "userName": "test.user@okta.local",
            "name": {"givenName": "Another", "familyName": "User"},
            "emails": [{"primary": True, "value": "test.user@okta.local", "type": "work"}],
            "displayName": "Another User",
            "active": True,
        },
    )
    assert put.status == 200
    assert put.body["name"] == {"givenName": "Another", "familyName": "User"}
    assert put.body["active"] is True
    assert "locale" not in put.body  # PUT replaces: what was not sent is gone
    again = await api.call("GET", "/Users", params={"filter": 'userName eq "TEST.USER@okta.local"'})
    assert [r["id"] for r in again.body["Resources"]] == [uid]  # userName: no case


async def test_okta_pushes_a_group_and_its_members(api: Api) -> None:
    alice = await api.user("alice@corp.test")
    bob = await api.user("bob@corp.test")
    created = await api.call(
        "POST", "/Groups", {"schemas": [CORE_GROUP], "displayName": "Test SCIMv2", "members": []}
    )
    assert created.status == 201
    gid = created.body["id"]
    assert "members" not in created.body
    # Okta renames with the group's id in the value, then adds and removes members by path.
    renamed = await api.patch(
        f"/Groups/{gid}", {"op": "replace", "value": {"id": gid, "displayName": "it-admins"}}
    )
    assert renamed.status == 200 and renamed.body["displayName"] == "it-admins"
    added = await api.patch(
        f"/Groups/{gid}",
        {
            "op": "add",
            "path": "members",
            "value": [
                {"value": alice["id"], "display": "alice@corp.test"},
                {"value": bob["id"], "display": "bob@corp.test"},
            ],
        },
    )
    assert [m["value"] for m in added.body["members"]] == [alice["id"], bob["id"]]
    seen = await api.call("GET", f"/Users/{alice['id']}")
    assert [g["display"] for g in seen.body["groups"]] == ["it-admins"]
    removed = await api.patch(
        f"/Groups/{gid}", {"op": "remove", "path": f'members[value eq "{alice["id"]}"]'}
    )
    assert [m["value"] for m in removed.body["members"]] == [bob["id"]]
    assert "groups" not in (await api.call("GET", f"/Users/{alice['id']}")).body
    by_name = await api.call("GET", "/Groups", params={"filter": 'displayName eq "it-admins"'})
    assert [g["id"] for g in by_name.body["Resources"]] == [gid]
    assert (await api.call("DELETE", f"/Groups/{gid}")).status == 204
    assert (await api.call("GET", f"/Groups/{gid}")).status == 404


# --- Entra ID -----------------------------------------------------------------------------


async def test_entra_creates_updates_with_paths_and_disables(api: Api) -> None:
    manager = await api.user("Manager_1@contoso.test")
    created = await api.call(
        "POST",
        "/Users",
        {
            "schemas": [CORE_USER, ENTERPRISE],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": "Test_User_ab6490ee@contoso.test",
            "active": True,
            "emails": [
                {"primary": True, "type": "work", "value": "Test_User_fd0ea19b@contoso.test"}
            ],
            "meta": {"resourceType": "User"},
            "name": {
                "formatted": "givenName familyName",
                "familyName": "familyName",
                "givenName": "givenName",
            },
            "roles": [],
            ENTERPRISE: {"department": "Finance", "employeeNumber": "100009"},
        },
    )
    assert created.status == 201, created.body
    uid = created.body["id"]
    assert created.body["schemas"] == [CORE_USER, ENTERPRISE]
    assert created.body[ENTERPRISE] == {"department": "Finance", "employeeNumber": "100009"}
    assert "roles" not in created.body
    by_external = await api.call(
        "GET", "/Users", params={"filter": 'externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"'}
    )
    assert [r["id"] for r in by_external.body["Resources"]] == [uid]
    # Entra ID capitalises ops, sends booleans as text and the manager as the bare id.
    updated = await api.patch(
        f"/Users/{uid}",
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "updated@contoso.test"},
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
        {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": manager["id"]},
        {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "财务部"},
        {"op": "Add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+86 21 5555 0100"},
    )
    assert updated.status == 200, updated.body
    body = updated.body
    assert body["emails"] == [{"primary": True, "type": "work", "value": "updated@contoso.test"}]
    assert body["name"]["familyName"] == "updatedFamilyName"
    assert body["name"]["givenName"] == "givenName"
    assert body[ENTERPRISE]["manager"] == {"value": manager["id"]}
    assert body[ENTERPRISE]["department"] == "财务部"
    assert body["phoneNumbers"] == [{"type": "mobile", "value": "+86 21 5555 0100"}]
    disabled = await api.patch(
        f"/Users/{uid}", {"op": "Replace", "path": "active", "value": "False"}
    )
    assert disabled.body["active"] is False
    # The validator's check: a GET with a filter shows the disabled user as inactive.
    listed = await api.call(
        "GET", "/Users", params={"filter": 'userName eq "test_user_ab6490ee@contoso.test"'}
    )
    assert listed.body["Resources"][0]["active"] is False
    cleared = await api.patch(f"/Users/{uid}", {"op": "Remove", "path": f"{ENTERPRISE}:manager"})
    assert "manager" not in cleared.body[ENTERPRISE]
    assert (await api.call("DELETE", f"/Users/{uid}")).status == 204
    assert (await api.call("GET", f"/Users/{uid}")).status == 404


async def test_entra_group_membership(api: Api) -> None:
    one = await api.user("one@contoso.test")
    two = await api.user("two@contoso.test")
    group = (
        await api.call(
            "POST",
            "/Groups",
            {
                "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                "displayName": "it-network",
                "meta": {"resourceType": "Group"},
                "schemas": [CORE_GROUP],
            },
        )
    ).body
    gid = group["id"]
    add = await api.patch(
        f"/Groups/{gid}",
        {"op": "Add", "path": "members", "value": [{"$ref": None, "value": one["id"]}]},
        {"op": "Add", "path": "members", "value": [{"$ref": None, "value": two["id"]}]},
    )
    assert add.status == 200
    assert {m["value"] for m in add.body["members"]} == {one["id"], two["id"]}
    # Entra ID asks whether a user is a member with `members eq`, leaving members out.
    member = await api.call(
        "GET",
        "/Groups",
        params={
            "filter": f'id eq "{gid}" and members eq "{one["id"]}"',
            "excludedAttributes": "members",
        },
    )
    assert member.body["totalResults"] == 1
    assert "members" not in member.body["Resources"][0]
    assert member.body["Resources"][0]["displayName"] == "it-network"
    # ...and removes members with a value list on the plain path.
    removed = await api.patch(
        f"/Groups/{gid}",
        {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": one["id"]}]},
    )
    assert [m["value"] for m in removed.body["members"]] == [two["id"]]
    none = await api.call(
        "GET", "/Groups", params={"filter": f'id eq "{gid}" and members eq "{one["id"]}"'}
    )
    assert none.body["totalResults"] == 0
    # Deleting a user takes them out of every group.
    assert (await api.call("DELETE", f"/Users/{two['id']}")).status == 204
    assert "members" not in (await api.call("GET", f"/Groups/{gid}")).body
    unknown = await api.patch(
        f"/Groups/{gid}", {"op": "Add", "path": "members", "value": [{"value": "nobody"}]}
    )
    assert unknown.status == 400 and unknown.body["scimType"] == "invalidValue"


# --- filters and paging -------------------------------------------------------------------


async def test_filters_and_paging(api: Api) -> None:
    for i, (user, title, active) in enumerate(
        [
            ("ann", "Engineer", True),
            ("andy", "Manager", True),
            ("bea", "Engineer", False),
            ("cai", None, True),
        ]
    ):
        extra: dict[str, Any] = {
            "active": active,
            "emails": [{"value": f"{user}@corp.test", "type": "work"}],
        }
        if title:
            extra["title"] = title
        await api.user(user, externalId=f"ext-{i}", **extra)

    async def names(text: str, **params: str) -> list[str]:
        answer = await api.call("GET", "/Users", params={"filter": text, **params})
        assert answer.status == 200, answer.body
        return sorted(r["userName"] for r in answer.body["Resources"])

    assert await names('userName sw "an"') == ["andy", "ann"]
    assert await names('userName co "N"') == ["andy", "ann"]  # no case: userName is not caseExact
    assert await names('userName ew "y"') == ["andy"]
    assert await names("title pr") == ["andy", "ann", "bea"]
    assert await names('title eq "engineer" and active eq true') == ["ann"]
    assert await names('title eq "Manager" or userName eq "cai"') == ["andy", "cai"]
    # `and` binds tighter than `or` (RFC 7644, table 5): cai, or (ann and inactive).
    assert await names('userName eq "cai" or userName eq "ann" and active eq false') == ["cai"]
    assert await names('not (title pr) or (userName eq "bea" and active eq false)') == [
        "bea",
        "cai",
    ]
    assert await names('emails[type eq "work" and value co "bea"]') == ["bea"]
    assert await names('emails.value ew "@corp.test"') == ["andy", "ann", "bea", "cai"]
    # Entra ID may match users on their work email.
    assert await names('emails[type eq "work"].value eq "CAI@corp.test"') == ["cai"]
    assert await names('emails[type eq "home"].value eq "cai@corp.test"') == []
    assert await names('externalId eq "EXT-1"') == []  # externalId is caseExact
    assert await names('externalId eq "ext-1"') == ["andy"]
    assert await names('meta.created gt "2000-01-01T00:00:00Z"') == ["andy", "ann", "bea", "cai"]
    page = await api.call("GET", "/Users", params={"startIndex": "2", "count": "2"})
    assert page.body["totalResults"] == 4 and page.body["startIndex"] == 2
    assert page.body["itemsPerPage"] == 2 and len(page.body["Resources"]) == 2
    everyone = await api.call("GET", "/Users")
    order = [r["userName"] for r in everyone.body["Resources"]]
    assert [r["userName"] for r in page.body["Resources"]] == order[1:3]
    counted = await api.call("GET", "/Users", params={"count": "0"})
    assert counted.body["totalResults"] == 4 and counted.body["Resources"] == []
    some = await api.call("GET", "/Users", params={"attributes": "userName,name.givenName"})
    assert set(some.body["Resources"][0]) == {"schemas", "id", "userName"}
    posted = await api.call(
        "POST",
        "/Users/.search",
        {"filter": 'userName sw "a"', "attributes": ["userName"], "count": 1},
    )
    assert posted.body["totalResults"] == 2 and len(posted.body["Resources"]) == 1
    for bad in (
        "userName eq",
        'userName zz "a"',
        '(userName eq "a"',
        'userName eq "a" and',
        "userName eq bob",
    ):
        answer = await api.call("GET", "/Users", params={"filter": bad})
        assert answer.status == 400, bad
        assert answer.body["scimType"] == "invalidFilter" and answer.body["schemas"] == [ERROR]


# --- ETags, errors, the token -------------------------------------------------------------


async def test_etags(api: Api) -> None:
    user = await api.user("etag@corp.test")
    uid, version = user["id"], user["meta"]["version"]
    unchanged = await api.call("GET", f"/Users/{uid}", headers={"If-None-Match": version})
    assert unchanged.status == 304
    stale = await api.call(
        "PATCH",
        f"/Users/{uid}",
        {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "x"}]},
        headers={"If-Match": 'W/"999"'},
    )
    assert stale.status == 412
    fresh = await api.call(
        "PATCH",
        f"/Users/{uid}",
        {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "x"}]},
        headers={"If-Match": version},
    )
    assert fresh.status == 200 and fresh.headers["ETag"] != version
    assert (
        await api.call("GET", f"/Users/{uid}", headers={"If-None-Match": version})
    ).status == 200
    same = await api.patch(f"/Users/{uid}", {"op": "replace", "path": "title", "value": "x"})
    assert same.body["meta"]["version"] == fresh.headers["ETag"]  # nothing changed: same version


async def test_errors(api: Api) -> None:
    await api.user("taken@corp.test")
    clash = await api.call(
        "POST", "/Users", {"schemas": [CORE_USER], "userName": "TAKEN@corp.test"}
    )
    assert clash.status == 409 and clash.body["scimType"] == "uniqueness"
    assert clash.body["status"] == "409"
    other = await api.user("other@corp.test")
    renamed = await api.patch(
        f"/Users/{other['id']}", {"op": "replace", "path": "userName", "value": "taken@corp.test"}
    )
    assert renamed.status == 409
    missing = await api.call("POST", "/Users", {"schemas": [CORE_USER], "displayName": "No Name"})
    assert missing.status == 400 and missing.body["scimType"] == "invalidValue"
    bad_bool = await api.call("POST", "/Users", {"userName": "x@corp.test", "active": "maybe"})
    assert bad_bool.status == 400 and "active" in bad_bool.body["detail"]
    path = await api.patch(
        f"/Users/{other['id']}", {"op": "replace", "path": "favouriteColour", "value": "x"}
    )
    assert path.status == 400 and path.body["scimType"] == "invalidPath"
    no_target = await api.patch(f"/Users/{other['id']}", {"op": "remove"})
    assert no_target.status == 400 and no_target.body["scimType"] == "noTarget"
    read_only = await api.patch(
        f"/Users/{other['id']}", {"op": "add", "path": "groups", "value": [{"value": "g"}]}
    )
    assert read_only.status == 400 and read_only.body["scimType"] == "mutability"
    syntax = await api.call("PATCH", f"/Users/{other['id']}", {"Operations": [{"op": "move"}]})
    assert syntax.status == 400 and syntax.body["scimType"] == "invalidSyntax"
    assert (await api.call("GET", "/Users/no-such-id")).status == 404
    assert (await api.call("DELETE", "/Groups/no-such-id")).status == 404
    assert (await api.call("GET", "/Widgets")).status == 404
    assert (await api.call("DELETE", "/Users")).body["status"] == "405"
    big = io.BytesIO(json.dumps({"userName": "big", "title": "x" * 2_000_000}).encode())
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/scim+json"}
    async with api.http.post(f"{api.url}/Users", data=big, headers=headers) as response:
        assert response.status == 413  # over aiohttp's 1 MiB: still a SCIM error
        assert (await response.json(content_type=None))["schemas"] == [ERROR]
    async with api.http.post(
        f"{api.url}/Users", data=b"{not json", headers={"Authorization": f"Bearer {TOKEN}"}
    ) as response:
        assert response.status == 400
        assert (await response.json(content_type=None))["scimType"] == "invalidSyntax"


async def test_the_token_is_required_and_never_logged(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for token in (None, "wrong-token", TOKEN + "x", TOKEN[:-1]):
        answer = await api.call("GET", "/Users", token=token)
        assert answer.status == 401
        assert answer.body["schemas"] == [ERROR] and answer.body["status"] == "401"
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    async with api.http.get(f"{api.url}/Users", headers={"Authorization": f"Basic {TOKEN}"}) as r:
        assert r.status == 401
    assert (await api.call("GET", "/ServiceProviderConfig", token="nope")).status == 401
    assert (await api.call("GET", "/Users")).status == 200
    await api.user("logged@corp.test")
    assert TOKEN not in caplog.text and TOKEN[:-1] not in caplog.text


async def test_discovery(api: Api) -> None:
    config = (await api.call("GET", "/ServiceProviderConfig")).body
    assert config["patch"]["supported"] is True and config["filter"]["supported"] is True
    assert config["etag"]["supported"] is True and config["bulk"]["supported"] is False
    assert config["filter"]["maxResults"] == 50
    types = (await api.call("GET", "/ResourceTypes")).body
    by_name = {t["name"]: t for t in types["Resources"]}
    assert by_name["User"]["schemaExtensions"] == [{"schema": ENTERPRISE, "required": False}]
    assert by_name["Group"]["endpoint"] == "/Groups"
    schemas = (await api.call("GET", "/Schemas")).body
    assert {s["id"] for s in schemas["Resources"]} == {CORE_USER, CORE_GROUP, ENTERPRISE}
    enterprise = (await api.call("GET", f"/Schemas/{ENTERPRISE}")).body
    names = {a["name"] for a in enterprise["attributes"]}
    assert {"manager", "department", "employeeNumber"} <= names
    user = (await api.call("GET", f"/Schemas/{CORE_USER}")).body
    user_name = next(a for a in user["attributes"] if a["name"] == "userName")
    assert user_name["uniqueness"] == "server" and user_name["required"] is True


async def test_resources_survive_a_restart(db_url: str) -> None:
    async with running(db_url) as api:
        user = await api.user("kept@corp.test", displayName="Kept", active=True)
        group = await api.call(
            "POST", "/Groups", {"displayName": "approvers", "members": [{"value": user["id"]}]}
        )
    async with running(db_url) as again:
        seen = await again.call("GET", f"/Users/{user['id']}")
        assert seen.status == 200
        assert seen.body["displayName"] == "Kept"
        assert seen.body["meta"] == user["meta"] | {"location": f"{again.url}/Users/{user['id']}"}
        assert seen.body["groups"][0]["value"] == group.body["id"]


async def test_resources_come_back_from_a_backup(db_url: str, tmp_path: Path) -> None:
    """`deskbot backup` / `restore` carry the pushed resources (JSON documents, versions,
    times) to a new database, SQLite or PostgreSQL alike."""
    async with running(db_url) as api:
        user = await api.user(
            "王芳@corp.test", displayName="王芳", **{ENTERPRISE: {"department": "财务"}}
        )
        uid = user["id"]
        await api.patch(f"/Users/{uid}", {"op": "replace", "path": "title", "value": "x"})
        group = {"displayName": "approvers", "members": [{"value": uid}]}
        assert (await api.call("POST", "/Groups", group)).status == 201
        before = json.dumps((await api.call("GET", f"/Users/{uid}")).body).replace(api.url, "")
    source = Store(db_url)
    backup(source, tmp_path / "scim.jsonl.gz")
    source.dispose()
    restored = f"sqlite:///{tmp_path / 'restored.db'}"
    target = Store(restored)
    target.upgrade()
    restore(target, tmp_path / "scim.jsonl.gz")
    target.dispose()
    async with running(restored) as again:
        after = json.dumps((await again.call("GET", f"/Users/{uid}")).body)
        assert after.replace(again.url, "") == before
    assert "财务" in json.loads(after)[ENTERPRISE]["department"]


async def test_a_database_outage_is_a_503_the_provider_retries(outage: Outage) -> None:
    async with running(outage.url, busy_timeout=BUSY_TIMEOUT) as api:
        await api.user("before@corp.test")
        outage.begin()
        try:
            down = await api.call("POST", "/Users", {"userName": "during@corp.test"})
        finally:
            outage.end()
        assert down.status == 503, down.body
        assert down.body["schemas"] == [ERROR] and "try again" in down.body["detail"]
        assert (await api.call("POST", "/Users", {"userName": "during@corp.test"})).status == 201


async def test_only_a_change_starts_a_sync(db_url: str) -> None:
    """Providers repeat themselves (a full PUT of what is there, a PATCH to the same value):
    the people are synced after a change only."""
    runs: list[int] = []
    async with running(db_url, lambda: runs.append(1)) as api:
        user = await api.user("same@corp.test", title="Engineer")
        await api.server.settled()
        assert len(runs) == 1
        again = await api.patch(
            f"/Users/{user['id']}", {"op": "replace", "path": "title", "value": "Engineer"}
        )
        assert again.status == 200
        put = await api.call(
            "PUT", f"/Users/{user['id']}", {"userName": "same@corp.test", "title": "Engineer"}
        )
        assert put.body["meta"]["version"] == user["meta"]["version"]
        await api.server.settled()
        assert len(runs) == 1
        await api.patch(f"/Users/{user['id']}", {"op": "replace", "path": "title", "value": "Lead"})
        await api.server.settled()
        assert len(runs) == 2
