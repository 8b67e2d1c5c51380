"""Text at the Slack boundary: our markup out as mrkdwn, Slack's markup in as plain text.

Out: every text run is escaped (`&`, `<`, `>` only, as Slack asks), so a person's words
can never become `<!channel>`, `<!here>` or a forged `<https://evil|Reset password>`.
In: Slack delivers text already in its own markup (a typed `&` arrives as `&amp;`, a typed
`@here` as `<!here>`), so it is turned into plain text once, here. The core then only
ever sees plain text, and escaping on the way out never escapes twice.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from bot.base.markup import CACHED, tokens

_SAFE_SCHEMES = ("http://", "https://", "mailto:")
_MARKS = {"b": "*", "i": "_", "s": "~", "code": "`", "pre": "```"}


def escape(text: str) -> str:
    """Escape plain text for mrkdwn (and for `text` fields Slack parses as mrkdwn)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _wrap(mark: str, inner: str) -> str:
    # Slack only formats `*x*` when the marks touch the words: keep spaces outside them.
    stripped = inner.strip()
    if not stripped:
        return inner
    lead = inner[: len(inner) - len(inner.lstrip())]
    trail = inner[len(inner.rstrip()) :]
    if mark == "```":
        return f"{lead}```{stripped}```{trail}"
    return f"{lead}{mark}{stripped}{mark}{trail}"


def _link(href: str, label: str) -> str:
    if not href.lower().startswith(_SAFE_SCHEMES):
        return label  # javascript: and friends are shown as their label only
    # `|` and `>` end the URL part of <url|label>; percent-encode them.
    url = escape(href).replace("|", "%7C")
    return f"<{url}|{label}>" if label and label != escape(href) else f"<{url}>"


@lru_cache(maxsize=CACHED)
def from_markup(markup: str) -> str:
    """Render neutral markup (`<b>`, `<i>`, `<a href>`...) as Slack mrkdwn."""
    stack: list[tuple[str, str, list[str]]] = [("", "", [])]
    for tok in tokens(markup):
        if tok.kind == "text":
            stack[-1][2].append(escape(tok.text))
        elif tok.kind == "open":
            stack.append((tok.tag, tok.href, []))
        elif tok.kind == "close" and len(stack) > 1:
            tag, href, parts = stack.pop()
            inner = "".join(parts)
            if tag == "a":
                rendered = _link(href, inner)
            elif tag in _MARKS:
                rendered = _wrap(_MARKS[tag], inner)
            else:
                rendered = inner  # <u>: mrkdwn has no underline
            stack[-1][2].append(rendered)
    while len(stack) > 1:  # unclosed tags: keep their text
        _tag, _href, parts = stack.pop()
        stack[-1][2].append("".join(parts))
    return "".join(stack[0][2])


# <@U123>, <@U123|name>, <#C123|general>, <!here>, <!subteam^S1|@team>, <https://x|label>
_SLACK_TOKEN = re.compile(r"<([@#!])?([^<>|]*)(?:\|([^<>]*))?>")


def to_plain(text: str, user_name: Callable[[str], str | None] | None = None) -> str:
    """Turn Slack's inbound markup into the plain text the person typed.

    Mentions become `@name`, channel links `#name`, special mentions `@here`, links
    `label (url)`, and `&amp;`/`&lt;`/`&gt;` their characters.
    """

    def replace(match: re.Match[str]) -> str:
        sigil, target, label = match.group(1), match.group(2), match.group(3)
        if sigil == "@":
            name = label or (user_name(target) if user_name else None) or target
            return f"@{name}"
        if sigil == "#":
            return f"#{label or target}"
        if sigil == "!":
            if label:
                return label if label.startswith("@") else f"@{label}"
            return "@" + target.split("^", 1)[0]
        url = target.removeprefix("mailto:")
        if label and label not in (target, url):
            return f"{label} ({url})"  # keep where the link pointed; it is text from now on
        return url

    if "<" not in text and "&" not in text:
        return text
    plain = _SLACK_TOKEN.sub(replace, text)
    # Slack escapes exactly these three; `&amp;` last so `&amp;lt;` stays `&lt;`.
    return plain.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
