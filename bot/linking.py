"""Linking a chat account to a directory person with a one-time code.

A person already known in one channel (Slack, console) asks for a code with
`/link telegram`, or an admin runs `deskbot link PERSON`; the code is then sent to the
bot from the new account. Only the code proves identity: a chat username or display name
is never trusted. Codes are random, stored only as hashes, single use and short-lived.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.desk import Desk
from bot.directory import Person
from store import links
from store.tickets import add_event

CODE_TTL = timedelta(minutes=15)
# Channels whose accounts can be linked, with the directory column that names them directly.
LINKABLE = ("telegram",)
# No 0/O or 1/I: codes are read off one screen and typed on another.
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_LENGTH = 10
_CODE = re.compile(rf"^[{_ALPHABET}]{{{_LENGTH}}}$")


def normalise(code: str) -> str:
    """Upper-case a typed code and drop the spaces and dashes people add."""
    return re.sub(r"[\s-]", "", code).upper()


def looks_like_code(text: str) -> bool:
    return bool(_CODE.match(normalise(text)))


def _hash(code: str) -> str:
    return hashlib.sha256(normalise(code).encode()).hexdigest()


def issue_code(
    *,
    session: Session,
    person_id: str,
    channel: str,
    now: datetime,
    issued_by: str | None = None,
    ttl: timedelta = CODE_TTL,
) -> str:
    """Create a one-time code linking a `channel` account to `person_id`.

    Args:
        session: The open write transaction.
        person_id: The directory person the code will link to.
        channel: Where the code will be redeemed (e.g. "telegram").
        now: Current time (aware UTC).
        issued_by: Who asked for it (the person, or an admin), for the record.
        ttl: How long the code stays valid.

    Returns:
        The code, formatted for reading (`ABCDE-FGHJK`); any earlier unused code of the
        person for this channel stops working.
    """
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(_LENGTH))
    links.add_code(
        session=session,
        code_hash=_hash(raw),
        channel=channel,
        person_id=person_id,
        issued_by=issued_by,
        now=now,
        expires_at=now + ttl,
    )
    add_event(
        session=session,
        ticket=None,
        at=now,
        actor_id=issued_by,
        kind="link_code_issued",
        data={"person": person_id, "channel": channel, "expires_at": (now + ttl).isoformat()},
    )
    return f"{raw[:5]}-{raw[5:]}"


def redeem(
    desk: Desk, *, session: Session, code: str, channel: str, external_id: str, now: datetime
) -> Person | None:
    """Spend `code` for the `channel` account `external_id` and link it.

    Returns:
        The person now linked, or None when the code is malformed, unknown, used, expired
        or issued for someone no longer in the directory.
    """
    person_id = None
    if looks_like_code(code):
        person_id = links.use_code(
            session=session,
            code_hash=_hash(code),
            channel=channel,
            external_id=external_id,
            now=now,
        )
    person = desk.directory.get(person_id)
    account = {"channel": channel, "account": external_id}
    if person is None:
        # Failed attempts are kept: many of them from one account look like guessing.
        add_event(
            session=session, ticket=None, at=now, actor_id=None, kind="link_refused", data=account
        )
        return None
    links.link(
        session=session, channel=channel, external_id=external_id, person_id=person.id, now=now
    )
    add_event(
        session=session,
        ticket=None,
        at=now,
        actor_id=person.id,
        kind="account_linked",
        data=account,
    )
    return person


def _directory_match(desk: Desk, channel: str, external_id: str) -> Person | None:
    if channel == "telegram":
        return desk.directory.by_telegram(external_id)
    if channel == "slack":
        return desk.directory.by_slack(external_id)
    return None


def resolve(desk: Desk, *, session: Session, channel: str, external_id: str) -> Person | None:
    """The person behind a chat account: the directory's id first, then a redeemed link."""
    person = _directory_match(desk, channel, external_id)
    if person is not None:
        return person
    return desk.directory.get(
        links.person_of(session=session, channel=channel, external_id=external_id)
    )


def account(desk: Desk, *, session: Session, person: Person, channel: str) -> str | None:
    """The person's account id on `channel`: the directory's, else a linked one."""
    direct = {"telegram": person.telegram_id, "slack": person.slack_id}.get(channel)
    return direct or links.account_of(session=session, channel=channel, person_id=person.id)
