"""How the default matcher reads realistic messages: clause by clause, a person asked for,
pinyin, names that are not typos, referral topics (intents.clauses, intents.pinyin,
intents.matcher)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import load_config
from bot.base.yamlfile import ProblemsError
from bot.content import build_matcher, load_content
from intents.catalog import load_referrals
from intents.clauses import clauses
from intents.matcher import LexicalMatcher
from intents.pinyin import Hanzi, looks_like_pinyin, split
from intents.text import names

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def matcher() -> LexicalMatcher:
    settings = load_config(ROOT / "config.yaml", {"DATABASE_URL": "sqlite://"})
    intents = load_content(settings).intents
    return build_matcher(settings, intents)


def test_clauses_are_cut_at_punctuation_and_joining_words_and_marked_when_apart():
    got = clauses("hi there, I've locked myself out again, could you help?")
    assert [c.text for c in got] == ["hi there", "I've locked myself out again", "could you help"]
    two = clauses("the vpn keeps dropping and also the printer on 3 is jammed")
    assert [(c.text, c.separate) for c in two] == [
        ("the vpn keeps dropping", False),
        ("also the printer on 3 is jammed", True),
    ]
    # "and" alone goes on with the same matter; "另外" and a full stop start another one.
    assert [c.separate for c in clauses("I got a new phone and now the app is empty")] == [
        False,
        False,
    ]
    assert [c.separate for c in clauses("打印机卡纸了，另外电脑也很慢")] == [False, True]
    assert [c.separate for c in clauses("Outlook is broken. My laptop too")] == [False, True]
    assert [c.text for c in clauses("room 4.01 projector")] == ["room 4.01 projector"]


def test_courtesy_around_a_request_no_longer_hides_it(matcher: LexicalMatcher):
    text = (
        "hi there, hope your Monday is going better than mine, I've locked myself out "
        "again after too many attempts, could you help?"
    )
    result = matcher.match(text)
    assert result.tier == "high" and result.top is not None
    assert result.top.intent == "password_reset"


def test_two_requests_the_first_leads_unless_another_is_urgent(matcher: LexicalMatcher):
    result = matcher.match("outlook won't send anything. also the printer on 2 is jammed")
    assert result.top is not None and result.tier == "high"
    assert (result.top.intent, result.second) == ("email_issue", "printer_issue")
    urgent = matcher.match("need a new mouse, but more urgently I think I clicked a phishing link")
    assert urgent.top is not None
    assert (urgent.top.intent, urgent.second) == ("security_incident", "peripheral_request")
    # One request told in two sentences is not two requests.
    one = matcher.match(
        "I came back from two weeks of leave this morning. My password seems to have expired."
    )
    assert one.second is None and one.top is not None and one.top.intent == "password_reset"


@pytest.mark.parametrize(
    "text",
    [
        "转人工 outlook 又挂了",
        "is there a number I can ring? my vpn is down",
        "打印机的事我想找个人聊",
    ],
)
def test_an_explicit_ask_for_a_person_wins(matcher: LexicalMatcher, text: str):
    result = matcher.match(text)
    assert result.asked_for_person and result.tier == "high"
    assert result.top is not None and result.top.intent == "human_handoff"
    # Explained by the words as typed, not the lexicon's name for them.
    assert result.top.evidence and all(w in text.lower() for w in result.top.evidence)


def test_pinyin_is_read_back_into_the_catalogs_chinese(matcher: LexicalMatcher):
    assert split("dayinji") == ("da", "yin", "ji") and split("vpn") == ()
    assert looks_like_pinyin(["mima", "wangle"], english=set())
    assert not looks_like_pinyin(["change", "my", "password"], english={"change", "my"})
    assert looks_like_pinyin(["vpn", "lian", "bu", "shang"], {"lian", "bu", "shang"}, {"vpn"})
    assert not looks_like_pinyin(["pin", "reset"], english={"pin", "reset"})
    hanzi = Hanzi()
    hanzi.learn("打印机卡纸了")
    assert hanzi.write(["da", "yin", "ji", "zz"]) == "打印机"
    for text, intent in [
        ("dayinji buneng yong", "printer_issue"),
        ("mima wangle", "password_reset"),
        ("vpn lian bu shang", "vpn_issue"),
    ]:
        result = matcher.match(text)
        assert result.top is not None and result.top.intent == intent, (text, result)
        assert result.tier == "high"
        assert any(typed == text.replace("vpn ", "") for typed, _ in result.corrections)
    english = matcher.match("change my password please")
    assert not english.corrections and english.top and english.top.intent == "password_reset"


def test_names_and_conversation_words_are_not_typo_targets(matcher: LexicalMatcher):
    assert names("can I get Figma installed? SharePoint too") == {"figma", "sharepoint"}
    assert names("Printer broken. Outlook too") == set()  # sentence starts
    # "mindo" (an app) is not "mind" as in "never mind": nothing gets cancelled.
    result = matcher.match("i cannot open mindo")
    assert ("mindo", "mind") not in result.corrections
    assert result.top is not None and result.top.intent != "cancel"
    assert ("pasword", "password") in matcher.match("pasword expired").corrections


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("can you book a meeting room for friday", "facilities"),
        ("我的微信密码忘了", "personal_devices"),
        ("how do I claim back a taxi fare", "travel_expenses"),
        ("年假还剩几天", "hr_payroll"),
    ],
)
def test_non_it_requests_that_share_it_words_are_referred(
    matcher: LexicalMatcher, text: str, topic: str
):
    result = matcher.match(text)
    assert result.out_of_scope and result.tier == "low"
    assert result.referral == topic


def test_a_bad_referrals_file_names_the_line_and_field(tmp_path: Path):
    path = tmp_path / "referrals.yaml"
    path.write_text(
        "facilities:\n  title: {en: Facilities}\n  examples: {en: [book a room]}\n"
        "bad topic!:\n  title: {en: X}\n  where: {en: Y}\n",
        encoding="utf-8",
    )
    with pytest.raises(ProblemsError) as caught:
        load_referrals(path)
    text = str(caught.value)
    assert f"{path}:1: facilities.where" in text
    assert "letters, digits and _" in text
    assert load_referrals(tmp_path / "missing.yaml") == []
