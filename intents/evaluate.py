"""Measure a matcher on labelled requests (`deskbot eval-intents`, bench/intents.py).

TEST lines: ``{"text": ..., "expected": "<intent id>|none"}`` (``none`` = out of scope).
TRAIN lines: ``{"text": ..., "intent": ...}``; they become a catalog of their own.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.base.language import detect
from bot.base.yamlfile import TABLE_LIMIT, Problem, ProblemsError, read_text
from intents.catalog import Intent, IntentCatalog
from intents.matcher import Matcher, MatchResult

NONE = "none"


@dataclass(frozen=True)
class Case:
    text: str
    expected: str


def _read_jsonl(path: Path, fields: tuple[str, str]) -> list[tuple[str, str]]:
    problems: list[Problem] = []
    rows: list[tuple[str, str]] = []
    lines = read_text(path, TABLE_LIMIT).splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(Problem(str(path), number, "", f"not JSON: {exc.msg}"))
            continue
        values = [item.get(f) if isinstance(item, dict) else None for f in fields]
        missing = [f for f, v in zip(fields, values, strict=True) if not isinstance(v, str)]
        if missing:
            problems.append(Problem(str(path), number, missing[0], "expected a string"))
            continue
        rows.append((str(values[0]), str(values[1])))
    if problems:
        raise ProblemsError(problems)
    return rows


def load_cases(path: Path) -> list[Case]:
    return [Case(text, expected) for text, expected in _read_jsonl(path, ("text", "expected"))]


def load_training(path: Path) -> IntentCatalog:
    """A catalog made only of the labelled examples in TRAIN (language guessed per line)."""
    by_intent: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for text, intent in _read_jsonl(path, ("text", "intent")):
        by_intent[intent][detect(text) or "en"].append(text)
    catalog = IntentCatalog()
    for intent, by_lang in sorted(by_intent.items()):
        catalog.add(
            Intent(
                id=intent,
                kind="service",
                titles={},
                examples={lang: tuple(items) for lang, items in by_lang.items()},
            )
        )
    return catalog


def predicted(result: MatchResult) -> str:
    """What the desk would act on: the top intent, or none when it would say "not understood"."""
    if result.tier == "low" or result.top is None:
        return NONE
    return result.top.intent


def evaluate(matcher: Matcher, cases: list[Case], *, confused: int = 10) -> dict[str, Any]:
    """top1/top3 (in-scope, threshold ignored), accuracy (with it), OOS recall, latency."""
    times: list[float] = []
    results: list[MatchResult] = []
    for case in cases:
        start = time.perf_counter()
        results.append(matcher.match(case.text))
        times.append((time.perf_counter() - start) * 1000)
    inscope = [(c, r) for c, r in zip(cases, results, strict=True) if c.expected != NONE]
    oos = [r for c, r in zip(cases, results, strict=True) if c.expected == NONE]

    def ranked(r: MatchResult) -> list[str]:
        return [c.intent for c in r.candidates]

    top1 = sum(1 for c, r in inscope if ranked(r)[:1] == [c.expected])
    top3 = sum(1 for c, r in inscope if c.expected in ranked(r)[:3])
    correct = sum(1 for c, r in inscope if predicted(r) == c.expected)
    rejected = sum(1 for _c, r in inscope if predicted(r) == NONE)
    oos_hits = sum(1 for r in oos if predicted(r) == NONE)
    pairs = Counter(
        (c.expected, predicted(r))
        for c, r in zip(cases, results, strict=True)
        if predicted(r) != c.expected
    )
    tiers = Counter(r.tier for r in results)
    ordered = sorted(times)

    def share(part: int, whole: int) -> float | None:
        return round(part / whole, 4) if whole else None

    return {
        "n": len(cases),
        "n_in_scope": len(inscope),
        "n_out_of_scope": len(oos),
        "top1": share(top1, len(inscope)),
        "top3": share(top3, len(inscope)),
        "accuracy": share(correct, len(inscope)),
        "oos_recall": share(oos_hits, len(oos)),
        "false_reject": share(rejected, len(inscope)),
        "tiers": {t: tiers.get(t, 0) for t in ("high", "medium", "low")},
        "p50_ms": round(_quantile(ordered, 0.50), 3),
        "p99_ms": round(_quantile(ordered, 0.99), 3),
        "confused": [
            {"expected": e, "predicted": p, "count": n} for (e, p), n in pairs.most_common(confused)
        ],
    }


def _quantile(ordered: list[float], q: float) -> float:
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]
