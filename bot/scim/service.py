"""The SCIM operations on stored resources: create, read, replace, patch, delete, list.

Plain and synchronous (the HTTP side runs them in a thread). Every write is one
transaction that takes the `scim` lock first (PostgreSQL: an advisory lock; SQLite writes
are serialised anyway), so a group's members or a user name are never changed by two
requests at once. Each returns the resource as given back to the client, with its ETag.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from dataclasses import replace as altered
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.base.clock import Clock
from bot.scim.documents import apply_patch, clean, project, timestamp
from bot.scim.errors import ScimError, invalid_filter, invalid_value, not_found
from bot.scim.filters import Compare, Filter, matches, parse_filter
from bot.scim.schemas import GROUPS, LIST, USERS, Kind
from store import scim as repo
from store.db import Store
from store.models import ScimResource


@dataclass(frozen=True)
class Reply:
    body: dict[str, Any]
    etag: str | None = None
    changed: bool = True  # False: a PUT or PATCH that left the resource as it was


@dataclass(frozen=True)
class Query:
    filter: str | None = None
    start: int = 1
    count: int | None = None
    attributes: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()


Document = tuple[str, dict[str, Any]]


def etag(row: ScimResource) -> str:
    return f'W/"{row.version}"'


def _unique_key(kind: Kind, data: dict[str, Any]) -> str | None:
    return str(data["userName"]).lower() if kind is USERS else None


class Scim:
    def __init__(self, store: Store, clock: Clock, max_results: int = 200) -> None:
        self.store = store
        self.clock = clock
        self.max_results = max_results

    # --- reading -------------------------------------------------------------------------

    def _groups_of(self, session: Session, base: str) -> dict[str, list[dict[str, Any]]]:
        """Each user's groups (the User's read-only `groups` attribute)."""
        found: dict[str, list[dict[str, Any]]] = {}
        for group in repo.all_of(session, GROUPS.name):
            for member in group.data.get("members", []):
                value = member.get("value")
                if isinstance(value, str):
                    found.setdefault(value, []).append(
                        {
                            "value": group.id,
                            "$ref": f"{base}/Groups/{group.id}",
                            "display": group.data.get("displayName", ""),
                            "type": "direct",
                        }
                    )
        return found

    def _render(
        self,
        kind: Kind,
        row: ScimResource,
        base: str,
        groups_of: dict[str, list[dict[str, Any]]] | None,
    ) -> dict[str, Any]:
        schemas = [kind.schema.id] + [e.id for e in kind.extensions if e.id in row.data]
        doc: dict[str, Any] = {"schemas": schemas, "id": row.id, **row.data}
        if kind is USERS and groups_of and groups_of.get(row.id):
            doc["groups"] = groups_of[row.id]
        doc["meta"] = {
            "resourceType": kind.name,
            "created": timestamp(row.created_at),
            "lastModified": timestamp(row.updated_at),
            "location": f"{base}/{kind.endpoint}/{row.id}",
            "version": etag(row),
        }
        return doc

    def _reply(
        self, session: Session, kind: Kind, row: ScimResource, base: str, query: Query
    ) -> Reply:
        groups = self._groups_of(session, base) if kind is USERS else None
        doc = self._render(kind, row, base, groups)
        return Reply(project(doc, kind, list(query.attributes), list(query.excluded)), etag(row))

    def get(self, kind: Kind, rid: str, base: str, query: Query = Query()) -> Reply:
        with self.store.read() as session:
            row = repo.get(session, kind.name, rid)
            if row is None:
                raise not_found(kind.name, rid)
            return self._reply(session, kind, row, base, query)

    def search(self, kind: Kind, base: str, query: Query) -> dict[str, Any]:
        return self.page(self.matching(kind, base, query), query)

    def matching(
        self, kind: Kind, base: str, query: Query, strict: bool = True
    ) -> list[dict[str, Any]]:
        """Every resource of a kind the query's filter matches, as given back.
        `strict=False` (searching all types at once): a filter that does not fit this type
        matches nothing of it instead of failing."""
        try:
            tree = parse_filter(query.filter, kind) if query.filter else None
        except ScimError:
            if strict:
                raise
            return []
        with self.store.read() as session:
            rows = self._candidates(session, kind, tree)
            groups = self._groups_of(session, base) if kind is USERS else None
            docs = [self._render(kind, row, base, groups) for row in rows]
        if tree is not None:
            docs = [doc for doc in docs if matches(tree, doc, kind)]
        return [project(doc, kind, list(query.attributes), list(query.excluded)) for doc in docs]

    def page(self, docs: list[dict[str, Any]], query: Query) -> dict[str, Any]:
        """A ListResponse of one page (startIndex counts from 1; count is capped)."""
        start = max(query.start, 1)
        count = (
            self.max_results if query.count is None else max(min(query.count, self.max_results), 0)
        )
        page = docs[start - 1 : start - 1 + count]
        return {
            "schemas": [LIST],
            "totalResults": len(docs),
            "startIndex": start,
            "itemsPerPage": len(page),
            "Resources": page,
        }

    def _candidates(self, session: Session, kind: Kind, tree: Filter | None) -> list[ScimResource]:
        """The rows a filter can match: by index for what identity providers ask most
        (`userName eq`, `externalId eq`, `id eq`), else all of the kind."""
        if isinstance(tree, Compare) and tree.op == "eq" and isinstance(tree.value, str):
            name = tree.path.attr.lower()
            if tree.path.schema is None and tree.path.sub is None:
                if name == "username" and kind is USERS:
                    row = repo.by_key(session, kind.name, tree.value.lower())
                    return [row] if row else []
                if name == "externalid":
                    return repo.by_external_id(session, kind.name, tree.value)
                if name == "id":
                    row = repo.get(session, kind.name, tree.value)
                    return [row] if row else []
        return repo.all_of(session, kind.name)

    # --- writing -------------------------------------------------------------------------

    def _check_refs(
        self, session: Session, kind: Kind, data: dict[str, Any], old: dict[str, Any] | None
    ) -> None:
        """Each member a group gains is a User or Group here (members it had are not asked
        again: deleting a resource takes it out of every group)."""
        if kind is not GROUPS:
            return
        had = {m.get("value") for m in (old or {}).get("members", [])}
        for member in data.get("members", []):
            value = member.get("value")
            if not isinstance(value, str) or not value:
                raise invalid_value("members: each member needs a value (a User's or Group's id)")
            if value not in had and session.get(ScimResource, value) is None:
                raise invalid_value(f"members: '{value}' is not a User or Group here")

    def _check_unique(
        self, session: Session, kind: Kind, data: dict[str, Any], rid: str | None
    ) -> None:
        key = _unique_key(kind, data)
        if key is None:
            return
        other = repo.by_key(session, kind.name, key)
        if other is not None and other.id != rid:
            raise ScimError(409, f"userName '{data['userName']}' is already taken", "uniqueness")

    def create(self, kind: Kind, body: Any, base: str, query: Query = Query()) -> Reply:
        data = clean(kind, body)
        try:
            with self.store.begin() as session:
                self.store.lock(session, "scim")
                self._check_unique(session, kind, data, None)
                self._check_refs(session, kind, data, None)
                row = repo.add(
                    session,
                    rid=str(uuid.uuid4()),
                    kind=kind.name,
                    unique_key=_unique_key(kind, data),
                    external_id=data.get("externalId"),
                    data=data,
                    now=self.clock.now(),
                )
                return self._reply(session, kind, row, base, query)
        except IntegrityError:
            raise ScimError(409, "the userName is already taken", "uniqueness") from None

    def _write(
        self,
        kind: Kind,
        rid: str,
        base: str,
        if_match: str | None,
        change: Any,
        query: Query,
    ) -> Reply:
        try:
            with self.store.begin() as session:
                self.store.lock(session, "scim")
                row = repo.get(session, kind.name, rid)
                if row is None:
                    raise not_found(kind.name, rid)
                _precondition(row, if_match)
                data = change(row.data)
                changed = data != row.data
                if changed:
                    self._check_unique(session, kind, data, rid)
                    self._check_refs(session, kind, data, row.data)
                    repo.save(
                        session,
                        row,
                        unique_key=_unique_key(kind, data),
                        external_id=data.get("externalId"),
                        data=data,
                        now=self.clock.now(),
                    )
                reply = self._reply(session, kind, row, base, query)
                return altered(reply, changed=changed)
        except IntegrityError:
            raise ScimError(409, "the userName is already taken", "uniqueness") from None

    def replace(
        self,
        kind: Kind,
        rid: str,
        body: Any,
        base: str,
        if_match: str | None,
        query: Query = Query(),
    ) -> Reply:
        data = clean(kind, body)
        return self._write(kind, rid, base, if_match, lambda _old: data, query)

    def patch(
        self,
        kind: Kind,
        rid: str,
        body: Any,
        base: str,
        if_match: str | None,
        query: Query = Query(),
    ) -> Reply:
        return self._write(
            kind, rid, base, if_match, lambda old: clean(kind, apply_patch(kind, old, body)), query
        )

    def delete(self, kind: Kind, rid: str, if_match: str | None) -> None:
        with self.store.begin() as session:
            self.store.lock(session, "scim")
            row = repo.get(session, kind.name, rid)
            if row is None:
                raise not_found(kind.name, rid)
            _precondition(row, if_match)
            repo.remove(session, kind.name, rid)
            # Whatever listed it no longer does (RFC 7644 3.6: it is gone everywhere).
            now = self.clock.now()
            for group in repo.all_of(session, GROUPS.name):
                members = group.data.get("members", [])
                kept = [m for m in members if m.get("value") != rid]
                if len(kept) != len(members):
                    data = {**group.data, "members": kept}
                    if not kept:
                        del data["members"]
                    repo.save(
                        session,
                        group,
                        unique_key=None,
                        external_id=group.external_id,
                        data=data,
                        now=now,
                    )

    # --- for the directory sync ----------------------------------------------------------

    def snapshot(self) -> tuple[list[Document], list[Document]]:
        """Every User and every Group as (id, stored document), oldest first, read in one
        transaction so a group never names a user the same read did not see."""
        with self.store.read() as session:
            return repo.documents(session, USERS.name), repo.documents(session, GROUPS.name)


def _precondition(row: ScimResource, if_match: str | None) -> None:
    if if_match is None:
        return
    wanted = {tag.strip() for tag in if_match.split(",")}
    if "*" in wanted or etag(row) in wanted or etag(row).removeprefix("W/") in wanted:
        return
    raise ScimError(412, f"the resource changed: its version is now {etag(row)}")


def parse_query(params: dict[str, str]) -> Query:
    """startIndex, count, filter, attributes, excludedAttributes from a query string."""

    def number(name: str) -> int | None:
        raw = params.get(name)
        if raw is None or raw == "":
            return None
        try:
            return int(raw)
        except ValueError:
            raise invalid_value(f"{name}: '{raw}' is not a number") from None

    def names(name: str) -> tuple[str, ...]:
        return tuple(n.strip() for n in params.get(name, "").split(",") if n.strip())

    text = params.get("filter")
    if text is not None and not text.strip():
        raise invalid_filter("the filter is empty")
    return Query(
        filter=text,
        start=number("startIndex") or 1,
        count=number("count"),
        attributes=names("attributes"),
        excluded=names("excludedAttributes"),
    )
