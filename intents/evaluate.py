"""Measure a matcher on labelled requests (`deskbot eval-intents`, bench/intents.py).

TEST lines: ``{"text": ..., "expected": "<intent id>|none|referral:<topic>"}``. ``none`` is
out of scope; ``referral:<topic>`` is out of scope too, and names the topic of
catalog/referrals.yaml the desk should point the person to. Any other string field of a line
(``lang``, ``style``...) can slice the figures (`evaluate(by=...)`).
TRAIN lines: ``{"text": ..., "intent": ...}``; they become a catalog of their own.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.base.language import detect
from bot.base.yamlfile import TABLE_LIMIT, Problem, ProblemsError, read_text
from intents.catalog import Intent, IntentCatalog
from intents.matcher import Matcher, MatchResult

NONE = "none"
REFERRAL = "referral:"


@dataclass(frozen=True)
class Case:
    text: str
    expected: str
    fields: dict[str, str] = field(default_factory=dict)  # other string fields of the line

    @property
    def in_scope(self) -> bool:
        return self.expected != NONE and not self.expected.startswith(REFERRAL)


def _read_jsonl(path: Path, fields: tuple[str, str]) -> list[tuple[str, str, dict[str, str]]]:
    problems: list[Problem] = []
    rows: list[tuple[str, str, dict[str, str]]] = []
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
        extra = {str(k): v for k, v in item.items() if k not in fields and isinstance(v, str)}
        rows.append((str(values[0]), str(values[1]), extra))
    if problems:
        raise ProblemsError(problems)
    return rows


def load_cases(path: Path) -> list[Case]:
    return [
        Case(text, expected, extra)
        for text, expected, extra in _read_jsonl(path, ("text", "expected"))
    ]


def load_training(path: Path) -> IntentCatalog:
    """A catalog made only of the labelled examples in TRAIN (language guessed per line)."""
    by_intent: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for text, intent, _extra in _read_jsonl(path, ("text", "intent")):
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
    """What the desk would act on: the top intent, a referral, or none ("not understood")."""
    if result.referral is not None:
        return REFERRAL + result.referral
    if result.tier == "low" or result.top is None:
        return NONE
    return result.top.intent


def _right(case: Case, got: str) -> bool:
    """A referral counts as out of scope: right for a `none` line, and for a referral line
    whatever its topic (the topic itself is what `referral_recall` measures)."""
    if case.in_scope:
        return got == case.expected
    return got == NONE or got.startswith(REFERRAL)


def evaluate(
    matcher: Matcher,
    cases: list[Case],
    *,
    confused: int = 10,
    by: Sequence[str] = (),
    details: Path | None = None,
) -> dict[str, Any]:
    """top1/top3 (in-scope, threshold ignored), accuracy (with it), OOS recall, high-tier
    precision, referral recall, latency; per value of each field in `by` as well.

    With `details`, one JSON line per case goes to that file: text, expected, predicted,
    tier and the top three candidates.
    """
    times: list[float] = []
    results: list[MatchResult] = []
    for case in cases:
        start = time.perf_counter()
        results.append(matcher.match(case.text))
        times.append((time.perf_counter() - start) * 1000)
    report = _figures(cases, results, times, confused)
    if by:
        report["by"] = {
            name: {
                value: _figures(
                    [cases[i] for i in rows],
                    [results[i] for i in rows],
                    [times[i] for i in rows],
                    0,
                )
                for value, rows in sorted(_groups(cases, name).items())
            }
            for name in by
        }
    if details is not None:
        _write_details(details, cases, results)
    return report


def _groups(cases: list[Case], name: str) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, case in enumerate(cases):
        groups[case.fields.get(name, "-")].append(i)
    return groups


def _figures(
    cases: list[Case], results: list[MatchResult], times: list[float], confused: int
) -> dict[str, Any]:
    pairs_all = list(zip(cases, results, strict=True))
    inscope = [(c, r) for c, r in pairs_all if c.in_scope]
    oos = [(c, r) for c, r in pairs_all if not c.in_scope]
    referrals = [(c, r) for c, r in pairs_all if c.expected.startswith(REFERRAL)]
    high = [(c, r) for c, r in pairs_all if r.tier == "high" and r.top is not None]
    medium = [(c, r) for c, r in inscope if r.tier == "medium"]

    def ranked(r: MatchResult) -> list[str]:
        return [c.intent for c in r.candidates]

    top1 = sum(1 for c, r in inscope if ranked(r)[:1] == [c.expected])
    top3 = sum(1 for c, r in inscope if c.expected in ranked(r)[:3])
    correct = sum(1 for c, r in inscope if predicted(r) == c.expected)
    rejected = sum(1 for _c, r in inscope if predicted(r) == NONE or r.referral is not None)
    oos_hits = sum(1 for c, r in oos if _right(c, predicted(r)))
    high_right = sum(1 for c, r in high if c.in_scope and r.top and r.top.intent == c.expected)
    shown = sum(1 for c, r in medium if c.expected in ranked(r))
    referred = sum(1 for c, r in referrals if predicted(r) == c.expected)
    # Lines with two requests name the second in "also": is it seen as the second request?
    doubles = [(c, r) for c, r in pairs_all if c.fields.get("also")]
    seconds = sum(1 for c, r in doubles if r.second == c.fields["also"])
    mistakes = Counter(
        (c.expected, predicted(r)) for c, r in pairs_all if not _right(c, predicted(r))
    )
    tiers = Counter(r.tier for r in results)
    ordered = sorted(times)

    def share(part: int, whole: int) -> float | None:
        return round(part / whole, 4) if whole else None

    out: dict[str, Any] = {
        "n": len(cases),
        "n_in_scope": len(inscope),
        "n_out_of_scope": len(oos),
        "top1": share(top1, len(inscope)),
        "top3": share(top3, len(inscope)),
        "accuracy": share(correct, len(inscope)),
        "oos_recall": share(oos_hits, len(oos)),
        "false_reject": share(rejected, len(inscope)),
        # Of the answers given at high confidence, the share that was right; a line that is
        # out of scope answered at high confidence is wrong.
        "high_precision": share(high_right, len(high)),
        # Of the in-scope lines answered with buttons, the share whose buttons hold the answer.
        "medium_contains": share(shown, len(medium)),
        "referral_recall": share(referred, len(referrals)),
        "second_recall": share(seconds, len(doubles)),
        "tiers": {t: tiers.get(t, 0) for t in ("high", "medium", "low")},
        "p50_ms": round(_quantile(ordered, 0.50), 3),
        "p99_ms": round(_quantile(ordered, 0.99), 3),
    }
    if confused:
        out["confused"] = [
            {"expected": e, "predicted": p, "count": n}
            for (e, p), n in mistakes.most_common(confused)
        ]
    return out


def _write_details(path: Path, cases: list[Case], results: list[MatchResult]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for case, result in zip(cases, results, strict=True):
            row = {
                "text": case.text,
                "expected": case.expected,
                "predicted": predicted(result),
                "right": _right(case, predicted(result)),
                "tier": result.tier,
                "second": result.second,
                "clause": result.clause,
                "top3": [[c.intent, round(c.score, 4)] for c in result.candidates[:3]],
                **case.fields,
            }
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def _quantile(ordered: list[float], q: float) -> float:
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]
