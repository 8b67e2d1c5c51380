"""Identity links: chat accounts proven (by a one-time code) to belong to a person."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, update
from sqlmodel import Session, col, select

from store.models import IdentityLink, LinkCode


def add_code(
    *,
    session: Session,
    code_hash: str,
    channel: str,
    person_id: str,
    issued_by: str | None,
    now: datetime,
    expires_at: datetime,
) -> None:
    """Store a new code (by hash); earlier unused codes of the person for the channel die."""
    session.execute(
        update(LinkCode)
        .where(
            col(LinkCode.person_id) == person_id,
            col(LinkCode.channel) == channel,
            col(LinkCode.used_at).is_(None),
            col(LinkCode.expires_at) > now,
        )
        .values(expires_at=now)
    )
    session.add(
        LinkCode(
            code_hash=code_hash,
            channel=channel,
            person_id=person_id,
            issued_by=issued_by,
            created_at=now,
            expires_at=expires_at,
        )
    )


def use_code(
    *, session: Session, code_hash: str, channel: str, external_id: str, now: datetime
) -> str | None:
    """Spend a live code; the person it was issued for, or None (unknown, used or expired).

    One conditional UPDATE ... RETURNING, so two people racing with the same code cannot
    both win.
    """
    stmt = (
        update(LinkCode)
        .where(
            col(LinkCode.code_hash) == code_hash,
            col(LinkCode.channel) == channel,
            col(LinkCode.used_at).is_(None),
            col(LinkCode.expires_at) > now,
        )
        .values(used_at=now, used_by=external_id)
        .returning(col(LinkCode.person_id))
    )
    row = session.execute(stmt).first()
    return str(row[0]) if row else None


def link(
    *, session: Session, channel: str, external_id: str, person_id: str, now: datetime
) -> None:
    """Point `external_id` at `person_id`, replacing the person's earlier account there."""
    session.execute(
        delete(IdentityLink).where(
            col(IdentityLink.channel) == channel,
            or_(
                col(IdentityLink.external_id) == external_id,
                col(IdentityLink.person_id) == person_id,
            ),
        )
    )
    session.add(
        IdentityLink(channel=channel, external_id=external_id, person_id=person_id, linked_at=now)
    )


def unlink(*, session: Session, channel: str, person_id: str) -> int:
    """Forget the person's linked accounts on `channel`; returns how many were removed."""
    result = session.execute(
        delete(IdentityLink)
        .where(col(IdentityLink.channel) == channel, col(IdentityLink.person_id) == person_id)
        .returning(col(IdentityLink.external_id))
    )
    return len(result.all())


def person_of(*, session: Session, channel: str, external_id: str) -> str | None:
    row = session.get(IdentityLink, (channel, external_id))
    return row.person_id if row else None


def account_of(*, session: Session, channel: str, person_id: str) -> str | None:
    stmt = select(IdentityLink.external_id).where(
        IdentityLink.channel == channel, IdentityLink.person_id == person_id
    )
    return session.exec(stmt).first()
