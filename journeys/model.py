"""The journey definition format: one YAML file per service (see docs/journeys.md)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, field_validator, model_validator

from bot.base.config import LANGUAGES, Duration

ID = r"^[a-z][a-z0-9_]{0,39}$"
CI_ID = r"^[a-z0-9][a-z0-9._-]{0,63}$"  # a configuration item in directory/cis.yaml


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LocalText(RootModel[dict[str, str]]):
    """Text in every supported language: `{en: ..., zh: ...}` (a template string each)."""

    model_config = ConfigDict(frozen=True)

    @field_validator("root")
    @classmethod
    def _all_languages(cls, value: dict[str, str]) -> dict[str, str]:
        missing = [lang for lang in LANGUAGES if not value.get(lang, "").strip()]
        if missing:
            raise ValueError(f"missing text for language(s): {', '.join(missing)}")
        unknown = [k for k in value if k not in LANGUAGES]
        if unknown:
            raise ValueError(f"unknown language(s): {', '.join(unknown)}")
        return value

    def get(self, lang: str) -> str:
        return self.root.get(lang) or self.root["en"]


class MatchSpec(Strict):
    """What the intent matcher learns from: example requests and keywords per language."""

    examples: dict[Literal["en", "zh"], list[str]] = Field(default_factory=dict)
    keywords: dict[Literal["en", "zh"], list[str]] = Field(default_factory=dict)


class Audience(Strict):
    """Who may start the journey; empty means everyone."""

    roles: list[Literal["employee", "technician", "approver", "admin"]] = Field(
        default_factory=list
    )
    managers: bool = False  # people with direct reports
    reason: LocalText | None = None  # shown to people outside the audience


class GotoRule(Strict):
    when: str | None = None
    to: str


class Validation(Strict):
    kind: Literal["text", "number", "integer", "date", "email", "pattern"] = "text"
    pattern: str | None = None
    min_length: int | None = Field(None, ge=0)
    max_length: int | None = Field(None, ge=1)
    min: float | None = None
    max: float | None = None
    future: bool | None = None  # dates: must be today or later (True) / in the past (False)

    @model_validator(mode="after")
    def _pattern(self) -> Validation:
        if self.kind == "pattern" and not self.pattern:
            raise ValueError("kind 'pattern' needs a pattern")
        if self.pattern:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern is not a valid regular expression: {exc}") from exc
        return self


class StepBase(Strict):
    id: str = Field(pattern=ID)
    when: str | None = None
    goto: str | list[GotoRule] | None = None


class SayStep(StepBase):
    type: Literal["say"]
    text: LocalText


class AskStep(StepBase):
    type: Literal["ask"]
    prompt: LocalText
    hint: LocalText | None = None
    validate_: Validation = Field(default_factory=Validation, alias="validate")
    optional: bool = False
    # The answer names a configuration item (by id, name or alias): the ticket links it.
    # Only a text answer can (checked by the loader, at the line of `ci`).
    ci: bool = False


class Option(Strict):
    value: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,31}$")
    label: LocalText
    keywords: list[str] = Field(default_factory=list)
    ci: str | None = Field(None, pattern=CI_ID)  # the configuration item this choice names


class ChooseStep(StepBase):
    type: Literal["choose"]
    prompt: LocalText
    options: list[Option] = Field(min_length=2)
    hint: LocalText | None = None

    @model_validator(mode="after")
    def _unique(self) -> ChooseStep:
        values = [o.value for o in self.options]
        if len(values) != len(set(values)):
            raise ValueError("option values must be unique")
        return self


class ConfirmStep(StepBase):
    type: Literal["confirm"]
    prompt: LocalText
    hint: LocalText | None = None


Level = Literal["high", "medium", "low"]


class CheckStep(StepBase):
    """An eligibility rule over answers, requester profile and assets.

    On failure the person is told `reason` (and `instead`: what they can do instead), the
    refusal is recorded for audit, and the journey ends, unless `otherwise` names the step
    to continue at (for example an exception path with an extra approval).
    """

    type: Literal["check"]
    rule: str  # sandboxed expression; an undefined name counts as false
    reason: LocalText
    instead: LocalText | None = None
    alternatives: list[str] = Field(default_factory=list)  # service ids offered as buttons
    otherwise: str | None = None


class SuggestStep(StepBase):
    """Self-help articles from the knowledge base, then "Did this fix it?".

    Yes ends the journey as self-solved; no continues. With no article to show (none
    matched, or the person saw them already) the step is skipped.
    """

    type: Literal["suggest"]
    articles: list[str] = Field(default_factory=list)  # ids; default: the service's articles
    search: str | None = None  # template: rank the articles by this text, keep good matches
    limit: int = Field(2, ge=1, le=3)
    # inline: show the article and go straight on; the next question gets a "That fixed
    # it" button, and answering the question means it did not.
    inline: bool = False
    prompt: LocalText | None = None  # shown above the first article
    question: LocalText | None = None  # default: "Did this fix it?"
    hint: LocalText | None = None


class ChangeSpec(Strict):
    """Which of the journey's steps hold a change's facts (docs/changes.md): each value is
    the id of a step. `kind` is a choice of standard / normal / emergency; `impact`,
    `likelihood` and `size` choices whose values the risk settings know; `tested` and
    `rollback` yes/no questions; `window` a date question and `hours` (optional) a
    `HH:MM-HH:MM` time range on that day, in the requester's time zone."""

    kind: str
    system: str
    impact: str
    likelihood: str
    size: str | None = None
    tested: str | None = None
    rollback: str | None = None
    window: str
    hours: str | None = None


