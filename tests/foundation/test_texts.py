"""Every message exists in English and Chinese, with the same variables, and renders."""

from __future__ import annotations

import pickle

from jinja2 import meta

from bot.base.markup import to_plain, tokens
from bot.base.texts import Texts, make_environment

# Date formats legitimately use different parts per language (month name vs number).
FORMATS = {"datetime"}


def variables(texts: Texts, source: str) -> set[str]:
    return meta.find_undeclared_variables(texts.env.parse(source))


def test_english_and_chinese_have_the_same_keys_and_variables():
    texts = Texts()
    en, zh = texts.catalogs["en"], texts.catalogs["zh"]
    assert set(en) == set(zh), set(en) ^ set(zh)
    for key, value in en.items():
        other = zh[key]
        assert type(value) is type(other), key
        if isinstance(value, str) and key not in FORMATS:
            assert variables(texts, value) == variables(texts, other), key


def test_user_text_is_escaped_in_markup_and_plain_is_readable():
    texts = Texts()
    out = texts.render("en", "verbs.no_such_ticket", number="<!channel> & <b>x</b>")
    assert "&lt;!channel&gt; &amp; &lt;b&gt;x&lt;/b&gt;" in out
    assert "<!channel> & <b>x</b>" in to_plain(out)
    # Nested rendered markup is not escaped twice.
    inner = texts.render("en", "journey.understood", title="A&B")
    assert "<b>A&amp;B</b>" in inner


def test_markup_tokens_keep_only_allowed_tags():
    toks = tokens('<b>bold</b> <script>x</script><a href="https://e.x/?a=1&amp;b=2">link</a>')
    kinds = [(t.kind, t.tag or t.text) for t in toks]
    assert ("open", "b") in kinds and ("open", "a") in kinds
    assert all(t.tag != "script" for t in toks)
    link = next(t for t in toks if t.tag == "a" and t.kind == "open")
    assert link.href == "https://e.x/?a=1&b=2"
    assert to_plain('<a href="https://e.x">docs</a>') == "docs (https://e.x)"


def test_vocabularies_merge_language_and_english():
    texts = Texts()
    assert "是" in texts.words("zh", "vocab.yes") and "yes" in texts.words("zh", "vocab.yes")
    assert texts.list("zh", "weekdays")[0] == "周一"


def test_texts_travel_to_an_engine_process_after_use():
    """Content is pickled for each engine process, also after the app process has rendered
    (compiled) templates: those stay behind, and the copy renders the same."""
    texts = Texts()
    first = texts.render("en", "builtin.greet", name="Bob")
    texts.plain("zh", "builtin.greet", name="王芳")
    copy = pickle.loads(pickle.dumps(texts))
    assert copy.render("en", "builtin.greet", name="Bob") == first
    assert copy.render("zh", "builtin.greet", name="<b>王芳</b>") == texts.render(
        "zh", "builtin.greet", name="<b>王芳</b>"
    )


def test_a_line_ending_in_a_block_tag_stays_a_line_and_a_tag_line_leaves_none():
    template = make_environment(autoescape=False).from_string(
        "Account: {{ a }}{% if a == 'other' %} ({{ name }}){% endif %}\n"
        "Locked out now: yes\n"
        "  {% for p in phones %}\n"
        "Phone: {{ p }}\n"
        "  {% endfor %}\n"
        "{% if a == 'other' %}{% endif %}\n"
        "Owner: Ann"
    )
    assert template.render(a="email", name="", phones=["A", "B"]).splitlines() == [
        "Account: email",
        "Locked out now: yes",
        "Phone: A",
        "Phone: B",
        "Owner: Ann",
    ]


def test_a_persons_words_become_a_sentence_ours_can_follow():
    render = make_environment(autoescape=False).from_string("{{ said | sentence }} Next.").render
    assert render(said="Budget freeze until January") == "Budget freeze until January. Next."
    assert render(said="Spare ones in stock!  ") == "Spare ones in stock! Next."
    assert render(said="预算冻结到一月") == "预算冻结到一月。 Next."
    assert render(said="预算冻结到一月。") == "预算冻结到一月。 Next."
