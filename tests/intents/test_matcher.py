"""The lexical matcher on a small catalog of its own: typos, synonyms, Chinese, OOS, tiers."""

from __future__ import annotations

from pathlib import Path

import pytest

from intents.catalog import Intent, IntentCatalog, load_builtins
from intents.matcher import LexicalMatcher, Thresholds

ROOT = Path(__file__).resolve().parents[2]


def service(intent_id: str, en: list[str], zh: list[str], keywords: list[str]) -> Intent:
    return Intent(
        intent_id,
        "service",
        {"en": intent_id.replace("_", " ")},
        {"en": tuple(en), "zh": tuple(zh)},
        {"en": tuple(keywords)},
    )


@pytest.fixture(scope="module")
def matcher() -> LexicalMatcher:
    catalog = IntentCatalog()
    for intent in [
        service(
            "password_reset",
            ["I forgot my password", "reset my password", "my password expired"],
            ["我忘记密码了", "重置密码"],
            ["password", "unlock"],
        ),
        service(
            "mfa_reset",
            ["my MFA codes are not accepted", "new phone, need to set up the authenticator"],
            ["验证码不对"],
            ["authenticator"],
        ),
        service(
            "email_issue",
            ["outlook is not syncing", "cannot send email", "not receiving mail"],
            ["收不到邮件", "邮件发不出去"],
            ["outlook", "email"],
        ),
        service(
            "network_issue",
            ["the office wifi is down", "no internet at my desk"],
            ["上不了网"],
            ["wifi", "internet"],
        ),
        service(
            "guest_wifi",
            ["wifi for a visitor", "guest network access for our clients"],
            ["访客需要上网"],
            ["guest"],
        ),
        service(
            "printer_issue",
            ["the printer is jammed", "cannot print"],
            ["打印机卡纸了"],
            ["printer"],
        ),
    ]:
        catalog.add(intent)
    for intent in load_builtins(ROOT / "catalog" / "builtins.yaml"):
        catalog.add(intent)
    return LexicalMatcher(catalog, Thresholds(high=0.6, low=0.35, margin=0.08, max_choices=4))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I FORGOT MY PASSWORD!!!", "password_reset"),  # case and punctuation
        ("pasword expired", "password_reset"),  # typo
        ("outlok keeps not syncing", "email_issue"),  # typo of a product name
        ("password my reset", "password_reset"),  # word order
        ("hi there, could you please help me, I think I forgot my password", "password_reset"),
        ("pw expired", "password_reset"),  # abbreviation
        ("the wi-fi in the office is down", "network_issue"),  # wi-fi = wifi
        ("2FA codes not accepted", "mfa_reset"),  # 2FA = MFA
        ("两步验证的验证码不对", "mfa_reset"),  # Chinese synonym of MFA
        ("密码忘了", "password_reset"),  # pure Chinese, no segmenter
        ("我的outlook收不到邮件", "email_issue"),  # mixed Chinese and English
        ("any news on my ticket?", "ticket_status"),
        ("let me talk to a real person", "human_handoff"),
    ],
)
def test_understands_how_people_write(matcher: LexicalMatcher, text: str, expected: str):
    result = matcher.match(text)
    assert result.top is not None and result.top.intent == expected, result
    assert result.tier in ("high", "medium")
    assert not result.out_of_scope


def test_typo_is_reported_as_a_correction(matcher: LexicalMatcher):
    result = matcher.match("pasword expired")
    assert ("pasword", "password") in result.corrections


@pytest.mark.parametrize(
    "text", ["book me a flight to berlin", "what's the weather like tomorrow", "帮我订一张机票"]
)
def test_out_of_scope_is_recognised_not_forced_into_a_service(matcher: LexicalMatcher, text: str):
    result = matcher.match(text)
    assert result.out_of_scope
    assert result.tier == "low"
    assert all(c.intent != "out_of_scope" for c in result.candidates)


def test_nothing_recognisable_is_low_but_not_called_out_of_scope(matcher: LexicalMatcher):
    result = matcher.match("🙂🙂 ...")
    assert result.tier == "low" and not result.out_of_scope and result.candidates == ()


def test_clear_request_is_high_and_ambiguous_one_is_medium(matcher: LexicalMatcher):
    clear = matcher.match("I forgot my password")
    assert clear.tier == "high" and clear.top is not None and clear.top.score > 0.6
    # Printing an email: the printer or the mailbox? Offer both rather than guess.
    unsure = matcher.match("can't print my email")
    assert unsure.tier == "medium", unsure
    assert {c.intent for c in unsure.candidates[:2]} == {"email_issue", "printer_issue"}


def test_candidates_explain_themselves(matcher: LexicalMatcher):
    result = matcher.match("the printer on floor 3 is jammed again")
    top = result.top
    assert top is not None and top.intent == "printer_issue"
    assert "printer" in top.evidence and "jammed" in top.evidence
    assert top.example == "the printer is jammed"
    scores = [c.score for c in result.candidates]
    assert scores == sorted(scores, reverse=True)
    assert len(result.candidates) <= 5


def test_exact_catalog_phrase_is_certain(matcher: LexicalMatcher):
    result = matcher.match("Cannot print.")
    assert result.tier == "high"
    assert result.top is not None and result.top.intent == "printer_issue"
    assert result.top.score == 1.0


def test_identical_catalog_builds_are_shared_and_match_alike(matcher: LexicalMatcher):
    again = LexicalMatcher(
        IntentCatalog(),  # empty: a different catalog must not reuse the trained one
    )
    assert again.match("I forgot my password").tier == "low"
    assert again.intents == []
