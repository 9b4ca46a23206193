"""TfIdfVectorizer (opset 9) over int32/int64 tokens [C] or [B, C] against the constant int64 pool
(pool_int64s): y float32 [out] or [B, out], out = max(ngram_indexes) + 1, modes TF, IDF, TFIDF,
min/max_gram_length, max_skip_count, optional weights (the i-th weighs the pool's i-th n-gram, as
the spec and onnxruntime say, laid out at compile time by that n-gram's output column; onnx's
reference reads them by output column instead). One x_tfidf call (wasm-kernels/x_tfidf.wat) with the pool's n-grams of the
counted sizes and their output columns laid out at compile time. String pools are refused."""

from __future__ import annotations

import math

import numpy as np

from ..backend.program import Ptr
from ..errors import ModelFormatError, UnsupportedModelError

IR_OP = "TfIdfVectorizer"
MODES = {"TF": 1, "IDF": 2, "TFIDF": 3}


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def pool_grams(node, at) -> tuple[list[tuple[int, ...]], list[int], int]:
    """(n-grams of sizes min..max, their output columns, out size): the pool split by
    ngram_counts into runs of 1-grams, 2-grams, ...; a repeated n-gram keeps its last column."""
    pool = [int(v) for v in at.get("pool_int64s", [])]
    counts = [int(v) for v in at.get("ngram_counts", [])]
    indexes = [int(v) for v in at.get("ngram_indexes", [])]
    lo, hi = int(at.get("min_gram_length", 0)), int(at.get("max_gram_length", 0))
    if not indexes or min(indexes) < 0:
        raise ModelFormatError(f"TfIdfVectorizer node {node.name!r}: ngram_indexes must be non-empty and >= 0")
    if any(b < a for a, b in zip(counts, counts[1:] + [len(pool)])) or (counts and (counts[0] < 0 or counts[-1] > len(pool))):
        raise ModelFormatError(f"TfIdfVectorizer node {node.name!r}: ngram_counts {counts} do not split a pool of "
                               f"{len(pool)} items")
    columns: dict[tuple[int, ...], int] = {}
    number = 0
    for i, start in enumerate(counts):
        k = i + 1
        end = counts[i + 1] if i + 1 < len(counts) else len(pool)
        for g in range((end - start) // k):
            if number >= len(indexes):
                raise ModelFormatError(f"TfIdfVectorizer node {node.name!r}: the pool has more n-grams than "
                                       f"ngram_indexes ({len(indexes)})")
            if lo <= k <= hi:
                gram = tuple(pool[start + g * k:start + (g + 1) * k])
                columns.pop(gram, None)
                columns[gram] = indexes[number]
            number += 1
    return list(columns), list(columns.values()), max(indexes) + 1


def import_tfidf(im, node, at) -> None:
    x, y = node.input[0], node.output[0]
    dtype, shape = im.dtype(x), im.shape(x)
    if at.get("pool_strings"):
        raise UnsupportedModelError(f"TfIdfVectorizer node {node.name!r}: string pools (pool_strings) are not "
                                    "supported; tokens must be int32 or int64 (pool_int64s)")
    if dtype not in ("int32", "int64"):
        raise UnsupportedModelError(f"TfIdfVectorizer node {node.name!r}: input {x!r} has dtype {dtype}; tokens must "
                                    "be int32 or int64")
    if len(shape) not in (1, 2):
        raise ModelFormatError(f"TfIdfVectorizer node {node.name!r}: input of shape {shape} is not [C] or [B, C]")
    mode = _text(at.get("mode", b""))
    if mode not in MODES:
        raise ModelFormatError(f"TfIdfVectorizer node {node.name!r}: mode {mode!r} is not TF, IDF or TFIDF")
    lo, hi, skip = int(at.get("min_gram_length", 0)), int(at.get("max_gram_length", 0)), int(at.get("max_skip_count", 0))
    if not 1 <= lo <= hi or skip < 0:
        raise ModelFormatError(f"TfIdfVectorizer node {node.name!r}: min_gram_length {lo}, max_gram_length {hi} and "
                               f"max_skip_count {skip} must satisfy 1 <= min <= max, skip >= 0")
    grams, columns, out = pool_grams(node, at)
    given = [float(w) for w in at.get("weights", [])]
    indexes = [int(v) for v in at.get("ngram_indexes", [])]
    if given and len(given) != len(indexes):
        raise ModelFormatError(f"TfIdfVectorizer node {node.name!r}: {len(given)} weights for {len(indexes)} "
                               "ngram_indexes; they must be as many")
    weights = [0.0] * out if given else []
    for column, weight in zip(indexes, given):
        weights[column] = weight
    out_shape = (out,) if len(shape) == 1 else (shape[0], out)
    items = [v for gram in grams for v in gram]
    desc, offset = [lo, hi, skip, out, MODES[mode], int(bool(weights)), len(grams)], 0
    for gram, column in zip(grams, columns):
        desc += [len(gram), offset, column]
        offset += len(gram)
    im.emit("TfIdfVectorizer", [x], y, out_shape, node.name, dtype="float32", desc=np.array(desc, np.int32),
            pool=np.array(items or [0], np.int64), weights=np.array(weights or [0.0], np.float32),
            onnx_attrs={k: at[k] for k in at})


IMPORTS = {"TfIdfVectorizer": (import_tfidf, 1, 1)}


def lower(graph, node, program) -> None:
    x, y = node.inputs[0], node.outputs[0]
    shape = graph.shape_of(x)
    rows, c = (1, shape[0]) if len(shape) == 1 else shape
    if graph.info(y).size == 0:
        return
    program.call("x_tfidf", [8 if graph.dtype_of(x) == "int32" else 10, rows, c, program.operand(graph, x),
                             program.weight(f"{y}__pool", node.attrs["pool"]),
                             program.table(f"{y}__tfidf", node.attrs["desc"]),
                             program.weight(f"{y}__weights", node.attrs["weights"]), Ptr(y)], node.name)


def export(ex, node) -> None:
    x = ex.graph_const(node.inputs[0]) if ex.graph.is_constant(node.inputs[0]) else node.inputs[0]
    ex.add("TfIdfVectorizer", [x], node.outputs[0], **node.attrs["onnx_attrs"])


def flops(graph, node) -> int:
    return 0
