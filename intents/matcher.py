"""Recognise which intent a free-text request expresses, with a confidence tier.

The interface the desk uses: `Matcher`, its `MatchResult` and ranked `Candidate`s, and the
`Thresholds` that sort a result into high, medium or low confidence (`tier_for`).

`LexicalMatcher` is the default: a logistic regression over TF-IDF word and character
n-grams and English word vectors, trained on the catalog's titles, examples and keywords at
start-up (`intents.training`). It runs no neural model and needs no network. Here it turns
the model's scores into a result: which intents to offer, whether the request is out of
scope, and which tier. Every candidate explains itself (`intents.explain`): the words that
pushed it up and the catalog phrase closest to the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np

from intents.catalog import OUT_OF_SCOPE, SMALL_TALK, IntentCatalog
from intents.explain import dense_shares, evidence, nearest_example
from intents.text import Analysis, Lexicon
from intents.training import (
    ModelSettings,
    default_lexicon,
    dense_features,
    expansions,
    trained_for,
    vectorise,
)

Tier = Literal["high", "medium", "low"]


@dataclass(frozen=True)
class Candidate:
    intent: str
    score: float  # 0-1: the model's probability for this intent
    evidence: tuple[str, ...] = ()  # words or phrases of the request that drove the score
    example: str = ""  # the catalog phrase of this intent closest to the request


@dataclass(frozen=True)
class MatchResult:
    text: str
    tier: Tier
    candidates: tuple[Candidate, ...] = field(default_factory=tuple)
    out_of_scope: bool = False  # recognised as something the desk does not handle
    corrections: tuple[tuple[str, str], ...] = ()  # (typed, understood as)
    # A topic of catalog/referrals.yaml (non-IT: facilities, payroll...) the request is about;
    # only with out_of_scope, and the desk answers with where to go instead.
    referral: str | None = None

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


class LexicalMatcher:
    """TF-IDF n-grams + logistic regression over the catalog (`intents.training`).

    `corpus` is optional unlabelled text in the catalog's domain (real requests, no intents
    needed). When given, the model also learns a distributional view from it
    (`intents.distributional`), so words the catalog never uses still count.
    """

    def __init__(
        self,
        catalog: IntentCatalog,
        thresholds: Thresholds | None = None,
        *,
        lexicon: Lexicon | None = None,
        settings: ModelSettings | None = None,
        corpus: Sequence[str] = (),
    ) -> None:
        self.thresholds = thresholds or Thresholds()
        self.settings = settings or ModelSettings()
        self._lexicon = lexicon or default_lexicon()
        self._t = trained_for(catalog, self._lexicon, self.settings, corpus)

    @property
    def intents(self) -> list[str]:
        return list(self._t.intents)

    def phrase_count(self) -> int:
        return len(self._t.phrases)

    def analyse(self, text: str) -> Analysis:
        return self._t.analyzer.analyse(text)

    def match(self, text: str) -> MatchResult:
        t = self._t
        analysis = t.analyzer.analyse(text)
        cols, vals = vectorise(
            analysis, t, self.settings.char_weight, expansions(analysis, t, self.settings)
        )
        corrections = tuple(analysis.corrections)
        dense = dense_features(analysis, t)
        if (len(cols) == 0 and dense is None) or not t.intents:
            return MatchResult(text, "low", (), corrections=corrections)  # nothing to go on
        logits = vals @ t.model.weights[cols] + t.model.bias
        if dense is not None and t.model.dense is not None:
            # Words the catalog never uses still count: their vectors sit near related words.
            logits += dense @ t.model.dense
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        order = [int(i) for i in np.argsort(-probs)]
        exact = t.exact.get(tuple(tok.text for tok in analysis.tokens))
        if exact is not None:  # a phrase the catalog has word for word: no doubt left
            order.remove(exact)
            order.insert(0, exact)
            probs = probs * 0.0
            probs[exact] = 1.0
        limit = self.thresholds.max_choices + 1
        inside = [i for i in order if t.intents[i] != OUT_OF_SCOPE]
        p_out = float(probs.sum() - probs[inside].sum())
        # Out of scope only when that beats the two best services together: "not connecting"
        # split between VPN and network is a question to ask, not a request to refuse.
        oos = bool(inside) and order[0] not in inside and p_out >= probs[inside[:2]].sum()
        # Tiers compare services among themselves: probabilities given "it is in scope".
        probs = probs / max(1.0 - p_out, 1e-9) if not oos else probs
        shown = inside[:limit]
        shares = dense_shares(analysis, t) if dense is not None else []
        dense_query = np.zeros(len(t.columns))
        dense_query[cols] = vals
        candidates = [
            Candidate(
                t.intents[i],
                min(1.0, float(probs[i])),
                evidence(analysis, t, cols, vals, i, shares),
                nearest_example(t, dense_query, i),
            )
            for i in shown
        ]
        tier: Tier = "low" if oos else tier_for(candidates, self.thresholds)
        if tier == "medium":
            # "Greeting?" is no answer to "hi, can you order pizza": the choices are what
            # remains, and if nothing plausible remains the desk says it is not sure.
            candidates = [c for c in candidates if c.intent not in SMALL_TALK]
            tier = tier_for(candidates, self.thresholds)
        return MatchResult(text, tier, tuple(candidates), oos, corrections)
