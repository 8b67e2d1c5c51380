"""Load and check the service catalog: every problem reported with file and line."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError, meta, nodes
from pydantic import TypeAdapter, ValidationError

from bot.base.config import Settings
from bot.base.texts import Texts, make_environment
from bot.base.yamlfile import Problem, ProblemsError, YamlDoc, load_yaml, validation_problems
from journeys.kb import KnowledgeBase, load_kb
from journeys.model import (
    CHANGE_KINDS,
    HOURS,
    STEP_TYPES,
    AnyStep,
    AskStep,
    ChooseStep,
    ConfirmStep,
    Journey,
    LocalText,
    Step,
    TicketStep,
    asks,
)

VARIABLES = frozenset({"answers", "labels", "requester", "assets", "devices", "today", "lang"})
STEP = TypeAdapter[Any](AnyStep)
DECISION = frozenset({"decision"})  # approved/rejected texts of an approve step


@dataclass(frozen=True)
class Catalog:
    """The services people can ask for, by id."""

    journeys: dict[str, Journey] = field(default_factory=dict)
    sources: dict[str, Path] = field(default_factory=dict)
    kb: KnowledgeBase = field(default_factory=KnowledgeBase)

    def __iter__(self) -> Iterator[Journey]:
        return iter(self.journeys.values())

    def __len__(self) -> int:
        return len(self.journeys)

    def get(self, service_id: str) -> Journey | None:
        return self.journeys.get(service_id)


@dataclass(frozen=True)
class _Facts:
    """What a template uses: a syntax error, or its free names and `answers.x` lookups."""

    error: str | None = None
    names: frozenset[str] = frozenset()
    lookups: tuple[tuple[str, str], ...] = ()  # ("answers" | "labels", key)


_PARSER = make_environment()


@lru_cache(maxsize=4096)
def _facts(source: str, expression: bool) -> _Facts:
    """Parse once per distinct text (catalogs are loaded again for every test desk)."""
    try:
        tree = _PARSER.parse(("{{ " + source + " }}") if expression else source)
    except TemplateSyntaxError as exc:
        return _Facts(error=exc.message or "invalid template")
    lookups: list[tuple[str, str]] = []
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        assert isinstance(node, nodes.Getattr | nodes.Getitem)
        target = node.node
        if isinstance(target, nodes.Name) and target.name in ("answers", "labels"):
            key = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
            if isinstance(key, str):
                lookups.append((target.name, key))
    return _Facts(names=frozenset(meta.find_undeclared_variables(tree)), lookups=tuple(lookups))


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
    facts = _facts(source, expression)
    if facts.error is not None:
        return [doc.problem(loc, f"template error: {facts.error}")]
    problems = []
    known = VARIABLES | extra
    for name in sorted(facts.names - known):
        problems.append(
            doc.problem(loc, f"undefined variable '{name}' (known: {', '.join(sorted(known))})")
        )
    for target, key in facts.lookups:
        if key not in step_ids:
            problems.append(doc.problem(loc, f"'{target}.{key}' is not a step of this journey"))
    return problems


def _texts_of(
    value: Any, loc: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, LocalText):
        for lang, text in value.root.items():
            yield (*loc, lang), text


def check_journey(
    journey: Journey,
    doc: YamlDoc,
    settings: Settings,
    texts: Texts,
    *,
    positions: list[int] | None = None,
    other_ids: frozenset[str] = frozenset(),
) -> list[Problem]:
    """Cross-checks a schema cannot express: references, gotos and templates.

    `positions` maps each step to its index in the file (steps that failed validation
    are left out of the journey); `other_ids` are the ids of those left-out steps, so a
    goto to them is not reported a second time.
    """
    problems: list[Problem] = []
    where_of = positions or list(range(len(journey.steps)))
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
    step_ids = {s.id for s in journey.steps} | other_ids
    seen_ids: dict[str, int] = {}
    for i, step in enumerate(journey.steps):
        loc: tuple[str | int, ...] = ("steps", where_of[i])
        if step.id in seen_ids:
            problems.append(
                doc.problem(
                    (*loc, "id"),
                    f"step id '{step.id}' is already used by steps[{seen_ids[step.id]}]",
                )
            )
        seen_ids.setdefault(step.id, where_of[i])
        gotos = [step.goto] if isinstance(step.goto, str) else [r.to for r in step.goto or []]
        for j, target in enumerate(gotos):
            if target != "end" and target not in step_ids:
                where = (*loc, "goto") if isinstance(step.goto, str) else (*loc, "goto", j, "to")
                problems.append(doc.problem(where, f"goto '{target}' does not name a step"))
        if step.type == "check":
            if step.otherwise not in (None, "end") and step.otherwise not in step_ids:
                problems.append(
                    doc.problem((*loc, "otherwise"), f"'{step.otherwise}' does not name a step")
                )
            problems += _template_problems(
                doc, (*loc, "rule"), step.rule, step_ids, texts, expression=True
            )
        if step.type == "ask" and step.ci and step.validate_.kind not in ("text", "pattern"):
            message = f"ci: true needs a text answer, not {step.validate_.kind}"
            problems.append(doc.problem((*loc, "ci"), message))
        if isinstance(step, TicketStep) and step.change is not None:
            problems += _change_problems(journey, step, doc, settings, loc, other_ids)
        if step.type == "suggest" and step.search:
            problems += _template_problems(doc, (*loc, "search"), step.search, step_ids, texts)
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
            elif (
                name == "group"
                and value is not None
                and value not in settings.approver_group_names()
            ):
                problems.append(
                    doc.problem(
                        (*loc, name),
                        f"unknown approver group '{value}' (not "
                        f"in approver_groups of {settings.source})",
                    )
                )
    problems += _after_approval_problems(journey, doc, where_of)
    return problems


_LEVELS = ("high", "medium", "low")
_SAMPLE_HOURS = "22:00-23:30"


def _change_problems(
    journey: Journey,
    step: TicketStep,
    doc: YamlDoc,
    settings: Settings,
    loc: tuple[str | int, ...],
    broken: frozenset[str],
) -> list[Problem]:
    """A ticket step's `change`: each field names a step of the right kind whose options
    the risk settings know (docs/changes.md)."""
    problems: list[Problem] = []
    if (step.ticket_type or journey.type) != "change":
        return [doc.problem((*loc, "change"), "only a change ticket (ticket_type: change) has one")]
    steps = {s.id: s for s in journey.steps}
    sizes = tuple(settings.changes.risk.size)
    choices: dict[str, tuple[str, ...]] = {
        "kind": CHANGE_KINDS,
        "impact": _LEVELS,
        "likelihood": _LEVELS,
        "size": sizes,
    }
    for name, sid in step.change or ():
        if sid is None or sid in broken:
            continue
        where = (*loc, "change", name)
        target = steps.get(sid)
        if target is None:
            problems.append(doc.problem(where, f"'{sid}' is not a step of this journey"))
            continue
        wrong = _change_step_problem(name, target, choices.get(name), settings.source)
        if wrong:
            problems.append(doc.problem(where, f"step '{sid}' {wrong}"))
    return problems


def _change_step_problem(
    field: str, target: Step, values: tuple[str, ...] | None, source: str
) -> str | None:
    if values is not None:
        if not isinstance(target, ChooseStep):
            return "must be a choose step"
        unknown = [o.value for o in target.options if o.value not in values]
        if unknown:
            where = f" (changes.risk.size in {source})" if field == "size" else ""
            return f"has option(s) {', '.join(unknown)}; {field} takes {', '.join(values)}{where}"
        return None
    if field in ("tested", "rollback"):
        return None if isinstance(target, ConfirmStep) else "must be a confirm (yes/no) step"
    if field == "window":
        if isinstance(target, AskStep) and target.validate_.kind == "date":
            return None
        return "must be an ask step with validate: {kind: date}"
    if field == "hours":
        rule = target.validate_ if isinstance(target, AskStep) else None
        if rule is None or rule.kind != "pattern" or not rule.pattern:
            return f"must be an ask step with validate: {{kind: pattern}} (e.g. {HOURS})"
        if not re.search(rule.pattern, _SAMPLE_HOURS):
            return f"must accept a time range such as {_SAMPLE_HOURS}"
        return None
    if not isinstance(target, AskStep | ChooseStep):
        return "must be an ask or choose step"
    return None


def _after_approval_problems(journey: Journey, doc: YamlDoc, where_of: list[int]) -> list[Problem]:
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
            if asks(later):
                problems.append(
                    doc.problem(
                        ("steps", where_of[j], "type"),
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


def _step_problems(doc: YamlDoc, index: int, raw: Any, exc: ValidationError) -> list[Problem]:
    """Validation errors of one step, with a plain message for a missing or unknown type."""
    loc = ("steps", index)
    kind = raw.get("type") if isinstance(raw, dict) else None
    errors = exc.errors()
    if any(e["type"] in ("union_tag_invalid", "union_tag_not_found") for e in errors):
        if kind is None:
            return [doc.problem((*loc, "type"), "required field is missing")]
        return [
            doc.problem(
                (*loc, "type"), f"unknown step type '{kind}' (known: {', '.join(STEP_TYPES)})"
            )
        ]
    return validation_problems(doc, exc, prefix=loc)


@dataclass(frozen=True)
class Source:
    """Where a journey came from: its parsed file and each step's index in the file."""

    doc: YamlDoc
    positions: list[int]


