"""Build the model `LexicalMatcher` scores with, from an `IntentCatalog`.

The catalog's titles, examples and keywords become TF-IDF weighted word and character
n-grams (see `intents.text`), plus the average of each phrase's English word vectors (a table
shipped in intents/data) and, given unlabelled text of the domain, a distributional view
(PPMI + SVD word vectors) learned from it. A multinomial logistic regression
(`intents.linear`) is fitted on them. Identical builds are made once and shared.

A request's features are computed here too (`vectorise`, `expansions`, `dense_features`),
so a request and the catalog phrases it is compared with are always described alike.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import pickle
import sys
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from bot.base.files import replaced
from intents.catalog import IntentCatalog
from intents.distributional import (
    GENERAL_VECTORS,
    WordVectors,
    learn_vectors,
    load_general_vectors,
    without_common,
)
from intents.linear import Floats, Ints, LinearModel, Sparse, train_softmax
from intents.text import VIEWS, WORD_VIEW, Analysis, Analyzer, Lexicon, Token, load_lexicon

log = logging.getLogger(__name__)

# Built-in intents that steer the conversation: their words are never typo-correction
# targets (intents.text.Analyzer.learn_vocabulary).
STEERING = ("cancel", "greet", "thanks", "help")


@dataclass(frozen=True)
class ModelSettings:
    """Model settings chosen on CLINC150 validation data (bench/intents.py)."""

    c: float = 100.0  # inverse L2 strength of the logistic regression
    char_weight: float = 1.0  # weight of the character n-gram view against the word view
    typo_cutoff: float = 82.0  # rapidfuzz ratio a near-miss word needs to be corrected
    # The distributional view is learned only when an unlabelled corpus is given: from the
    # catalog phrases alone it measured worse (CLINC150 10-shot validation top-1 83.8 vs 84.1
    # on seed 0). With the CLINC150 train utterances (labels dropped) as the corpus, 3 seeds:
    # 85.8 top-1 (weight 0.45) against 85.0 (0.28), 85.5 (0.35), 85.7 (0.55).
    dense_weight: float = 0.45  # weight of the distributional view against the n-gram views
    dense_dims: int = 100  # dimensions of the distributional word vectors
    window: int = 4  # co-occurrence window of the distributional view, in words
    # A request word the catalog never uses also counts as its nearest catalog words in the
    # corpus ("umbrella" -> "rain"); +0.2-0.4 validation top-1 over the dense view alone.
    expand: int = 3  # nearest catalog words per unknown request word
    expand_weight: float = 1.0  # their term weight, times their cosine to the word
    # General English word vectors shipped with deskbot (intents/data, made once from a
    # sentence-embedding model by scripts/build_word_vectors.py; here they are only looked
    # up). They are a dense view of their own, the expansion (unless a corpus gives better
    # neighbours), and their words are never typo-corrected. CLINC150 10-shot validation,
    # 3 seeds, catalog only: top-1 87.1 / OOS balance 81.6 against 82.7 / 77.8 without them;
    # weight 1.0: 87.0 / 81.0. SIF a = 3e-4: 86.7 / 82.1, and chatty padding ("could you
    # please help me, I forgot my password") no longer outweighs the request, as at 1e-3.
    general_vectors: bool = True
    general_weight: float = 0.7  # weight of that view against the n-gram views
    general_sif: float = 3e-4  # SIF: a word weighs a / (a + its frequency in English)
    general_path: Path = GENERAL_VECTORS  # the table (tests point it at a damaged copy)
    # A message typed in pinyin is read back into the catalog's Chinese (intents.pinyin).
    pinyin: bool = True
    # Read each clause of a message too (intents.clauses; LexicalMatcher.match): courtesy
    # around a request, two requests in one message. Off only to measure what it brings.
    clauses: bool = True


@dataclass
class Trained:
    """Everything learned from one catalog; shared between matchers built from it."""

    analyzer: Analyzer
    columns: dict[str, int]
    view_of: Ints
    idf: Floats
    model: LinearModel
    intents: list[str]
    rows: Sparse  # catalog phrases as vectors, grouped by intent
    class_rows: list[tuple[int, int]]  # row range of each intent in `rows`
    phrases: list[str]
    exact: dict[tuple[str, ...], int]
    names: list[str]  # feature name of each column
    vectors: WordVectors | None = None  # vectors that expand unknown words (corpus or general)
    dense_views: list[tuple[WordVectors, float]] = field(default_factory=list)  # (view, weight)
    anchors: Floats | None = None  # word vectors of the catalog's words, for expansion
    anchor_words: list[str] = field(default_factory=list)  # those words, row by row
    near: dict[str, tuple[tuple[str, float], ...]] = field(default_factory=dict)  # memo


_CACHE: OrderedDict[str, Trained] = OrderedDict()
_CACHE_SIZE = 8


def default_lexicon() -> Lexicon:
    """The lexicon shipped with deskbot (intents/lexicon.yaml), read once per process.

    One object for the whole process, because builds are shared by the lexicon's identity.
    """
    global _LEXICON
    if _LEXICON is None:
        _LEXICON = load_lexicon()
    return _LEXICON


_LEXICON: Lexicon | None = None


def trained_for(
    catalog: IntentCatalog,
    lexicon: Lexicon,
    settings: ModelSettings,
    corpus: Sequence[str],
    folder: Path | None = None,
) -> Trained:
    """The model of this catalog, trained now or shared with an identical earlier build: in
    this process, or kept in `folder` by an earlier one (`deskbot serve` restarting, each
    `deskbot chat`): training takes a second or more, reading it back milliseconds."""
    pairs: list[tuple[str, str]] = []
    keywords: set[tuple[str, str]] = set()
    for intent in catalog:
        for _lang, phrase in intent.phrases():
            pairs.append((intent.id, phrase))
        for items in intent.keywords.values():
            keywords.update((intent.id, item) for item in items)
    key = _fingerprint(pairs, settings, id(lexicon), keywords, corpus)
    trained = _CACHE.get(key)
    if trained is None:
        # On disk only with the shipped lexicon: its identity there is its file's content.
        kept = folder if folder is not None and lexicon is _LEXICON else None
        on_disk = _fingerprint(pairs, settings, 0, keywords, corpus) if kept else ""
        trained = _read_kept(kept, on_disk) if kept else None
        if trained is None:
            trained = _train(pairs, lexicon, settings, keywords, corpus)
            if kept:
                _keep(kept, on_disk, trained)
        _CACHE[key] = trained
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    else:
        _CACHE.move_to_end(key)
    return trained


# Trained models kept on disk, per folder: the newest this many (about 20 MB each).
KEPT = 6


def _kept_path(folder: Path, key: str) -> Path:
    return folder / f"matcher-{hashlib.sha256((key + _code()).encode()).hexdigest()[:32]}.pickle"


def _read_kept(folder: Path, key: str) -> Trained | None:
    """A model an earlier process trained from the same catalog, settings and code. The
    folder is the desk's own (var/), as trusted as its database: pickle runs what it reads."""
    path = _kept_path(folder, key)
    try:
        if not (_private(folder) and _private(path)):
            log.warning("kept matcher %s not read: others may write it; training it", path)
            return None
        with path.open("rb") as f:
            # Only what this user wrote, where nobody else may write (checked above).
            trained = pickle.load(f)  # noqa: S301
    except FileNotFoundError:
        return None
    except Exception as exc:  # torn, or written by another version: trained again
        log.warning("kept matcher %s not read (%s); training it again", path.name, exc)
        return None
    if not isinstance(trained, Trained):
        return None
    path.touch()  # recently used: kept longest
    return trained


