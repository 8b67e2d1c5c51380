"""Configuration items (CIs): the services, systems and devices IT looks after, their owners
and how they stand on each other, loaded from `directory/cis.yaml` (`paths.cis`) and the
asset registry (docs/cis.md).

Every asset of assets.csv is a `device` item (id: the asset tag in lower case, owner: the
asset's owner). "Used by" is the reverse of `runs_on` and `depends_on`, computed here; the
two relations together may not go round in a circle.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.base.config import LANGUAGES, Settings
from bot.base.yamlfile import Problem, ProblemsError, YamlDoc, load_yaml
from bot.directory import Directory

KINDS = ("service", "system", "device")
CI_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
MAX_ID = 64  # the store keeps a CI id in 64 characters
_ITEM_FIELDS = ("id", "name", "kind", "owner", "services", "runs_on", "depends_on", "aliases")
_LISTS = ("services", "runs_on", "depends_on", "aliases")
MIN_MENTION = 2  # characters (without spaces) a word needs to be found inside a sentence
_LATIN = re.compile(r"[\x00-\x7f]+")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConfigurationItem:
    id: str
    names: dict[str, str]
    kind: str
    owner: str | None = None
    services: tuple[str, ...] = ()
    runs_on: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    # False for an asset no longer in use (assets.csv status other than in_use): still an
    # item, with its history, but no longer linked to its owner's new tickets.
    active: bool = True

    def name(self, language: str) -> str:
        return self.names.get(language) or self.names.get("en") or self.id

    @property
    def stands_on(self) -> tuple[str, ...]:
        """What it runs on and depends on, each once, in that order."""
        return tuple(dict.fromkeys((*self.runs_on, *self.depends_on)))


def key(text: str) -> str:
    """How a name is compared: without case and without spaces ("J 盘" is "j盘")."""
    return "".join(text.casefold().split())


@dataclass(frozen=True)
class Cmdb:
    """The loaded items, with lookups by id, name or alias, owner, service and relation."""

    items: Mapping[str, ConfigurationItem] = field(default_factory=dict)
    _by_key: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)
    _used_by: dict[str, tuple[str, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _longest: list[tuple[str, str]] = field(
        default_factory=list, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        by_key: dict[str, str] = {}
        for item in self.items.values():  # ids first: an id is never shadowed by a name
            by_key.setdefault(key(item.id), item.id)
        for item in self.items.values():
            for word in (*item.names.values(), *item.aliases):
                by_key.setdefault(key(word), item.id)
        used_by: dict[str, list[str]] = {}
        for item in self.items.values():
            for target in item.stands_on:
                used_by.setdefault(target, []).append(item.id)
        # (word, item id) for every id, name and alias, longest first (for `find_in`).
        words: dict[str, str] = {}
        for item in self.items.values():
            for w in (item.id, *item.names.values(), *item.aliases):
                if len(key(w)) >= MIN_MENTION:
                    words.setdefault(" ".join(w.casefold().split()), item.id)
        self._longest.extend(sorted(words.items(), key=lambda p: -len(key(p[0]))))
        self._by_key.update(by_key)
        self._used_by.update({k: tuple(v) for k, v in used_by.items()})

    def __iter__(self) -> Iterator[ConfigurationItem]:
        return iter(self.items.values())

    def __len__(self) -> int:
        return len(self.items)

    def get(self, ci_id: str) -> ConfigurationItem | None:
        return self.items.get(ci_id)

    def find(self, text: str) -> ConfigurationItem | None:
        """The item whose id, name (any language) or alias is `text`, ignoring case and
        spaces; None when there is none."""
        found = self._by_key.get(key(text))
        return self.items[found] if found else None

    def find_in(self, text: str) -> ConfigurationItem | None:
        """The item `text` is, else the item it names with the longest of the ids, names
        and aliases it contains ("the SAP finance module" names SAP Finance); a Latin word
        counts only as a whole word ("ad" is not found in "upload")."""
        found = self.find(text)
        if found is not None:
            return found
        said = " ".join(text.casefold().split())
        bare = key(text)
        for word, ci_id in self._longest:
            if _LATIN.fullmatch(word):
                pattern = r"(?<![\w])" + r"\s*".join(map(re.escape, word.split())) + r"(?![\w])"
                if re.search(pattern, said):
                    return self.items[ci_id]
            elif key(word) in bare:
                return self.items[ci_id]
        return None

    def similar(self, text: str, limit: int = 3) -> list[str]:
        """The ids of items whose id, name or alias looks like `text` (a typo), best first."""
        close = difflib.get_close_matches(key(text), list(self._by_key), n=limit * 3, cutoff=0.6)
        return list(dict.fromkeys(self._by_key[c] for c in close))[:limit]

    def devices_of(self, person_id: str, *, active_only: bool = False) -> list[ConfigurationItem]:
        return [
            i
            for i in self.items.values()
            if i.kind == "device" and i.owner == person_id and (i.active or not active_only)
        ]

    def for_service(self, service_id: str) -> list[ConfigurationItem]:
        return [i for i in self.items.values() if service_id in i.services]

    def used_by(self, ci_id: str) -> list[ConfigurationItem]:
        """The items that run on or depend on `ci_id` directly."""
        return [self.items[i] for i in self._used_by.get(ci_id, ())]

    def dependents(self, ci_id: str) -> list[ConfigurationItem]:
        """Everything that stands on `ci_id`, directly or through others, nearest first
        (each once; `ci_id` itself never)."""
        seen = {ci_id}
        out: list[ConfigurationItem] = []
        frontier = [ci_id]
        while frontier:
            following: list[str] = []
            for current in frontier:
                for user in self._used_by.get(current, ()):
                    if user not in seen:
                        seen.add(user)
                        out.append(self.items[user])
                        following.append(user)
            frontier = following
        return out


def load_cmdb(
    settings: Settings, directory: Directory, services: Collection[str] | None = None
) -> Cmdb:
    """The items of `paths.cis` (none when the file does not exist) and the assets as
    devices. Every problem is raised together, naming file, line and field. `services`:
    the catalog's service ids, to check the items' `services` against (None: unchecked)."""
    path = settings.resolve(settings.paths.cis)
    items: dict[str, ConfigurationItem] = {}
    where: dict[str, int] = {}  # an item's index in the file's `items`
    problems: list[Problem] = []
    doc: YamlDoc | None = None
    device_services: dict[str, tuple[str, ...]] = {}
    if path.exists():
        doc = load_yaml(path)
        reader = _Reader(doc, directory, services, settings.directory.from_sync)
        device_services = reader.devices()
        for item, i in reader.items():
            if item.id in items:
                first = doc.line_of(("items", where[item.id]))
                reader.bad(("items", i, "id"), f"'{item.id}' appears twice (first on line {first})")
                continue
            items[item.id] = item
            where[item.id] = i
        problems += reader.problems
        for note in reader.notes:
            log.warning("%s", note)
    assets = str(settings.resolve(settings.paths.assets))
    for asset in directory.assets:
        ci_id = asset.asset_tag.lower()
        if ci_id in items:
            line = doc.line_of(("items", where[ci_id])) if doc else None
            message = f"'{asset.asset_tag}' is also the id of an item in cis.yaml (line {line})"
            problems.append(Problem(assets, None, "asset_tag", message))
            continue
        if not CI_ID.match(ci_id) or len(ci_id) > MAX_ID:
            continue  # not addressable as an item; the asset itself still works
        label = f"{asset.model} ({asset.asset_tag})" if asset.model else asset.asset_tag
        items[ci_id] = ConfigurationItem(
            id=ci_id,
            names=dict.fromkeys(LANGUAGES, label),
            kind="device",
            owner=asset.owner,
            services=device_services.get(asset.kind, ()),
            aliases=(asset.asset_tag,),
            active=asset.status == "in_use",
        )
    if doc is not None:
        problems += _relations(doc, items, where) + _names_taken(doc, items, where)
    if problems:
        raise ProblemsError(problems)
    return Cmdb(items)


def _relations(
    doc: YamlDoc,
    items: Mapping[str, ConfigurationItem],
    where: Mapping[str, int],
) -> list[Problem]:
    """Relations that name no item, and circles of runs_on/depends_on."""
    problems: list[Problem] = []
    for ci_id, i in where.items():
        item = items[ci_id]
        for relation in ("runs_on", "depends_on"):
            for j, target in enumerate(getattr(item, relation)):
                if target == ci_id:
                    message = f"'{target}' is this item: nothing stands on itself"
                elif target not in items:
                    message = f"'{target}' is not an item in {doc.path.name} or assets.csv"
                else:
                    continue
                problems.append(doc.problem(("items", i, relation, j), message))
    for cycle in _cycles(items):
        first = min(cycle, key=lambda c: where.get(c, len(where)))
        at = cycle.index(first)
        cycle = cycle[at:] + cycle[:at]  # told from the item that comes first in the file
        steps = " -> ".join(cycle)
        message = f"items stand on each other in a circle: {steps} -> {first}"
        relation = "runs_on" if cycle[1 % len(cycle)] in items[first].runs_on else "depends_on"
        problems.append(doc.problem(("items", where.get(first, 0), relation), message))
    return problems


def _names_taken(
    doc: YamlDoc, items: Mapping[str, ConfigurationItem], where: Mapping[str, int]
) -> list[Problem]:
    """A name or alias that also names another item: `/ci NAME` could not tell them apart."""
    problems: list[Problem] = []
    owners: dict[str, str] = {key(ci_id): ci_id for ci_id in items}
    for ci_id, i in where.items():
        item = items[ci_id]
        words: list[tuple[str, str | int, str]] = [
            ("name", lang, text) for lang, text in item.names.items()
        ]
        words += [("aliases", j, text) for j, text in enumerate(item.aliases)]
        for part, index, text in words:
            other = owners.setdefault(key(text), ci_id)
            if other != ci_id:
                line = doc.line_of(("items", where[other])) if other in where else None
                told = f" (line {line})" if line else " (assets.csv)"
                message = f"'{text}' also names the item '{other}'{told}"
                problems.append(doc.problem(("items", i, part, index), message))
    return problems


def _cycles(items: Mapping[str, ConfigurationItem]) -> list[list[str]]:
    """Every circle of runs_on/depends_on (of two or more items) found by a depth-first walk,
    each told once."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: list[list[str]] = []
    for start in items:
        if start in state:
            continue
        path = [start]
        stack: list[tuple[str, Iterator[str]]] = [(start, iter(items[start].stands_on))]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                path.pop()
                state[node] = 2
            elif child not in items or child == node:
                continue
            elif state.get(child) == 1:
                cycles.append(path[path.index(child) :])
            elif child not in state:
                state[child] = 1
                path.append(child)
                stack.append((child, iter(items[child].stands_on)))
    return cycles


