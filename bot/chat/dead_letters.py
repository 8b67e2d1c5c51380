"""Messages that cannot be handled: set aside, apologised for, reported - never retried forever.

A message that breaks its turn (a bug, bad data the store refuses) would otherwise fail the
same way on every redelivery: a Slack turn failing forever, a Telegram webhook answering 500
forever, a polling batch fetched again and again so nobody else's message is read. Instead
its event is claimed in a fresh transaction (redeliveries stop), the message is kept as a
dead letter (`deskbot inbox`), the admins are told, and the sender gets an apology.

An outage is different (`store.db.is_outage`): while the database cannot be reached
nothing can be set aside, and the message must be tried again later, so the engine raises
those to the channel instead.
"""

from __future__ import annotations

import logging

from bot.addresses import home_address
from bot.base.language import detect
from bot.base.messages import Inbound, Message, Outbound
from bot.desk import Desk
from store import inbox
from store.events import claim_event
from store.models import DeadMessage
from store.outbox import notify

log = logging.getLogger(__name__)

ERROR_CHARS = 2000


def set_aside(desk: Desk, inbound: Inbound, error: Exception) -> list[Outbound]:
    """Keep `inbound` as a dead letter, tell the admins, and apologise to the sender."""
    now = desk.clock.now()
    person = desk.directory.get(inbound.person_id)
    with desk.store.begin() as session:
        if inbound.event_id and not claim_event(
            session=session, channel=inbound.channel, event_id=inbound.event_id, now=now
        ):
            return []  # set aside already (or handled meanwhile by another process)
        kept = inbox.set_aside(
            session,
            DeadMessage(
                channel=inbound.channel,
                event_id=inbound.event_id,
                person_id=inbound.person_id,
                conversation=inbound.conversation,
                text=inbound.text,
                action=inbound.action[:256] if inbound.action else None,
                error=f"{type(error).__name__}: {error}"[:ERROR_CHARS],
                at=now,
            ),
        )
        log.error(
            "message %s from %s could not be handled; kept as dead letter %s (%s)",
            inbound.event_id,
            inbound.person_id,
            kept.id,
            type(error).__name__,
        )
        name = person.name if person else inbound.person_id
        for admin in desk.directory.admins():
            text = desk.texts.render(
                admin.language,
                "errors.dead_letter_admin",
                id=kept.id,
                name=name,
                channel=inbound.channel,
                error=type(error).__name__,
            )
            notify(
                session=session,
                to=home_address(desk, session, admin),
                message=Message(text=text),
                idem_key=f"dead:{kept.id}:{admin.id}",
                now=now,
            )
    language = detect(inbound.text) or (person.language if person else desk.settings.language)
    apology = desk.texts.render(language, "errors.not_handled")
    return [Outbound(inbound.address, Message(text=apology))]