CHANGE_KINDS = ("standard", "normal", "emergency")
HOURS = r"^\s*([01]?\d|2[0-3])[:.]([0-5]\d)\s*[-–~到至]\s*([01]?\d|2[0-3])[:.]([0-5]\d)\s*$"


class TicketStep(StepBase):
    type: Literal["ticket"]
    summary: str
    description: str = ""
    ticket_type: Literal["incident", "request", "change"] | None = None
    impact: str = "medium"  # high | medium | low, or an expression
    urgency: str = "medium"
    priority: Literal["P1", "P2", "P3", "P4"] | None = None  # overrides the matrix
    queue: str | None = None
    next: LocalText | None = None  # what happens next, shown after submission
    expected: Duration | None = None  # how long IT's own part takes (after any approvals)
    cis: list[str] = Field(default_factory=list)  # configuration items every such ticket concerns
    change: ChangeSpec | None = None  # a change's facts, for its risk and calendar


class ApproveStep(StepBase):
    """Wait for the requester's manager or an approver group to approve or reject."""

    type: Literal["approve"]
    approver: Literal["manager", "group"] = "manager"
    group: str | None = None  # required when approver is "group"; fallback when no manager
    summary: str  # what the approver is asked to decide on (plain-text template)
    label: LocalText | None = None  # who decides, as the requester reads it in "Next: ..."
    expected: Duration | None = None  # how long the decision usually takes
    waiting: LocalText | None = None  # told to the requester while they wait
    approved: LocalText | None = None  # told to the requester on approval
    rejected: LocalText | None = None  # told on rejection (the reason is added)

    @model_validator(mode="after")
    def _group(self) -> ApproveStep:
        if self.approver == "group" and not self.group:
            raise ValueError("approver 'group' needs group: <name from approver_groups>")
        return self


Step = (
    SayStep
    | AskStep
    | ChooseStep
    | ConfirmStep
    | CheckStep
    | SuggestStep
    | TicketStep
    | ApproveStep
)
# Steps that stop and wait for the person, and steps that run straight through.
Interactive = AskStep | ChooseStep | ConfirmStep | SuggestStep
Automatic = SayStep | CheckStep | TicketStep | ApproveStep
INTERACTIVE_STEPS = (AskStep, ChooseStep, ConfirmStep, SuggestStep)
AUTOMATIC = (SayStep, CheckStep, TicketStep, ApproveStep)
AnyStep = Annotated[Step, Field(discriminator="type")]

STEP_TYPES = ("say", "ask", "choose", "confirm", "check", "suggest", "ticket", "approve")
INTERACTIVE = ("ask", "choose", "confirm", "suggest")


def asks(step: Step) -> bool:
    """Whether the step waits for the person (an inline suggestion does not)."""
    if isinstance(step, SuggestStep):
        return not step.inline
    return step.type in INTERACTIVE


class Journey(Strict):
    """One service as the user lives it."""

    id: str = Field(pattern=ID)
    type: Literal["incident", "request", "change"]
    title: LocalText
    description: LocalText
    queue: str
    sla: str = "standard"
    expected: Duration = timedelta(days=1)
    audience: Audience = Field(default_factory=Audience)
    match: MatchSpec = Field(default_factory=MatchSpec)
    steps: list[AnyStep] = Field(min_length=1)

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def question(self, step_id: str | None) -> Interactive | None:
        """Step `step_id` if it waits for the person's answer (None for any other step)."""
        if step_id is None:
            return None
        step = self.step(step_id)
        return step if isinstance(step, INTERACTIVE_STEPS) else None

    @property
    def step_ids(self) -> frozenset[str]:
        return frozenset(step.id for step in self.steps)

    def index(self, step_id: str) -> int:
        for i, step in enumerate(self.steps):
            if step.id == step_id:
                return i
        raise KeyError(step_id)

    # Duplicate step ids are reported by the loader, at the line of the second one.
