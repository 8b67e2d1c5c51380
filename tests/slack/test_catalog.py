"""Every service in the catalog starts on Slack and its questions render as valid Block Kit.

The fake Slack rejects (and the fixture fails on) any block Slack would refuse, so new
journeys written by anyone are checked here for Slack as soon as they are added.
"""

from __future__ import annotations

from datetime import timedelta

from bot.base.clock import FixedClock
from tests.slack.conftest import Driver

CONTROL = {"Talk to a person", "Cancel", "Try again"}


async def test_every_service_starts_and_its_choices_can_be_pressed(slack: Driver):
    journeys = list(slack.desk.catalog)
    assert journeys
    clock = slack.desk.clock
    assert isinstance(clock, FixedClock)
    for journey in journeys:
        clock.advance(timedelta(minutes=1))  # a person's pace, not a flood (limits.*)
        before = len(slack.fake.posts("D0ALICE"))
        assert await slack.press_value("U0ALICE", f"s:{journey.id}") == 200
        posts = slack.fake.posts("D0ALICE")
        assert len(posts) > before, f"{journey.id}: no answer on Slack"
        # Walk the button steps (choose, confirm) as far as they go, pressing the first.
        for _ in range(10):
            options = [label for label in posts[-1].buttons() if label not in CONTROL]
            if not options:
                break
            await slack.press("U0ALICE", posts[-1], options[0])
            posts = slack.fake.posts("D0ALICE")
        await slack.dm("U0ALICE", "/cancel")
