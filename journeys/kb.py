"""The knowledge base: short self-help articles in Markdown with front matter, fuzzy search.

An article is one file, `content/kb/<lang>/<id>.md`:

    ---
    title: Connect to the VPN
    services: [vpn_issue]
    keywords: [vpn not connecting, connect vpn, globalprotect]
    language: en
    ---
    1. Check you are online: open any website.
    2. ...

The same id in two languages is one article in two translations. `suggest` steps show
articles inside a journey; a "how do I..." question that matches one well is answered
with it directly (`bot/chat/knowledge.py`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Literal

from markupsafe import escape
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from rapidfuzz import fuzz, utils

from bot.base.yamlfile import (
    YAML_LIMIT,
    Problem,
    ProblemsError,
    load_yaml,
    read_text,
    validation_problems,
)

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
ARTICLE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
# A phrase of one word ("vpn") or two Chinese characters ("密码") says little about which
# article fits, so it can help rank a journey's own articles but never wins a direct answer.
SHORT_PHRASE_WEIGHT = 0.85


class _Meta(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=3, max_length=120)
    services: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    language: Literal["en", "zh"]


@dataclass(frozen=True)
class Article:
    """One self-help article in one language."""

    id: str
    language: str
    title: str
    services: tuple[str, ...]
    keywords: tuple[str, ...]
    body: str
    path: Path
    line: int = 1  # line of the front matter's first field (for cross-checks)
    lines: dict[str, int] = field(default_factory=dict, compare=False)
    # Made in chat from a ticket's resolution (`/kb IT-1042`, stored in the database): every
    # suggest step of its services offers it after the step's own articles.
    known_error: bool = False

    def phrases(self) -> list[str]:
        return [self.title, *self.keywords]

    @cached_property
    def prepared(self) -> tuple[Phrase, ...]:
        return tuple(Phrase.of(p) for p in self.phrases())


@dataclass(frozen=True)
class Hit:
    article: Article
    score: float  # 0-100


def _has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


@dataclass(frozen=True)
class Phrase:
    """A title or keyword prepared for matching once, when the article is loaded."""

    text: str  # default_process'ed
    cjk: bool
    short: bool  # one word, or two Chinese characters: weaker evidence

    @classmethod
    def of(cls, phrase: str) -> Phrase:
        text = utils.default_process(phrase)
        cjk = _has_cjk(text)
        if cjk:
            text = text.replace(" ", "")
        short = len(text) <= 2 if cjk else len(text.split()) == 1
        return cls(text, cjk, short)


def _score(query: str, compact_query: str, query_cjk: bool, phrase: Phrase) -> float:
    if not query or not phrase.text:
        return 0.0
    if phrase.cjk or query_cjk:
        text = phrase.text.replace(" ", "")
        if text in compact_query:
            score = 100.0
        else:
            score = float(fuzz.partial_ratio(text, compact_query))
    else:
        score = float(fuzz.token_set_ratio(query, phrase.text))
    return score * SHORT_PHRASE_WEIGHT if phrase.short else score


def phrase_score(query: str, phrase: str) -> float:
    """How well `phrase` (a title or keyword) is expressed by `query`, 0-100.

    Latin text: token_set_ratio (a phrase whose words all appear in the query scores 100).
    Chinese has no spaces, so a phrase contained in the query scores 100 and otherwise the
    best partial alignment counts.
    """
    q = utils.default_process(query)
    return _score(q, q.replace(" ", ""), _has_cjk(q), Phrase.of(phrase))


@dataclass
class KnowledgeBase:
    """Articles by (id, language), with search."""

    articles: dict[tuple[str, str], Article] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.articles)

    def __iter__(self) -> Iterator[Article]:
        return iter(self.articles.values())

    def ids(self) -> set[str]:
        return {aid for aid, _ in self.articles}

    def get(self, article_id: str, lang: str) -> Article | None:
        """The article in `lang`, else in English, else in any language."""
        found = self.articles.get((article_id, lang)) or self.articles.get((article_id, "en"))
        if found is not None:
            return found
        return next((a for (aid, _), a in self.articles.items() if aid == article_id), None)

    def known_errors(self, service_id: str) -> list[str]:
        """Ids of the known-error articles listing this service, latest ticket first."""
        ids = {
            aid
            for (aid, _), a in self.articles.items()
            if a.known_error and service_id in a.services
        }
        return sorted(
            ids,
            key=lambda aid: [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", aid)],
            reverse=True,
        )

    def for_service(self, service_id: str, lang: str) -> list[Article]:
        """The service's articles (one per id, in `lang` where translated), by id."""
        ids = sorted({aid for (aid, _), a in self.articles.items() if service_id in a.services})
        return [a for a in (self.get(aid, lang) for aid in ids) if a is not None]

    def search(
        self,
        query: str,
        lang: str,
        *,
        among: Iterable[str] | None = None,
        limit: int = 3,
        minimum: float = 60.0,
    ) -> list[Hit]:
        """Articles whose title or keywords match `query`, best first.

        Args:
            query: what the person asked or answered.
            lang: preferred language; articles are matched in both languages but returned
                in this one where a translation exists.
            among: restrict to these article ids (e.g. a journey's own articles).
            limit: at most this many hits.
            minimum: drop hits scoring below this (0-100).

        Returns:
            Hits sorted by score (ties keep id order).
        """
        allowed = set(among) if among is not None else None
        q = utils.default_process(query)
        compact, cjk = q.replace(" ", ""), _has_cjk(q)
        best: dict[str, float] = {}
        for (aid, _), article in sorted(self.articles.items()):
            if allowed is not None and aid not in allowed:
                continue
            score = max(_score(q, compact, cjk, p) for p in article.prepared)
            best[aid] = max(best.get(aid, 0.0), score)
        ranked = sorted(
            ((aid, s) for aid, s in best.items() if s >= minimum), key=lambda x: (-x[1], x[0])
        )
        hits = []
        for aid, score in ranked[:limit]:
            shown = self.get(aid, lang)
            if shown is not None:
                hits.append(Hit(shown, score))
        return hits

    def answer(self, question: str, lang: str, *, minimum: float = 90.0) -> Article | None:
        """The one article that clearly answers `question`, or None when unsure."""
        hits = self.search(question, lang, limit=2, minimum=50.0)
        if not hits or hits[0].score < minimum:
            return None
        if len(hits) > 1 and hits[0].score - hits[1].score < 5:
            return None  # two articles fit about as well: let the matcher decide instead
        return hits[0].article


