"""Why a candidate scored as it did: what `deskbot explain` shows beside each candidate.

A candidate carries the pieces of the request that pushed its score up most, and the catalog
phrase of its intent closest to the request. Both are read off the trained model
(`intents.training`): an intent's logit is a sum over the request's features, so each piece's
part of it is exact, not a guess.
"""

from __future__ import annotations

import numpy as np

from intents.linear import Floats, Ints
from intents.text import Analysis
from intents.training import Trained, typed_words

# Per dense view: the request's words as typed, their weighted shares of its sentence
# vector, and the view's block of model weights.
DenseShares = list[tuple[list[str], Floats, Floats]]


def evidence(
    analysis: Analysis,
    t: Trained,
    cols: Ints,
    vals: Floats,
    intent: int,
    dense_shares: DenseShares,
    limit: int = 4,
) -> tuple[str, ...]:
    """The pieces of the request with the largest positive push towards `intent`.

    N-gram features count through their weights; each word also counts through the dense
    views, by its share of the request's sentence vector.
    """
    contributions = vals * t.model.weights[cols, intent]
    by_piece: dict[str, float] = {}
    names = t.names
    for col, value in zip(cols.tolist(), contributions.tolist(), strict=True):
        piece = analysis.pieces.get(names[col], "")
        if piece:
            by_piece[piece] = by_piece.get(piece, 0.0) + value
    for pieces, parts, weights in dense_shares:
        for piece, value in zip(pieces, (parts @ weights[:, intent]).tolist(), strict=True):
            by_piece[piece] = by_piece.get(piece, 0.0) + value
    ranked = sorted(by_piece.items(), key=lambda kv: -kv[1])
    return tuple(piece for piece, value in ranked[:limit] if value > 0)


def dense_shares(analysis: Analysis, t: Trained) -> DenseShares:
    """Per dense view: the words as typed, their weighted shares, the view's model weights."""
    assert t.model.dense is not None
    words, typed = typed_words(analysis.tokens)
    out = []
    offset = 0
    for view, weight in t.dense_views:
        positions, parts = view.shares(words)
        block = t.model.dense[offset : offset + view.dims]
        out.append(([typed[p] for p in positions], weight * parts, block))
        offset += view.dims
    return out


def nearest_example(t: Trained, query: Floats, intent: int) -> str:
    """The catalog phrase of `intent` most similar (cosine) to the request.

    `query` is the request's features as one dense row over all columns.
    """
    start, stop = t.class_rows[intent]
    if stop <= start:
        return ""
    lo, hi = int(t.rows.indptr[start]), int(t.rows.indptr[stop])
    products = t.rows.data[lo:hi] * query[t.rows.indices[lo:hi]]
    sims = np.add.reduceat(products, t.rows.indptr[start:stop] - lo)
    return t.phrases[start + int(np.argmax(sims))]
