"""SQLModel tables. Times are aware UTC datetimes on every backend."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, Integer, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Store aware datetimes; SQLite drops the zone, so re-attach UTC on the way out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use aware UTC datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


class ProcessedEvent(SQLModel, table=True):
    """One row per platform event handled; the primary key makes redeliveries no-ops."""

    __tablename__ = "processed_event"
    channel: str = Field(primary_key=True, max_length=32)
    event_id: str = Field(primary_key=True, max_length=128)
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))


class InboundUpdate(SQLModel, table=True):
    """An update received by long polling and not handled yet.

    Telegram forgets an update once the next getUpdates confirms it, which happens before
    the update is handled; the row keeps it until then, so a crash in between loses nothing.
    """

    __tablename__ = "inbound_update"
    channel: str = Field(primary_key=True, max_length=32)
    event_id: str = Field(primary_key=True, max_length=128)
    payload: dict[str, Any] = Field(sa_column=Column(JSONType, nullable=False))
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))


class ChatMove(SQLModel, table=True):
    """A chat that moved to a new id (a Telegram group upgraded to a supergroup): messages
    for the old id go to the new one, and the new one keeps the old one's role (triage)."""

    __tablename__ = "chat_move"
    channel: str = Field(primary_key=True, max_length=32)
    old_chat: str = Field(primary_key=True, max_length=64)
    new_chat: str = Field(max_length=64)
    moved_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ConversationState(SQLModel, table=True):
    """The journey a person is in, per channel + person + conversation (DM, thread...)."""

    __tablename__ = "conversation_state"
    __table_args__ = (UniqueConstraint("channel", "person_id", "conversation"),)
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=32)
    person_id: str = Field(max_length=64, index=True)
    conversation: str = Field(max_length=200)
    service_id: str | None = Field(default=None, max_length=64)
    language: str = Field(default="en", max_length=8)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    version: int = Field(default=0)
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), index=True))


class Ticket(SQLModel, table=True):
    __tablename__ = "ticket"
    __table_args__ = (
        Index("ix_ticket_queue_status", "queue", "status"),
        Index("ix_ticket_requester_status", "requester_id", "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True)
    type: str = Field(max_length=16)  # incident, request, change, problem
    service_id: str | None = Field(default=None, max_length=64, index=True)
    requester_id: str = Field(max_length=64)
    status: str = Field(max_length=24)
    priority: str = Field(max_length=4)
    queue: str = Field(max_length=64)
    assignee_id: str | None = Field(default=None, max_length=64, index=True)
    title: str = Field(max_length=300)
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    answers: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONType, nullable=False)
    )
    source: str = Field(
        default="desk", max_length=16
    )  # desk | logged (reached IT outside the desk)
    language: str = Field(default="en", max_length=8)
    channel: str | None = Field(default=None, max_length=32)
    conversation: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expected_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))  # ETA told
    first_response_due: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    resolution_due: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    first_response_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    closed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class TicketEvent(SQLModel, table=True):
    """Append-only audit trail; database triggers refuse UPDATE and DELETE."""

    __tablename__ = "ticket_event"
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    actor_id: str | None = Field(default=None, max_length=64)
    kind: str = Field(max_length=32)
    from_status: str | None = Field(default=None, max_length=24)
    to_status: str | None = Field(default=None, max_length=24)
    note: str = Field(default="", sa_column=Column(Text, nullable=False))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))


class TicketSearch(SQLModel, table=True):
    """A ticket's search document, as tokens (`store.search`): kept in the same transaction as
    the ticket and its events. SQLite indexes it in an FTS5 table, PostgreSQL in a tsvector
    column; both are made by the migration (they are not plain SQLModel columns)."""

    __tablename__ = "ticket_search"
    ticket_id: int = Field(foreign_key="ticket.id", primary_key=True)
    title: str = Field(default="", sa_column=Column(Text, nullable=False))
    body: str = Field(default="", sa_column=Column(Text, nullable=False))


