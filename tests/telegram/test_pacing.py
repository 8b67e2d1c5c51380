"""The pacer's arithmetic, with a clock that only moves when told."""

from __future__ import annotations

import pytest

from bot.adapters.telegram.pacing import Pacer, Pacing


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def send_now(pacer: Pacer, chat: int | str, n: int = 1) -> None:
    for _ in range(n):
        assert pacer.wait(chat) == 0
        pacer.sent(chat)


def test_private_chat_burst_then_one_per_second():
    clock = Clock()
    pacer = Pacer(Pacing(), now=clock)
    send_now(pacer, 42, 3)
    assert pacer.wait(42) == pytest.approx(1.0)
    assert pacer.wait(43) == 0  # other chats are not affected
    clock.t += 0.5
    assert pacer.wait(42) == pytest.approx(0.5)
    clock.t += 0.5
    send_now(pacer, 42)
    clock.t += 10
    send_now(pacer, 42, 3)  # the burst refilled, never beyond its size


def test_group_twenty_per_minute():
    clock = Clock()
    pacer = Pacer(Pacing(per_chat_burst=100), now=clock)
    for _ in range(20):
        send_now(pacer, -100123)
        clock.t += 1
    assert pacer.wait(-100123) == pytest.approx(40.0)  # the first one leaves the window at 60
    assert pacer.wait("-100123") == 0  # (a different key: str ids are also groups)
    clock.t = 60.0
    send_now(pacer, -100123)


def test_overall_thirty_per_second():
    clock = Clock()
    pacer = Pacer(Pacing(), now=clock)
    for chat in range(30):
        send_now(pacer, chat + 1)
    assert pacer.wait(99) == pytest.approx(1.0)
    clock.t += 1.0
    send_now(pacer, 99)


def test_flood_control_blocks_the_chat():
    clock = Clock()
    pacer = Pacer(Pacing(), now=clock)
    pacer.block(7, 12)
    assert pacer.wait(7) == pytest.approx(12)
    assert pacer.wait(8) == 0
    clock.t += 12
    assert pacer.wait(7) == 0
