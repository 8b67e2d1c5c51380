"""A desk built for a command that may never read a request trains its matcher only when
one comes (`bot.content.TrainedOnFirstUse`), and then answers as a trained desk does."""

from __future__ import annotations

from bot.base.config import Settings
from bot.content import TrainedOnFirstUse, build_content


def test_the_matcher_is_trained_when_first_asked_and_answers_the_same(
    repository_settings: Settings,
) -> None:
    eager = build_content(repository_settings).matcher
    lazy = build_content(repository_settings, train=False).matcher
    assert isinstance(lazy, TrainedOnFirstUse)
    assert lazy._trained is None  # nothing trained while nobody asked
    for text in ("my vpn keeps dropping every hour", "申请一台新电脑", "banana"):
        ours, theirs = lazy.match(text), eager.match(text)
        assert (ours.tier, [c.intent for c in ours.candidates]) == (
            theirs.tier,
            [c.intent for c in theirs.candidates],
        )
    first = lazy.trained()
    assert lazy.trained() is first  # trained once