class Counter(SQLModel, table=True):
    """Named sequences (ticket numbers), bumped with one atomic UPDATE ... RETURNING."""

    __tablename__ = "counter"
    name: str = Field(primary_key=True, max_length=32)
    value: int


class OutboxMessage(SQLModel, table=True):
    """A message to deliver, written in the same transaction as the change that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "available_at"),
        # Order per conversation: "is an earlier message still pending?" reads only pending rows.
        Index(
            "ix_outbox_pending_conversation",
            "channel",
            "conversation",
            "id",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    idem_key: str = Field(max_length=200, unique=True)
    channel: str = Field(max_length=32)
    conversation: str = Field(max_length=200)
    person_id: str | None = Field(default=None, max_length=64)
    ref_key: str | None = Field(default=None, max_length=120)  # edit-in-place key
    payload: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONType, nullable=False)
    )
    status: str = Field(default="pending", max_length=16)  # pending | sent | dead | withheld
    attempts: int = Field(default=0)
    available_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    locked_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    locked_by: str | None = Field(default=None, max_length=64)
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # When delivery was first tried: the age limit counts from here, not from queueing, so a
    # notice held back by quiet hours over a weekend is not given up on at its first failure.
    first_attempt_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # The turn that queued it and the ticket it is about (bot/base/logcontext.py): the send,
    # later and maybe in another process, is logged under the same correlation id.
    correlation_id: str | None = Field(default=None, max_length=32)
    ticket: str | None = Field(default=None, max_length=32)


class MessageRef(SQLModel, table=True):
    """The platform id of a message we may edit later (triage cards, status cards), one per
    conversation: a ticket moved to another queue has a card in each triage channel."""

    __tablename__ = "message_ref"
    channel: str = Field(primary_key=True, max_length=32)
    key: str = Field(primary_key=True, max_length=120)
    conversation: str = Field(primary_key=True, max_length=200)
    ref: str = Field(max_length=200)
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Approval(SQLModel, table=True):
    """A decision a journey waits for; the parked journey state resumes when it is made."""

    __tablename__ = "approval"
    __table_args__ = (Index("ix_approval_status_created", "status", "created_at"),)
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    service_id: str = Field(max_length=64)
    step: str = Field(max_length=64)
    requester_id: str = Field(max_length=64, index=True)
    rule: str = Field(max_length=16)  # manager | group
    group: str | None = Field(default=None, max_length=64)
    approvers: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    summary: str = Field(default="", sa_column=Column(Text, nullable=False))
    status: str = Field(default="pending", max_length=16)  # pending|approved|rejected|cancelled
    decided_by: str | None = Field(default=None, max_length=64)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    channel: str = Field(max_length=32)
    conversation: str = Field(max_length=200)
    language: str = Field(default="en", max_length=8)
    journey_state: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONType, nullable=False)
    )
    scope: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # Approvals needed before it is approved (a CAB's quorum); one is the usual single decision.
    quorum: int = Field(default=1, sa_column=Column(Integer, nullable=False, server_default="1"))


class IdentityLink(SQLModel, table=True):
    """A chat account (e.g. a Telegram user id) proven to belong to a directory person.

    Made by redeeming a one-time code the person obtained in a channel where they are
    already known; the directory's own ids (slack_id, telegram_id) need no row here.
    """

    __tablename__ = "identity_link"
    channel: str = Field(primary_key=True, max_length=32)
    external_id: str = Field(primary_key=True, max_length=64)
    person_id: str = Field(max_length=64, index=True)
    linked_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class LinkCode(SQLModel, table=True):
    """A one-time linking code; only its SHA-256 is stored, so a database copy holds no
    usable codes. Single use (`used_at`) and short-lived (`expires_at`)."""

    __tablename__ = "link_code"
    code_hash: str = Field(primary_key=True, max_length=64)
    channel: str = Field(max_length=32)
    person_id: str = Field(max_length=64, index=True)
    issued_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    used_by: str | None = Field(default=None, max_length=64)


PENDING = text("status = 'pending'")


class Timer(SQLModel, table=True):
    """Something to do at `due_at`: a reminder, an SLA deadline, an auto-close, a survey.

    `key` names one occurrence (`sla:resolution:breach:t42`), so planning twice never makes
    two timers and a timer that fired is never armed again. `subject` is `t<ticket id>` or
    `a<approval id>`. Timers are rows, not pickled scheduler jobs: they survive restarts and
    refactors, and any replica can fire them.
    """

    __tablename__ = "timer"
    __table_args__ = (
        Index("ix_timer_due", "due_at", sqlite_where=PENDING, postgresql_where=PENDING),
        Index("ix_timer_subject", "subject", "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=160, unique=True)
    kind: str = Field(max_length=32)
    subject: str = Field(max_length=32)
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    status: str = Field(default="pending", max_length=16)  # pending|done|cancelled|failed
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    fired_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class FollowCursor(SQLModel, table=True):
    """How far the sweep has read an append-only table (the audit trail, approvals).

    `holes` are ids below `position` not seen yet: on PostgreSQL a transaction that took a
    lower id may commit after a higher one, so those ids are looked for again for a while.
    """

    __tablename__ = "follow_cursor"
    name: str = Field(primary_key=True, max_length=32)
    position: int = Field(default=0)
    holes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class JobRun(SQLModel, table=True):
    """One row per periodic job and time slot: the replica that inserts it runs that slot."""

    __tablename__ = "job_run"
    name: str = Field(primary_key=True, max_length=32)
    slot: int = Field(primary_key=True)
    worker: str = Field(max_length=64)
    started_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    items: int = Field(default=0)
    error: str | None = Field(default=None, sa_column=Column(Text))


class Survey(SQLModel, table=True):
    """A satisfaction survey sent after a ticket closed, and the answer (1-5, comment)."""

    __tablename__ = "survey"
    __table_args__ = (Index("ix_survey_person_sent", "person_id", "sent_at"),)
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", unique=True)
    person_id: str = Field(max_length=64)
    sent_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    score: int | None = Field(default=None)
    comment: str = Field(default="", sa_column=Column(Text, nullable=False))
    answered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class NoticePreference(SQLModel, table=True):
    """A person's choice about non-essential notices (nudges, reminders, surveys)."""

    __tablename__ = "notice_pref"
    person_id: str = Field(primary_key=True, max_length=64)
    muted: bool = Field(default=False)
    muted_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class IntentFeedback(SQLModel, table=True):
    """A request the matcher could not settle alone, kept so an admin can teach the catalog.

    kind: resolved (the person picked a service from the offered buttons), not_understood,
    out_of_scope, or none_of_these (the person rejected every offered service).
    status: new -> accepted (added to learned.yaml) or dismissed.
    """

    __tablename__ = "intent_feedback"
    __table_args__ = (Index("ix_intent_feedback_status_created", "status", "created_at"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    text: str = Field(sa_column=Column(Text, nullable=False))
    language: str = Field(default="en", max_length=8)
    intent_id: str | None = Field(default=None, max_length=64)  # what the person picked
    candidates: list[Any] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )  # [[intent, score], ...] as offered
    person_id: str = Field(max_length=64)
    channel: str = Field(max_length=32)
    status: str = Field(default="new", max_length=16)
    accepted_intent: str | None = Field(default=None, max_length=64)
    reviewed_by: str | None = Field(default=None, max_length=64)
    reviewed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


# ---- service insight (bot/insight) --------------------------------------------------------


class MatchOutcome(SQLModel, table=True):
    """One free-text message the intent matcher decided, and how it ended (for the report).

    tier: high, medium, low. outcome: understood (high: acted on at once), offered (medium:
    candidates shown, no answer yet), picked (medium: the person chose an offered service),
    rejected ("none of these"), not_understood (low), out_of_scope (low, not an IT request).
    """

    __tablename__ = "match_outcome"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    person_id: str = Field(max_length=64)
    channel: str = Field(max_length=32)
    language: str = Field(default="en", max_length=8)
    tier: str = Field(max_length=8)
    outcome: str = Field(max_length=16)
    intent_id: str | None = Field(default=None, max_length=64)  # acted on, or picked


class MajorIncident(SQLModel, table=True):
    """Several reports of the same failure: suspected by the desk, declared by a technician.

    status: suspected (the queue was alerted) -> declared (a problem ticket links the
    reports) -> resolved; or suspected -> dismissed. `key` is `service:<id>` or
    `text:<sample>` (reports without a service that read alike).
    """

    __tablename__ = "major_incident"
    __table_args__ = (Index("ix_major_incident_status", "status", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=120)
    service_id: str | None = Field(default=None, max_length=64)
    sample: str = Field(default="", sa_column=Column(Text, nullable=False))
    queue: str = Field(max_length=64)
    status: str = Field(default="suspected", max_length=16)
    first_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    detected_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    problem_ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    note: str = Field(default="", sa_column=Column(Text, nullable=False))


class IncidentLink(SQLModel, table=True):
    """A report tied to a major incident: a ticket, or a person told "we know about it".

    `key` (`<incident>:t<ticket>` or `<incident>:p<person>`) makes linking idempotent.
    status: linked, or unlinked (the person said their problem is something else).
    """

    __tablename__ = "incident_link"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=100, unique=True)
    incident_id: int = Field(foreign_key="major_incident.id", index=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    person_id: str = Field(max_length=64)
    channel: str | None = Field(default=None, max_length=32)
    conversation: str | None = Field(default=None, max_length=200)
    language: str = Field(default="en", max_length=8)
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    status: str = Field(default="linked", max_length=16)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))


