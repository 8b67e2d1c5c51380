"""User-facing text: message catalogs per language, rendered through one sandboxed jinja env.

Catalogs live in `bot/locale/<lang>/*.yaml`, one file per feature (nested keys, flattened
with dots; a key may be defined in only one file). A value is either a template string or
a list of words (vocabularies such as "yes" answers). An optional override directory from
config.yaml (same layout) may replace any key. Autoescape is on, so
every variable is HTML-escaped into the neutral markup; StrictUndefined makes a missing
variable an error instead of an empty string.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, Template
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from bot.base.config import LANGUAGES
from bot.base.markup import to_plain
from bot.base.yamlfile import Problem, ProblemsError, load_yaml

PACKAGE_LOCALE = Path(__file__).parents[1] / "locale"


# A line holding nothing but block tags ("{% if x %}", "  {% endfor %}"), with its newline.
_TAG_ONLY_LINE = re.compile(r"^(?:[ \t]*\{%(?:(?!%\}).)*%\})+[ \t]*\n", re.MULTILINE)


class TagLines(Extension):
    """Drop the line break of lines that hold only block tags, and no other.

    jinja's `trim_blocks` drops the line break after *every* block tag, so a template line
    that ends in one ("Account: {{ a }}{% if b %} ({{ b }}){% endif %}") ran into the next
    line ("Account: emailLocked out now: yes"). People who write catalog templates expect a
    tag on a line of its own to leave no blank line, and any other line to stay a line.
    """

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return _TAG_ONLY_LINE.sub(lambda m: m.group(0).rstrip("\n"), source)


# What may end a sentence a person wrote: then ours can follow it directly.
_SENTENCE_END = tuple(".!?…。！？；;:：\"'”’」』）)")


def sentence(text: Any) -> Any:
    """A person's words as a sentence that ours can follow: "Budget freeze until January"
    gets its full stop ("。" after Chinese), so "... January. If you think..." reads right."""
    words = text.rstrip() if isinstance(text, str) else text
    if not isinstance(words, str) or not words or words.endswith(_SENTENCE_END):
        return words
    return words + ("。" if _CJK_CHAR.match(words[-1]) else ".")


_CJK_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def make_environment(*, autoescape: bool = True) -> ImmutableSandboxedEnvironment:
    """The sandboxed jinja environment for user-facing text and journey expressions.

    Markup (what people see) is rendered with autoescape; plain text that is stored
    (ticket titles and descriptions) is rendered without, and escaped when shown.
    """
    env = ImmutableSandboxedEnvironment(
        autoescape=autoescape,
        undefined=StrictUndefined,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        extensions=[TagLines],
    )
    env.filters["sentence"] = sentence
    return env


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


class Texts:
    """Render catalog messages and ad-hoc templates in a person's language."""

    def __init__(self, override_dir: Path | None = None, default_language: str = "en") -> None:
        self.env = make_environment()
        self.plain_env = make_environment(autoescape=False)
        self.default_language = default_language
        self.catalogs: dict[str, dict[str, Any]] = {}
        problems: list[Problem] = []
        for lang in LANGUAGES:
            merged: dict[str, Any] = {}
            for folder in (PACKAGE_LOCALE, override_dir):
                if folder is None or not (folder / lang).is_dir():
                    continue
                origin: dict[str, Path] = {}
                for path in sorted((folder / lang).glob("*.yaml")):
                    doc = load_yaml(path)
                    if not isinstance(doc.data, dict):
                        problems.append(Problem(str(path), 1, "", "expected a mapping of messages"))
                        continue
                    for key, value in _flatten(doc.data).items():
                        if key in origin:
                            problems.append(
                                doc.problem(key.split("."), f"also defined in {origin[key].name}")
                            )
                        origin[key] = path
                        merged[key] = value  # an override folder replaces package messages
            self.catalogs[lang] = merged
        if problems:
            raise ProblemsError(problems)
        self._compiled: dict[str, Template] = {}
        self._plain_compiled: dict[str, Template] = {}
        self._plain_cache: dict[tuple[str | None, str], str] = {}
        self._render_cache: dict[tuple[str | None, str], str] = {}

    # Engine processes receive the app process's content pickled: the messages travel, the
    # compiled templates and environments do not (a compiled template holds functions that
    # cannot be pickled) and are made again on arrival, as they were here, on first use.
    _REBUILT = ("env", "plain_env", "_compiled", "_plain_compiled", "_plain_cache", "_render_cache")

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in self._REBUILT}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.env = make_environment()
        self.plain_env = make_environment(autoescape=False)
        self._compiled = {}
        self._plain_compiled = {}
        self._plain_cache = {}
        self._render_cache = {}

    def _lang(self, lang: str | None) -> str:
        return lang if lang in self.catalogs else self.default_language

    def has(self, key: str) -> bool:
        return key in self.catalogs.get(self.default_language, {})

    def raw(self, lang: str | None, key: str) -> Any:
        catalog = self.catalogs[self._lang(lang)]
        if key in catalog:
            return catalog[key]
        fallback = self.catalogs.get("en", {})
        if key in fallback:
            return fallback[key]
        raise KeyError(f"no message '{key}' in the catalog")

    def compile(self, source: str) -> Template:
        """Compile (and cache) a template string, e.g. a journey prompt."""
        template = self._compiled.get(source)
        if template is None:
            template = self.env.from_string(source)
            self._compiled[source] = template
        return template

    def render_text(self, source: str, **params: Any) -> str:
        """Render a template string as plain text (no escaping; for stored ticket fields)."""
        template = self._plain_compiled.get(source)
        if template is None:
            template = self.plain_env.from_string(source)
            self._plain_compiled[source] = template
        return template.render(**params).strip()

    def render(self, lang: str | None, key: str, **params: Any) -> str:
        """Render catalog message `key` as markup."""
        if not params:  # a fixed message renders the same every time: once is enough
            cached = self._render_cache.get((lang, key))
            if cached is None:
                cached = self._render_cache[(lang, key)] = self._render(lang, key)
            return cached
        return self._render(lang, key, **params)

    def _render(self, lang: str | None, key: str, **params: Any) -> str:
        source = self.raw(lang, key)
        if not isinstance(source, str):
            raise TypeError(f"message '{key}' is a word list, not a template")
        return trusted(self.compile(source).render(**params).strip())

    def plain(self, lang: str | None, key: str, **params: Any) -> str:
        """Render catalog message `key` as plain text (for buttons and progress lines)."""
        if params:
            return to_plain(self.render(lang, key, **params))
        # Button labels have no parameters: render each once (the catalogs never change).
        cached = self._plain_cache.get((lang, key))
        if cached is None:
            cached = self._plain_cache[(lang, key)] = to_plain(self.render(lang, key))
        return cached

    def words(self, lang: str | None, key: str) -> list[str]:
        """A vocabulary list from the catalog, in the given language plus English."""
        out: list[str] = []
        for code in dict.fromkeys([self._lang(lang), "en"]):
            value = self.catalogs[code].get(key, [])
            if isinstance(value, list):
                out += [str(v) for v in value]
        return out

    def words_any(self, key: str) -> list[str]:
        """A vocabulary in every language: people mix languages ("是", "ok", "取消")."""
        out: list[str] = []
        for catalog in self.catalogs.values():
            value = catalog.get(key, [])
            if isinstance(value, list):
                out += [str(v) for v in value]
        return out

    def list(self, lang: str | None, key: str) -> list[str]:
        """A list from one language's catalog (e.g. weekday names), English as fallback."""
        value = self.raw(lang, key)
        if not isinstance(value, list):
            raise TypeError(f"message '{key}' is not a list")
        return [str(v) for v in value]

    def expression(self, source: str) -> Callable[..., Any]:
        return _compile_expression(self.env, source)


def trusted(rendered: str) -> Markup:
    """Mark output of our own autoescaping templates as safe, so it can be nested in another
    template without being escaped twice. Never call this on text a person typed."""
    return Markup(rendered)  # noqa: S704 - only ever given autoescaped template output


@lru_cache(maxsize=2048)
def _compile_expression(env: ImmutableSandboxedEnvironment, source: str) -> Callable[..., Any]:
    return env.compile_expression(source, undefined_to_none=False)
