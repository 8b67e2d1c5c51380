"""Normalisation: lexicon, typo correction against the catalog, stemming, Chinese n-grams."""

from __future__ import annotations

import numpy as np

from intents.linear import Sparse, gram, train_softmax
from intents.text import CHAR_VIEW, WORD_VIEW, Analyzer, Lexicon, fold, load_lexicon, stem


def analyzer(*catalog: str) -> Analyzer:
    a = Analyzer(load_lexicon())
    a.learn_vocabulary(catalog)
    return a


def words(a: Analyzer, text: str) -> list[str]:
    return [t.text for t in a.analyse(text).tokens]


def test_fold_handles_full_width_and_case():
    assert fold("ＶＰＮ Can't") == "vpn cant"


def test_lexicon_maps_variants_in_both_languages_to_one_word():
    a = analyzer("reset my password", "wifi is down", "mfa broken")
    assert words(a, "PW reset") == ["password", "reset"]
    assert words(a, "wi-fi is down") == ["wifi", "is", "down"]
    assert words(a, "2FA broken") == ["mfa", "broken"]
    assert words(a, "two-factor broken") == ["mfa", "broken"]
    assert words(a, "忘记密码") == ["忘记", "password"]
    assert words(a, "无线网络断了") == ["wifi", "断了"]


def test_typos_are_corrected_only_towards_catalog_words():
    a = analyzer("I forgot my password", "outlook not syncing")
    analysis = a.analyse("pasword for outlok")
    assert [t.text for t in analysis.tokens] == ["password", "for", "outlook"]
    assert analysis.corrections == [("pasword", "password"), ("outlok", "outlook")]
    # A real word far from every catalog word stays as typed.
    assert words(a, "banana") == ["banana"]
    # Catalog phrases themselves are never "corrected".
    assert a.analyse("pasword", correct=False).corrections == []


def test_words_of_in_domain_text_are_not_typos():
    a = analyzer("cancel my order")
    assert a.analyse("cancer").corrections == [("cancer", "cancel")]
    a.learn_known_words(["cancer", "research"])
    assert a.analyse("cancer").corrections == []
    assert words(a, "cancer") == ["cancer"]


def test_stemming_joins_word_forms():
    assert stem("printing") == stem("prints") == stem("printed") == "print"
    assert stem("printers") == stem("printer")
    assert stem("expired") == stem("expire")
    assert stem("phones") == stem("phone")
    assert stem("access") == "access"


def test_chinese_needs_no_segmenter():
    a = analyzer()
    analysis = a.analyse("打印机卡纸")
    chinese = {f for f in analysis.counts[WORD_VIEW] if f.startswith("c:")}
    assert {"c:卡", "c:卡纸", "c:纸"} <= chinese
    assert "w:printer" in analysis.counts[WORD_VIEW]  # 打印机 is in the lexicon
    assert analysis.counts[CHAR_VIEW]  # char n-grams of the canonical English word


def test_mixed_text_keeps_latin_words_and_chinese_runs():
    a = analyzer()
    tokens = a.analyse("我的outlook收不到").tokens
    assert [(t.text, t.cjk) for t in tokens] == [
        ("我的", True),
        ("outlook", False),
        ("收不到", True),
    ]


def test_lexicon_prefers_the_longest_chinese_variant():
    lexicon = Lexicon({"laptop": ["笔记本电脑"], "computer": ["电脑"]})
    assert lexicon.split_cjk("我的笔记本电脑坏了") == [
        ("我的", False),
        ("笔记本电脑", True),
        ("坏了", False),
    ]


def test_gram_matches_the_dense_product():
    rng = np.random.default_rng(1)
    rows = [
        {
            int(c): float(rng.random())
            for c in rng.choice(50, size=int(rng.integers(1, 8)), replace=False)
        }
        for _ in range(40)
    ]
    x = Sparse.from_rows(rows, 50)
    dense = np.zeros((40, 50))
    for i, row in enumerate(rows):
        for c, v in row.items():
            dense[i, c] = v
    assert np.allclose(gram(x, dense_df=3), dense @ dense.T)
    assert np.allclose(x.dot(np.eye(50)), dense)


def test_softmax_training_separates_classes():
    # Three classes, each owning two features; rows mix their own features with noise.
    rows = [{0: 1.0, 1: 0.5}, {1: 1.0}, {2: 1.0, 3: 0.3}, {3: 1.0}, {4: 1.0}, {5: 1.0, 4: 0.2}]
    x = Sparse.from_rows(rows, 6)
    labels = np.array([0, 0, 1, 1, 2, 2])
    model = train_softmax(x, labels, 3)
    scores = x.dot(model.weights) + model.bias
    assert list(scores.argmax(axis=1)) == [0, 0, 1, 1, 2, 2]


def test_softmax_training_uses_extra_dense_features():
    # Every row has the same sparse feature: only the dense columns tell the classes apart.
    x = Sparse.from_rows([{0: 1.0}] * 4, 1)
    extra = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    labels = np.array([0, 0, 1, 1])
    model = train_softmax(x, labels, 2, extra=extra)
    assert model.dense is not None and model.dense.shape == (2, 2)
    scores = x.dot(model.weights) + extra @ model.dense + model.bias
    assert list(scores.argmax(axis=1)) == [0, 0, 1, 1]
    assert train_softmax(x, labels, 2).dense is None