def load_journey(
    path: Path, settings: Settings, texts: Texts
) -> tuple[Journey | None, list[Problem], Source | None]:
    """Read one service file: the journey (None if unusable), its problems, where it came from.

    Each step is validated on its own, so one broken step does not hide the problems of
    the others or of the journey's references.
    """
    try:
        doc = load_yaml(path)
    except ProblemsError as exc:
        return None, exc.problems, None
    if not isinstance(doc.data, dict):
        return None, [Problem(str(path), 1, "", "expected a mapping describing one service")], None
    problems: list[Problem] = []
    raw_steps = doc.data.get("steps")
    data = dict(doc.data)
    positions: list[int] = []
    broken_ids: set[str] = set()
    if isinstance(raw_steps, list):
        valid = []
        for i, raw in enumerate(raw_steps):
            try:
                valid.append(STEP.validate_python(raw))
                positions.append(i)
            except ValidationError as exc:
                problems += _step_problems(doc, i, raw, exc)
                if isinstance(raw, dict) and isinstance(raw.get("id"), str):
                    broken_ids.add(raw["id"])
        data["steps"] = valid
    try:
        journey = Journey.model_validate(data)
    except ValidationError as exc:
        if problems:  # keep the step problems; drop "steps: too short" caused by them
            found = validation_problems(doc, exc)
            problems += [p for p in found if not p.field.startswith("steps")]
        else:
            problems += validation_problems(doc, exc)
        return None, problems, None
    problems += check_journey(
        journey,
        doc,
        settings,
        texts,
        positions=positions or None,
        other_ids=frozenset(broken_ids),
    )
    return journey, problems, Source(doc, positions or list(range(len(journey.steps))))


