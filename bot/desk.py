"""The Desk: every long-lived part of deskbot, built once from the settings."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from bot.base.calendar import BusinessCalendar
from bot.base.clock import Clock, SystemClock
from bot.base.config import Settings, load_settings, with_database
from bot.base.texts import Texts
from bot.base.yamlfile import Problem, ProblemsError
from bot.directory import Directory, load_directory
from intents.catalog import Intent, IntentCatalog, load_builtins
from intents.distributional import VectorsError
from intents.learned import Learned, load_learned
from intents.matcher import LexicalMatcher, Matcher, ModelSettings, Thresholds
from journeys.loader import Catalog, load_catalog
from store.db import Store

T = TypeVar("T")


@dataclass
class Desk:
    settings: Settings
    store: Store
    directory: Directory
    texts: Texts
    catalog: Catalog
    intents: IntentCatalog
    matcher: Matcher
    clock: Clock
    # Knowledge articles made in chat live in the store (bot/insight/known_errors.py): they
    # join the files' articles, and their phrasings a copy of `file_intents` for the matcher.
    file_intents: IntentCatalog | None = None
    known_errors: str = ""  # what was loaded from the store (its signature)
    calendars: dict[str, BusinessCalendar] = field(default_factory=dict)
    # Values derived from the (immutable) settings, directory and catalog, computed once.
    memo: dict[tuple[str, ...], Any] = field(default_factory=dict)

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


def load_config(path: Path, environ: dict[str, str] | None = None) -> Settings:
    """Load config.yaml; DATABASE_URL in the environment overrides database.url."""
    env = dict(os.environ) if environ is None else environ
    return with_database(load_settings(path, env), env.get("DATABASE_URL"))


def build_intents(
    catalog: Catalog, builtins: list[Intent], learned: Learned | None = None
) -> IntentCatalog:
    """Services and built-ins, with accepted phrasings (learned.yaml) added to their examples."""
    intents = IntentCatalog()
    for journey in catalog:
        intents.add(
            Intent(
                id=journey.id,
                kind="service",
                titles=dict(journey.title.root),
                examples={str(k): tuple(v) for k, v in journey.match.examples.items()},
                keywords={str(k): tuple(v) for k, v in journey.match.keywords.items()},
            )
        )
    for intent in builtins:
        intents.add(intent)
    for intent_id, by_lang in (learned or {}).items():
        intents.add_examples(intent_id, by_lang)
    return intents


def build_matcher(settings: Settings, intents: IntentCatalog) -> LexicalMatcher:
    """The intent matcher with the thresholds from config.yaml (`matcher:`)."""
    m = settings.matcher
    try:
        return LexicalMatcher(
            intents,
            Thresholds(m.high, m.low, m.margin, m.max_choices),
            settings=ModelSettings(general_vectors=m.word_vectors),
        )
    except VectorsError as exc:
        hint = "reinstall deskbot, or set matcher.word_vectors: false in config.yaml"
        message = f"cannot read the word vectors ({exc.reason}); {hint}"
        raise ProblemsError([Problem(str(exc.path), None, "", message)]) from exc


def load_content(settings: Settings) -> tuple[Directory, Texts, Catalog, IntentCatalog]:
    """Load people, texts, services and intents, collecting problems from all of them."""
    problems: list[Problem] = []
    directory = texts = catalog = None
    builtins: list[Intent] = []
    try:
        directory = load_directory(settings)
    except ProblemsError as exc:
        problems += exc.problems
    try:
        locale = settings.resolve(settings.paths.locale) if settings.paths.locale else None
        texts = Texts(locale, settings.language)
    except ProblemsError as exc:
        problems += exc.problems
    if texts is not None:
        try:
            catalog = load_catalog(settings, texts)
        except ProblemsError as exc:
            problems += exc.problems
    try:
        builtins = load_builtins(settings.resolve(settings.paths.builtins))
    except ProblemsError as exc:
        problems += exc.problems
    learned: Learned = {}
    if catalog is not None:
        known = {j.id for j in catalog} | {b.id for b in builtins}
        try:
            learned = load_learned(settings.resolve(settings.paths.learned), known)
        except ProblemsError as exc:
            problems += exc.problems
    if problems or directory is None or texts is None or catalog is None:
        raise ProblemsError(problems)
    return directory, texts, catalog, build_intents(catalog, builtins, learned)


def build_desk(
    settings: Settings, *, clock: Clock | None = None, migrate: bool | None = None
) -> Desk:
    """Build the desk. Migrations run automatically for SQLite (the embedded default)."""
    directory, texts, catalog, intents = load_content(settings)
    store = Store(settings.database.url, echo=settings.database.echo, base_dir=settings.base_dir)
    if migrate if migrate is not None else store.is_sqlite:
        store.upgrade()
    matcher = build_matcher(settings, intents)
    desk = Desk(
        settings=settings,
        store=store,
        directory=directory,
        texts=texts,
        catalog=catalog,
        intents=intents,
        matcher=matcher,
        clock=clock or SystemClock(),
        file_intents=intents,
    )
    from bot.insight import known_errors

    known_errors.refresh(desk)  # articles made from resolutions (`/kb IT-1042`)
    return desk
