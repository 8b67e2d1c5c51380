"""Parse the neutral markup (a safe-HTML subset) so each channel can render it its own way."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from html import escape as _html_escape
from html.parser import HTMLParser

ALLOWED = frozenset({"b", "i", "u", "s", "code", "pre", "a"})


@dataclass(frozen=True, slots=True)
class Token:
    """`kind` is "text" (with unescaped `text`), "open" or "close" (with `tag`, `href`)."""

    kind: str
    text: str = ""
    tag: str = ""
    href: str = ""


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[Token] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ALLOWED:
            href = dict(attrs).get("href") or "" if tag == "a" else ""
            self.out.append(Token("open", tag=tag, href=href))
        elif tag == "br":
            self.out.append(Token("text", text="\n"))

    def handle_endtag(self, tag: str) -> None:
        if tag in ALLOWED:
            self.out.append(Token("close", tag=tag))

    def handle_data(self, data: str) -> None:
        if self.out and self.out[-1].kind == "text":
            self.out[-1] = Token("text", text=self.out[-1].text + data)
        else:
            self.out.append(Token("text", text=data))


# Every outgoing message is parsed at least twice (channel markup and plain fallback), and
# most are prompts every person sees word for word, so parses are remembered.
CACHED = 2048


@lru_cache(maxsize=CACHED)
def tokens(markup: str) -> tuple[Token, ...]:
    """Split markup into text runs (entities decoded) and allowed tags; others are dropped."""
    if "<" not in markup and "&" not in markup:
        return (Token("text", text=markup),) if markup else ()  # nothing to parse
    parser = _Parser()
    parser.feed(markup)
    parser.close()
    return tuple(parser.out)


def escape(text: str) -> str:
    """Escape plain text for inclusion in markup."""
    return _html_escape(text, quote=True)


@lru_cache(maxsize=CACHED)
def to_plain(markup: str) -> str:
    """Render markup as plain text: tags dropped, links written as `label (url)`."""
    out: list[str] = []
    link: list[str] = []
    for tok in tokens(markup):
        if tok.kind == "text":
            out.append(tok.text)
        elif tok.kind == "open" and tok.tag == "a":
            link.append(tok.href)
        elif tok.kind == "close" and tok.tag == "a" and link:
            href = link.pop()
            if href:
                out.append(f" ({href})")
    return "".join(out)


def iter_lines(markup: str) -> Iterator[str]:
    yield from to_plain(markup).splitlines()
