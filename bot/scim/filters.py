"""SCIM filters and attribute paths (RFC 7644 sections 3.4.2.2 and 3.5.2).

`parse_filter('userName eq "bjensen" and active eq true')` gives a tree that `matches`
checks against a resource as JSON; `parse_path('emails[type eq "work"].value')` gives
what a PATCH operation targets. Attribute names are matched without case, as the RFC
says; string values too, unless the schema marks the attribute caseExact.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from bot.scim.errors import ScimError, invalid_filter, invalid_path
from bot.scim.schemas import COMMON, Attr, Kind

COMPARE = ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le")


@dataclass(frozen=True)
class AttrPath:
    """`[urn:]attr[.sub]`: `schema` is the extension's URN, or None for the core schema."""

    schema: str | None
    attr: str
    sub: str | None = None

    def __str__(self) -> str:
        name = f"{self.attr}.{self.sub}" if self.sub else self.attr
        return f"{self.schema}:{name}" if self.schema else name


@dataclass(frozen=True)
class Compare:
    path: AttrPath
    op: str
    value: Any


@dataclass(frozen=True)
class Present:
    path: AttrPath


@dataclass(frozen=True)
class Logic:
    op: str  # and | or
    left: Filter
    right: Filter


@dataclass(frozen=True)
class Not:
    inner: Filter


@dataclass(frozen=True)
class ValuePath:
    """`emails[type eq "work"]`: elements of a multi-valued attribute matching `filter`."""

    path: AttrPath
    filter: Filter


Filter = Compare | Present | Logic | Not | ValuePath


@dataclass(frozen=True)
class PatchPath:
    """A PATCH target: an attribute, optionally narrowed by a filter, then a sub-attribute."""

    path: AttrPath  # the attribute (with its sub-attribute when there is no filter)
    filter: Filter | None = None
    sub: str | None = None  # after the filter: `emails[type eq "work"].value`


