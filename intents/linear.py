"""A small multinomial logistic regression on sparse features, in numpy only.

The catalog is small (hundreds to a few thousand phrases), so training at start-up with
L-BFGS takes well under a second for the default catalog; scoring one request touches only
the weight rows of the features it has, so it costs microseconds whatever the catalog size.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]

_CHUNK = 2_000_000  # gathered values per block, bounding memory in sparse products


@dataclass(frozen=True)
class Sparse:
    """Rows of (column, value) pairs in CSR form; every row has at least one entry."""

    indptr: Ints
    indices: Ints
    data: Floats
    columns: int

    @property
    def rows(self) -> int:
        return len(self.indptr) - 1

    @classmethod
    def from_rows(cls, rows: list[dict[int, float]], columns: int) -> Sparse:
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        indptr[1:] = np.cumsum([len(r) for r in rows])
        indices = np.fromiter((c for r in rows for c in r), dtype=np.int64, count=int(indptr[-1]))
        data = np.fromiter(
            (v for r in rows for v in r.values()), dtype=np.float64, count=int(indptr[-1])
        )
        return cls(indptr, indices, data, columns)

    def transpose(self) -> Sparse:
        order = np.argsort(self.indices, kind="stable")
        row_of = np.repeat(np.arange(self.rows), np.diff(self.indptr))
        counts = np.bincount(self.indices, minlength=self.columns)
        indptr = np.zeros(self.columns + 1, dtype=np.int64)
        indptr[1:] = np.cumsum(counts)
        return Sparse(indptr, row_of[order], self.data[order], self.rows)

    def dot(self, dense: Floats) -> Floats:
        """self @ dense, in blocks of rows so the gathered values stay bounded."""
        out = np.zeros((self.rows, dense.shape[1]))
        width = max(1, dense.shape[1])
        start = 0
        while start < self.rows:
            limit = self.indptr[start] + max(1, _CHUNK // width)
            stop = int(np.searchsorted(self.indptr, limit, side="right")) - 1
            stop = min(max(stop, start + 1), self.rows)
            lo, hi = int(self.indptr[start]), int(self.indptr[stop])
            if hi > lo:
                gathered = self.data[lo:hi, None] * dense[self.indices[lo:hi]]
                offsets = self.indptr[start:stop] - lo
                nonempty = np.diff(self.indptr[start : stop + 1]) > 0
                sums = np.add.reduceat(gathered, offsets[nonempty], axis=0)
                out[start:stop][nonempty] = sums
            start = stop
        return out


@dataclass
class LinearModel:
    """Per-class weights: score(x) = x @ weights + bias."""

    weights: Floats  # (features, classes)
    bias: Floats  # (classes,)
    dense: Floats | None = None  # (dense features, classes), for train_softmax(extra=...)


def gram(x: Sparse, *, dense_df: int = 32) -> Floats:
    """X @ X.T: frequent features through a dense BLAS product, rare ones pair by pair."""
    n = x.rows
    xt = x.transpose()
    df = np.diff(xt.indptr)
    heavy = np.flatnonzero(df > dense_df)
    dense = np.zeros((n, len(heavy)))
    position = np.full(x.columns, -1, dtype=np.int64)
    position[heavy] = np.arange(len(heavy))
    row_of = np.repeat(np.arange(n), np.diff(x.indptr))
    slot = position[x.indices]
    mask = slot >= 0
    dense[row_of[mask], slot[mask]] = x.data[mask]
    k: Floats = dense @ dense.T
    light = np.flatnonzero((df > 0) & (df <= dense_df))
    if len(light):
        lengths = df[light]
        starts = xt.indptr[light]
        per_entry = np.repeat(lengths, lengths)
        entry_start = np.repeat(starts, lengths)
        entry = (
            entry_start
            + np.arange(len(per_entry))
            - np.repeat(np.cumsum(lengths) - lengths, lengths)
        )
        first = np.repeat(entry, per_entry)
        offsets = np.arange(len(first)) - np.repeat(np.cumsum(per_entry) - per_entry, per_entry)
        second = np.repeat(entry_start, per_entry) + offsets
        np.add.at(k, (xt.indices[first], xt.indices[second]), xt.data[first] * xt.data[second])
    return k


def train_softmax(
    x: Sparse,
    labels: Ints,
    classes: int,
    *,
    c: float = 100.0,
    max_iter: int = 200,
    tol: float = 1e-5,
    extra: Floats | None = None,
) -> LinearModel:
    """Multinomial logistic regression with L2 (sklearn's C convention), solved in the dual.

    The optimum has weights W = X.T @ A (one row of A per catalog phrase), so L-BFGS runs on
    A with the Gram matrix K = X @ X.T and the primal metric <U, V> = tr(U.T K V). Each step
    costs two n x n x classes products instead of sparse products over every feature, which
    is what makes start-up fast. A constant feature (value 1) plays the intercept. `extra`
    holds dense features of the same rows (n x d); they just add their own Gram matrix.
    """
    n = x.rows
    k = gram(x) + 1.0
    if extra is not None:
        k += extra @ extra.T
    onehot = np.zeros((n, classes))
    onehot[np.arange(n), labels] = 1.0
    lam = 1.0 / (c * n)

    def evaluate(alpha: Floats, k_alpha: Floats) -> tuple[float, Floats]:
        z = k_alpha - k_alpha.max(axis=1, keepdims=True)
        ez = np.exp(z)
        norm = ez.sum(axis=1, keepdims=True)
        loss = -float(((z - np.log(norm)) * onehot).sum()) / n
        loss += 0.5 * lam * float((alpha * k_alpha).sum())
        return loss, (ez / norm - onehot) / n + lam * alpha

    alpha = np.zeros((n, classes))
    k_alpha = np.zeros((n, classes))
    value, grad = evaluate(alpha, k_alpha)
    k_grad = k @ grad
    history: deque[tuple[Floats, Floats, Floats, Floats, float]] = deque(maxlen=7)
    for _ in range(max_iter):
        gnorm = math.sqrt(max(float((grad * k_grad).sum()), 0.0))
        if gnorm < tol:
            break
        q = grad.copy()
        coefs = []
        for _s, y, ks, _ky, rho in reversed(history):
            a = rho * float((ks * q).sum())
            coefs.append(a)
            q -= a * y
        if history:
            _s, y, ks, ky, _rho = history[-1]
            q *= float((ks * y).sum()) / float((ky * y).sum())
        else:
            q /= max(1.0, gnorm)
        for (s, _y, _ks, ky, rho), a in zip(history, reversed(coefs), strict=True):
            q += s * (a - rho * float((ky * q).sum()))
        direction = -q
        k_direction = k @ direction
        slope = float((k_grad * direction).sum())
        if slope >= 0:  # lost descent (numerical noise): restart from the gradient
            history.clear()
            direction, k_direction = -grad / max(1.0, gnorm), -k_grad / max(1.0, gnorm)
            slope = float((k_grad * direction).sum())
        step = 1.0
        while True:
            new_alpha = alpha + step * direction
            new_k_alpha = k_alpha + step * k_direction
            new_value, new_grad = evaluate(new_alpha, new_k_alpha)
            if new_value <= value + 1e-4 * step * slope or step < 1e-10:
                break
            step *= 0.5
        new_k_grad = k @ new_grad
        s_vec, ks_vec = step * direction, step * k_direction
        y_vec, ky_vec = new_grad - grad, new_k_grad - k_grad
        sy = float((ks_vec * y_vec).sum())
        if sy > 1e-12:
            history.append((s_vec, y_vec, ks_vec, ky_vec, 1.0 / sy))
        improvement = value - new_value
        alpha, k_alpha, value = new_alpha, new_k_alpha, new_value
        grad, k_grad = new_grad, new_k_grad
        if improvement < 1e-9 * max(1.0, abs(value)):
            break
    dense = extra.T @ alpha if extra is not None else None
    return LinearModel(x.transpose().dot(alpha), alpha.sum(axis=0), dense)
