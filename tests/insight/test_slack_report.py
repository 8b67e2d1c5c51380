"""`/desk report` in Slack: acknowledged at once, then the summary and the uploaded chart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.base.clock import FixedClock
from bot.base.config import Settings
from bot.desk import Desk
from bot.insight.job import InsightJob
from tests.desks import build_desk
from tests.slack.conftest import Driver, fake, slack, slack_settings
from tests.slack.fake_slack import FakeSlack

__all__ = ["fake", "slack"]  # fixtures used by the tests below


@pytest.fixture
def slack_desk(
    settings: Settings, clock: FixedClock, fake: FakeSlack, tmp_path: Path
) -> Iterator[Desk]:
    tuned = slack_settings(settings, fake.api_url)
    insight = tuned.insight.model_copy(update={"charts": str(tmp_path / "charts")})
    desk = build_desk(tuned.model_copy(update={"insight": insight}), clock=clock, migrate=False)
    yield desk
    desk.store.dispose()


async def test_desk_report_posts_the_summary_and_uploads_the_chart(slack: Driver):
    status, body = await slack.command("U0MARK", "report")
    assert status == 200 and body == ""
    assert "Preparing the service desk report" in slack.last("D0MARK").block_text()
    assert slack.fake.files == []

    assert InsightJob(slack.desk).run_once().reports == 1
    await slack.flush()
    assert "*Service desk report*" in slack.last("D0MARK").block_text()
    [uploaded] = slack.fake.files
    assert uploaded["channel"] == "D0MARK"
    assert slack.fake.uploads[uploaded["id"]][:8] == b"\x89PNG\r\n\x1a\n"


async def test_desk_report_is_refused_to_an_employee(slack: Driver):
    await slack.command("U0BOB", "report")
    assert "for managers and admins" in slack.last("D0BOB").block_text()
    assert InsightJob(slack.desk).run_once().reports == 0