_TOKEN = re.compile(
    r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<punct>[()\[\]])|(?P<word>[^\s()\[\]"]+))'
)


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    at = 0
    text = text.strip()
    while at < len(text):
        match = _TOKEN.match(text, at)
        if not match or match.end() == at:
            raise invalid_filter(f"cannot read the filter at: {text[at : at + 30]!r}")
        out.append(match.group("string") or match.group("punct") or match.group("word"))
        at = match.end()
        while at < len(text) and text[at].isspace():
            at += 1
    return out


def split_attr(text: str, kind: Kind) -> AttrPath:
    """`urn:...:enterprise:2.0:User:manager.value` -> (URN, manager, value). An extension's
    URN contains dots and colons, so it is recognised whole before the name is split."""
    schema: str | None = None
    rest = text
    for ext in kind.extensions:
        if text.lower().startswith(ext.id.lower() + ":"):
            schema, rest = ext.id, text[len(ext.id) + 1 :]
            break
    else:
        core = kind.schema.id
        if text.lower().startswith(core.lower() + ":"):
            rest = text[len(core) + 1 :]
    if not re.fullmatch(r"\$?[A-Za-z][\w$-]*(\.\$?[A-Za-z][\w$-]*)?", rest):
        raise ScimError(400, f"'{text}' is not an attribute path", "invalidPath")
    attr, _, sub = rest.partition(".")
    if schema is None and kind.schema.attr(attr) is None:
        # `manager` for the enterprise extension's manager (Entra ID's attribute mappings
        # may leave the URN out): the one extension that has the name.
        owners = [ext.id for ext in kind.extensions if ext.attr(attr) is not None]
        if len(owners) == 1:
            schema = owners[0]
    return AttrPath(schema, attr, sub or None)


class _Parser:
    def __init__(self, text: str, kind: Kind) -> None:
        self.tokens = _tokens(text)
        self.at = 0
        self.kind = kind
        if not self.tokens:
            raise invalid_filter("the filter is empty")

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise invalid_filter("the filter ends too soon")
        self.at += 1
        return token

    def expect(self, token: str) -> None:
        got = self.take()
        if got != token:
            raise invalid_filter(f"expected '{token}', found '{got}'")

    def parse(self) -> Filter:
        tree = self.disjunction()
        if self.peek() is not None:
            raise invalid_filter(f"unexpected '{self.peek()}'")
        return tree

    def disjunction(self) -> Filter:
        left = self.conjunction()
        while (self.peek() or "").lower() == "or":
            self.take()
            left = Logic("or", left, self.conjunction())
        return left

    def conjunction(self) -> Filter:
        left = self.unary()
        while (self.peek() or "").lower() == "and":
            self.take()
            left = Logic("and", left, self.unary())
        return left

    def unary(self) -> Filter:
        token = self.peek()
        if token is not None and token.lower() == "not":
            self.take()
            self.expect("(")
            inner = self.disjunction()
            self.expect(")")
            return Not(inner)
        if token == "(":  # noqa: S105 - a parenthesis, not a password
            self.take()
            inner = self.disjunction()
            self.expect(")")
            return inner
        return self.expression()

    def attr(self) -> AttrPath:
        token = self.take()
        if token in ("(", ")", "[", "]") or token.startswith('"'):
            raise invalid_filter(f"expected an attribute name, found '{token}'")
        try:
            return split_attr(token, self.kind)
        except ScimError as exc:
            raise invalid_filter(exc.detail) from None

    def expression(self) -> Filter:
        path = self.attr()
        if self.peek() == "[":
            self.take()
            inner = self.disjunction()
            self.expect("]")
            after = self.peek() or ""
            if not after.startswith("."):
                return ValuePath(path, inner)
            # `emails[type eq "work"].value eq "x"` (Entra ID's matching attribute): an
            # element that passes the bracket and whose sub-attribute compares.
            self.take()
            sub = AttrPath(None, after[1:])
            op = self.take().lower()
            if op == "pr":
                return ValuePath(path, Logic("and", inner, Present(sub)))
            if op not in COMPARE:
                raise invalid_filter(f"'{op}' is not a comparison")
            return ValuePath(path, Logic("and", inner, Compare(sub, op, self.value())))
        op = self.take().lower()
        if op == "pr":
            return Present(path)
        if op not in COMPARE:
            raise invalid_filter(
                f"'{op}' is not a comparison (eq, ne, co, sw, ew, gt, ge, lt, le, pr)"
            )
        return Compare(path, op, self.value())

    def value(self) -> Any:
        token = self.take()
        if token.startswith('"'):
            try:
                return json.loads(token)
            except json.JSONDecodeError:
                raise invalid_filter(f"{token} is not a valid string") from None
        low = token.lower()
        if low in ("true", "false"):
            return low == "true"
        if low == "null":
            return None
        try:
            return int(token) if re.fullmatch(r"-?\d+", token) else float(token)
        except ValueError:
            raise invalid_filter(
                f"'{token}' is not a value (a quoted string, number, true, false or null)"
            ) from None


def parse_filter(text: str, kind: Kind) -> Filter:
    return _Parser(text, kind).parse()


def parse_path(text: str, kind: Kind) -> PatchPath:
    """A PATCH `path`: `members`, `name.givenName`, `members[value eq "2819c223"]`,
    `emails[type eq "work"].value`, `urn:...:enterprise:2.0:User:manager`."""
    text = text.strip()
    if "[" not in text:
        return PatchPath(split_attr(text, kind))
    head, _, rest = text.partition("[")
    inside, close, tail = rest.rpartition("]")
    if not close or (tail and not re.fullmatch(r"\.\$?[A-Za-z][\w$-]*", tail)):
        raise invalid_path(f"'{text}' is not a valid path")
    attr = split_attr(head, kind)
    if attr.sub:
        raise invalid_path(
            f"'{text}': a filter follows a multi-valued attribute, not a sub-attribute"
        )
    try:
        inner = parse_filter(inside, kind)
    except ScimError as exc:
        raise invalid_path(f"'{text}': {exc.detail}") from None
    return PatchPath(attr, inner, tail[1:] or None)


# --- evaluation ---------------------------------------------------------------------------


def definition(kind: Kind, path: AttrPath) -> Attr | None:
    """The schema's attribute for a path (None when the schema has no such attribute)."""
    if path.schema:
        ext = kind.extension(path.schema)
        return ext.attr(path.attr) if ext else None
    found = kind.schema.attr(path.attr)
    if found is None:
        found = next((a for a in COMMON if a.name.lower() == path.attr.lower()), None)
    return found


def lookup(container: dict[str, Any], name: str) -> Any:
    """A key of a JSON object, without case."""
    if name in container:
        return container[name]
    low = name.lower()
    for key, value in container.items():
        if key.lower() == low:
            return value
    return None


def _values(resource: dict[str, Any], kind: Kind, path: AttrPath) -> Iterator[Any]:
    holder: Any = resource
    if path.schema:
        holder = lookup(resource, path.schema)
        if not isinstance(holder, dict):
            return
    value = lookup(holder, path.attr)
    items = value if isinstance(value, list) else [value]
    attr = definition(kind, path)
    sub = path.sub
    if sub is None and attr is not None and attr.type == "complex" and attr.multi:
        sub = "value"  # `emails co "x"` compares each email's value (RFC 7644 3.4.2.2)
    for item in items:
        if sub is None:
            if item is not None:
                yield item
        elif isinstance(item, dict):
            inner = lookup(item, sub)
            if inner is not None:
                yield inner


def _case_exact(kind: Kind, path: AttrPath) -> bool:
    attr = definition(kind, path)
    if attr is not None and path.sub:
        attr = attr.child(path.sub)
    return bool(attr and attr.case_exact)


def _compare(op: str, have: Any, want: Any, exact: bool) -> bool:
    if isinstance(have, bool) or isinstance(want, bool) or want is None:
        if op == "eq":
            return bool(have == want)
        if op == "ne":
            return bool(have != want)
        raise invalid_filter(f"'{op}' does not compare booleans or null")
    if isinstance(have, str) and isinstance(want, str):
        if not exact:
            have, want = have.lower(), want.lower()
    elif isinstance(have, int | float) and isinstance(want, int | float):
        pass
    else:
        return op == "ne"
    checks: dict[str, Callable[[Any, Any], bool]] = {
        "eq": lambda a, b: a == b,
        "ne": lambda a, b: a != b,
        "co": lambda a, b: isinstance(a, str) and b in a,
        "sw": lambda a, b: isinstance(a, str) and a.startswith(b),
        "ew": lambda a, b: isinstance(a, str) and a.endswith(b),
        "gt": lambda a, b: a > b,
        "ge": lambda a, b: a >= b,
        "lt": lambda a, b: a < b,
        "le": lambda a, b: a <= b,
    }
    return bool(checks[op](have, want))


def matches(tree: Filter, resource: dict[str, Any], kind: Kind) -> bool:
    if isinstance(tree, Logic):
        if tree.op == "and":
            return matches(tree.left, resource, kind) and matches(tree.right, resource, kind)
        return matches(tree.left, resource, kind) or matches(tree.right, resource, kind)
    if isinstance(tree, Not):
        return not matches(tree.inner, resource, kind)
    if isinstance(tree, Present):
        return any(v not in ("", [], {}) for v in _values(resource, kind, tree.path))
    if isinstance(tree, ValuePath):
        holder: Any = resource
        if tree.path.schema:
            holder = lookup(resource, tree.path.schema) or {}
        items = lookup(holder, tree.path.attr) if isinstance(holder, dict) else None
        items = items if isinstance(items, list) else [items] if isinstance(items, dict) else []
        return any(element_matches(tree.filter, item, kind, tree.path) for item in items)
    values = list(_values(resource, kind, tree.path))
    exact = _case_exact(kind, tree.path)
    if tree.op == "ne":
        return not any(_compare("eq", v, tree.value, exact) for v in values)
    return any(_compare(tree.op, v, tree.value, exact) for v in values)


def element_matches(tree: Filter, element: Any, kind: Kind, parent: AttrPath) -> bool:
    """A value filter inside brackets, on one element of a multi-valued attribute: its
    attribute names are the element's sub-attributes."""
    if not isinstance(element, dict):
        return False
    if isinstance(tree, Logic):
        left = element_matches(tree.left, element, kind, parent)
        if tree.op == "and":
            return left and element_matches(tree.right, element, kind, parent)
        return left or element_matches(tree.right, element, kind, parent)
    if isinstance(tree, Not):
        return not element_matches(tree.inner, element, kind, parent)
    if isinstance(tree, ValuePath):
        raise invalid_filter("a filter inside brackets cannot hold another bracket")
    name = tree.path.attr
    have = lookup(element, name)
    if isinstance(tree, Present):
        return have not in (None, "", [], {})
    exact = _case_exact(kind, AttrPath(parent.schema, parent.attr, name))
    if have is None:
        return tree.op == "ne" and tree.value is not None
    return _compare(tree.op, have, tree.value, exact)
