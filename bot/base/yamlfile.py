"""Reading deskbot's files: within a size bound, as UTF-8 (a byte-order mark is fine), and
YAML without aliases, remembering where every value came from so errors name file and line."""

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

MIB = 1024 * 1024
# The largest file each kind may be. The repository's largest YAML file is under 50 KB; a
# 1 MiB file of the smallest possible nodes loads in about 2.5 s and 140 MB. A people.csv
# row is about 150 bytes, so 16 MiB is room for some 100,000 people.
YAML_LIMIT = 1 * MIB  # config.yaml, services, built-in intents, texts, learned phrasings, articles
TABLE_LIMIT = 16 * MIB  # people.csv, assets.csv, phrase lists (JSON lines)
# How deep mappings and lists may nest. deskbot's own files go 6 deep; without a bound a
# deeply nested file would exhaust Python's recursion while it is being read.
MAX_DEPTH = 50


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


def _size(count: int) -> str:
    return f"{count // MIB} MiB" if count % MIB == 0 else f"{count / MIB:.1f} MiB"


def read_text(path: Path, limit: int) -> str:
    """The text of a file of at most `limit` bytes, decoded strictly as UTF-8 (an Excel-style
    byte-order mark is dropped). Anything else is one problem naming the file, found
    before the file is read into memory: its size is checked first, and at most `limit` + 1
    bytes are ever read (a device or a file still growing says nothing true in its size)."""
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            data = b"" if size > limit else handle.read(limit + 1)
    except OSError as exc:
        raise ProblemsError(
            [Problem(str(path), None, "", f"cannot read file: {exc.strerror}")]
        ) from exc
    if size > limit or len(data) > limit:
        told = f"it is {_size(size)}, " if size > limit else ""
        message = f"file is too large ({told}the limit is {_size(limit)} for this kind of file)"
        raise ProblemsError([Problem(str(path), None, "", message)])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        byte = data[exc.start : exc.start + 1].hex()
        message = f"not UTF-8 text (byte 0x{byte} is not valid UTF-8); save the file as UTF-8"
        raise ProblemsError([Problem(str(path), line, "", message)]) from exc


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


def _index(root: yaml.Node, lines: dict[PathKey, int], path: Path) -> list[Problem]:
    """Note every value's line and find duplicate keys, walking the nodes depth first (with
    a stack of our own, so depth costs no recursion). Nesting beyond MAX_DEPTH is refused."""
    problems: list[Problem] = []
    stack: list[tuple[yaml.Node, PathKey]] = [(root, ())]
    while stack:
        node, loc = stack.pop()
        lines.setdefault(loc, node.start_mark.line + 1)
        if len(loc) > MAX_DEPTH:
            message = f"values are nested more than {MAX_DEPTH} levels deep"
            raise ProblemsError([Problem(str(path), node.start_mark.line + 1, "", message)])
        children: list[tuple[yaml.Node, PathKey]] = []
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
                children.append((value_node, (*loc, key)))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                lines[(*loc, i)] = item.start_mark.line + 1
                children.append((item, (*loc, i)))
        stack.extend(reversed(children))  # the first child is walked next, as in the file
    return problems


def _refuse_aliases(path: Path, text: str) -> None:
    """Refuse a file with an alias (`*name`), found by scanning alone, before any value is
    built. An alias repeats the whole value its anchor (`&name`) marks, so a few lines of
    aliases of aliases stand for billions of values ("billion laughs"); deskbot's own files
    use none, so none are accepted."""
    if "*" not in text:  # scanning costs a second pass; only a file with a `*` can have one
        return
    for token in yaml.scan(text, Loader=_Loader):
        if isinstance(token, yaml.AliasToken):
            message = (
                f"YAML aliases (*{token.value}) are not allowed in deskbot's files; "
                "write the value out in full"
            )
            raise ProblemsError([Problem(str(path), token.start_mark.line + 1, "", message)])


def load_yaml(path: Path, text: str | None = None) -> YamlDoc:
    """Parse a YAML file, raising ProblemsError with file and line for any syntax error.

    The file is read with `read_text` (size bound, UTF-8); aliases and nesting deeper than
    MAX_DEPTH are refused before the values are built, so no file costs more than its size."""
    if text is None:
        text = read_text(path, YAML_LIMIT)
    doc = YamlDoc(path=path, data=None)
    problems: list[Problem] = []
    loader = _Loader(text)
    try:
        _refuse_aliases(path, text)
        node = loader.get_single_node()
        if node is not None:
            problems = _index(node, doc.lines, path)
            doc.data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        reason = exc.problem or exc.context or "invalid YAML"
        raise ProblemsError([Problem(str(path), line, "", f"invalid YAML: {reason}")]) from exc
    except yaml.YAMLError as exc:
        raise ProblemsError([Problem(str(path), None, "", f"invalid YAML: {exc}")]) from exc
    except RecursionError as exc:  # only the pure-Python parser recurses this deep
        message = f"values are nested more than {MAX_DEPTH} levels deep"
        raise ProblemsError([Problem(str(path), None, "", message)]) from exc
    finally:
        loader.dispose()
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
