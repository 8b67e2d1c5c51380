"""SCIM resources as JSON documents: what a client sends made into what is stored
(`clean`), PATCH operations applied (`apply_patch`, RFC 7644 section 3.5.2, with the forms
Okta and Entra ID send), and what is given back (`render`, `project`).

The stored document holds the attributes with the schema's spelling (`userName`, never
`USERNAME`), values of the schema's types (Entra ID's `"False"` becomes false) and the
enterprise extension under its URN; no id, no meta (those are columns).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from bot.scim.errors import ScimError, invalid_path, invalid_value
from bot.scim.filters import (
    AttrPath,
    Compare,
    Filter,
    Logic,
    PatchPath,
    definition,
    element_matches,
    lookup,
    parse_path,
    split_attr,
)
from bot.scim.schemas import Attr, Kind, Schema

MAX_KEY = 255  # userName and externalId are indexed columns of this length


def _coerce(attr: Attr, value: Any, where: str) -> Any:
    """A value of the attribute's type, or None for "no value"."""
    if value is None:
        return None
    if attr.type == "complex":
        if attr.multi:
            items = value if isinstance(value, list) else [value]
            cleaned = [_element(attr, item, where) for item in items]
            kept = [item for item in cleaned if item]
            return kept or None
        return _element(attr, value, where) or None
    if attr.multi:
        items = value if isinstance(value, list) else [value]
        kept = [v for item in items if (v := _simple(attr, item, where)) is not None]
        return kept or None
    return _simple(attr, value, where)


def _element(attr: Attr, value: Any, where: str) -> dict[str, Any]:
    if isinstance(value, str) and attr.child("value") is not None:
        value = {"value": value}  # Entra ID sends the manager as the id alone
    if not isinstance(value, dict):
        raise invalid_value(f"{where}: expected an object")
    out: dict[str, Any] = {}
    for key, item in value.items():
        sub = attr.child(key)
        if sub is None or sub.mutability == "readOnly":
            continue
        cleaned = _simple(sub, item, f"{where}.{sub.name}")
        if cleaned is not None:
            out[sub.name] = cleaned
    return out


def _simple(attr: Attr, value: Any, where: str) -> Any:
    if value is None:
        return None
    if attr.type == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise invalid_value(f"{where}: expected true or false, got {value!r}")
    if attr.type == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise invalid_value(f"{where}: expected an integer, got {value!r}")
    if isinstance(value, str):
        return value
    raise invalid_value(f"{where}: expected a string, got {value!r}")


