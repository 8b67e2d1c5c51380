"""YAML loading that remembers where every value came from, so errors can name file and line."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

PathKey = tuple[str | int, ...]
# libyaml's loader builds the same nodes (with marks) about ten times faster than pure Python.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file, located precisely enough to fix it."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class ProblemsError(Exception):
    """Raised when one or more files are invalid; carries every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass
class YamlDoc:
    """Parsed YAML data plus a map from each value's path to its 1-based line number."""

    path: Path
    data: Any
    lines: dict[PathKey, int] = field(default_factory=dict)

    def line_of(self, loc: Iterable[str | int]) -> int | None:
        """Return the line of the value at `loc`, or of its nearest located parent."""
        key = tuple(loc)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get((), None)

    def problem(self, loc: Iterable[str | int], message: str) -> Problem:
        loc = tuple(loc)
        return Problem(str(self.path), self.line_of(loc), dotted(loc), message)


def dotted(loc: Iterable[str | int]) -> str:
    """Render a value path as `a.b[2].c`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _scalar_key(node: yaml.Node) -> str | int:
    if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":int"):
        try:
            return int(node.value)
        except ValueError:
            return str(node.value)
    return str(node.value) if isinstance(node, yaml.ScalarNode) else repr(node.value)


def _index(node: yaml.Node, loc: PathKey, lines: dict[PathKey, int], path: Path) -> list[Problem]:
    problems: list[Problem] = []
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str | int] = set()
        for key_node, value_node in node.value:
            key = _scalar_key(key_node)
            if key in seen:
                problems.append(
                    Problem(
                        str(path),
                        key_node.start_mark.line + 1,
                        dotted((*loc, key)),
                        "duplicate key (the earlier value would be silently replaced)",
                    )
                )
            seen.add(key)
            lines[(*loc, key)] = key_node.start_mark.line + 1
            problems += _index(value_node, (*loc, key), lines, path)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[(*loc, i)] = item.start_mark.line + 1
            problems += _index(item, (*loc, i), lines, path)
    return problems


def load_yaml(path: Path, text: str | None = None) -> YamlDoc:
    """Parse a YAML file, raising ProblemsError with file and line for any syntax error."""
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ProblemsError(
                [Problem(str(path), None, "", f"cannot read file: {exc.strerror}")]
            ) from exc
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        reason = exc.problem or exc.context or "invalid YAML"
        raise ProblemsError([Problem(str(path), line, "", f"invalid YAML: {reason}")]) from exc
    except yaml.YAMLError as exc:
        raise ProblemsError([Problem(str(path), None, "", f"invalid YAML: {exc}")]) from exc
    finally:
        loader.dispose()
    doc = YamlDoc(path=path, data=data)
    if node is not None:
        problems = _index(node, (), doc.lines, path)
        if problems:
            raise ProblemsError(problems)
    return doc


_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand_env(doc: YamlDoc, environ: dict[str, str] | None = None) -> list[Problem]:
    """Replace `${VAR}` and `${VAR:-default}` in every string value, in place.

    A `${VAR}` without a default whose variable is unset is a problem, reported
    at the line of the value that needs it.
    """
    env = dict(os.environ) if environ is None else environ
    problems: list[Problem] = []

    def sub(value: str, loc: PathKey) -> str:
        def repl(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in env and env[name] != "":
                return env[name]
            if default is not None:
                return default
            problems.append(doc.problem(loc, f"environment variable {name} is not set"))
            return ""

        return _ENV.sub(repl, value)

    def walk(value: Any, loc: PathKey) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, (*loc, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, (*loc, i)) for i, v in enumerate(value)]
        if isinstance(value, str):
            return sub(value, loc)
        return value

    doc.data = walk(doc.data, ())
    return problems


def validation_problems(doc: YamlDoc, exc: ValidationError, prefix: PathKey = ()) -> list[Problem]:
    """Translate pydantic errors into located problems, one per error."""
    out: list[Problem] = []
    for err in exc.errors():
        raw: PathKey = (*prefix, *(p for p in err["loc"] if isinstance(p, str | int)))
        # pydantic adds the tag of a tagged union (e.g. the step type) to loc. Keep only the
        # parts that exist in the YAML (plus the last one, which may be a missing field),
        # so the path reads like what the user wrote.
        loc: PathKey = ()
        for i, part in enumerate(raw):
            if (*loc, part) in doc.lines or i == len(raw) - 1:
                loc = (*loc, part)
        kind = err["type"]
        if kind == "extra_forbidden":
            message = "unknown field"
        elif kind == "missing":
            message = "required field is missing"
        else:
            message = err["msg"]
            if message.startswith("Value error, "):
                message = message[len("Value error, ") :]
        out.append(doc.problem(loc, message))
    return out
