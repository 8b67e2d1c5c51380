"""Turning what people type into answers: validation, option matching, yes/no, controls."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz, process, utils

from bot.base.texts import Texts
from journeys.model import Option, Validation

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CONTROLS = ("cancel", "back", "help", "human", "status", "skip")


@lru_cache(maxsize=4096)  # option labels and keywords are normalised on every answer
def normalise(text: str) -> str:
    """Lower-case, NFKC (full-width to half-width), apostrophes inside words dropped ("won't"
    and "wont" are the same; phones type "won\u2019t"), trimmed of punctuation and spaces."""
    text = unicodedata.normalize("NFKC", text).lower().strip()
    text = re.sub(r"(?<=\w)['\u2019](?=\w)", "", text)
    return re.sub(r"[\s!！。.,，?？~～'\"]+$", "", re.sub(r"^[\s!！.,，]+", "", text))


@lru_cache(maxsize=256)
def vocabulary(texts: Texts, key: str) -> frozenset[str]:
    """A catalog vocabulary in every language, normalised once (Texts never changes)."""
    return frozenset(word for word in map(normalise, texts.words_any(key)) if word)


def control_word(texts: Texts, lang: str, text: str) -> str | None:
    """Return cancel / back / help / human / status / skip when `text` is only that."""
    said = normalise(text)
    if not said:
        return None
    for control in CONTROLS:
        if said in vocabulary(texts, f"vocab.{control}"):
            return control
    return None


def yes_no(texts: Texts, lang: str, text: str) -> bool | None:
    said = normalise(text)
    if said in vocabulary(texts, "vocab.yes"):
        return True
    if said in vocabulary(texts, "vocab.no"):
        return False
    return None


# The buttons of a yes/no step, by what pressing them means: typing a button's label
# ("No, I still need help", "没有，还需要帮助") is the same answer as pressing it.
YES_LABELS = ("button.yes", "suggest.fixed", "suggest.fixed_inline")
NO_LABELS = ("button.no", "suggest.not_fixed")


@lru_cache(maxsize=256)
def labels(texts: Texts, keys: tuple[str, ...]) -> frozenset[str]:
    """Button labels in every language, normalised once."""
    return frozenset(normalise(texts.plain(lang, key)) for key in keys for lang in texts.catalogs)


def yes_no_or_label(texts: Texts, lang: str, text: str) -> bool | None:
    """A yes/no answer typed as a word ("yep", "不是"), as a yes/no button's label, or as a
    word leading a longer answer ("yes, it fell off the desk", "没有，还是不行")."""
    said = yes_no(texts, lang, text)
    if said is not None:
        return said
    typed = normalise(text)
    if typed in labels(texts, YES_LABELS):
        return True
    if typed in labels(texts, NO_LABELS):
        return False
    return leading_yes_no(texts, typed)


# What may follow a yes or a no that leads an answer: a space or a clause's punctuation.
_AFTER_LEAD = re.compile(r"[\s,，.。!！;；:：、…—–-]")


def leading_yes_no(texts: Texts, said: str) -> bool | None:
    """The yes or no a longer answer starts with ("yes, this morning", "nope still
    broken", "是的，昨天摔的"), by its longest entry in `vocab.yes_leading` or
    `vocab.no_leading` (not "ok" or "right": "right now it's broken" is no yes); None when
    nothing leads, when the answer doubts itself ("no idea", "yes but...") or when, after a
    yes, the rest denies it ("yes, it didn't help"): asking again costs one message, a wrong
    answer a wrong journey."""
    lead: tuple[str, bool] | None = None
    for answer, key in ((True, "vocab.yes_leading"), (False, "vocab.no_leading")):
        for word in vocabulary(texts, key):
            if _leads(word, said) and (lead is None or len(word) > len(lead[0])):
                lead = (word, answer)
    if lead is None:
        return None
    word, answer = lead
    if any(_within(w, said) for w in vocabulary(texts, "vocab.doubt")):
        return None
    rest = said[len(word) :]
    if answer and any(_within(w, rest) for w in vocabulary(texts, "vocab.negation")):
        return None
    return answer


def solved_or_not(texts: Texts, text: str) -> bool | None:
    """An answer to "Did this fix it?" in the words of the problem rather than a yes or no:
    "works now", "all good now" (`suggest.solved_words`); "still slow", "same problem", "没用",
    "还是很慢" (led by `suggest.unsolved_words`). None when unclear or it doubts itself."""
    said = normalise(text)
    if not said or any(_within(w, said) for w in vocabulary(texts, "vocab.doubt")):
        return None
    solved = vocabulary(texts, "suggest.solved_words")
    if said in solved or any(_leads(w, said) for w in solved):
        return True
    unsolved = vocabulary(texts, "suggest.unsolved_words")
    if said in unsolved or any(_leads(w, said) for w in unsolved):
        return False
    return None


def _leads(word: str, said: str) -> bool:
    """`word` starts `said` and something follows it, after a space or punctuation; a
    Chinese word of two characters or more may run straight on ("没有解决"), as Chinese
    is written without spaces."""
    if len(said) <= len(word) or not said.startswith(word):
        return False
    if _AFTER_LEAD.match(said, len(word)):
        return True
    return len(word) >= 2 and _CJK.search(word) is not None


@dataclass(frozen=True)
class Invalid:
    """Why an answer was refused: a catalog message key and its parameters."""

    key: str
    params: dict[str, Any]


def _parse_date(text: str, texts: Texts, lang: str, today: date) -> date | None:
    said = normalise(text)
    relative = {"today": 0, "tomorrow": 1, "day_after_tomorrow": 2}
    for word, days in relative.items():
        if said in (normalise(w) for w in texts.words(lang, f"vocab.{word}")):
            return today + timedelta(days=days)
    said = said.replace("年", "-").replace("月", "-").replace("日", "").replace("号", "")
    m = re.fullmatch(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})", said)
    if m:
        y, mo, d = (int(g) for g in m.groups())
    else:
        m = re.fullmatch(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})", said)
        if not m:
            return None
        d, mo, y = (int(g) for g in m.groups())  # day first, as most of the world writes it
    try:
        return date(y, mo, d)
    except ValueError:
        return None


# A cleaned answer: text, a number, an ISO date, yes/no, or nothing (a skipped question).
Answer = str | int | float | bool | None


def validate(rule: Validation, text: str, texts: Texts, lang: str, today: date) -> Answer | Invalid:
    """Return the cleaned value for `text` under `rule`, or why it is not acceptable."""
    value = unicodedata.normalize("NFKC", text).strip()
    if rule.kind in ("number", "integer"):
        try:
            number: float = int(value) if rule.kind == "integer" else float(value.replace(",", ""))
        except ValueError:
            return Invalid(f"invalid.{rule.kind}", {})
        if rule.min is not None and number < rule.min:
            return Invalid("invalid.too_small", {"min": rule.min})
        if rule.max is not None and number > rule.max:
            return Invalid("invalid.too_large", {"max": rule.max})
        return number
    if rule.kind == "date":
        parsed = _parse_date(value, texts, lang, today)
        if parsed is None:
            return Invalid("invalid.date", {})
        if rule.future is True and parsed < today:
            return Invalid("invalid.date_past", {})
        if rule.future is False and parsed > today:
            return Invalid("invalid.date_future", {})
        return parsed.isoformat()
    if rule.kind == "email" and not EMAIL.match(value):
        return Invalid("invalid.email", {})
    if rule.min_length is not None and len(value) < rule.min_length:
        return Invalid("invalid.too_short", {"min": rule.min_length})
    if rule.max_length is not None and len(value) > rule.max_length:
        return Invalid("invalid.too_long", {"max": rule.max_length})
    if rule.pattern and not re.fullmatch(rule.pattern, value):
        return Invalid("invalid.pattern", {})
    if not value:
        return Invalid("invalid.empty", {})
    return value


def match_option(options: list[Option], text: str, lang: str) -> Option | None:
    """Match typed text to an option: by number, value, label in any language, or fuzzily."""
    said = normalise(text)
    if not said:
        return None
    if said.isdigit() and 1 <= int(said) <= len(options):
        return options[int(said) - 1]
    names: list[tuple[str, Option]] = []
    for option in options:
        names.append((option.value.replace("_", " "), option))
        names += [(normalise(label), option) for label in option.label.root.values()]
        names += [(normalise(k), option) for k in option.keywords]
    for name, option in names:
        if said == name:
            return option
    # Containment both ways catches "the macbook one" and "mac" alike, but only when unique,
    # and by whole words in Latin text: "no" is not "not syncing".
    contained = {
        id(o): o
        for name, o in names
        if len(name) >= 2 and (_within(name, said) or _within(said, name))
    }
    if len(contained) == 1:
        return next(iter(contained.values()))
    if len(said) < 4 and not _CJK.search(said):
        # Fuzzy scores of a word this short mean little: "no" is 90 against "not arriving".
        return None
    found = process.extract(
        said, [n for n, _ in names], scorer=fuzz.WRatio, processor=utils.default_process, limit=2
    )
    if found and found[0][1] >= 80:  # one transposed letter in a short word scores 83
        best = names[found[0][2]][1]
        runner_up = names[found[1][2]][1] if len(found) > 1 else None
        if runner_up is None or runner_up is best or found[0][1] - found[1][1] >= 5:
            return best
    return None


_CJK = re.compile(r"[\u3400-\u9fff]")


def _within(part: str, whole: str) -> bool:
    """`part` inside `whole`: as whole words in Latin text, anywhere in Chinese."""
    if _CJK.search(part):
        return part in whole
    return re.search(rf"(?<![a-z0-9]){re.escape(part)}(?![a-z0-9])", whole) is not None


def _names_in(name: str, said: str) -> bool:
    """A request names an option: `_within`, by a name of at least two Chinese characters
    or three letters."""
    return len(name) >= (2 if _CJK.search(name) else 3) and _within(name, said)


def option_named_in(options: list[Option], text: str) -> Option | None:
    """The one option a whole request clearly names ("my vpn keeps dropping" names "Keeps
    dropping"), by a label in any language or a keyword; None when none or several do."""
    said = normalise(text)
    named: dict[str, tuple[Option, str]] = {}  # value -> (option, its longest name said)
    for option in options:
        for name in (*option.label.root.values(), *option.keywords):
            found = normalise(name)
            if _names_in(found, said) and len(found) > len(named.get(option.value, ("", ""))[1]):
                named[option.value] = (option, found)
    if len(named) == 1:
        return next(iter(named.values()))[0]
    # "my laptop screen flickers" names "Laptop itself" (laptop) and "Laptop screen": the
    # name that holds the others' is the more specific one, and wins.
    for option, found in named.values():
        if all(other in found for _, other in named.values()):
            return option
    return None
