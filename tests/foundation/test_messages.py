"""`run_together`: text-only replies fold into the next reply to the same place."""

from __future__ import annotations

from bot.base.messages import Address, Choice, Message, Outbound, run_together

DM = Address("slack", "D0ALICE", "alice")
OTHER = Address("slack", "C0TRIAGE")


def text(out: Outbound) -> str:
    return out.message.text


def test_a_preamble_and_a_tip_fold_into_the_question():
    question = Message(
        "Which account is it?", choices=(Choice("Email", "j:email"),), progress="1/4"
    )
    replies = [
        Outbound(DM, Message("Got it.")),
        Outbound(DM, Message("A tip.")),
        Outbound(DM, question),
    ]
    [one] = run_together(replies)
    assert text(one) == "Got it.\n\nA tip.\n\nWhich account is it?"
    assert one.message.choices == question.choices and one.message.progress == "1/4"


def test_what_must_stay_apart_stays_apart():
    buttons = Message("Pick one", choices=(Choice("A", "a"),))
    card = Outbound(DM, Message("IT-1000"), key="card:IT-1000")
    picture = Outbound(DM, Message("Chart", image="/tmp/chart.png"))
    replies = [
        Outbound(DM, Message("For you.")),
        Outbound(OTHER, Message("For the team.")),  # another place: not folded
        Outbound(DM, buttons),  # has buttons: ends a run, never folded forward
        Outbound(DM, Message("Then this.")),
        card,  # edited later by its key: neither folded nor folded into
        Outbound(DM, Message("Before a picture.")),
        picture,  # a picture goes alone
        Outbound(DM, Message("Last words.")),
    ]
    assert [text(o) for o in run_together(replies)] == [
        "For you.",
        "For the team.",
        "Pick one",
        "Then this.",
        "IT-1000",
        "Before a picture.",
        "Chart",
        "Last words.",
    ]


def test_nothing_to_fold():
    assert run_together([]) == []
    single = [Outbound(DM, Message("Hello"))]
    assert run_together(single) == single
