"""Load and check the service catalog: every problem reported with file and line."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError, meta, nodes
from pydantic import ValidationError

from bot.config import Settings
from bot.texts import Texts
from bot.yamlfile import Problem, ProblemsError, YamlDoc, load_yaml, validation_problems
from journeys.model import INTERACTIVE, Journey, LocalText

VARIABLES = frozenset({"answers", "requester", "assets", "today", "lang"})
DECISION = frozenset({"decision"})  # approved/rejected texts of an approve step


@dataclass
class Catalog:
    """The services people can ask for, by id."""

    journeys: dict[str, Journey] = field(default_factory=dict)
    sources: dict[str, Path] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Journey]:
        return iter(self.journeys.values())

    def __len__(self) -> int:
        return len(self.journeys)

    def get(self, service_id: str) -> Journey | None:
        return self.journeys.get(service_id)


def _template_problems(
    doc: YamlDoc,
    loc: tuple[str | int, ...],
    source: str,
    step_ids: set[str],
    texts: Texts,
    *,
    expression: bool = False,
    extra: frozenset[str] = frozenset(),
) -> list[Problem]:
    env = texts.env
    try:
        tree = env.parse(("{{ " + source + " }}") if expression else source)
    except TemplateSyntaxError as exc:
        return [doc.problem(loc, f"template error: {exc.message}")]
    problems = []
    known = VARIABLES | extra
    for name in sorted(meta.find_undeclared_variables(tree) - known):
        problems.append(
            doc.problem(loc, f"undefined variable '{name}' (known: {', '.join(sorted(known))})")
        )
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        assert isinstance(node, nodes.Getattr | nodes.Getitem)
        target = node.node
        if isinstance(target, nodes.Name) and target.name == "answers":
            if isinstance(node, nodes.Getattr):
                key: object = node.attr
            else:
                key = getattr(node.arg, "value", None)
            if isinstance(key, str) and key not in step_ids:
                problems.append(doc.problem(loc, f"'answers.{key}' is not a step of this journey"))
    return problems


def _texts_of(
    value: Any, loc: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, LocalText):
        for lang, text in value.root.items():
            yield (*loc, lang), text


def check_journey(
    journey: Journey, doc: YamlDoc, settings: Settings, texts: Texts
) -> list[Problem]:
    """Cross-checks a schema cannot express: references, gotos and templates."""
    problems: list[Problem] = []
    if journey.queue not in settings.queues:
        problems.append(
            doc.problem(("queue",), f"unknown queue '{journey.queue}' (not in {settings.source})")
        )
    if journey.sla not in settings.sla:
        problems.append(
            doc.problem(("sla",), f"unknown SLA policy '{journey.sla}' (not in {settings.source})")
        )
    if doc.path.stem != journey.id:
        problems.append(
            doc.problem(("id",), f"id '{journey.id}' must match the file name '{doc.path.stem}'")
        )
    step_ids = {s.id for s in journey.steps}
    for i, step in enumerate(journey.steps):
        loc: tuple[str | int, ...] = ("steps", i)
        gotos = [step.goto] if isinstance(step.goto, str) else [r.to for r in step.goto or []]
        for j, target in enumerate(gotos):
            if target != "end" and target not in step_ids:
                where = (*loc, "goto") if isinstance(step.goto, str) else (*loc, "goto", j, "to")
                problems.append(doc.problem(where, f"goto '{target}' does not name a step"))
        if step.when:
            problems += _template_problems(
                doc, (*loc, "when"), step.when, step_ids, texts, expression=True
            )
        for j, rule in enumerate(step.goto if isinstance(step.goto, list) else []):
            if rule.when:
                problems += _template_problems(
                    doc, (*loc, "goto", j, "when"), rule.when, step_ids, texts, expression=True
                )
        for name, value in step:
            if isinstance(value, LocalText):
                extra = (
                    DECISION
                    if step.type == "approve" and name in ("approved", "rejected")
                    else frozenset()
                )
                for where, text in _texts_of(value, (*loc, name)):
                    problems += _template_problems(doc, where, text, step_ids, texts, extra=extra)
            elif name in ("summary", "description") and isinstance(value, str):
                problems += _template_problems(doc, (*loc, name), value, step_ids, texts)
            elif name in ("impact", "urgency") and value not in ("high", "medium", "low"):
                problems += _template_problems(
                    doc, (*loc, name), value, step_ids, texts, expression=True
                )
            elif name == "queue" and value is not None and value not in settings.queues:
                problems.append(doc.problem((*loc, name), f"unknown queue '{value}'"))
            elif name == "group" and value is not None and value not in settings.approver_groups:
                problems.append(
                    doc.problem(
                        (*loc, name),
                        f"unknown approver group '{value}' (not "
                        f"in approver_groups of {settings.source})",
                    )
                )
    problems += _after_approval_problems(journey, doc)
    return problems


def _after_approval_problems(journey: Journey, doc: YamlDoc) -> list[Problem]:
    """A decision can arrive days later, when the person may be in another conversation:
    only non-interactive steps may follow an approval."""
    problems: list[Problem] = []
    for i, step in enumerate(journey.steps):
        if step.type != "approve":
            continue
        seen: set[int] = set()
        todo = _successors(journey, i)
        while todo:
            j = todo.pop()
            if j in seen:
                continue
            seen.add(j)
            later = journey.steps[j]
            if later.type in INTERACTIVE:
                problems.append(
                    doc.problem(
                        ("steps", j, "type"),
                        f"'{later.id}' asks a question after approval step '{step.id}'; "
                        "only say, ticket and approve steps may follow an approval",
                    )
                )
            todo += _successors(journey, j)
    return problems


def _successors(journey: Journey, index: int) -> list[int]:
    step = journey.steps[index]
    targets: list[str] = []
    if isinstance(step.goto, str):
        targets.append(step.goto)
    elif isinstance(step.goto, list):
        targets += [r.to for r in step.goto]
        if all(r.when for r in step.goto) and index + 1 < len(journey.steps):
            targets.append(journey.steps[index + 1].id)
    elif index + 1 < len(journey.steps):
        targets.append(journey.steps[index + 1].id)
    ids = {s.id: k for k, s in enumerate(journey.steps)}
    return [ids[t] for t in targets if t in ids]


def load_journey(
    path: Path, settings: Settings, texts: Texts
) -> tuple[Journey | None, list[Problem]]:
    try:
        doc = load_yaml(path)
    except ProblemsError as exc:
        return None, exc.problems
    if not isinstance(doc.data, dict):
        return None, [Problem(str(path), 1, "", "expected a mapping describing one service")]
    try:
        journey = Journey.model_validate(doc.data)
    except ValidationError as exc:
        return None, validation_problems(doc, exc)
    return journey, check_journey(journey, doc, settings, texts)


def load_catalog(settings: Settings, texts: Texts) -> Catalog:
    """Load every `*.yaml` in the services folder; raise ProblemsError listing all problems."""
    folder = settings.resolve(settings.paths.services)
    if not folder.is_dir():
        raise ProblemsError(
            [settings.problem(("paths", "services"), f"folder {folder} does not exist")]
        )
    catalog = Catalog()
    problems: list[Problem] = []
    for path in sorted(folder.glob("*.yaml")):
        journey, found = load_journey(path, settings, texts)
        problems += found
        if journey is not None:
            if journey.id in catalog.journeys:
                problems.append(
                    Problem(
                        str(path),
                        None,
                        "id",
                        f"'{journey.id}' is also defined in {catalog.sources[journey.id]}",
                    )
                )
            catalog.journeys[journey.id] = journey
            catalog.sources[journey.id] = path
    if problems:
        raise ProblemsError(problems)
    return catalog
