"""Getting the report to people: `/report` in chat and the weekly digest.

`/report` only records a request (`report_request`) in the chat turn: building the figures
and drawing the chart take a moment, and a chat turn holds the write transaction (on SQLite,
every writer's lock) while it runs. The insight job claims each request with one conditional
UPDATE (so one replica builds it), reads the store in a read-only transaction, draws the
chart and queues the summary with the image through the outbox.

The digest is due at `insight.digest.day` / `time` each week; inside the following day the
first replica to insert `(digest, week)` into `job_run` sends it, to every configured target
through the outbox (idempotency keys per week and target, so it never goes twice).
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, update
from sqlmodel import col, select

from bot.base.calendar import DAYS
from bot.base.messages import Address, Message
from bot.desk import Desk
from bot.directory import Person
from bot.insight import charts, render
from bot.insight.metrics import Report, build_report, report_timezone
from store import timers as timer_repo
from store.models import ReportRequest
from store.outbox import notify

log = logging.getLogger(__name__)

STALE = timedelta(minutes=10)  # a claimed request not finished by then is taken up again
BATCH = 5
WEEK = timedelta(days=7)
DIGEST_WINDOW = timedelta(days=1)  # a digest not sent within a day of its time is skipped


def may_see_reports(desk: Desk, person: Person) -> bool:
    """Managers (people with direct reports) and admins."""
    return "admin" in person.roles or desk.directory.is_manager(person.id)


def _draw(desk: Desk, report: Report, name: str, lang: str) -> str | None:
    """The chart's path, or None when it could not be drawn (the text still goes)."""
    path = charts.charts_dir(desk) / name
    try:
        charts.draw(desk, report, path, lang)
    except (OSError, ValueError) as exc:
        log.error("chart %s not drawn: %s", path, exc)
        return None
    return str(path)


def pending_requests(desk: Desk, now: datetime) -> list[int]:
    with desk.store.read() as session:
        stmt = (
            select(ReportRequest.id)
            .where(
                or_(
                    col(ReportRequest.status) == "pending",
                    (col(ReportRequest.status) == "running")
                    & (col(ReportRequest.started_at) < now - STALE),
                )
            )
            .order_by(col(ReportRequest.id))
            .limit(BATCH)
        )
        return [i for i in session.exec(stmt).all() if i is not None]


def _claim(desk: Desk, request_id: int, worker: str, now: datetime) -> ReportRequest | None:
    with desk.store.begin() as session:
        won = session.execute(
            update(ReportRequest)
            .where(
                col(ReportRequest.id) == request_id,
                or_(
                    col(ReportRequest.status) == "pending",
                    (col(ReportRequest.status) == "running")
                    & (col(ReportRequest.started_at) < now - STALE),
                ),
            )
            .values(status="running", worker=worker, started_at=now)
            .returning(col(ReportRequest.id))
        ).first()
        return session.get(ReportRequest, request_id) if won is not None else None


def process_requests(desk: Desk, worker: str) -> int:
    """Build and send the pending `/report` requests; returns how many were sent."""
    sent = 0
    for request_id in pending_requests(desk, desk.clock.now()):
        now = desk.clock.now()
        request = _claim(desk, request_id, worker, now)
        if request is None:
            continue  # another replica has it
        to = Address(request.channel, request.conversation, request.person_id)
        try:
            with desk.store.read() as session:
                report = build_report(
                    desk, session, now - timedelta(seconds=request.since_seconds), now
                )
            image = _draw(desk, report, f"report-{request_id}.png", request.language)
            message = Message(text=render.summary(desk, request.language, report), image=image)
            status, error = "done", None
        except Exception as exc:  # the person must hear back, whatever broke
            log.exception("report %s failed", request_id)
            message = Message(text=desk.texts.render(request.language, "insight.report.failed"))
            status, error = "failed", f"{type(exc).__name__}: {exc}"[:2000]
        with desk.store.begin() as session:
            notify(
                session=session, to=to, message=message, idem_key=f"report:{request_id}", now=now
            )
            session.execute(
                update(ReportRequest)
                .where(col(ReportRequest.id) == request_id)
                .values(status=status, error=error, finished_at=desk.clock.now())
            )
        sent += status == "done"
    return sent


# ---- the weekly digest ------------------------------------------------------------------------


def digest_due(desk: Desk, now: datetime) -> datetime | None:
    """This week's digest moment if it has come and is less than a day old, else None."""
    settings = desk.settings.insight.digest
    if not settings.enabled:
        return None
    zone = ZoneInfo(settings.timezone or report_timezone(desk))
    local = now.astimezone(zone)
    monday = local.date() - timedelta(days=local.weekday())
    day = monday + timedelta(days=DAYS.index(settings.day))
    due = datetime.combine(day, time.fromisoformat(settings.time), zone)
    if due <= now < due + DIGEST_WINDOW:
        return due
    return None


def digest_targets(desk: Desk) -> list[Address]:
    to = desk.settings.insight.digest.to
    return [
        Address(channel, target)
        for channel, target in (
            ("slack", to.slack),
            ("telegram", to.telegram),
            ("console", to.console),
        )
        if target
    ]


def send_digest(desk: Desk, now: datetime, worker: str) -> bool:
    """Send this week's digest if it is due and no replica sent it yet; True if sent now."""
    due = digest_due(desk, now)
    if due is None:
        return False
    slot = int(due.timestamp() // WEEK.total_seconds())  # one per week, small enough for INT
    with desk.store.begin() as session:
        if not timer_repo.claim_slot(
            session=session, name="digest", slot=slot, worker=worker, now=now
        ):
            return False
    settings = desk.settings.insight.digest
    lang = settings.language or desk.settings.language
    error: str | None = None
    # Whole days: the period ends when the digest's day begins (Monday 00:00 for Monday).
    end = datetime.combine(due.date(), time(0), due.tzinfo)
    try:
        with desk.store.read() as session:
            report = build_report(desk, session, end - settings.since, end)
        stamp = due.astimezone(ZoneInfo(report.timezone)).date().isoformat()
        image = _draw(desk, report, f"digest-{stamp}.png", lang)
        message = Message(text=render.summary(desk, lang, report, digest=True), image=image)
        with desk.store.begin() as session:
            for address in digest_targets(desk):
                notify(
                    session=session,
                    to=address,
                    message=message,
                    idem_key=f"digest:{slot}:{address.channel}:{address.conversation}",
                    now=now,
                )
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        log.exception("weekly digest failed")
        raise
    finally:
        with desk.store.begin() as session:
            timer_repo.finish_slot(
                session=session,
                name="digest",
                slot=slot,
                now=desk.clock.now(),
                items=1,
                error=error,
            )
    return True
