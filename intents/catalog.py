"""What the matcher can recognise: services (from the catalog) and built-in intents."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.base.yamlfile import Problem, ProblemsError, load_yaml, validation_problems

BUILTINS = ("ticket_status", "human_handoff", "greet", "help", "cancel", "thanks")
# Optional: examples of requests the desk does not handle ("book me a flight"). The matcher
# learns them like an intent but never offers it; a request closest to it is out of scope.
OUT_OF_SCOPE = "out_of_scope"
# Social intents: a reply of their own when they are the message, never a choice to offer.
SMALL_TALK = ("greet", "thanks")
# Topics the IT desk does not handle but can point elsewhere (catalog/referrals.yaml): the
# matcher learns each as an intent "referral:<topic>", never offered as a service.
REFERRAL = "referral:"


def is_outside(intent_id: str) -> bool:
    """Out of scope or a referral: learned, recognised, never offered as something IT does."""
    return intent_id == OUT_OF_SCOPE or intent_id.startswith(REFERRAL)


@dataclass(frozen=True)
class Intent:
    """One thing a person may want, with the phrases that express it."""

    id: str
    kind: Literal["service", "builtin", "referral"]
    titles: dict[str, str]
    examples: dict[str, tuple[str, ...]] = field(default_factory=dict)
    keywords: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def phrases(self) -> Iterator[tuple[str, str]]:
        """(language, phrase) for every title, example and keyword."""
        for lang, title in self.titles.items():
            yield lang, title
        for lang, items in self.examples.items():
            for item in items:
                yield lang, item
        for lang, items in self.keywords.items():
            for item in items:
                yield lang, item


@dataclass
class IntentCatalog:
    intents: dict[str, Intent] = field(default_factory=dict)
    referrals: dict[str, Referral] = field(default_factory=dict)  # by topic

    def __iter__(self) -> Iterator[Intent]:
        return iter(self.intents.values())

    def __len__(self) -> int:
        return len(self.intents)

    def get(self, intent_id: str) -> Intent | None:
        return self.intents.get(intent_id)

    def add(self, intent: Intent) -> None:
        self.intents[intent.id] = intent

    def add_referral(self, referral: Referral) -> None:
        """A topic IT does not handle: recognised like an intent, answered with a pointer."""
        self.referrals[referral.topic] = referral
        self.add(referral.intent())

    def add_examples(self, intent_id: str, by_lang: dict[str, list[str]]) -> None:
        """Extend an intent's examples (accepted phrasings); unknown intents are ignored."""
        intent = self.intents.get(intent_id)
        if intent is None:
            return
        examples = dict(intent.examples)
        for lang, phrases in by_lang.items():
            examples[lang] = (*examples.get(lang, ()), *phrases)
        self.intents[intent_id] = replace(intent, examples=examples)

    def phrase_count(self) -> int:
        return sum(1 for intent in self for _ in intent.phrases())


class _Builtin(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: dict[Literal["en", "zh"], str]
    examples: dict[Literal["en", "zh"], list[str]] = Field(default_factory=dict)
    keywords: dict[Literal["en", "zh"], list[str]] = Field(default_factory=dict)


def load_builtins(path: Path) -> list[Intent]:
    """Read the built-in intents (status, handoff, greet, help, cancel, thanks)."""
    doc = load_yaml(path)
    if not isinstance(doc.data, dict):
        raise ProblemsError([Problem(str(path), 1, "", "expected a mapping of intents")])
    problems: list[Problem] = []
    intents = []
    for name in BUILTINS:
        if name not in doc.data:
            problems.append(Problem(str(path), 1, name, "built-in intent is missing"))
    for name, raw in doc.data.items():
        if name not in BUILTINS and name != OUT_OF_SCOPE:
            problems.append(
                doc.problem((name,), f"unknown built-in intent (known: {', '.join(BUILTINS)})")
            )
            continue
        try:
            spec = _Builtin.model_validate(raw)
        except ValidationError as exc:
            problems += validation_problems(doc, exc, prefix=(name,))
            continue
        intents.append(
            Intent(
                id=name,
                kind="builtin",
                titles={str(k): v for k, v in spec.title.items()},
                examples={str(k): tuple(v) for k, v in spec.examples.items()},
                keywords={str(k): tuple(v) for k, v in spec.keywords.items()},
            )
        )
    if problems:
        raise ProblemsError(problems)
    return intents


@dataclass(frozen=True)
class Referral:
    """A topic IT does not handle, and where to go instead (catalog/referrals.yaml)."""

    topic: str
    titles: dict[str, str]
    where: dict[str, str]  # markup, per language
    examples: dict[str, tuple[str, ...]]

    def intent(self) -> Intent:
        return Intent(REFERRAL + self.topic, "referral", self.titles, self.examples)


class _Referral(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: dict[Literal["en", "zh"], str]
    where: dict[Literal["en", "zh"], str]
    examples: dict[Literal["en", "zh"], list[str]] = Field(default_factory=dict)


def load_referrals(path: Path) -> list[Referral]:
    """Read the referral topics (a missing file: none). Errors name the file, line and field."""
    if not path.exists():
        return []
    doc = load_yaml(path)
    if doc.data is None:
        return []
    if not isinstance(doc.data, dict):
        raise ProblemsError([Problem(str(path), 1, "", "expected a mapping of topics")])
    problems: list[Problem] = []
    out: list[Referral] = []
    for name, raw in doc.data.items():
        topic = str(name)
        if not topic.replace("_", "").isalnum() or not topic.isascii():
            problems.append(doc.problem((name,), "a topic is letters, digits and _ only"))
            continue
        try:
            spec = _Referral.model_validate(raw)
        except ValidationError as exc:
            problems += validation_problems(doc, exc, prefix=(name,))
            continue
        if not any(spec.examples.values()):
            problems.append(doc.problem((name,), "a topic needs at least one example"))
            continue
        out.append(
            Referral(
                topic=topic,
                titles={str(k): v for k, v in spec.title.items()},
                where={str(k): v for k, v in spec.where.items()},
                examples={str(k): tuple(v) for k, v in spec.examples.items()},
            )
        )
    if problems:
        raise ProblemsError(problems)
    return out