class _Reader:
    """Reads cis.yaml's `devices` and `items`, noting a problem for each bad value."""

    def __init__(
        self,
        doc: YamlDoc,
        directory: Directory,
        services: Collection[str] | None,
        synced: bool = False,
    ) -> None:
        self.doc = doc
        self.directory = directory
        self.services = services
        self.problems: list[Problem] = []
        self.synced = synced  # people from a directory sync: unknown owners are left out
        self.notes: list[str] = []
        self._data: dict[str, Any] | None = None

    def bad(self, loc: tuple[str | int, ...], message: str) -> None:
        self.problems.append(self.doc.problem(loc, message))

    def _root(self) -> dict[str, Any]:
        if self._data is None:
            self._data = self._read_root()
        return self._data

    def _read_root(self) -> dict[str, Any]:
        data = self.doc.data
        if data is None:
            return {}
        if not isinstance(data, dict):
            self.bad((), "expected a mapping with `items:` (and optionally `devices:`)")
            return {}
        for name in data:
            if name not in ("items", "devices"):
                self.bad((name,), "unknown field (expected items or devices)")
        return data

    def devices(self) -> dict[str, tuple[str, ...]]:
        raw = self._root().get("devices")
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.bad(("devices",), "expected a mapping of asset kind to a list of services")
            return {}
        out: dict[str, tuple[str, ...]] = {}
        for kind, value in raw.items():
            found = self._strings(("devices", kind), value)
            self._check_services(("devices", kind), found)
            out[str(kind)] = found
        return out

    def items(self) -> Iterator[tuple[ConfigurationItem, int]]:
        raw = self._root().get("items")
        if raw is None:
            return
        if not isinstance(raw, list):
            self.bad(("items",), "expected a list of items")
            return
        for i, entry in enumerate(raw):
            item = self._item(i, entry)
            if item is not None:
                yield item, i

    def _item(self, i: int, entry: Any) -> ConfigurationItem | None:
        at: tuple[str | int, ...] = ("items", i)
        if not isinstance(entry, dict):
            self.bad(at, "expected a mapping with id, name and kind")
            return None
        for name in entry:
            if name not in _ITEM_FIELDS:
                self.bad((*at, name), f"unknown field (known: {', '.join(_ITEM_FIELDS)})")
        ci_id = entry.get("id")
        if not isinstance(ci_id, str) or not ci_id:
            self.bad((*at, "id"), "required: a name like vpn-gateway")
            return None
        if not CI_ID.match(ci_id) or len(ci_id) > MAX_ID:
            self.bad(
                (*at, "id"),
                f"'{ci_id}' is not an item id: use lowercase letters, digits, . _ and - "
                f"(the first a letter or digit, at most {MAX_ID})",
            )
        names = self._names((*at, "name"), entry.get("name"))
        kind = entry.get("kind")
        if kind not in KINDS:
            shown = "missing" if kind is None else f"'{kind}' is not"
            self.bad((*at, "kind"), f"{shown} one of {', '.join(KINDS)}")
        owner = entry.get("owner")
        if owner is not None:
            if not isinstance(owner, str):
                self.bad((*at, "owner"), f"'{owner}' is not a person in the directory")
            elif self.directory.get(owner) is None:
                message = f"'{owner}' is not a person in the directory"
                if self.synced:  # the directory is right (bot.directory.load_directory)
                    self.notes.append(f"{self.doc.problem((*at, 'owner'), message)}; left out")
                    owner = None
                else:
                    self.bad((*at, "owner"), message)
        lists = {name: self._strings((*at, name), entry.get(name)) for name in _LISTS}
        self._check_services((*at, "services"), lists["services"])
        # An item with a problem is still returned, so that its relations are checked too;
        # the file as a whole is refused.
        return ConfigurationItem(
            id=ci_id,
            names=names,
            kind=str(kind),
            owner=owner if isinstance(owner, str) else None,
            services=lists["services"],
            runs_on=lists["runs_on"],
            depends_on=lists["depends_on"],
            aliases=lists["aliases"],
        )

    def _names(self, at: tuple[str | int, ...], value: Any) -> dict[str, str]:
        if not isinstance(value, dict):
            self.bad(at, "required: the name in every language, {en: ..., zh: ...}")
            return {}
        for lang in value:
            if lang not in LANGUAGES:
                self.bad((*at, lang), f"unknown language (use {', '.join(LANGUAGES)})")
        names: dict[str, str] = {}
        for lang in LANGUAGES:
            text = value.get(lang)
            if not isinstance(text, str | int | float) or not str(text).strip():
                self.bad((*at, lang), f"the {lang} name is missing")
            else:
                names[lang] = str(text).strip()
        return names

    def _strings(self, at: tuple[str | int, ...], value: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.bad(at, "expected a list, e.g. [a, b]")
            return ()
        out: list[str] = []
        for j, word in enumerate(value):
            if not isinstance(word, str | int | float) or isinstance(word, bool):
                self.bad((*at, j), "expected a word")
            elif str(word).strip():
                out.append(str(word).strip())
        return tuple(dict.fromkeys(out))

    def _check_services(self, at: tuple[str | int, ...], found: tuple[str, ...]) -> None:
        if self.services is None:
            return
        for j, service in enumerate(found):
            if service not in self.services:
                self.bad((*at, j), f"'{service}' is not a service in the catalog")
