"""Canned replies: answers technicians send often, kept as files (`content/replies/*.yaml`).

One file is one reply; its name is the file's name (`vpn-reset.yaml` is `#vpn-reset`). A
reply has a title (what the picker shows) and a body in every language, a jinja template
that may use only the variables in `VARIABLES`. The body is rendered as plain text and
then goes the way a typed `/reply` goes, so it is escaped when shown like anything typed.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from jinja2 import TemplateSyntaxError, meta
from pydantic import BaseModel, ConfigDict, ValidationError

from bot.base.config import LANGUAGES
from bot.base.texts import make_environment
from bot.base.yamlfile import Problem, ProblemsError, YamlDoc, load_yaml, validation_problems

# What a body may say: the requester's first name and full name, the ticket's number and
# title, and the first name of the technician who sends it.
VARIABLES = frozenset({"requester", "requester_full", "number", "title", "technician"})
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_ENV = make_environment(autoescape=False)


class _ReplyFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: dict[str, str]
    body: dict[str, str]


@dataclass(frozen=True)
class CannedReply:
    name: str
    title: Mapping[str, str]
    body: Mapping[str, str]

    def title_in(self, lang: str) -> str:
        return self.title.get(lang) or self.title["en"]

    def render(self, lang: str, **variables: str) -> str:
        """The body in `lang` with the variables filled in, as plain text."""
        source = self.body.get(lang) or self.body["en"]
        return _ENV.from_string(source).render(**variables).strip()


def load_replies(folder: Path) -> dict[str, CannedReply]:
    """Every reply in `folder` by name (none when the folder does not exist); every problem
    found in any file is raised together, naming the file, line and field."""
    replies: dict[str, CannedReply] = {}
    problems: list[Problem] = []
    if not folder.is_dir():
        return replies
    for path in sorted(folder.glob("*.yaml")):
        try:
            reply = _load_one(path)
        except ProblemsError as exc:
            problems += exc.problems
            continue
        replies[reply.name] = reply
    if problems:
        raise ProblemsError(problems)
    return replies


def _load_one(path: Path) -> CannedReply:
    doc = load_yaml(path)
    name = path.stem
    if not NAME.match(name):
        message = (
            f"'{name}' is not a reply name: use lowercase letters, digits, - and _ "
            "(at most 32), for example vpn-reset.yaml"
        )
        raise ProblemsError([Problem(str(path), None, "", message)])
    if not isinstance(doc.data, dict):
        raise ProblemsError([doc.problem((), "expected a mapping with title and body")])
    try:
        parsed = _ReplyFile.model_validate(doc.data)
    except ValidationError as exc:
        raise ProblemsError(validation_problems(doc, exc)) from exc
    problems = _languages(doc, parsed) + _templates(doc, parsed.body)
    if problems:
        raise ProblemsError(problems)
    return CannedReply(name, dict(parsed.title), dict(parsed.body))


def _languages(doc: YamlDoc, parsed: _ReplyFile) -> list[Problem]:
    problems = []
    for part, values in (("title", parsed.title), ("body", parsed.body)):
        for lang in values:
            if lang not in LANGUAGES:
                known = ", ".join(LANGUAGES)
                problems.append(doc.problem((part, lang), f"unknown language (use {known})"))
        for lang in LANGUAGES:
            if not (values.get(lang) or "").strip():
                problems.append(doc.problem((part, lang), f"the {lang} text is missing"))
    return problems


def _templates(doc: YamlDoc, body: Mapping[str, str]) -> list[Problem]:
    problems = []
    for lang, source in body.items():
        try:
            used = meta.find_undeclared_variables(_ENV.parse(source))
        except TemplateSyntaxError as exc:
            line = (doc.line_of(("body", lang)) or 1) + max(exc.lineno - 1, 0)
            problems.append(
                Problem(str(doc.path), line, f"body.{lang}", f"invalid template: {exc.message}")
            )
            continue
        unknown = sorted(used - VARIABLES)
        if unknown:
            known = ", ".join(sorted(VARIABLES))
            message = f"unknown variable {', '.join(unknown)} (known: {known})"
            problems.append(doc.problem(("body", lang), message))
    return problems


def close_names(replies: Mapping[str, CannedReply], wanted: str) -> list[str]:
    """Names that look like `wanted` (a typo, a part of the name), best first."""
    names = sorted(replies)
    close = difflib.get_close_matches(wanted, names, n=5, cutoff=0.6)
    close += [n for n in names if wanted and wanted in n and n not in close]
    return close[:5]
