"""`/report` for managers and admins, delivered by the insight job with its chart; the weekly
digest; and the matcher outcomes the report counts, recorded as people talk."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import select

from bot.adapters.memory import MemoryChat
from bot.base.clock import FixedClock
from bot.base.config import Matcher
from bot.base.markup import to_plain
from bot.base.messages import Outbound
from bot.desk import Desk
from bot.insight.job import InsightJob
from store.models import JobRun, MatchOutcome, ReportRequest, TicketEvent
from tests.insight.conftest import MakeDesk
from tests.insight.test_major_incident import report_vpn, texts


def delivered(chat: MemoryChat, person: str) -> Outbound:
    InsightJob(chat.desk).run_once()
    chat.flush()
    return chat.seen_by(person)[-1]


def assert_chart(path: str | None) -> None:
    assert path is not None
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == (1000, 900)


@pytest.mark.parametrize("person", ["alice", "alex"])
def test_report_is_refused_to_people_without_reports_and_audited(ichat: MemoryChat, person: str):
    # Alice is an employee; Alex a technician with nobody reporting to him.
    said = ichat.say(person, "/report")
    assert texts(said) == ["Sorry, the service desk report is for managers and admins."]
    with ichat.desk.store.read() as session:
        refused = session.exec(select(TicketEvent).where(TicketEvent.kind == "refused")).one()
        assert session.exec(select(ReportRequest)).first() is None
    assert (refused.actor_id, refused.note) == (person, "report")


def test_a_manager_gets_the_summary_with_the_chart(ichat: MemoryChat, clock: FixedClock):
    report_vpn(ichat, "alice")
    clock.advance(timedelta(minutes=5))  # the period ends when the report is built
    said = ichat.say("mark", "/report")  # Mark manages Alice and Bob
    assert texts(said) == [
        "Preparing the service desk report for the last 30 days. It will arrive here in a moment."
    ]
    shown = delivered(ichat, "mark")
    text = to_plain(shown.text)
    assert text.startswith("Service desk report, 24 Oct 2026 to 23 Nov 2026")
    assert "• Requests through the desk: 1 (1 with a ticket)" in text
    assert "• VPN problem: 1" in text
    assert_chart(shown.message.image)
    with ichat.desk.store.read() as session:
        request = session.exec(select(ReportRequest)).one()
    assert request.status == "done" and request.finished_at is not None
    # Delivered once: another run finds nothing to do.
    assert InsightJob(ichat.desk).run_once().reports == 0


def test_an_admin_in_chinese_for_two_weeks(ichat: MemoryChat):
    said = ichat.say("priya", "/report 2w")
    assert "last 14 days" in texts(said)[0]
    ichat.say("li.wei", "/report 2w")  # Li Wei manages Wang Fang; writes in Chinese
    shown = delivered(ichat, "li.wei")
    assert to_plain(shown.text).startswith("服务台报表，2026年11月9日 至 2026年11月23日")
    assert_chart(shown.message.image)
    bad = ichat.say("priya", "/report forever")
    assert "I couldn't read “forever” as a period" in texts(bad)[0]


def test_without_a_writable_chart_folder_the_text_still_arrives(
    make_desk: MakeDesk, tmp_path: Path
):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the charts folder should be")
    chat = MemoryChat(make_desk(charts=str(blocker / "reports")))
    chat.say("priya", "/report")
    shown = delivered(chat, "priya")
    assert to_plain(shown.text).startswith("Service desk report")
    assert shown.message.image is None


def test_the_weekly_digest_goes_once_to_the_configured_chat(make_desk: MakeDesk, clock: FixedClock):
    desk = make_desk(digest={"enabled": True, "to": {"console": "it-managers"}, "since": "1w"})
    chat = MemoryChat(desk)
    # Due Monday 09:00 London; the clock says Monday 10:00.
    run = InsightJob(desk).run_once()
    assert run.slot and run.digest
    chat.flush()
    [digest] = chat.seen_by("it-managers", channel="console")
    assert to_plain(digest.text).startswith(
        "Weekly service desk digest, 16 Nov 2026 to 22 Nov 2026"
    )
    assert_chart(digest.message.image)
    # The next slot, or another replica, does not send it again this week.
    clock.advance(timedelta(minutes=1))
    assert not InsightJob(desk, worker="replica-2").run_once().digest
    chat.flush()
    assert len(chat.seen_by("it-managers", channel="console")) == 1
    with desk.store.read() as session:
        runs = session.exec(select(JobRun).where(JobRun.name == "digest")).all()
    assert len(runs) == 1 and runs[0].finished_at is not None


def test_the_digest_waits_for_its_time_and_is_skipped_when_a_day_late(
    make_desk: MakeDesk, clock: FixedClock
):
    desk = make_desk(digest={"enabled": True, "to": {"console": "it-managers"}})
    clock.set(clock.now().replace(hour=8))  # Monday 08:00: not yet
    assert not InsightJob(desk).run_once().digest
    clock.set(clock.now() + timedelta(days=1, hours=1, minutes=1))  # Tuesday 09:01: too late
    assert not InsightJob(desk).run_once().digest


def test_digest_enabled_without_a_target_is_a_located_config_error(tmp_path: Path):
    from bot.base.config import load_settings
    from bot.base.yamlfile import ProblemsError
    from tests.conftest import ROOT

    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    broken = tmp_path / "config.yaml"
    broken.write_text(
        text.replace("    enabled: false\n    day: mon", "    enabled: true\n    day: mon"),
        encoding="utf-8",
    )
    with pytest.raises(ProblemsError) as caught:
        load_settings(broken, {})
    [problem] = caught.value.problems
    assert problem.field == "insight.digest" and problem.line is not None
    assert "names no channel" in problem.message


def test_matcher_outcomes_are_recorded_as_people_talk(make_desk: MakeDesk, settings):
    # Thresholds chosen so the tiers do not depend on fine details of the model.
    desk = make_desk()
    desk_settings = desk.settings.model_copy(
        update={"matcher": Matcher(high=0.9, low=0.3, margin=0.05, max_choices=4)}
    )
    from bot.content import build_matcher

    desk.settings = desk_settings
    desk.content = replace(desk.content, matcher=build_matcher(desk_settings, desk.intents))
    chat = MemoryChat(desk)
    assert desk.matcher.match("I forgot my password").tier == "high"
    assert desk.matcher.match("wifi or vpn not working").tier == "medium"
    assert desk.matcher.match("book me a flight to Paris").tier == "low"

    chat.say("alice", "I forgot my password")  # understood at once
    chat.say("alice", "cancel")
    offered = chat.say("bob", "wifi or vpn not working")
    pick = next(c.value for o in offered for c in o.choices if c.value.startswith("s:"))
    chat.press("bob", pick)  # picked from the choices
    chat.say("bob", "cancel")
    chat.say("mark", "wifi or vpn not working")
    chat.press("mark", "m:none")  # none of these
    chat.say("wang.fang", "wifi or vpn not working")  # offered, never answered
    chat.say("li.wei", "book me a flight to Paris")  # a referral topic: travel
    chat.say("dana", "tell me something funny")  # out of scope, nowhere to point
    with desk.store.read() as session:
        rows = session.exec(select(MatchOutcome).order_by(MatchOutcome.id)).all()  # type: ignore[arg-type]
    assert [(r.person_id, r.tier, r.outcome) for r in rows] == [
        ("alice", "high", "understood"),
        ("bob", "medium", "picked"),
        ("mark", "medium", "rejected"),
        ("wang.fang", "medium", "offered"),
        ("li.wei", "low", "referred"),
        ("dana", "low", "out_of_scope"),
    ]
    assert rows[0].intent_id == "password_reset" and rows[1].intent_id == pick[2:]
    assert rows[4].intent_id == "travel_expenses"  # the topic, counted by the report


def test_serve_schedules_the_insight_job_on_every_replica(idesk: Desk):
    from notifications.scheduler import build_scheduler

    scheduler = build_scheduler(idesk, {})
    job = scheduler.get_job("insight")
    assert job is not None and job.trigger.interval == timedelta(seconds=10)
    assert job.max_instances == 1 and job.coalesce


@pytest.mark.parametrize(
    ("person", "sees_report", "sees_kb"),
    [("alice", False, False), ("alex", False, True), ("mark", True, False)],
)
def test_help_names_report_to_managers_and_kb_to_technicians(
    ichat: MemoryChat, person: str, sees_report: bool, sees_kb: bool
):
    [helped] = texts(ichat.say(person, "/help"))
    assert ("/report 7d" in helped) is sees_report
    assert ("/kb IT-1042" in helped) is sees_kb