def _schema_attrs(kind: Kind, schema: Schema, body: dict[str, Any], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in body.items():
        attr = schema.attr(key)
        if attr is None or attr.mutability == "readOnly":
            continue  # unknown (Okta's password, Entra ID's roles) or the server's own
        cleaned = _coerce(attr, value, f"{where}{attr.name}")
        if cleaned is not None:
            out[attr.name] = cleaned
    return out


def clean(kind: Kind, body: Any) -> dict[str, Any]:
    """What to store of a resource a client sent (POST, PUT, or after a PATCH)."""
    if not isinstance(body, dict):
        raise ScimError(400, "the body is not a JSON object", "invalidSyntax")
    core: dict[str, Any] = {}
    extensions: dict[str, Any] = {}
    for key, value in body.items():
        if key.lower() == "externalid":
            if value is not None:
                if not isinstance(value, str):
                    raise invalid_value(f"externalId: expected a string, got {value!r}")
                core["externalId"] = value
            continue
        ext = kind.extension(key)
        if ext is not None:
            if value is None:
                continue
            if not isinstance(value, dict):
                raise invalid_value(f"{ext.id}: expected an object")
            found = _schema_attrs(kind, ext, value, f"{ext.id}:")
            if found:
                extensions[ext.id] = found
            continue
        core[key] = value
    out = _schema_attrs(kind, kind.schema, core, "")
    if "externalId" in core:
        out["externalId"] = core["externalId"]
    out.update(extensions)
    for attr in kind.schema.attributes:
        if attr.required and not out.get(attr.name):
            raise invalid_value(f"{attr.name} is required")
    for name in ("userName", "externalId"):
        if len(str(out.get(name, ""))) > MAX_KEY:
            raise invalid_value(f"{name} is longer than {MAX_KEY} characters")
    return out


# --- PATCH --------------------------------------------------------------------------------


def _holder(doc: dict[str, Any], path: AttrPath, create: bool) -> dict[str, Any] | None:
    if path.schema is None:
        return doc
    found = doc.get(path.schema)
    if not isinstance(found, dict):
        if not create:
            return None
        found = {}
        doc[path.schema] = found
    return found


def _items(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _key_of(item: Any) -> Any:
    """What makes two values of a multi-valued attribute the same one."""
    if isinstance(item, dict):
        value = lookup(item, "value")
        return ("value", value) if value is not None else ("whole", sorted(item.items(), key=str))
    return ("plain", item)


def _merged(old: list[Any], new: Iterable[Any]) -> list[Any]:
    out = list(old)
    seen = {repr(_key_of(item)) for item in out}
    for item in new:
        if isinstance(item, str) and out and isinstance(out[0], dict):
            item = {"value": item}
        key = repr(_key_of(item))
        if key in seen:
            continue
        seen.add(key)
        out.append(item)
    return out


def _template(tree: Filter) -> dict[str, Any]:
    """The sub-attributes an `eq` filter names, for a new element when none matched
    (Entra ID replaces `emails[type eq "work"].value` on a user who has no work email)."""
    if isinstance(tree, Compare) and tree.op == "eq":
        return {tree.path.attr: tree.value}
    if isinstance(tree, Logic) and tree.op == "and":
        return {**_template(tree.left), **_template(tree.right)}
    raise ScimError(400, "no value matches the path's filter", "noTarget")


def _sub_name(attr: Attr, name: str, text: str) -> str:
    sub = attr.child(name)
    if sub is None:
        raise invalid_path(f"'{text}': {attr.name} has no sub-attribute '{name}'")
    if sub.mutability == "readOnly":
        raise ScimError(400, f"'{text}' is read-only", "mutability")
    return sub.name


def _apply(doc: dict[str, Any], kind: Kind, target: PatchPath, op: str, value: Any) -> None:
    attr = definition(kind, target.path)
    text = str(target.path)
    if attr is None:
        raise invalid_path(f"'{text}' is not an attribute of {kind.name}")
    if attr.mutability == "readOnly":
        raise ScimError(400, f"'{text}' is read-only", "mutability")
    holder = _holder(doc, target.path, create=op != "remove")
    if holder is None:
        return  # removing from an extension the resource does not have
    key = attr.name
    sub = target.path.sub if target.filter is None else target.sub
    if sub is not None:
        if attr.type != "complex":
            raise invalid_path(f"'{text}': {attr.name} has no sub-attributes")
        sub = _sub_name(attr, sub, text)
    if target.filter is not None:
        if not attr.multi:
            raise invalid_path(f"'{text}': a filter selects values of a multi-valued attribute")
        _apply_filtered(holder, kind, target, attr, op, value, sub)
    elif sub is not None and attr.multi:
        for item in _items(holder.get(key)):
            if isinstance(item, dict):
                if op == "remove":
                    item.pop(sub, None)
                else:
                    item[sub] = value
    elif sub is not None:
        obj = holder.get(key)
        obj = dict(obj) if isinstance(obj, dict) else {}
        if op == "remove":
            obj.pop(sub, None)
        else:
            obj[sub] = value
        holder[key] = obj
    elif op == "remove":
        if value is not None and attr.multi:
            # Entra ID removes group members as {"path": "members", "value": [{"value": id}]}.
            drop = {
                repr(_key_of(v if not isinstance(v, str) else {"value": v})) for v in _items(value)
            }
            holder[key] = [v for v in _items(holder.get(key)) if repr(_key_of(v)) not in drop]
        else:
            holder.pop(key, None)
    elif attr.multi:
        base = _items(holder.get(key)) if op == "add" else []
        holder[key] = _merged(base, _items(value))
    elif attr.type == "complex" and isinstance(value, dict) and isinstance(holder.get(key), dict):
        holder[key] = {**holder[key], **value}  # sub-attributes not given stay (3.5.2.3)
    else:
        holder[key] = value


def _apply_filtered(
    holder: dict[str, Any],
    kind: Kind,
    target: PatchPath,
    attr: Attr,
    op: str,
    value: Any,
    sub: str | None,
) -> None:
    assert target.filter is not None
    items = _items(holder.get(attr.name))
    hits = [
        i for i, item in enumerate(items) if element_matches(target.filter, item, kind, target.path)
    ]
    if op == "remove":
        if sub is not None:
            for i in hits:
                items[i].pop(sub, None)
        else:
            items = [item for i, item in enumerate(items) if i not in hits]
        holder[attr.name] = items
        return
    if not hits:
        new = _template(target.filter)
        if sub is not None:
            new[sub] = value
        elif isinstance(value, dict):
            new.update(value)
        else:
            raise invalid_value(f"'{target.path}': expected an object for the new value")
        items.append(new)
    for i in hits:
        if sub is not None:
            items[i] = {**items[i], sub: value}
        elif isinstance(value, dict):
            items[i] = {**items[i], **value} if op == "add" else value
        else:
            raise invalid_value(f"'{target.path}': expected an object")
    holder[attr.name] = items


def _extension_only(kind: Kind, path: str) -> Schema | None:
    return kind.extension(path.strip())


def apply_patch(kind: Kind, data: dict[str, Any], body: Any) -> dict[str, Any]:
    """The document after a PatchOp's operations, in order (not yet cleaned)."""
    if not isinstance(body, dict):
        raise ScimError(400, "the body is not a JSON object", "invalidSyntax")
    operations = lookup(body, "Operations")
    if not isinstance(operations, list) or not operations:
        raise ScimError(400, "a PatchOp needs a list of Operations", "invalidSyntax")
    doc = copy.deepcopy(data)
    for number, operation in enumerate(operations, 1):
        if not isinstance(operation, dict):
            raise ScimError(400, f"operation {number} is not an object", "invalidSyntax")
        op = str(lookup(operation, "op") or "").lower()  # Entra ID writes "Replace"
        if op not in ("add", "replace", "remove"):
            raise ScimError(
                400, f"operation {number}: op must be add, replace or remove", "invalidSyntax"
            )
        path = lookup(operation, "path")
        value = lookup(operation, "value")
        if path is not None and not isinstance(path, str):
            raise invalid_path(f"operation {number}: path must be a string")
        ext = _extension_only(kind, path) if path else None
        if path and ext is None:
            _apply(doc, kind, parse_path(path, kind), op, value)
            continue
        if op == "remove" and ext is None:
            raise ScimError(400, f"operation {number}: remove needs a path", "noTarget")
        if op == "remove" and ext is not None:
            doc.pop(ext.id, None)
            continue
        if not isinstance(value, dict):
            raise invalid_value(f"operation {number}: without a path, value must be an object")
        _apply_map(doc, kind, value, op, ext)
    return doc


def _apply_map(
    doc: dict[str, Any], kind: Kind, value: dict[str, Any], op: str, ext: Schema | None
) -> None:
    """add/replace with no path: each key names an attribute (Entra ID also writes paths
    such as `name.givenName` as keys; Okta sends the group's own id along)."""
    for key, item in value.items():
        if key.lower() in ("schemas", "id", "meta"):
            continue
        inner = kind.extension(key) if ext is None else None
        if inner is not None:
            if isinstance(item, dict):
                _apply_map(doc, kind, item, op, inner)
            continue
        if key.lower() == "externalid" and ext is None:
            doc["externalId"] = item
            continue
        try:
            target = parse_path(f"{ext.id}:{key}" if ext else key, kind)
        except ScimError:
            continue  # not an attribute path: ignored, as unknown attributes are
        attr = definition(kind, target.path)
        if attr is None or attr.mutability == "readOnly":
            continue
        _apply(doc, kind, target, op, item)


# --- what is given back ------------------------------------------------------------------


def timestamp(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def project(
    doc: dict[str, Any], kind: Kind, attributes: list[str], excluded: list[str]
) -> dict[str, Any]:
    """`attributes` / `excludedAttributes` (RFC 7644 3.4.2.5); id and schemas always stay."""
    if not attributes and not excluded:
        return doc
    always = {"id", "schemas"}
    if attributes:
        out: dict[str, Any] = {k: v for k, v in doc.items() if k in always}
        for text in attributes:
            try:
                path = split_attr(text, kind)
            except ScimError:
                continue
            holder = doc.get(path.schema) if path.schema else doc
            if not isinstance(holder, dict):
                continue
            name = next((k for k in holder if k.lower() == path.attr.lower()), None)
            if name is None:
                continue
            target = out.setdefault(path.schema, {}) if path.schema else out
            if path.sub is None:
                target[name] = holder[name]
                continue
            got = holder[name]
            if isinstance(got, dict):
                picked = {k: v for k, v in got.items() if k.lower() == path.sub.lower()}
                if picked:
                    target.setdefault(name, {}).update(picked)
            elif isinstance(got, list):
                target[name] = [
                    {k: v for k, v in item.items() if k.lower() == path.sub.lower()}
                    for item in got
                    if isinstance(item, dict)
                ]
        return out
    out = copy.deepcopy(doc)
    for text in excluded:
        try:
            path = split_attr(text, kind)
        except ScimError:
            continue
        holder = out.get(path.schema) if path.schema else out
        if not isinstance(holder, dict):
            continue
        name = next((k for k in holder if k.lower() == path.attr.lower()), None)
        if name is None or name in always:
            continue
        if path.sub is None:
            del holder[name]
        elif isinstance(holder[name], dict):
            holder[name] = {k: v for k, v in holder[name].items() if k.lower() != path.sub.lower()}
    return out
