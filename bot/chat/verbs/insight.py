"""Service-insight verbs: `/report` (managers and admins) and `/kb IT-1042` (technicians).

Slack: `/desk report`, `/desk kb IT-1042`; Telegram and the console: `/report`, `/kb`.
"""

from __future__ import annotations

from datetime import timedelta

from bot import permissions
from bot.base.config import parse_duration
from bot.chat.places import Audience
from bot.chat.verbs import Verb, Verbs
from bot.insight.delivery import may_see_reports
from bot.known_errors import kb_verb
from bot.turn import Turn
from store.models import ReportRequest

MAX_PERIOD = timedelta(days=366)


def report_verb(turn: Turn, args: str) -> None:
    """`/report [30d]`: the summary and the weekly chart, delivered here in a moment."""
    if not may_see_reports(turn.desk, turn.person):
        permissions.refuse(turn, "report", key="insight.report.not_allowed")
        return
    since = turn.desk.settings.insight.since
    value = args.strip()
    if value:
        try:
            since = parse_duration(value)
        except ValueError:
            turn.say("insight.report.bad_period", value=value)
            return
        if not timedelta(hours=1) <= since <= MAX_PERIOD:
            turn.say("insight.report.bad_period", value=value)
            return
    turn.session.add(
        ReportRequest(
            person_id=turn.person.id,
            channel=turn.inbound.channel,
            conversation=turn.inbound.conversation,
            language=turn.language,
            since_seconds=int(since.total_seconds()),
            created_at=turn.now,
        )
    )
    turn.session.flush()
    turn.say("insight.report.preparing", days=max(1, round(since / timedelta(days=1))))


def register(verbs: Verbs) -> None:
    verbs.add(Verb("report", report_verb, aliases=("insight",), audience=Audience.ASKER))
    verbs.add(Verb("kb", kb_verb, staff=True, aliases=("knownerror",), audience=Audience.ASKER))
