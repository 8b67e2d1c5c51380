"""`/report` in Telegram: the summary, then the chart as a photo (sendPhoto, spec-checked)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.base.clock import FixedClock
from bot.base.config import Settings
from bot.desk import Desk
from bot.insight.job import InsightJob
from tests.desks import build_desk
from tests.telegram.conftest import Harness, fake, telegram_settings, tg
from tests.telegram.fake_bot_api import FakeBotAPI

__all__ = ["fake", "tg"]  # fixtures used by the tests below

MARK, BOB = 1004, 1002  # telegram ids in directory/people.csv


@pytest.fixture
def tg_desk(
    settings: Settings, clock: FixedClock, fake: FakeBotAPI, tmp_path: Path
) -> Iterator[Desk]:
    tuned = telegram_settings(settings, fake.api_url)
    insight = tuned.insight.model_copy(update={"charts": str(tmp_path / "charts")})
    desk = build_desk(tuned.model_copy(update={"insight": insight}), clock=clock, migrate=False)
    yield desk
    desk.store.dispose()


async def test_report_sends_the_summary_then_the_chart_as_a_photo(tg: Harness, fake: FakeBotAPI):
    [ack] = await tg.say(MARK, "/report")
    assert "Preparing the service desk report" in ack.text
    assert InsightJob(tg.desk).run_once().reports == 1
    await tg.flush()
    summary, photo = fake.in_chat(MARK)[-2:]
    assert summary.text.startswith("Service desk report") and photo.photo
    sends = [c.method for c in fake.calls if c.method.startswith("send")]
    assert sends[-2:] == ["sendMessage", "sendPhoto"]


async def test_report_is_refused_to_an_employee(tg: Harness):
    [said] = await tg.say(BOB, "/report")
    assert "for managers and admins" in said.text
