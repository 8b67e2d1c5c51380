"""Recognise which intent a free-text request expresses, with a confidence tier."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from rapidfuzz import fuzz, process, utils

from intents.catalog import IntentCatalog

Tier = Literal["high", "medium", "low"]


@dataclass(frozen=True)
class Candidate:
    intent: str
    score: float  # 0-1
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class MatchResult:
    text: str
    tier: Tier
    candidates: tuple[Candidate, ...] = field(default_factory=tuple)

    @property
    def top(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


@dataclass(frozen=True)
class Thresholds:
    high: float = 0.6
    low: float = 0.35
    margin: float = 0.08
    max_choices: int = 4


class Matcher(Protocol):
    def match(self, text: str) -> MatchResult: ...


def tier_for(candidates: list[Candidate], thresholds: Thresholds) -> Tier:
    """high: one clear winner; medium: plausible but close; low: nothing plausible."""
    if not candidates or candidates[0].score < thresholds.low:
        return "low"
    top = candidates[0].score
    second = candidates[1].score if len(candidates) > 1 else 0.0
    if top >= thresholds.high and top - second >= thresholds.margin:
        return "high"
    return "medium"


class FuzzyMatcher:
    """Baseline: best token_set_ratio over every catalog phrase, per intent."""

    def __init__(self, catalog: IntentCatalog, thresholds: Thresholds | None = None) -> None:
        self.thresholds = thresholds or Thresholds()
        self._phrases: list[str] = []
        self._owners: list[str] = []
        for intent in catalog:
            for _lang, phrase in intent.phrases():
                self._phrases.append(utils.default_process(phrase))
                self._owners.append(intent.id)

    def match(self, text: str) -> MatchResult:
        query = utils.default_process(text)
        best: dict[str, Candidate] = {}
        if query:
            found = process.extract(
                query, self._phrases, scorer=fuzz.token_set_ratio, processor=None, limit=50
            )
            for phrase, score, index in found:
                owner = self._owners[index]
                if owner not in best or best[owner].score < score / 100:
                    best[owner] = Candidate(owner, score / 100, (phrase,))
        ranked = sorted(best.values(), key=lambda c: -c.score)[: self.thresholds.max_choices + 1]
        return MatchResult(
            text=text, tier=tier_for(ranked, self.thresholds), candidates=tuple(ranked)
        )
