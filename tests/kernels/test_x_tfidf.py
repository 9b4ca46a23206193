"""x_tfidf (wasm-kernels/x_tfidf.wat) against a scalar reference of the n-gram counting (every skip
distance, unigrams once, the smallest-n-gram stop) and the TF/IDF/TFIDF weighting, on int32 and
int64 tokens, random pools and rows."""

from __future__ import annotations

import numpy as np
import pytest

from .harness import KernelRunner

MODES = {"TF": 1, "IDF": 2, "TFIDF": 3}


def reference(x: np.ndarray, grams: list[tuple[int, ...]], columns: list[int], lo: int, hi: int, skip: int,
              out: int, mode: str, weights: list[float] | None) -> np.ndarray:
    table = dict(zip(grams, columns))
    y = np.zeros((x.shape[0], out), np.float32)
    for r, row in enumerate(x.tolist()):
        start = lo
        for d in range(1, skip + 2):
            for s in range(len(row)):
                if s + d * (start - 1) >= len(row):
                    break
                for k in range(start, hi + 1):
                    if s + d * (k - 1) >= len(row):
                        break
                    gram = tuple(row[s + d * j] for j in range(k))
                    if gram in table:
                        y[r, table[gram]] += 1
            if start == 1:
                start = 2
                if start > hi:
                    break
        for i in range(out):
            f, w = y[r, i], (weights[i] if weights else 1.0)
            if mode == "IDF":
                y[r, i] = w if f > 0 else 0
            elif mode == "TFIDF":
                y[r, i] = np.float32(w) * f if weights else f
    return y


def run_tfidf(x, grams, columns, lo, hi, skip, out, mode, weights):
    desc, items = [lo, hi, skip, out, MODES[mode], int(bool(weights)), len(grams)], []
    for gram, column in zip(grams, columns):
        desc += [len(gram), len(items), column]
        items += list(gram)
    runner = KernelRunner("x_tfidf")
    x_off = runner.put_at_end(np.ascontiguousarray(x))
    pool = runner.put(np.array(items or [0], np.int64))
    table = runner.put(np.array(desc, np.int32), misalign=0)
    w_off = runner.put(np.array(weights or [0.0], np.float32))
    y_off = runner.alloc(4 * x.shape[0] * out)
    runner.call("x_tfidf", 8 if x.dtype == np.int32 else 10, x.shape[0], x.shape[1], x_off, pool, table, w_off, y_off)
    return runner.read(y_off, (x.shape[0], out), np.float32)


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("lo, hi, skip", [(1, 1, 0), (1, 2, 0), (2, 2, 3), (1, 3, 2), (2, 3, 0), (3, 3, 5)])
@pytest.mark.parametrize("weighted", [False, True])
def test_x_tfidf_matches_reference(dtype, mode, lo, hi, skip, weighted):
    rng = np.random.default_rng([lo, hi, skip, int(weighted), list(MODES).index(mode)])
    vocab = np.array([2, 3, 5, 7, -1, 2**40 if dtype == np.int64 else 11], dtype)
    x = rng.choice(vocab, (3, 13))
    grams = sorted({tuple(int(v) for v in rng.choice(vocab, k)) for k in range(lo, hi + 1) for _ in range(6)})
    out = len(grams) + 2
    columns = [int(c) for c in rng.permutation(out)[:len(grams)]]
    weights = [float(w) for w in rng.uniform(0.1, 2.0, out).astype(np.float32)] if weighted else None
    got = run_tfidf(x, grams, columns, lo, hi, skip, out, mode, weights)
    np.testing.assert_array_equal(got, reference(x, grams, columns, lo, hi, skip, out, mode, weights))


def test_x_tfidf_counts_by_hand():
    x = np.array([[1, 2, 1, 2, 3]], np.int32)
    # unigram 1 twice, bigram (1, 2) twice at distance 1, (1, 1) once at distance 2, (2, 3) once
    got = run_tfidf(x, [(1,), (1, 2), (1, 1), (2, 3)], [0, 1, 2, 3], 1, 2, 1, 5, "TF", None)
    assert got.tolist() == [[2, 2, 1, 1, 0]]
    got = run_tfidf(x, [(1,), (1, 2)], [0, 1], 2, 2, 0, 3, "TF", None)  # min 2: the unigram is not counted
    assert got.tolist() == [[0, 2, 0]]
