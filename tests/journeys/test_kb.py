"""The knowledge base: articles load with located errors, search in both languages, and a
"how do I..." question is answered straight from the best article."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.adapters.memory import MemoryChat
from bot.base.yamlfile import ProblemsError
from bot.desk import Desk
from journeys.kb import load_article, load_kb, to_markup

from .talk import events, outcomes, plain, tickets

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_articles_exist_in_english_and_chinese() -> None:
    kb = load_kb(ROOT / "content" / "kb")
    ids = kb.ids()
    assert len(ids) == 20 and len(kb) == 40
    for article_id in ids:
        assert kb.articles[(article_id, "en")].language == "en"
        assert kb.articles[(article_id, "zh")].language == "zh"
        assert kb.articles[(article_id, "en")].services == kb.articles[(article_id, "zh")].services


@pytest.mark.parametrize(
    ("question", "lang", "article"),
    [
        ("how do I reset my password", "en", "password-self-service"),
        ("how do i connect to the vpn from home", "en", "vpn-troubleshooting"),
        ("How can I free up space in my mailbox?", "en", "storage-cleanup"),
        ("how do I clear a paper jam", "en", "printer-paper-jam"),
        ("打印机卡纸了怎么办", "zh", "printer-paper-jam"),
        ("怎么在手机上设置邮箱", "zh", "mobile-email-setup"),
        ("如何重置密码", "zh", "password-self-service"),
    ],
)
def test_answer_finds_the_one_article(question: str, lang: str, article: str) -> None:
    kb = load_kb(ROOT / "content" / "kb")
    found = kb.answer(question, lang)
    assert found is not None and found.id == article and found.language == lang


@pytest.mark.parametrize(
    "question",
    ["how does this work", "how do I get a new laptop", "how do I request access to SAP"],
)
def test_no_answer_when_no_article_fits_well(question: str) -> None:
    assert load_kb(ROOT / "content" / "kb").answer(question, "en") is None


def test_markdown_becomes_escaped_markup() -> None:
    markup = to_markup(
        "# Title\n\n1. Open **Settings** and run `repair.exe`.\n- see [docs](https://x.example.com)"
        "\n\nNever type <script>alert(1)</script> & go"
    )
    assert markup == (
        "<b>Title</b>\n\n1. Open <b>Settings</b> and run <code>repair.exe</code>.\n"
        '• see <a href="https://x.example.com">docs</a>\n\n'
        "Never type &lt;script&gt;alert(1)&lt;/script&gt; &amp; go"
    )


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_article_problems_name_file_line_and_field(tmp_path: Path) -> None:
    _write(tmp_path, "en/no-front.md", "Just text\n")
    _write(
        tmp_path, "en/typo.md", "---\ntitle: Fine title\nlanguage: en\nkeyword: [x]\n---\nBody\n"
    )
    _write(tmp_path, "zh/wrong-folder.md", "---\ntitle: Fine title\nlanguage: en\n---\nBody\n")
    _write(tmp_path, "en/empty.md", "---\ntitle: Fine title\nlanguage: en\n---\n\n")
    _write(tmp_path, "en/broken.md", "---\ntitle: [unclosed\nlanguage: en\n---\nBody\n")
    with pytest.raises(ProblemsError) as caught:
        load_kb(tmp_path)
    found = sorted(str(p).replace(str(tmp_path), "") for p in caught.value.problems)
    assert found[0].startswith("/en/broken.md:3: invalid YAML: ")  # libyaml words it its way
    assert found[1:] == [
        "/en/empty.md: the article has no text after its front matter",
        "/en/no-front.md:1: an article starts with front matter between --- lines "
        "(title, services, keywords, language)",
        "/en/typo.md:4: keyword: unknown field",
        "/zh/wrong-folder.md:3: language: 'en' but the article is in the zh/ folder",
    ]


def test_a_good_article_loads(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "en/fix-it.md",
        "---\ntitle: Fix it\nservices: [vpn_issue]\nkeywords: [fix]\nlanguage: en\n---\nDo it.\n",
    )
    article, problems = load_article(path)
    assert problems == [] and article is not None
    assert (article.id, article.title, article.services, article.body) == (
        "fix-it",
        "Fix it",
        ("vpn_issue",),
        "Do it.",
    )


def test_how_to_question_is_answered_from_the_article(chat: MemoryChat) -> None:
    replies = chat.say("alice", "How do I add a printer?")
    [answer] = replies
    assert "This article answers that:" in plain(replies)
    assert "Add an office printer" in plain(replies) and "FollowMe-Print" in plain(replies)
    assert [c.value for c in answer.choices] == ["kb:y:printer-add", "kb:n:printer-add"]
    thanks = chat.press("alice", "kb:y:printer-add")
    assert "Great!" in plain(thanks)
    assert [e.kind for e in events(chat)] == ["kb_answered", "kb_self_solved"]
    assert tickets(chat) == [] and outcomes(chat) == []


def test_still_need_help_goes_to_the_service_without_repeating_the_article(
    chat: MemoryChat,
) -> None:
    first = chat.say("alice", "how do I reset my password")
    assert "Reset your password yourself" in plain(first)
    replies = chat.press("alice", "kb:n:password-self-service")
    said = plain(replies)
    assert "Sorry it didn't help" in said
    assert "Got it: Password reset" in said
    assert replies[-1].text == "Which account is it?"  # the article is not offered again
    assert "passwordreset.example.com" not in said
    assert "j:self_service:yes" not in [c.value for c in replies[-1].choices]
    assert [e.kind for e in events(chat)] == ["kb_answered", "kb_not_helpful"]


def test_chinese_how_to_gets_the_chinese_article(chat: MemoryChat) -> None:
    replies = chat.say("wang.fang", "打印机卡纸了怎么办")
    assert "清除卡纸" in plain(replies)
    assert [c.label for c in replies[-1].choices] == ["有帮助", "还需要帮助"]


def test_requests_and_unmatched_questions_are_not_answered_from_articles(
    chat: MemoryChat, desk: Desk
) -> None:
    assert "Got it: Password reset" in plain(chat.say("alice", "I forgot my password"))
    chat.say("alice", "cancel")
    laptop = plain(chat.say("alice", "how do I get a new laptop"))
    assert "This article answers that" not in laptop
    assert [e.kind for e in events(chat) if e.kind.startswith("kb_")] == []
    assert len(desk.catalog.kb) == 40


def test_journey_suggest_steps_name_real_articles(desk: Desk) -> None:
    for journey in desk.catalog:
        for step in journey.steps:
            if step.type == "suggest":
                for article_id in step.articles:
                    assert desk.catalog.kb.get(article_id, "zh") is not None
                    assert desk.catalog.kb.articles.get((article_id, "zh")) is not None