def _private(path: Path) -> bool:
    """Owned by this user and writable by nobody else (as ssh asks of its keys): a pickle
    runs what it reads, so a model is read back only from such a file and folder."""
    st = path.stat()
    if not hasattr(os, "getuid"):  # Windows: its ACLs are not mode bits
        return True
    return st.st_uid == os.getuid() and not st.st_mode & 0o022


def _keep(folder: Path, key: str, trained: Trained) -> None:
    """Write the model for the next process (one rename: a reader never sees half), and
    forget the oldest beyond `KEPT`. A folder that cannot be written only costs time."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        with replaced(_kept_path(folder, key), binary=True) as out:  # 0600
            pickle.dump(trained, out, protocol=pickle.HIGHEST_PROTOCOL)
        models = sorted(folder.glob("matcher-*.pickle"), key=lambda p: p.stat().st_mtime)
        for old in models[:-KEPT]:
            old.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("the trained matcher could not be kept in %s: %s", folder, exc)


@cache
def _code() -> str:
    """What else a kept model depends on: this package's code and data files, numpy's and
    Python's versions. Another deskbot and the model is trained again."""
    digest = hashlib.sha256(f"{np.__version__}|{sys.version}".encode())
    here = Path(__file__).parent
    for path in sorted([*here.glob("*.py"), *here.glob("*.yaml")]):
        digest.update(path.name.encode() + b"\x00" + path.read_bytes())
    for path in sorted(here.glob("data/*")):
        st = path.stat()
        digest.update(f"{path.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return digest.hexdigest()


def _fingerprint(
    pairs: list[tuple[str, str]],
    settings: ModelSettings,
    lexicon: int,
    keywords: set[tuple[str, str]],
    corpus: Sequence[str],
) -> str:
    digest = hashlib.sha256(repr((settings, lexicon, sorted(keywords))).encode())
    for intent, phrase in pairs:
        digest.update(f"{intent}\x00{phrase}\x01".encode())
    for text in corpus:
        digest.update(f"{text}\x02".encode())
    return digest.hexdigest()


def _train(
    pairs: list[tuple[str, str]],
    lexicon: Lexicon,
    settings: ModelSettings,
    keywords: set[tuple[str, str]],
    corpus: Sequence[str],
) -> Trained:
    analyzer = Analyzer(lexicon, typo_cutoff=settings.typo_cutoff, pinyin=settings.pinyin)
    analyzer.learn_vocabulary(
        (phrase for intent, phrase in pairs if intent not in STEERING),
        steering=(phrase for intent, phrase in pairs if intent in STEERING),
    )
    intents = sorted({intent for intent, _ in pairs})
    index = {name: i for i, name in enumerate(intents)}
    analysed: list[tuple[int, str, Analysis]] = []
    for intent, phrase in pairs:
        analysis = analyzer.analyse(phrase, correct=False)
        if any(analysis.counts):
            analysed.append((index[intent], phrase, analysis))
    analysed.sort(key=lambda item: item[0])  # rows grouped by intent

    columns: dict[str, int] = {}
    views: list[int] = []
    df: list[int] = []
    for _label, _phrase, analysis in analysed:
        for view, counts in enumerate(analysis.counts):
            for feature in counts:
                col = columns.get(feature)
                if col is None:
                    col = columns[feature] = len(columns)
                    views.append(view)
                    df.append(0)
                df[col] += 1
    n = len(analysed)
    idf = np.log((1 + n) / (1 + np.asarray(df, dtype=np.float64))) + 1.0
    trained = Trained(
        analyzer=analyzer,
        columns=columns,
        view_of=np.asarray(views, dtype=np.int64),
        idf=idf,
        model=LinearModel(np.zeros((len(columns), len(intents))), np.zeros(len(intents))),
        intents=intents,
        rows=Sparse.from_rows([], len(columns)),
        class_rows=[],
        phrases=[phrase for _l, phrase, _a in analysed],
        exact={},
        names=sorted(columns, key=columns.__getitem__),
    )
    rows: list[dict[int, float]] = []
    for _label, _phrase, analysis in analysed:
        cols, vals = vectorise(analysis, trained, settings.char_weight)
        rows.append(dict(zip(cols.tolist(), vals.tolist(), strict=True)))
    labels = np.asarray([label for label, _p, _a in analysed], dtype=np.int64)
    trained.rows = Sparse.from_rows(rows, len(columns))
    bounds = np.searchsorted(labels, np.arange(len(intents) + 1))
    trained.class_rows = [(int(bounds[i]), int(bounds[i + 1])) for i in range(len(intents))]
    corpus_tokens = [analyzer.tokens(text, correct=False) for text in corpus]
    analyzer.learn_known_words(t.surface for tokens in corpus_tokens for t in tokens if not t.cjk)
    catalog_sentences = [_words(a.tokens) for _l, _p, a in analysed]
    if settings.general_vectors and settings.general_weight > 0 and n:
        general = load_general_vectors(settings.general_path, settings.general_sif)
        analyzer.learn_known_stems(general.index)
        trained.vectors = without_common(general, catalog_sentences)
        trained.dense_views.append((trained.vectors, settings.general_weight))
    if settings.dense_weight > 0 and n and corpus:
        sentences = catalog_sentences + [_words(tokens) for tokens in corpus_tokens]
        trained.vectors = learn_vectors(sentences, dims=settings.dense_dims, window=settings.window)
        trained.dense_views.append((trained.vectors, settings.dense_weight))
    if trained.vectors is not None:
        vec = trained.vectors
        trained.anchor_words = [w for w in vec.index if "w:" + w in columns]
        # float32: numpy has no fast product for the general vectors' float16 (30x slower)
        anchor_rows = [vec.index[w] for w in trained.anchor_words]
        trained.anchors = vec.vectors[anchor_rows].astype(np.float32)
    extra = None
    if trained.dense_views:
        extra = np.stack([_embed(words, trained.dense_views) for words in catalog_sentences])
    if n and len(intents) > 1:
        trained.model = train_softmax(trained.rows, labels, len(intents), c=settings.c, extra=extra)
    elif n:
        trained.model = LinearModel(np.zeros((len(columns), 1)), np.zeros(1))
    # Whole requests (titles, examples, accepted phrasings) settle a match word for word;
    # keywords are only hints ("wifi" may be the office network or guest access).
    owners: dict[tuple[str, ...], set[int]] = {}
    for label, phrase, analysis in analysed:
        if (intents[label], phrase) in keywords:
            continue
        owners.setdefault(tuple(tok.text for tok in analysis.tokens), set()).add(label)
    trained.exact = {key: next(iter(v)) for key, v in owners.items() if len(v) == 1}
    return trained


def expansions(analysis: Analysis, t: Trained, settings: ModelSettings) -> dict[str, float]:
    """Catalog words close (in the corpus) to request words the catalog never uses."""
    if t.vectors is None or settings.expand <= 0 or t.anchors is None:
        return {}
    out: dict[str, float] = {}
    for token in analysis.tokens:
        if token.cjk or "w:" + token.text in t.columns:
            continue
        near = t.near.get(token.text)
        if near is None:
            row = t.vectors.index.get(token.text)
            near = () if row is None else _nearest_words(t, row, settings.expand)
            if len(t.near) < 100_000:
                t.near[token.text] = near
        for feature, sim in near:
            out[feature] = max(out.get(feature, 0.0), settings.expand_weight * sim)
    return out


def dense_features(analysis: Analysis, t: Trained) -> Floats | None:
    """The request's weighted sentence vectors, one per dense view; None if it has none."""
    if not t.dense_views or t.model.dense is None:
        return None
    vector = _embed(_words(analysis.tokens), t.dense_views)
    return vector if vector.any() else None


def _embed(words: list[str], views: list[tuple[WordVectors, float]]) -> Floats:
    """One sentence vector per view, scaled by the view's weight, side by side."""
    return np.concatenate([weight * view.embed(words) for view, weight in views])


def _nearest_words(t: Trained, row: int, k: int) -> tuple[tuple[str, float], ...]:
    assert t.vectors is not None and t.anchors is not None
    sims = t.anchors @ t.vectors.vectors[row]
    top = np.argpartition(-sims, k)[:k] if len(sims) > k else np.arange(len(sims))
    return tuple(("w:" + t.anchor_words[int(i)], float(sims[i])) for i in top if sims[i] > 0)


def _words(tokens: list[Token]) -> list[str]:
    """The words the dense views know a text by: Latin words, Chinese characters."""
    return typed_words(tokens)[0]


def typed_words(tokens: list[Token]) -> tuple[list[str], list[str]]:
    """The words the dense views know a text by, and beside each word what the person typed
    for it (for explanations)."""
    words: list[str] = []
    typed: list[str] = []
    for token in tokens:
        for word in token.text if token.cjk else (token.text,):
            words.append(word)
            typed.append(word if token.cjk else token.surface)
    return words, typed


def vectorise(
    analysis: Analysis, t: Trained, char_weight: float, extra: dict[str, float] | None = None
) -> tuple[Ints, Floats]:
    """Known features -> sublinear TF x IDF, L2-normalised per view, then overall."""
    cols: list[int] = []
    vals: list[float] = []
    for view in range(VIEWS):
        start = len(cols)
        for feature, count in analysis.counts[view].items():
            col = t.columns.get(feature)
            if col is not None:
                cols.append(col)
                vals.append((1.0 + math.log(count)) * float(t.idf[col]))
        if view == WORD_VIEW and extra:
            for feature, weight in extra.items():
                col = t.columns.get(feature)
                if col is not None and feature not in analysis.counts[view]:
                    cols.append(col)
                    vals.append(weight * float(t.idf[col]))
        norm = math.sqrt(sum(v * v for v in vals[start:]))
        if norm > 0:
            weight = char_weight if view == 1 else 1.0
            for i in range(start, len(vals)):
                vals[i] = vals[i] * weight / norm
    total = math.sqrt(sum(v * v for v in vals))
    if total > 0:
        vals = [v / total for v in vals]
    return np.asarray(cols, dtype=np.int64), np.asarray(vals, dtype=np.float64)