def _reference_problems(
    catalog: Catalog,
    sources: dict[str, Source],
    article_ids: set[str],
    service_ids: set[str],
    ci_ids: Collection[str] | None = None,
) -> list[Problem]:
    """References between files: services offered instead, articles shown, article services,
    configuration items named (`ci_ids`: those of directory/cis.yaml; None: not checked).

    `article_ids` and `service_ids` hold every article and service id seen, including files
    with problems of their own, so a broken file is reported once, not again by everything
    that refers to it.
    """
    problems: list[Problem] = []
    for journey in catalog:
        doc, positions = sources[journey.id].doc, sources[journey.id].positions
        for i, step in enumerate(journey.steps):
            loc: tuple[str | int, ...] = ("steps", positions[i])
            if step.type == "check":
                for j, sid in enumerate(step.alternatives):
                    if sid not in service_ids:
                        problems.append(
                            doc.problem((*loc, "alternatives", j), f"unknown service '{sid}'")
                        )
            if ci_ids is not None:
                problems += _ci_problems(doc, loc, step, ci_ids)
            if step.type == "suggest":
                for j, aid in enumerate(step.articles):
                    if aid not in article_ids:
                        problems.append(
                            doc.problem(
                                (*loc, "articles", j),
                                f"no article '{aid}' in the knowledge base",
                            )
                        )
    # An article may name services this catalog does not have (a trimmed or test catalog
    # with the shipped articles): such links are unused, not errors. See unlinked_services.
    return problems


def _ci_problems(
    doc: YamlDoc, loc: tuple[str | int, ...], step: Any, ci_ids: Collection[str]
) -> list[Problem]:
    """Configuration items named by a choice (`options[].ci`) or a ticket step (`cis`)."""
    named: list[tuple[tuple[str | int, ...], str]] = []
    if step.type == "choose":
        named = [((*loc, "options", j, "ci"), o.ci) for j, o in enumerate(step.options) if o.ci]
    elif step.type == "ticket":
        named = [((*loc, "cis", j), ci) for j, ci in enumerate(step.cis)]
    return [
        doc.problem(where, f"no configuration item '{ci}' in cis.yaml (or assets.csv)")
        for where, ci in named
        if ci not in ci_ids
    ]


def unlinked_services(catalog: Catalog) -> list[Problem]:
    """Services named by articles that the catalog does not have (for `deskbot check`)."""
    return [
        Problem(
            str(article.path),
            article.lines.get("services", article.line),
            "services",
            f"no service '{sid}' in the catalog",
        )
        for article in catalog.kb
        for sid in article.services
        if sid not in catalog.journeys
    ]


def load_catalog(
    settings: Settings, texts: Texts, ci_ids: Collection[str] | None = None
) -> Catalog:
    """Load every `*.yaml` in the services folder; raise ProblemsError listing all problems.
    `ci_ids`: the configuration items that steps may name (None: not checked)."""
    folder = settings.resolve(settings.paths.services)
    if not folder.is_dir():
        raise ProblemsError(
            [settings.problem(("paths", "services"), f"folder {folder} does not exist")]
        )
    problems: list[Problem] = []
    kb = KnowledgeBase()
    knowledge = settings.resolve(settings.paths.knowledge)
    broken_articles: set[str] = set()
    try:
        kb = load_kb(knowledge)
    except ProblemsError as exc:
        problems += exc.problems
        # Articles in files with problems of their own are reported once, by their file,
        # not again by every service that shows them.
        broken_articles = {path.stem for path in knowledge.rglob("*.md")}
    catalog = Catalog(kb=kb)
    sources: dict[str, Source] = {}
    service_ids = {path.stem for path in folder.glob("*.yaml")}
    for path in sorted(folder.glob("*.yaml")):
        journey, found, source = load_journey(path, settings, texts)
        problems += found
        if journey is not None and source is not None:
            sources[journey.id] = source
            service_ids.add(journey.id)
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
    article_ids = catalog.kb.ids() | broken_articles
    problems += _reference_problems(catalog, sources, article_ids, service_ids, ci_ids)
    if problems:
        raise ProblemsError(problems)
    return catalog
