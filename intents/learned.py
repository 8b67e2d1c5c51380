"""Phrasings accepted from real conversations (`deskbot intents accept`), kept in a YAML file.

The file (``paths.learned`` in config.yaml, ``catalog/learned.yaml`` by default) sits next to
the catalog so it is reviewed and versioned like the rest of it. Its phrasings are added to
the intents' examples when the desk starts, so matching improves without code changes:

    password_reset:
      en: ["pw not working on the laptop"]
      zh: ["电脑密码不对"]
"""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.base.language import detect
from bot.base.yamlfile import Problem, ProblemsError, load_yaml

Learned = dict[str, dict[str, list[str]]]
LANGUAGES = ("en", "zh")
HEADER = (
    "# Phrasings accepted from real conversations with `deskbot intents accept`.\n"
    "# Added to each intent's examples when the desk starts. Written by deskbot; edits to\n"
    "# the phrasings are kept, comments are not.\n"
)


def load_learned(path: Path, known: set[str] | None = None) -> Learned:
    """Read the file (missing = nothing learned yet); unknown intents are located errors."""
    if not path.exists():
        return {}
    doc = load_yaml(path)
    if doc.data is None:
        return {}
    if not isinstance(doc.data, dict):
        raise ProblemsError([Problem(str(path), 1, "", "expected intent: {en: [...], zh: [...]}")])
    problems: list[Problem] = []
    learned: Learned = {}
    for intent, by_lang in doc.data.items():
        name = str(intent)
        if known is not None and name not in known:
            problems.append(doc.problem((intent,), f"unknown intent '{name}'"))
            continue
        if not isinstance(by_lang, dict):
            problems.append(doc.problem((intent,), "expected {en: [...], zh: [...]}"))
            continue
        for lang, phrases in by_lang.items():
            if lang not in LANGUAGES:
                problems.append(doc.problem((intent, lang), "language must be en or zh"))
            elif not isinstance(phrases, list) or not all(isinstance(p, str) for p in phrases):
                problems.append(doc.problem((intent, lang), "expected a list of phrasings"))
            else:
                learned.setdefault(name, {})[str(lang)] = list(phrases)
    if problems:
        raise ProblemsError(problems)
    return learned


def add_learned(path: Path, intent: str, text: str, language: str | None = None) -> bool:
    """Add one phrasing (False if it was already there) and rewrite the file."""
    learned = load_learned(path)
    lang = language if language in LANGUAGES else (detect(text) or "en")
    phrases = learned.setdefault(intent, {}).setdefault(lang, [])
    if any(p.strip().casefold() == text.strip().casefold() for p in phrases):
        return False
    phrases.append(text.strip())
    ordered = {k: {lg: learned[k][lg] for lg in sorted(learned[k])} for k in sorted(learned)}
    body = yaml.safe_dump(ordered, allow_unicode=True, sort_keys=False, width=100)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(HEADER + body, encoding="utf-8")
    tmp.replace(path)  # atomic: a crash never leaves half a file
    return True