class KnowledgeArticle(SQLModel, table=True):
    """A knowledge article a technician made from a ticket's resolution (`/desk kb IT-1042`).

    Loaded into the knowledge base next to the Markdown files at start-up and refreshed by
    every replica, so self-help and the intent matcher use it without a code change.
    """

    __tablename__ = "kb_article"
    id: int | None = Field(default=None, primary_key=True)
    article_id: str = Field(max_length=64, unique=True)
    language: str = Field(default="en", max_length=8)
    title: str = Field(max_length=120)
    services: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    keywords: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    status: str = Field(default="active", max_length=16)  # active | retired
    version: int = Field(default=1)  # bumped by every change, so replicas notice edits
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ReportRequest(SQLModel, table=True):
    """`/report` asked in chat: built off the chat turn by the insight job, then delivered.

    status: pending -> running (claimed by one replica) -> done | failed.
    """

    __tablename__ = "report_request"
    __table_args__ = (Index("ix_report_request_status", "status", "created_at"),)
    id: int | None = Field(default=None, primary_key=True)
    person_id: str = Field(max_length=64)
    channel: str = Field(max_length=32)
    conversation: str = Field(max_length=200)
    language: str = Field(default="en", max_length=8)
    since_seconds: int
    status: str = Field(default="pending", max_length=16)
    worker: str | None = Field(default=None, max_length=64)
    error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    started_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class Pace(SQLModel, table=True):
    """How many messages a person sent in the current minute (flood control), and whether
    they were told to slow down in it. One row per person, reused minute after minute."""

    __tablename__ = "pace"
    person_id: str = Field(primary_key=True, max_length=64)
    window_start: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    messages: int = 0
    warned: bool = False


