"""Dense views: word vectors of general English (shipped), PPMI + SVD ones from unlabelled
text, and their use by the matcher."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from intents.catalog import Intent, IntentCatalog
from intents.distributional import (
    GENERAL_VECTORS,
    VectorsError,
    learn_vectors,
    load_general_vectors,
    without_common,
)
from intents.matcher import LexicalMatcher
from intents.text import stem
from intents.training import ModelSettings

# "visa" shares every context with "card"; "umbrella" with "rain". Neither shares any with
# the other pair.
CORPUS = [
    "my card was declined at the shop",
    "my visa was declined at the shop",
    "pay with my card please",
    "pay with my visa please",
    "the card payment failed",
    "the visa payment failed",
    "will it rain in london tomorrow",
    "do i need an umbrella in london tomorrow",
    "is rain expected this weekend",
    "is an umbrella needed this weekend",
    "rain forecast for paris",
    "umbrella forecast for paris",
]


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_words_in_the_same_contexts_get_close_vectors():
    words = learn_vectors([s.split() for s in CORPUS], dims=4)
    vec = {w: words.vectors[i] for w, i in words.index.items()}
    assert cosine(vec["visa"], vec["card"]) > cosine(vec["visa"], vec["rain"]) + 0.3
    assert cosine(vec["umbrella"], vec["rain"]) > cosine(vec["umbrella"], vec["card"]) + 0.3


def test_sentence_vectors_are_unit_length_without_the_common_direction():
    words = learn_vectors([s.split() for s in CORPUS], dims=4)
    embedded = words.embed(["my", "visa", "was", "declined"])
    assert embedded.shape == (words.dims,)
    assert np.linalg.norm(embedded) == pytest.approx(1.0)
    assert words.common is not None and abs(float(embedded @ words.common)) < 1e-9
    assert not words.embed(["never", "seen"]).any()


def test_empty_text_learns_nothing():
    words = learn_vectors([])
    assert words.index == {} and not words.embed(["card"]).any()


# Two topics, each sentence four words of one topic around filler words: words of a topic
# share contexts, words of different topics never do.
TOPICS = [
    ["card", "visa", "payment", "declined", "refund", "charge", "shop"],
    ["rain", "umbrella", "forecast", "sunny", "snow", "tomorrow", "weather"],
]
TOPIC_CORPUS = [
    f"my {a} and the {b} is {c} please {d}"
    for words in TOPICS
    for a, b, c, d in itertools.combinations(words, 4)
]


def catalog() -> IntentCatalog:
    out = IntentCatalog()
    out.add(Intent("card_declined", "service", {}, {"en": ("my card was declined",)}))
    out.add(Intent("weather", "service", {}, {"en": ("will it rain tomorrow",)}))
    return out


def test_corpus_words_the_catalog_never_uses_still_point_to_the_right_intent():
    # Two topics, two dimensions: the rank the corpus really has.
    with_corpus = LexicalMatcher(
        catalog(), settings=ModelSettings(dense_dims=2, general_vectors=False), corpus=TOPIC_CORPUS
    )
    without = LexicalMatcher(catalog(), settings=ModelSettings(general_vectors=False))
    for text, expected in [("visa", "card_declined"), ("sunny", "weather")]:
        result = with_corpus.match(text)
        assert result.top is not None and result.top.intent == expected, result
        # Without the corpus: no n-gram of "visa" is in the catalog; "sunny" ends like "my".
        alone = without.match(text).top
        assert alone is None or alone.intent != expected


def test_unknown_words_also_count_as_their_nearest_catalog_words():
    def score(expand: int) -> float:
        settings = ModelSettings(dense_dims=2, expand=expand)
        matcher = LexicalMatcher(catalog(), settings=settings, corpus=TOPIC_CORPUS)
        top = matcher.match("visa").top
        assert top is not None and top.intent == "card_declined"
        return top.score

    assert score(expand=3) > score(expand=0) + 0.05


def test_general_vectors_put_related_english_words_together():
    general = load_general_vectors()
    index, vectors = general.index, general.vectors

    def sim(a: str, b: str) -> float:
        return cosine(vectors[index[stem(a)]], vectors[index[stem(b)]])

    assert sim("laptop", "computer") > sim("laptop", "banana") + 0.2
    assert sim("password", "login") > sim("password", "umbrella") + 0.2
    assert sim("declined", "refused") > sim("declined", "printer") + 0.2
    # Frequent words weigh less in a sentence than rare ones.
    weights = general.weights
    assert weights[index["the"]] < 0.1 < 0.9 < weights[index[stem("umbrella")]]


def test_general_vectors_match_words_the_catalog_never_uses_without_a_corpus():
    with_general = LexicalMatcher(catalog())
    without = LexicalMatcher(catalog(), settings=ModelSettings(general_vectors=False))
    cases = [("visa refused", "card_declined"), ("umbrella", "weather"), ("snowstorm", "weather")]
    for text, expected in cases:
        top = with_general.match(text).top
        assert top is not None and top.intent == expected, (text, top)
        # Alone, the n-grams barely lean either way (two intents: 0.5 is a coin toss).
        alone = {c.intent: c.score for c in without.match(text).candidates}
        assert top.score > alone.get(expected, 0.0) + 0.12, (text, top, alone)


def test_real_words_are_not_taken_for_typos_but_typos_still_are():
    catalog = IntentCatalog()
    # (A service: the conversation words of the built-in "cancel" are never typo targets.)
    catalog.add(Intent("cancel_order", "service", {}, {"en": ("cancel", "stop this")}))
    catalog.add(Intent("password_reset", "service", {}, {"en": ("I forgot my password",)}))
    with_general = LexicalMatcher(catalog)
    without = LexicalMatcher(catalog, settings=ModelSettings(general_vectors=False))
    # "cancer" is an English word: never read as "cancel" once the matcher knows English.
    assert ("cancer", "cancel") in without.match("cancer").corrections
    assert with_general.match("cancer").corrections == ()
    assert ("pasword", "password") in with_general.match("pasword").corrections


def test_word_shares_add_up_to_the_sentence_vector():
    general = load_general_vectors()
    words = [stem(w) for w in "my visa card xqzv was refused at the shop".split()]
    for view in (general, without_common(general, [words, ["the", "printer"]])):
        positions, parts = view.shares(words)
        assert positions == [0, 1, 2, 4, 5, 6, 7, 8]  # "xqzv" is no English word
        assert np.allclose(parts.sum(axis=0), view.embed(words))
    assert general.shares(["xqzv"])[0] == []


def test_explanations_name_the_words_the_vectors_weighed():
    # No character n-grams and no expansion: only the word vectors know "umbrella".
    settings = ModelSettings(char_weight=0.0, expand=0)
    top = LexicalMatcher(catalog(), settings=settings).match("umbrella").top
    assert top is not None and top.intent == "weather"
    assert top.evidence == ("umbrella",)


@pytest.mark.parametrize("damage", ["missing", "truncated", "other arrays"])
def test_a_damaged_vector_table_is_named_not_a_traceback(tmp_path: Path, damage: str):
    path = tmp_path / "word_vectors.npz"
    if damage == "truncated":
        path.write_bytes(GENERAL_VECTORS.read_bytes()[:100_000])
    elif damage == "other arrays":
        np.savez(path, something=np.zeros(3))
    with pytest.raises(VectorsError) as caught:
        LexicalMatcher(catalog(), settings=ModelSettings(general_path=path))
    assert str(path) in str(caught.value)
    # Switched off, the table is not read at all.
    LexicalMatcher(catalog(), settings=ModelSettings(general_path=path, general_vectors=False))
