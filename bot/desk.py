"""The Desk: every long-lived part of deskbot, as plain data (built by `bot.app`).

What the files say (people, texts, services, articles, the matcher trained on them) is one
immutable `Content`; known errors made in chat produce a new `Content` that replaces the
desk's in one assignment, so a turn running in another thread sees the old or the new view,
never half of each, and content built once can be shared by many desks (the tests do).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from bot.base.calendar import BusinessCalendar
from bot.base.clock import Clock
from bot.base.config import Settings
from bot.base.texts import Texts
from bot.canned import CannedReply
from bot.cis import Cmdb
from bot.directory import Directory
from intents.catalog import IntentCatalog
from intents.matcher import Matcher
from journeys.loader import Catalog
from store.db import Store

T = TypeVar("T")


@dataclass(frozen=True)
class Content:
    """People, texts, services and the intent matcher, as loaded: never changed in place."""

    directory: Directory
    texts: Texts
    catalog: Catalog
    intents: IntentCatalog
    matcher: Matcher
    # The files' own intents: known errors' phrasings are added to a copy of these.
    file_intents: IntentCatalog
    # Knowledge articles made in chat that this view holds (their signature in the store).
    known_errors: str = ""
    # Canned replies technicians send with `/reply IT-1042 #name` (content/replies).
    replies: Mapping[str, CannedReply] = field(default_factory=dict)
    # The people file's stamp when `directory` was loaded from it (bot/people_watch.py);
    # None: not watched (people set by hand).
    people_stamp: str | None = None
    # Configuration items: directory/cis.yaml and the assets as devices (docs/cis.md).
    cis: Cmdb = field(default_factory=Cmdb)


@dataclass
class Desk:
    settings: Settings
    store: Store
    content: Content
    clock: Clock
    calendars: dict[str, BusinessCalendar] = field(default_factory=dict)
    # Values derived from the (immutable) settings, directory and catalog, computed once.
    memo: dict[tuple[str, ...], Any] = field(default_factory=dict)

    @property
    def directory(self) -> Directory:
        return self.content.directory

    @property
    def texts(self) -> Texts:
        return self.content.texts

    @property
    def catalog(self) -> Catalog:
        return self.content.catalog

    @property
    def intents(self) -> IntentCatalog:
        return self.content.intents

    @property
    def matcher(self) -> Matcher:
        return self.content.matcher

    def remember(self, key: tuple[str, ...], make: Callable[[], T]) -> T:
        """Compute `make()` once per key; only for values derived from loaded content."""
        if key not in self.memo:
            self.memo[key] = make()
        return cast(T, self.memo[key])

    def calendar_for(self, queue: str) -> BusinessCalendar:
        name = (
            self.settings.queues[queue].business_hours
            if queue in self.settings.queues
            else "default"
        )
        if name not in self.calendars:
            hours = self.settings.business_hours.get(name) or next(
                iter(self.settings.business_hours.values())
            )
            self.calendars[name] = BusinessCalendar(hours)
        return self.calendars[name]

    def queue_name(self, queue: str, lang: str) -> str:
        q = self.settings.queues.get(queue)
        if q is None:
            return queue
        return q.name.get(lang) or q.name.get("en") or queue