class DeadMessage(SQLModel, table=True):
    """A message from a person that could not be handled (a bug, not an outage): set aside
    so it blocks nobody, apologised for, reported to the admins, listed by `deskbot inbox`."""

    __tablename__ = "dead_message"
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=32)
    event_id: str | None = Field(default=None, max_length=128)
    person_id: str = Field(max_length=64)
    conversation: str = Field(max_length=200)
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    action: str | None = Field(default=None, max_length=256)
    error: str = Field(default="", sa_column=Column(Text, nullable=False))
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))


class Attachment(SQLModel, table=True):
    """A file someone sent for a ticket (a screenshot, a log), kept in the attachment store
    (`attachments.folder`) under its SHA-256; `path` is relative to that folder."""

    __tablename__ = "attachment"
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    name: str = Field(max_length=255)
    mime: str = Field(max_length=127)
    size: int
    path: str = Field(max_length=255)
    sha256: str = Field(max_length=64)
    channel: str = Field(max_length=32)  # where it was sent from
    added_by: str = Field(max_length=64)
    added_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class TicketLink(SQLModel, table=True):
    """Two tickets tied by a technician: `related` (`/link`, shown on both) or `merged`
    (`/merge`: `ticket_id` was closed into `other_id`, whose notices its requester follows).
    """

    __tablename__ = "ticket_link"
    __table_args__ = (UniqueConstraint("ticket_id", "other_id", name="uq_ticket_link_pair"),)
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    other_id: int = Field(foreign_key="ticket.id", index=True)
    kind: str = Field(max_length=16)  # related | merged
    actor_id: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class PersonEvent(SQLModel, table=True):
    """The people audit: what each directory sync changed (append-only, like `ticket_event`).

    `kind`: add, update, deactivate, reactivate, or refused (a sync that changed nothing;
    no person, `note` says why). `changes`: field -> [old, new]. `source`: the sources the
    person's fields came from (`ldap;csv`), or the source that failed."""

    __tablename__ = "person_event"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    person_id: str | None = Field(default=None, max_length=64, index=True)
    kind: str = Field(max_length=16)
    source: str = Field(default="", max_length=64)
    actor: str = Field(default="", max_length=64)  # what ran the sync: cli, serve
    changes: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONType, nullable=False)
    )
    note: str = Field(default="", sa_column=Column(Text, nullable=False))


