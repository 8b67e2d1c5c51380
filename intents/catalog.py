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


@dataclass(frozen=True)
class Intent:
    """One thing a person may want, with the phrases that express it."""

    id: str
    kind: Literal["service", "builtin"]
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

    def __iter__(self) -> Iterator[Intent]:
        return iter(self.intents.values())

    def __len__(self) -> int:
        return len(self.intents)

    def get(self, intent_id: str) -> Intent | None:
        return self.intents.get(intent_id)

    def add(self, intent: Intent) -> None:
        self.intents[intent.id] = intent

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