# ---- Markdown to the neutral markup -------------------------------------------------------

_INLINE = (
    (re.compile(r"`([^`]+)`"), r"<code>\1</code>"),
    (re.compile(r"\*\*([^*]+)\*\*"), r"<b>\1</b>"),
    (re.compile(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])"), r"<i>\1</i>"),
    (re.compile(r"(?<!\w)_([^_\s][^_]*)_(?!\w)"), r"<i>\1</i>"),
)
_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+|mailto:[^)\s]+)\)")


def _inline(line: str) -> str:
    text = str(escape(line))
    text = _LINK.sub(lambda m: f'<a href="{m.group(2)}">{m.group(1)}</a>', text)
    for pattern, repl in _INLINE:
        text = pattern.sub(repl, text)
    return text


@lru_cache(maxsize=512)  # article bodies never change, and popular ones are sent all day
def to_markup(markdown: str) -> str:
    """Render the small Markdown subset articles use as markup (escaped, chat-sized)."""
    out: list[str] = []
    for raw in markdown.strip().splitlines():
        line = raw.rstrip()
        if not line.strip():
            if out and out[-1] != "":
                out.append("")
            continue
        heading = re.match(r"^#{1,6}\s+(.*)$", line)
        bullet = re.match(r"^\s*[-*+]\s+(.*)$", line)
        if heading:
            out.append(f"<b>{_inline(heading.group(1))}</b>")
        elif bullet:
            out.append(f"• {_inline(bullet.group(1))}")
        else:
            out.append(_inline(line.strip()))
    return "\n".join(out).strip()


# ---- loading ------------------------------------------------------------------------------


def _split_front_matter(text: str) -> tuple[str, str] | None:
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return None
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            return "".join(lines[1:i]), "".join(lines[i + 1 :])
    return None


def _shift(problems: list[Problem], path: Path, by: int) -> list[Problem]:
    return [
        Problem(str(path), p.line + by if p.line else None, p.field, p.message) for p in problems
    ]


def load_article(path: Path) -> tuple[Article | None, list[Problem]]:
    """Read one article; problems carry the file and the line in it."""
    try:
        text = read_text(path, YAML_LIMIT)
    except ProblemsError as exc:
        return None, exc.problems
    parts = _split_front_matter(text)
    if parts is None:
        return None, [
            Problem(
                str(path),
                1,
                "",
                "an article starts with front matter between --- lines "
                "(title, services, keywords, language)",
            )
        ]
    front, body = parts
    try:
        doc = load_yaml(path, front)
    except ProblemsError as exc:
        return None, _shift(exc.problems, path, 1)
    if not isinstance(doc.data, dict):
        return None, [Problem(str(path), 2, "", "front matter must be a mapping")]
    try:
        meta = _Meta.model_validate(doc.data)
    except ValidationError as exc:
        return None, _shift(validation_problems(doc, exc), path, 1)
    problems: list[Problem] = []
    article_id = path.stem
    if not ARTICLE_ID.match(article_id):
        problems.append(
            Problem(str(path), None, "", "file name must be a lower-case id: a-z, 0-9 and -")
        )
    if not body.strip():
        problems.append(
            Problem(str(path), None, "", "the article has no text after its front matter")
        )
    if path.parent.name in ("en", "zh") and path.parent.name != meta.language:
        problems.append(
            Problem(
                str(path),
                (doc.lines.get(("language",)) or 0) + 1,
                "language",
                f"'{meta.language}' but the article is in the {path.parent.name}/ folder",
            )
        )
    lines = {str(k[0]): v + 1 for k, v in doc.lines.items() if len(k) >= 1}
    article = Article(
        id=article_id,
        language=meta.language,
        title=meta.title,
        services=tuple(meta.services),
        keywords=tuple(meta.keywords),
        body=body.strip(),
        path=path,
        line=2,
        lines=lines,
    )
    return (None if problems else article), problems


def load_kb(folder: Path) -> KnowledgeBase:
    """Load every `*.md` under `folder`; raise ProblemsError listing every problem."""
    kb = KnowledgeBase()
    if not folder.is_dir():
        return kb  # a desk without articles is allowed; suggest steps then skip
    problems: list[Problem] = []
    for path in sorted(folder.rglob("*.md")):
        if path.name.lower() == "readme.md":
            continue
        article, found = load_article(path)
        problems += found
        if article is None:
            continue
        key = (article.id, article.language)
        if key in kb.articles:
            problems.append(
                Problem(
                    str(path),
                    None,
                    "",
                    f"article '{article.id}' ({article.language}) is also in "
                    f"{kb.articles[key].path}",
                )
            )
            continue
        kb.articles[key] = article
    if problems:
        raise ProblemsError(problems)
    return kb
