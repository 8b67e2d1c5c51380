"""Journey state, inputs, effects and the context a journey may read. All plain data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from bot.base.messages import Message
from bot.base.texts import Texts
from journeys.kb import KnowledgeBase

Status = Literal["active", "waiting", "done", "cancelled"]


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


@dataclass
class JourneyState:
    """Where one person is in one journey; stored as JSON after every step."""

    service_id: str
    language: str
    step: str | None = None
    answers: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, dict[str, str]] = field(default_factory=dict)  # chosen option labels
    seen_articles: list[str] = field(default_factory=list)  # not to be suggested again
    history: list[str] = field(default_factory=list)
    failures: int = 0
    status: Status = "active"
    started_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        # A plain copy of JSON-like values: dataclasses.asdict is several times slower and
        # this runs on every turn.
        return {name: _copy(getattr(self, name)) for name in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JourneyState:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    @property
    def finished(self) -> bool:
        return self.status in ("done", "cancelled")


# ---- inputs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Start:
    """Begin the journey (optionally with answers already known, e.g. from the request)."""

    answers: dict[str, Any] = field(default_factory=dict)
    # The request that started it ("my vpn keeps dropping"): a choice it already names is
    # taken from it instead of being asked again.
    text: str = ""


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Press:
    """A button: `step` is the step it belongs to ("_" for conversation controls)."""

    step: str
    value: str


@dataclass(frozen=True)
class Decision:
    """An approver decided on the approval the journey is waiting for."""

    step: str
    approved: bool
    by: str
    reason: str = ""


Input = Start | Text | Press | Decision


# ---- effects ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateTicket:
    service_id: str
    ticket_type: str
    title: str
    description: str
    priority: str
    queue: str
    answers: dict[str, Any]
    next_text: str | None = None
    # A change's facts named by the step's `change` (kind, system, impact, likelihood, size,
    # tested, rollback, window, hours): the answers given, None for a question skipped.
    change: dict[str, Any] | None = None


@dataclass(frozen=True)
class Handoff:
    """The person asked for a human (or gave up on a step): pass the request on."""

    service_id: str
    step: str | None
    answers: dict[str, Any]
    reason: str


@dataclass(frozen=True)
class Ended:
    """The journey ended; `outcome` feeds the metrics (self_solved, cancelled, refused...)."""

    service_id: str
    outcome: str


@dataclass(frozen=True)
class Audit:
    """Something compliance needs on record (an eligibility refusal, a decision...)."""

    kind: str
    note: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RequestApproval:
    """Ask the requester's manager (`approver: manager`) or a named group to decide.

    The journey waits (status "waiting") until a Decision arrives. When a ticket was
    created earlier in the journey, the approval is attached to it.
    """

    service_id: str
    step: str
    approver: str  # "manager" or "group"
    group: str | None
    summary: str
    answers: dict[str, Any]


Effect = CreateTicket | Handoff | Ended | Audit | RequestApproval


@dataclass
class Result:
    state: JourneyState
    replies: list[Message] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    # How many replies came before each effect, so a ticket's confirmation is shown
    # between the messages before it and a `say` step after it.
    marks: list[int] = field(default_factory=list)

    def add(self, effect: Effect) -> None:
        self.effects.append(effect)
        self.marks.append(len(self.replies))

    def ordered(self) -> list[tuple[list[Message], Effect | None]]:
        """Replies and effects in the order they happened: (replies before, effect)."""
        marks = self.marks if len(self.marks) == len(self.effects) else []
        marks = marks or [len(self.replies)] * len(self.effects)
        out: list[tuple[list[Message], Effect | None]] = []
        shown = 0
        for effect, mark in zip(self.effects, marks, strict=True):
            out.append((self.replies[shown:mark], effect))
            shown = max(shown, mark)
        out.append((self.replies[shown:], None))
        return out


@dataclass(frozen=True)
class Context:
    """Read-only facts a journey may use; built by the engine for each turn."""

    texts: Texts
    language: str
    requester: dict[str, Any]
    assets: list[dict[str, Any]] = field(default_factory=list)
    now: datetime | None = None
    today: date | None = None
    priority_matrix: dict[str, dict[str, str]] = field(default_factory=dict)
    expected_text: str = ""
    max_failures: int = 3
    kb: KnowledgeBase | None = None
    seen_articles: frozenset[str] = frozenset()  # shown already (a direct "how do I" answer)
    service_titles: dict[str, str] = field(default_factory=dict)  # in `language`

    def variables(self, state: JourneyState, lang: str | None = None) -> dict[str, Any]:
        """Names available to conditions and templates (`labels` in `lang` if given)."""
        lang = lang or self.language
        return {
            "answers": dict(state.answers),
            "labels": {sid: names.get(lang, "") for sid, names in state.labels.items()},
            "requester": self.requester,
            "assets": self.assets,
            "devices": devices(self.assets),
            "today": self.today,
            "lang": self.language,
        }


def devices(assets: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The person's current device of each kind (the newest in use): `devices.laptop`."""
    out: dict[str, dict[str, Any]] = {}
    for asset in assets:
        if asset.get("status", "in_use") != "in_use":
            continue
        kind = str(asset.get("kind"))
        mine = out.get(kind)
        if mine is None or str(asset.get("purchased") or "") > str(mine.get("purchased") or ""):
            out[kind] = asset
    return out
