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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from intents.catalog import BUILTINS, REFERRAL, SMALL_TALK, IntentCatalog, is_outside
from intents.clauses import clauses
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
# Lexicon words (intents/lexicon.yaml) the matcher itself acts on.
ASK_PERSON = "askperson"  # "转人工", "is there a number I can ring": a person, whatever else
URGENT = "urgent"  # "more urgently", "更急的是": this clause's request comes first
HANDOFF = "human_handoff"
_RANK = {"low": 0, "medium": 1, "high": 2}
# Said around a request rather than being one, when the message has more in it.
COURTESY = ("greet", "thanks", "help")


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
    # Another request seen in a different clause of the same message ("...and also the
    # printer is jammed"): the desk starts `top` and offers this one afterwards.
    second: str | None = None
    # The clause that decided, when one clause carried the request rather than the whole
    # message (courtesy around it, or two requests); empty when the whole message decided.
    clause: str = ""
    asked_for_person: bool = False  # an explicit ask for a person, which wins over the rest
    # The optional sentence-encoder view (`intents.encoder`) had its say: "ranked" (it
    # re-ranked an unsure answer's choices) or "found" (it offered choices for a request the
    # matcher did not understand; those candidates' scores are its cosines).
    encoder: str = ""

    @property
    def top(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


@dataclass(frozen=True)
class Thresholds:
    high: float = 0.6
    low: float = 0.25
    margin: float = 0.08
    max_choices: int = 4
    # A clause read apart from the rest of its message has less context: it counts as a
    # request of its own (two requests; a request amid courtesy) only this sure.
    clause: float = 0.8


class Matcher(Protocol):
    def match(self, text: str) -> MatchResult: ...


class SecondView(Protocol):
    """Another reading of requests the matcher is unsure of (`intents.encoder.EncoderView`)."""

    def revise(self, result: MatchResult, max_choices: int) -> MatchResult: ...


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
        second_view: SecondView | None = None,
        kept_in: Path | None = None,
    ) -> None:
        self.thresholds = thresholds or Thresholds()
        self.second_view = second_view
        self.settings = settings or ModelSettings()
        self._lexicon = lexicon or default_lexicon()
        # `kept_in`: a folder where trained models outlive the process (`trained_for`).
        self._t = trained_for(catalog, self._lexicon, self.settings, corpus, kept_in)

    @property
    def intents(self) -> list[str]:
        return list(self._t.intents)

    def phrase_count(self) -> int:
        return len(self._t.phrases)

    def analyse(self, text: str) -> Analysis:
        return self._t.analyzer.analyse(text)

    def match(self, text: str) -> MatchResult:
        """`read`, then the second view (if any) where that reading is unsure."""
        result = self.read(text)
        if self.second_view is None:
            return result
        return self.second_view.revise(result, self.thresholds.max_choices)

    def read(self, text: str) -> MatchResult:
        """The whole message, then each clause of it (`intents.clauses`).

        An explicit ask for a person wins. Two clauses that each name a different service
        with confidence are two requests: the urgent one, else the first, leads and the
        other is kept in `second`. A message the whole reading is unsure of, with one
        clause that is clearly a service request, is that request (courtesy and narrative
        around a request no longer spread its probability).
        """
        whole, analysis = self._read(text)
        asked = [tok.surface for tok in analysis.tokens if tok.text == ASK_PERSON]
        if asked and HANDOFF in self._t.intents:
            return self._handoff(whole, tuple(asked))
        parts = clauses(text) if self.settings.clauses else []
        if len(parts) < 2:
            return whole
        whole_top = whole.top.intent if whole.top else ""
        settled = whole.tier == "high" and whole_top not in COURTESY
        if settled and not any(p.separate for p in parts[1:]):
            if not any(tok.text == URGENT for tok in analysis.tokens):
                return whole  # one clear request, nothing marked as another: no more to read
        # Confident service clauses, in order: (reading, urgent, marked as a matter apart).
        found: list[tuple[MatchResult, bool, bool]] = []
        matter: list[str] = []  # clauses that are not courtesy ("hi there", "could you help")
        for part in parts:
            result, part_analysis = self._read(part.text, explain=False)
            top = result.top
            if top is None or top.intent not in COURTESY or top.score < self.thresholds.low:
                matter.append(part.text)
            if (
                result.tier == "high"
                and top is not None
                and top.score >= self.thresholds.clause
                and top.intent not in BUILTINS
            ):
                urgent = any(tok.text == URGENT for tok in part_analysis.tokens)
                found.append((replace(result, clause=part.text), urgent, part.separate))
        services = list(dict.fromkeys(r.top.intent for r, _u, _s in found if r.top))
        if len(services) >= 2:
            second = self._two_requests(whole, found)
            if second is not None:
                return self._explained(second)
        elif len(services) == 1 and whole.tier != "high":
            lead = replace(found[0][0], text=whole.text, corrections=whole.corrections)
            return self._explained(lead)
        if matter and len(matter) < len(parts) and (whole.tier != "high" or whole_top in COURTESY):
            # Courtesy spread the probability ("hi, sorry to bother you, ... any chance you
            # can help?"): the request is what remains without it.
            rest, _analysis = self._read(", ".join(matter), explain=False)
            better = _RANK[rest.tier] > _RANK[whole.tier]
            if better or rest.out_of_scope or whole_top in COURTESY:
                return self._explained(
                    replace(rest, text=whole.text, corrections=whole.corrections, clause=rest.text)
                )
        return whole

    def _explained(self, result: MatchResult) -> MatchResult:
        """A clause's reading with its evidence: clauses are first read for scores only."""
        full, _analysis = self._read(result.clause)
        return replace(result, candidates=full.candidates)

    def _two_requests(
        self, whole: MatchResult, found: list[tuple[MatchResult, bool, bool]]
    ) -> MatchResult | None:
        """Two matters in one message, or None when the clauses read as one going on.

        The later one must be marked as a matter apart ("also", a new sentence, "另外",
        "more urgently") and be among the whole message's candidates; the urgent one leads,
        else the first.
        """
        first = found[0][0].top
        assert first is not None
        plausible = {c.intent for c in whole.candidates}
        later = next(
            (
                (r, urgent)
                for r, urgent, apart in found
                if r.top and r.top.intent != first.intent and (apart or urgent)
            ),
            None,
        )
        if later is None or later[0].top is None or later[0].top.intent not in plausible:
            return None
        urgent_first = found[0][1]
        urgent_later = later[1] and not urgent_first
        lead, other = (later[0], found[0][0]) if urgent_later else (found[0][0], later[0])
        assert other.top is not None
        return replace(
            lead, text=whole.text, corrections=whole.corrections, second=other.top.intent
        )

    def _handoff(self, whole: MatchResult, asked: tuple[str, ...]) -> MatchResult:
        """A person was asked for (`asked`: the words, as typed): that is the answer."""
        others = tuple(c for c in whole.candidates if c.intent != HANDOFF)
        return replace(
            whole,
            tier="high",
            candidates=(Candidate(HANDOFF, 1.0, asked), *others),
            out_of_scope=False,
            referral=None,
            asked_for_person=True,
        )

    def _read(self, text: str, *, explain: bool = True) -> tuple[MatchResult, Analysis]:
        """One reading of `text` as a single request; without `explain`, the candidates
        carry no evidence or closest example (a clause read only to compare scores)."""
        t = self._t
        analysis = t.analyzer.analyse(text)
        cols, vals = vectorise(
            analysis, t, self.settings.char_weight, expansions(analysis, t, self.settings)
        )
        corrections = tuple(analysis.corrections)
        dense = dense_features(analysis, t)
        if (len(cols) == 0 and dense is None) or not t.intents:
            return MatchResult(text, "low", (), corrections=corrections), analysis  # nothing
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
        inside = [i for i in order if not is_outside(t.intents[i])]
        p_out = float(probs.sum() - probs[inside].sum())
        # Out of scope only when that beats the two best services together: "not connecting"
        # split between VPN and network is a question to ask, not a request to refuse.
        # With several outside classes (out of scope, each referral topic), the best one of
        # them must beat the two best services: "密码忘了" leaning a little to every
        # personal-account topic at once is still the desk's own password reset.
        best_out = float(probs[order[0]])
        # (bool(): numpy's bool would reach `deskbot explain --format json` as "True")
        oos = bool(inside and order[0] not in inside and best_out >= probs[inside[:2]].sum())
        # Tiers compare services among themselves: probabilities given "it is in scope".
        probs = probs / max(1.0 - p_out, 1e-9) if not oos else probs
        shown = inside[:limit]
        if explain:
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
        else:
            candidates = [Candidate(t.intents[i], min(1.0, float(probs[i]))) for i in shown]
        tier: Tier = "low" if oos else tier_for(candidates, self.thresholds)
        if tier == "medium":
            # "Greeting?" is no answer to "hi, can you order pizza": the choices are what
            # remains, and if nothing plausible remains the desk says it is not sure.
            candidates = [c for c in candidates if c.intent not in SMALL_TALK]
            tier = tier_for(candidates, self.thresholds)
        referral = None
        if oos and t.intents[order[0]].startswith(REFERRAL):
            referral = t.intents[order[0]].removeprefix(REFERRAL)
        return MatchResult(text, tier, tuple(candidates), oos, corrections, referral), analysis
