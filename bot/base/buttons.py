"""Button values and awaited replies: how they are written and read, in one place.

A button's value goes out with the message and comes back when it is pressed, so whoever
reads it must agree with whoever wrote it: `"<kind>:<part>:<part>..."`, where the kind names
the handler (the engine's router table) and the parts are that handler's business. The same
holds for what the desk waits for in a person's next text (`turn.data["awaiting"]`).

Telegram carries a value in `callback_data`, at most 64 bytes; Slack in a button's `value`,
at most 2,000 characters. Values here stay far below both: they hold ids, never user text.
"""

from __future__ import annotations

from dataclasses import dataclass

SEPARATOR = ":"

# Kinds of button: the prefix the engine routes on.
JOURNEY = "j"  # an answer to a journey's question, or a journey control (CONTROL)
SERVICE = "s"  # one of the services offered for a request
MENU = "m"  # rephrase / a person / a general ticket / none of these
APPROVAL = "ap"  # approve or reject
ARTICLE = "kb"  # did the article help?
SURVEY = "sv"  # satisfaction score or "no comment"
INCIDENT = "mi"  # major incidents: declare, dismiss, not mine
PROBLEM = "pb"  # recurring-fault proposals: open a problem, not a problem
TICKET = "t"  # a ticket verb (claim, assign, fixed...) on a card

# Buttons that answer a question: once pressed, the question can show the answer instead.
ANSWERS = frozenset({JOURNEY, SERVICE, MENU})

# What the desk waits for in a person's next text.
REJECT_REASON = "reject_reason"  # why an approver rejects (approval id)
ADD_INFO = "add_info"  # information for a ticket (its number)
SURVEY_COMMENT = "survey_comment"  # a comment after a low score (survey id)
HANDOFF_TEXT = "handoff_text"  # what to tell the person who will take over


# A button's value must fit every platform: Telegram's callback data is at most 64 bytes.
MAX_VALUE = 64


def fits(value: str) -> bool:
    """Whether a button value is short enough for every platform."""
    return len(value.encode()) <= MAX_VALUE


def button(kind: str, *parts: object) -> str:
    """The value of a button of `kind`: `button(APPROVAL, 12, "y")` -> `"ap:12:y"`."""
    return SEPARATOR.join((kind, *(str(p) for p in parts)))


@dataclass(frozen=True)
class Pressed:
    """A button value read back: its kind, and the rest for the kind's handler."""

    kind: str
    rest: str

    @property
    def answers_question(self) -> bool:
        return self.kind in ANSWERS


def read_button(value: str) -> Pressed:
    kind, _, rest = value.partition(SEPARATOR)
    return Pressed(kind, rest)


def awaiting(name: str, arg: object = "") -> str:
    """What goes in `turn.data["awaiting"]`: `awaiting(ADD_INFO, "IT-1042")`."""
    return f"{name}{SEPARATOR}{arg}" if arg != "" else name


def read_awaiting(value: str) -> tuple[str, str]:
    """`"add_info:IT-1042"` -> `("add_info", "IT-1042")`; `""` -> `("", "")`."""
    name, _, arg = value.partition(SEPARATOR)
    return name, arg