class DirectoryState(SQLModel, table=True):
    """How the directory syncs stand, one row: the problem they are stuck on since when (a
    source that fails, too many deactivations), so it is audited and told once, not at every
    interval; cleared by the next sync that goes through."""

    __tablename__ = "directory_state"
    name: str = Field(primary_key=True, max_length=32)
    problem: str | None = Field(default=None, max_length=200)
    since: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    last_run: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    last_ok: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class TicketCi(SQLModel, table=True):
    """A configuration item (`bot/cis.py`, by id) that a ticket concerns, and how the link
    came about: requester_device, journey_answer, change, technician or problem."""

    __tablename__ = "ticket_ci"
    ticket_id: int = Field(foreign_key="ticket.id", primary_key=True)
    ci_id: str = Field(primary_key=True, max_length=64, index=True)
    how: str = Field(max_length=32)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Problem(SQLModel, table=True):
    """A problem record: the cause behind one or more incidents (docs/problems.md).

    Its work (queue, owner, SLA, notes, the audit trail) is a ticket of type `problem`
    (`ticket_id`); this row holds what a problem adds: root cause, workaround and status
    investigating -> known_error -> resolved. Shown as `PRB-<id>` (`problems.prefix`).
    """

    __tablename__ = "problem"
    __table_args__ = (Index("ix_problem_status", "status", "service_id"),)
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", unique=True)
    title: str = Field(max_length=300)
    service_id: str | None = Field(default=None, max_length=64)
    status: str = Field(default="investigating", max_length=16)
    root_cause: str = Field(default="", sa_column=Column(Text, nullable=False))
    workaround: str = Field(default="", sa_column=Column(Text, nullable=False))
    article_id: str | None = Field(default=None, max_length=64)  # published known error
    incident_id: int | None = Field(default=None, foreign_key="major_incident.id")
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class ProblemLink(SQLModel, table=True):
    """An incident ticket linked to a problem. status: linked | unlinked; `how`: technician,
    major_incident, candidate (opened from a recurring-fault proposal) or reported (a new
    report offered the workaround)."""

    __tablename__ = "problem_link"
    __table_args__ = (UniqueConstraint("problem_id", "ticket_id", name="uq_problem_link"),)
    id: int | None = Field(default=None, primary_key=True)
    problem_id: int = Field(foreign_key="problem.id", index=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    status: str = Field(default="linked", max_length=16)
    how: str = Field(max_length=16)
    actor_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ProblemCandidate(SQLModel, table=True):
    """A recurring fault proposed to a queue as a problem (bot/recurring.py).

    `key` names what recurs (`service:<id>`, `service:<id>|ci:<id>`,
    `person:<id>|service:<id>`); `last_at` is the newest report counted, so the same
    reports are never proposed twice. status: proposed -> opened | dismissed.
    """

    __tablename__ = "problem_candidate"
    __table_args__ = (Index("ix_problem_candidate_key", "key", "last_at"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200)
    queue: str = Field(max_length=64)
    service_id: str | None = Field(default=None, max_length=64)
    ci_id: str | None = Field(default=None, max_length=64)
    person_id: str | None = Field(default=None, max_length=64)
    ticket_ids: list[int] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    reporters: int = 0
    status: str = Field(default="proposed", max_length=16)
    problem_id: int | None = Field(default=None, foreign_key="problem.id")
    last_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class ApprovalVote(SQLModel, table=True):
    """One approver's vote on an approval that needs several (a CAB quorum): one per person."""

    __tablename__ = "approval_vote"
    approval_id: int = Field(foreign_key="approval.id", primary_key=True)
    person_id: str = Field(primary_key=True, max_length=64)
    verdict: str = Field(max_length=16)  # approved | rejected
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    on_behalf_of: str | None = Field(default=None, max_length=64)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ChangeRecord(SQLModel, table=True):
    """A change ticket's change control (bot/changes.py): its kind, the item it touches, its
    risk, its window, and where it is: pending (the CAB decides) -> approved -> scheduled ->
    implementing -> succeeded | failed | rolled_back; or rejected."""

    __tablename__ = "change_record"
    __table_args__ = (Index("ix_change_record_window", "window_start", "window_end"),)
    ticket_id: int = Field(foreign_key="ticket.id", primary_key=True)
    kind: str = Field(max_length=16)  # standard | normal | emergency
    system: str = Field(max_length=200)  # as the requester named it
    item: str = Field(max_length=200, index=True)  # the CI id, else the system name folded
    impact: str = Field(max_length=8)
    likelihood: str = Field(max_length=8)
    size: str | None = Field(default=None, max_length=32)
    tested: bool | None = None
    rollback: bool | None = None
    risk: str = Field(max_length=8)  # low | medium | high
    score: int
    window_start: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    window_end: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    stage: str = Field(max_length=16, index=True)
    implementer_id: str | None = Field(default=None, max_length=64)
    conflicts: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    review_needed: bool = False  # an emergency change: the CAB reviews it after the outcome
    reviewed_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    outcome_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class ScimResource(SQLModel, table=True):
    """A SCIM 2.0 User or Group an identity provider pushed (bot/scim/): its attributes as
    the provider gave them (`data`, JSON, without id and meta), its ETag `version` and times.

    `unique_key` is a User's userName in lower case (unique, as RFC 7643 makes it for the
    server); Groups leave it NULL, as their displayName need not be unique."""

    __tablename__ = "scim_resource"
    __table_args__ = (UniqueConstraint("kind", "unique_key", name="uq_scim_resource_key"),)
    id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=16, index=True)  # User | Group
    unique_key: str | None = Field(default=None, max_length=255)
    external_id: str | None = Field(default=None, max_length=255, index=True)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    version: int = 1
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
