"""The baseline the benchmark compares the desk's matcher with (bench/intents.py).

`FuzzyMatcher` scores an intent by the best rapidfuzz token_set_ratio between the request and
any of its catalog phrases. Only the benchmark uses it, so it lives here, not in `intents`.
"""

from __future__ import annotations

from rapidfuzz import fuzz, process, utils

from intents.catalog import OUT_OF_SCOPE, IntentCatalog
from intents.matcher import Candidate, MatchResult, Thresholds, tier_for


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
                    best[owner] = Candidate(owner, score / 100, (phrase,), phrase)
        ranked = sorted(best.values(), key=lambda c: -c.score)[: self.thresholds.max_choices + 1]
        top = ranked[0].intent if ranked else None
        return MatchResult(
            text=text,
            tier=tier_for(ranked, self.thresholds) if top != OUT_OF_SCOPE else "low",
            candidates=tuple(c for c in ranked if c.intent != OUT_OF_SCOPE),
            out_of_scope=top == OUT_OF_SCOPE,
        )
