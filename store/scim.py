"""SCIM 2.0 resources an identity provider pushed (bot/scim/ reads and writes them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from store.models import ScimResource


def get(session: Session, kind: str, rid: str) -> ScimResource | None:
    row = session.get(ScimResource, rid)
    return row if row is not None and row.kind == kind else None


def all_of(session: Session, kind: str) -> list[ScimResource]:
    """Every resource of a kind, oldest first (a stable order for paging)."""
    stmt = (
        select(ScimResource)
        .where(col(ScimResource.kind) == kind)
        .order_by(col(ScimResource.created_at), col(ScimResource.id))
    )
    return list(session.exec(stmt))


def documents(session: Session, kind: str) -> list[tuple[str, dict[str, Any]]]:
    """(id, data) of every resource of a kind, oldest first, without building ORM objects
    (what the directory sync reads after each change)."""
    stmt = (
        select(col(ScimResource.id), col(ScimResource.data))
        .where(col(ScimResource.kind) == kind)
        .order_by(col(ScimResource.created_at), col(ScimResource.id))
    )
    return [(rid, data) for rid, data in session.exec(stmt)]


def by_key(session: Session, kind: str, unique_key: str) -> ScimResource | None:
    stmt = select(ScimResource).where(
        col(ScimResource.kind) == kind, col(ScimResource.unique_key) == unique_key
    )
    return session.exec(stmt).first()


def by_external_id(session: Session, kind: str, external_id: str) -> list[ScimResource]:
    stmt = (
        select(ScimResource)
        .where(col(ScimResource.kind) == kind, col(ScimResource.external_id) == external_id)
        .order_by(col(ScimResource.created_at), col(ScimResource.id))
    )
    return list(session.exec(stmt))


def count(session: Session, kind: str) -> int:
    stmt = select(func.count()).select_from(ScimResource).where(col(ScimResource.kind) == kind)
    return int(session.exec(stmt).one())


def add(
    session: Session,
    *,
    rid: str,
    kind: str,
    unique_key: str | None,
    external_id: str | None,
    data: dict[str, Any],
    now: datetime,
) -> ScimResource:
    row = ScimResource(
        id=rid,
        kind=kind,
        unique_key=unique_key,
        external_id=external_id,
        data=data,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row


def save(
    session: Session,
    row: ScimResource,
    *,
    unique_key: str | None,
    external_id: str | None,
    data: dict[str, Any],
    now: datetime,
) -> ScimResource:
    """A new version of the resource (its ETag changes)."""
    row.unique_key = unique_key
    row.external_id = external_id
    row.data = data
    row.version += 1
    row.updated_at = now
    session.add(row)
    session.flush()
    return row


def remove(session: Session, kind: str, rid: str) -> bool:
    result = session.execute(
        delete(ScimResource).where(col(ScimResource.kind) == kind, col(ScimResource.id) == rid)
    )
    return bool(getattr(result, "rowcount", 0))
