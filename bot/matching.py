"""How each free-text message fared with the intent matcher, for the report's matcher figures.

`bot/chat/understanding.py` calls `record` once per message the matcher decided and `settle` when
the person answers the candidates it offered. A medium-tier row starts as `offered` and
becomes `picked` or `rejected`; the row's id waits in the conversation data meanwhile.
"""

from __future__ import annotations

from bot.base.metrics import MATCHER, OFFERS, TALLY
from bot.turn import Turn
from intents.matcher import MatchResult
from store.models import MatchOutcome
from store.sql import insert_row

PENDING_KEY = "match_row"


def record(turn: Turn, result: MatchResult) -> None:
    """Keep the tier and the immediate outcome of one message the matcher decided."""
    top = result.top
    intent_id = top.intent if top is not None and result.tier == "high" else None
    if result.referral is not None:
        outcome, intent_id = "referred", result.referral  # the topic, counted by the report
    elif result.tier == "high":
        outcome = "understood"
    elif result.tier == "medium":
        outcome = "offered"
    else:
        outcome = "out_of_scope" if result.out_of_scope else "not_understood"
    TALLY.count(MATCHER, result.tier, outcome)
    row_id = insert_row(
        turn.session,
        MatchOutcome,
        {
            "at": turn.now,
            "person_id": turn.person.id,
            "channel": turn.inbound.channel,
            "language": turn.language,
            "tier": result.tier,
            "outcome": outcome,
            "intent_id": intent_id,
        },
    )
    if outcome == "offered":
        turn.data[PENDING_KEY] = row_id
    else:
        turn.data.pop(PENDING_KEY, None)


def settle(turn: Turn, picked: str | None) -> None:
    """The person answered the offered candidates: `picked` an intent, or None (none of these)."""
    row_id = turn.data.pop(PENDING_KEY, None)
    if not isinstance(row_id, int):
        return
    row = turn.session.get(MatchOutcome, row_id)
    if row is None or row.outcome != "offered" or row.person_id != turn.person.id:
        return
    row.outcome = "picked" if picked else "rejected"
    TALLY.count(OFFERS, row.outcome)
    row.intent_id = picked
    turn.session.add(row)
    turn.session.flush()
