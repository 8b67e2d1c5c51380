"""Telegram's HTML parse mode as the fake Bot API enforces it (strictly, like Telegram).

Only Telegram's tags, properly nested and closed; `<`, `>` and `&` outside tags and
entities are refused; only &lt; &gt; &amp; &quot; and numeric entities exist.
"""

from __future__ import annotations

import html
import re

TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del",
    "span", "tg-spoiler", "a", "tg-emoji", "code", "pre", "blockquote",
}  # fmt: skip
LITERAL = {"code", "pre"}
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z-]*)((?:\s+[a-zA-Z-]+=\"[^\"<>]*\")*)\s*>")
_ATTR = re.compile(r"([a-zA-Z-]+)=\"([^\"]*)\"")
_ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|lt|gt|amp|quot);")


class HtmlError(ValueError):
    pass


def visible_text(source: str) -> str:
    """The text Telegram would show; HtmlError when Telegram would refuse the message."""
    out: list[str] = []
    stack: list[str] = []
    i = 0
    while i < len(source):
        ch = source[i]
        if ch == "<":
            m = _TAG.match(source, i)
            if m is None:
                raise HtmlError(f"can't parse entities: unescaped '<' at byte offset {i}")
            closing, name, attrs = m.group(1) == "/", m.group(2).lower(), m.group(3)
            if name not in TAGS:
                raise HtmlError(f'can\'t parse entities: unsupported start tag "{name}"')
            if closing:
                if not stack or stack[-1] != name:
                    raise HtmlError(f'can\'t parse entities: unexpected end tag "{name}"')
                stack.pop()
            else:
                found = dict(_ATTR.findall(attrs))
                if name == "a" and set(found) != {"href"}:
                    raise HtmlError("can't parse entities: <a> needs exactly an href")
                if name != "a" and found and name not in ("span", "code", "tg-emoji", "blockquote"):
                    raise HtmlError(f"can't parse entities: unexpected attributes on {name}")
                if any(t in LITERAL for t in stack) and not (name == "code" and stack[-1] == "pre"):
                    raise HtmlError(f"can't parse entities: {name} inside code/pre")
                stack.append(name)
            i = m.end()
        elif ch == "&":
            m = _ENTITY.match(source, i)
            if m is None:
                raise HtmlError(f"can't parse entities: unescaped '&' at byte offset {i}")
            out.append(html.unescape(m.group(0)))
            i = m.end()
        elif ch == ">":
            raise HtmlError(f"can't parse entities: unescaped '>' at byte offset {i}")
        else:
            out.append(ch)
            i += 1
    if stack:
        raise HtmlError(f'can\'t parse entities: unclosed tag "{stack[-1]}"')
    return "".join(out)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
