"""Check Bot API calls and objects against the published spec (tests/specs/telegram).

Method names, parameter names, required parameters and value types are checked, nested
objects included (an inline keyboard inside `reply_markup`, a scope inside
`setMyCommands`). Objects the fake sends back (updates, messages) are checked too, so the
fake cannot drift from what Telegram really sends.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

SPEC_PATH = Path(__file__).resolve().parents[1] / "specs" / "telegram" / "api.json"
_INT = re.compile(r"^-?\d+$")
_FLOAT = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")
_MUST_BE = re.compile(r"must be (?:always )?[\"“]?([a-z_]+)")


@cache
def spec() -> dict[str, Any]:
    return json.loads(SPEC_PATH.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


class Upload:
    """A file part of a multipart request (what the spec calls InputFile)."""

    def __init__(self, name: str, size: int, data: bytes = b"") -> None:
        self.name = name
        self.size = size
        self.data = data


def check_call(method: str, params: dict[str, Any]) -> list[str]:
    """Problems with one call; form values are strings, JSON-encoded unless strings."""
    methods = spec()["methods"]
    if method not in methods:
        return [f"{method}: no such Bot API method"]
    fields = {f["name"]: f for f in methods[method].get("fields", [])}
    problems = [f"{method}: unknown parameter '{name}'" for name in params if name not in fields]
    for name, field in fields.items():
        if name not in params:
            if field["required"]:
                problems.append(f"{method}: required parameter '{name}' is missing")
            continue
        problems += _check(field["types"], params[name], f"{method}.{name}", form=True)
    return problems


def check_object(type_name: str, value: Any, where: str = "") -> list[str]:
    return _check([type_name], value, where or type_name, form=False)


def _check(types: list[str], value: Any, where: str, *, form: bool) -> list[str]:
    """Valid when any of the alternative types fits; else the first alternative's problems."""
    first: list[str] | None = None
    for type_name in types:
        problems = _check_one(type_name, value, where, form=form)
        if not problems:
            return []
        first = first if first is not None else problems
    return first or [f"{where}: no type given"]


def _decoded(value: Any, form: bool) -> Any:
    if form and isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _check_one(type_name: str, value: Any, where: str, *, form: bool) -> list[str]:
    if type_name.startswith("Array of "):
        items = _decoded(value, form)
        if not isinstance(items, list):
            return [f"{where}: expected {type_name}, got {value!r:.60}"]
        inner = type_name[len("Array of ") :]
        out: list[str] = []
        for i, item in enumerate(items):
            out += _check([inner], item, f"{where}[{i}]", form=False)
        return out
    if type_name == "String":
        return [] if isinstance(value, str) else [f"{where}: expected String, got {value!r:.60}"]
    if type_name == "Integer":
        ok = (isinstance(value, int) and not isinstance(value, bool)) or (
            form and isinstance(value, str) and bool(_INT.match(value))
        )
        return [] if ok else [f"{where}: expected Integer, got {value!r:.60}"]
    if type_name in ("Float", "Float number"):
        ok = (isinstance(value, int | float) and not isinstance(value, bool)) or (
            form and isinstance(value, str) and bool(_FLOAT.match(value))
        )
        return [] if ok else [f"{where}: expected Float, got {value!r:.60}"]
    if type_name in ("Boolean", "True"):
        ok = isinstance(value, bool) or (form and value in ("true", "false"))
        return [] if ok else [f"{where}: expected Boolean, got {value!r:.60}"]
    if type_name == "InputFile":
        return [] if isinstance(value, Upload) else [f"{where}: expected an uploaded file"]
    types = spec()["types"]
    if type_name not in types:
        return [f"{where}: unknown type {type_name}"]
    kind = types[type_name]
    if kind.get("subtypes"):
        return _check(kind["subtypes"], value, where, form=form)
    obj = _decoded(value, form)
    if not isinstance(obj, dict):
        return [f"{where}: expected {type_name} object, got {value!r:.60}"]
    fields = {f["name"]: f for f in kind.get("fields", [])}
    out = [f"{where}: {type_name} has no field '{k}'" for k in obj if k not in fields]
    for name, field in fields.items():
        if name not in obj:
            if field["required"]:
                out.append(f"{where}: {type_name}.{name} is required")
            continue
        out += _check(field["types"], obj[name], f"{where}.{name}", form=False)
        fixed = _MUST_BE.search(field.get("description", ""))
        if name == "type" and fixed and obj[name] != fixed.group(1):
            out.append(f"{where}: {type_name}.type must be {fixed.group(1)}")
    return out
