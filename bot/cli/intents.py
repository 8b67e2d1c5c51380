"""`deskbot explain`, `deskbot eval-intents` and `deskbot intents review|accept|dismiss`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bot.app import load_config
from bot.base.config import Settings
from bot.cli.common import (
    add_config,
    add_format,
    print_json,
    print_table,
    settings_from,
    with_desk,
)
from bot.content import build_matcher, load_content
from bot.desk import Desk
from intents.evaluate import evaluate, load_cases, load_training
from intents.learned import add_learned
from intents.matcher import LexicalMatcher, MatchResult, Thresholds
from intents.training import ModelSettings
from store import intent_feedback as repo


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("explain", help="show how a request is matched and why")
    add_config(p)
    add_format(p)
    p.add_argument("text", help="the request, as a person would type it")
    p.set_defaults(func=explain)

    p = sub.add_parser("eval-intents", help="measure the matcher on labelled requests")
    add_config(p)
    add_format(p)
    p.add_argument(
        "test",
        type=Path,
        help='JSONL: {"text": ..., "expected": "<id>|none|referral:<topic>", ...}',
    )
    p.add_argument(
        "--train", type=Path, help='JSONL {"text": ..., "intent": ...}: use instead of the catalog'
    )
    p.add_argument(
        "--by",
        action="append",
        default=[],
        metavar="FIELD",
        help="also give the figures per value of this field of the test lines (e.g. lang)",
    )
    p.add_argument(
        "--details",
        type=Path,
        metavar="FILE",
        help="write one JSON line per test line: text, expected, predicted, tier, top 3",
    )
    p.set_defaults(func=eval_intents)

    p = sub.add_parser("intents", help="review what people asked that the matcher missed")
    add_config(p)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    r = actions.add_parser("review", help="list requests resolved by buttons or not understood")
    add_config(r)
    add_format(r)
    r.add_argument("--all", action="store_true", help="include accepted and dismissed ones")
    r.set_defaults(func=review)
    a = actions.add_parser("accept", help="add a request's phrasing to an intent's examples")
    add_config(a)
    a.add_argument("id", type=int, help="the number shown by `deskbot intents review`")
    a.add_argument("--intent", help="intent to learn it for (default: the one the person picked)")
    a.add_argument("--by", default="admin", help="who accepted it (kept with the row)")
    a.set_defaults(func=accept)
    d = actions.add_parser("dismiss", help="drop a request from the review list")
    add_config(d)
    d.add_argument("id", type=int)
    d.add_argument("--by", default="admin")
    d.set_defaults(func=dismiss)


def _content_matcher(settings: Settings) -> LexicalMatcher:
    intents = load_content(settings).intents
    return build_matcher(settings, intents)


def explanation(result: MatchResult) -> dict[str, Any]:
    return {
        "text": result.text,
        "tier": result.tier,
        "out_of_scope": result.out_of_scope,
        "referral": result.referral,
        "asked_for_person": result.asked_for_person,
        "decided_by_clause": result.clause or None,
        "second_request": result.second,
        "encoder": result.encoder or None,
        "corrections": [{"typed": a, "read_as": b} for a, b in result.corrections],
        "candidates": [
            {
                "intent": c.intent,
                "score": round(c.score, 4),
                "evidence": list(c.evidence),
                "closest_example": c.example,
            }
            for c in result.candidates
        ],
    }


def explain(args: argparse.Namespace) -> int:
    result = _content_matcher(settings_from(args)).match(args.text)
    data = explanation(result)
    if args.format == "json":
        print_json(data)
        return 0
    verdict = "out of scope" if result.out_of_scope else f"{result.tier} confidence"
    if result.referral:
        verdict += f" (referral: {result.referral})"
    print(f"{result.text!r}: {verdict}")
    if result.corrections:
        print("read as: " + ", ".join(f"{a} -> {b}" for a, b in result.corrections))
    if result.asked_for_person:
        print("asked for a person: that wins over everything else in the message")
    if result.clause:
        print(f"decided by the clause: {result.clause!r}")
    if result.second:
        print(f"a second request, offered when the first is done: {result.second}")
    if result.encoder == "ranked":
        print(
            "unsure: the sentence encoder re-ranked the choices (half its say, half the matcher's)"
        )
    elif result.encoder == "found":
        print("not understood by the matcher: the sentence encoder's nearest examples offer these")
        print("(scores are its cosines; the closest example is the one it found nearest)")
    rows = [
        {
            "intent": c["intent"],
            "score": f"{c['score']:.3f}",
            "driven by": ", ".join(c["evidence"]) or "-",
            "closest example": c["closest_example"],
        }
        for c in data["candidates"]
    ]
    print_table(rows, ["intent", "score", "driven by", "closest example"])
    return 0


def eval_intents(args: argparse.Namespace) -> int:
    cases = load_cases(args.test)
    if args.train is not None:
        settings = _optional_settings(args)
        m = settings.matcher if settings else None
        thresholds = Thresholds(m.high, m.low, m.margin, m.max_choices) if m else Thresholds()
        model = ModelSettings(general_vectors=m.word_vectors) if m else None
        matcher = LexicalMatcher(load_training(args.train), thresholds, settings=model)
    else:
        matcher = _content_matcher(settings_from(args))
    report = evaluate(matcher, cases, by=args.by, details=args.details)
    if args.format == "json":
        print_json(report)
        return 0
    for key in FIGURES:
        value = report[key]
        print(f"{key:16s} {'-' if value is None else value}")
    for name, slices in report.get("by", {}).items():
        print(f"\nby {name}:")
        rows = [{name: value, **{k: _cell(f[k]) for k in FIGURES}} for value, f in slices.items()]
        print_table(rows, [name, *FIGURES])
    print("\nmost confused (expected -> predicted):")
    print_table(report["confused"], ["expected", "predicted", "count"])
    return 0


FIGURES = (
    "n",
    "top1",
    "top3",
    "accuracy",
    "oos_recall",
    "false_reject",
    "high_precision",
    "medium_contains",
    "referral_recall",
    "p50_ms",
    "p99_ms",
)


def _cell(value: object) -> str:
    return "-" if value is None else str(value)


def _optional_settings(args: argparse.Namespace) -> Settings | None:
    path = Path(args.config)
    return load_config(path) if path.exists() else None


def _review(args: argparse.Namespace, desk: Desk) -> int:
    with desk.store.read() as session:
        found = repo.list_feedback(session=session, statuses=None if args.all else ["new"])
        rows = [
            {
                "id": f.id,
                "kind": f.kind,
                "text": f.text,
                "picked": f.intent_id or "",
                "offered": " ".join(str(c[0]) for c in f.candidates),
                "who": f.person_id,
                "status": f.status,
                "at": f.created_at.isoformat(timespec="minutes"),
            }
            for f in found
        ]
    if args.format == "json":
        print_json(rows)
    else:
        print_table(rows, ["id", "kind", "text", "picked", "offered", "who", "status", "at"])
    return 0


review = with_desk(_review)


def _accept(args: argparse.Namespace, desk: Desk) -> int:
    settings = desk.settings
    with desk.store.begin() as session:
        row = repo.get_feedback(session=session, feedback_id=args.id)
        if row is None:
            print(f"error: no request #{args.id} to review", file=sys.stderr)
            return 1
        intent = args.intent or row.intent_id
        if not intent:
            print(
                f"error: #{args.id} was not resolved to an intent; say which with --intent",
                file=sys.stderr,
            )
            return 1
        if desk.intents.get(intent) is None:
            known = ", ".join(sorted(i.id for i in desk.intents))
            print(f"error: unknown intent '{intent}' (known: {known})", file=sys.stderr)
            return 1
        if not repo.review_feedback(
            session=session,
            feedback_id=args.id,
            status="accepted",
            by=args.by,
            now=desk.clock.now(),
            intent_id=intent,
        ):
            print(f"error: #{args.id} was already {row.status}", file=sys.stderr)
            return 1
        path = settings.resolve(settings.paths.learned)
        added = add_learned(path, intent, row.text, row.language)
    note = "" if added else " (it was already there)"
    print(f"accepted #{args.id}: {row.text!r} -> {intent} in {path}{note}")
    print("the matcher learns it the next time deskbot starts")
    return 0


accept = with_desk(_accept)


def _dismiss(args: argparse.Namespace, desk: Desk) -> int:
    with desk.store.begin() as session:
        done = repo.review_feedback(
            session=session,
            feedback_id=args.id,
            status="dismissed",
            by=args.by,
            now=desk.clock.now(),
        )
    if not done:
        print(f"error: no new request #{args.id} to dismiss", file=sys.stderr)
        return 1
    print(f"dismissed #{args.id}")
    return 0


dismiss = with_desk(_dismiss)
