"""Einsum: any equation ONNX accepts (explicit "->" or implicit output, ellipses that broadcast,
repeated labels within an operand, any number of operands), decomposed at import into IR ops.

Each operand first loses its repeated labels (a diagonal: the IR op Diagonal below, one x_copy_nd
whose steps add the repeated axes' steps) and the labels no other operand and not the output
reads (IR Reduce, a sum). Operands then contract left to right, two at a time: labels both share
and something later still reads are batch axes, shared labels nothing later reads are contracted,
the rest are kept. float32 operands are transposed to [batch, kept, contracted] and
[batch, contracted, kept] and multiplied by IR MatMul (Gemm for a constant 2-D right operand); the
other dtypes ONNX allows (integers, float16, bfloat16, float64) multiply with broadcasting in their
own arithmetic (x_elementwise) and sum the contracted axis (IR Reduce: x_reduce, integers in 64
bits saturated to the dtype, floats in float64 rounded once). A final transpose puts the labels in
the output's order. Constant operands are rearranged in numpy at compile time.
"""

from __future__ import annotations

import math
import re

import numpy as np
from onnx import helper

from .. import dtypes
from ..backend.gather import Dim, emit_gather, row_major_steps
from ..backend.program import Ptr
from ..errors import ModelFormatError, UnsupportedModelError
from . import elementwise
from .matmul import import_matmul
from .permute import emit_transpose

IR_OP = "Diagonal"
NUMERIC = ("uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64", "float16", "float32", "float64",
           "bfloat16")
TERM = re.compile(r"^([A-Za-z]|\.\.\.)*$")


def parse(node, equation: str, ranks: list[int]) -> tuple[list[list], list]:
    """The labels of every operand and of the output; an ellipsis becomes one integer label per
    axis it covers, right-aligned across operands (so its axes broadcast as numpy's do)."""
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ranks) or not all(TERM.match(t) for t in terms + [rhs]):
        raise ModelFormatError(f"Einsum node {node.name!r}: equation {equation!r} does not fit {len(ranks)} inputs")
    operands, ellipsis_rank = [], 0
    for term, rank in zip(terms, ranks):
        letters = term.replace("...", "")
        covered = rank - len(letters)
        if covered < 0 or (covered and "..." not in term) or term.count("...") > 1:
            raise ModelFormatError(f"Einsum node {node.name!r}: term {term!r} does not fit an input of rank {rank}")
        ellipsis_rank = max(ellipsis_rank, covered if "..." in term else 0)
        head, _, tail = term.partition("...")
        operands.append((list(head), covered if "..." in term else None, list(tail)))
    labels = []
    for head, covered, tail in operands:
        middle = [] if covered is None else list(range(ellipsis_rank - covered, ellipsis_rank))
        labels.append(head + middle + tail)
    ellipsis = list(range(ellipsis_rank))
    if arrow:
        if rhs.count("...") > 1:
            raise ModelFormatError(f"Einsum node {node.name!r}: output {rhs!r} has two ellipses")
        if ellipsis_rank and "..." not in rhs:  # numpy and onnxruntime refuse it too
            raise ModelFormatError(f"Einsum node {node.name!r}: inputs have ellipses but the output {rhs!r} "
                                   "has none")
        head, dots, tail = rhs.partition("...")
        output = list(head) + (ellipsis if dots else []) + list(tail)
        letters = [label for label in output if isinstance(label, str)]
        if len(set(letters)) != len(letters) or any(all(label not in ls for ls in labels) for label in letters):
            raise ModelFormatError(f"Einsum node {node.name!r}: output {rhs!r} repeats a label or names one no "
                                   "input has")
    else:
        counts: dict[str, int] = {}
        for ls in labels:
            for label in ls:
                if isinstance(label, str):
                    counts[label] = counts.get(label, 0) + 1
        output = ellipsis + sorted(label for label, n in counts.items() if n == 1)
    return labels, output


class _Decomposer:
    """Emits the IR of one Einsum node; an operand is (tensor name, labels)."""

    def __init__(self, im, node, dtype: str):
        self.im, self.node, self.dtype = im, node, dtype
        self.y = node.output[0]

    def constant(self, name: str) -> np.ndarray | None:
        return self.im.constants.get(name)

    def _new_constant(self, value: np.ndarray) -> str:
        name = self.im.fresh(f"{self.y}_const")
        self.im.constants[name] = np.ascontiguousarray(value, dtype=dtypes.numpy_dtype(self.dtype))
        return name

    def transpose(self, name: str, perm: list[int]) -> str:
        if perm == sorted(perm):
            return name
        if (value := self.constant(name)) is not None:
            return self._new_constant(np.transpose(value, perm))
        out = self.im.fresh(f"{self.y}_t")
        emit_transpose(self.im, name, out, perm, self.node.name)
        return out

    def reshape(self, name: str, shape: tuple[int, ...]) -> str:
        if self.im.shape(name) == tuple(shape):
            return name
        if (value := self.constant(name)) is not None:
            return self._new_constant(value.reshape(shape))
        out = self.im.fresh(f"{self.y}_r")
        self.im.emit("Reshape", [name], out, tuple(shape), self.node.name, dtype=self.dtype)
        return out

    def reduce_sum(self, name: str, axes: list[int]) -> str:
        if not axes:
            return name
        shape = self.im.shape(name)
        if (value := self.constant(name)) is not None:
            return self._new_constant(np.sum(value, axis=tuple(axes), dtype=value.dtype))
        out = self.im.fresh(f"{self.y}_sum")
        self.im.emit("Reduce", [name], out, tuple(d for i, d in enumerate(shape) if i not in axes), self.node.name,
                     dtype=self.dtype, kind="sum", axes=tuple(sorted(axes)), keepdims=False)
        return out

    def diagonal(self, name: str, labels: list) -> tuple[str, list]:
        """Every label repeated in an operand walked once (its axes' steps added)."""
        unique = list(dict.fromkeys(labels))
        if len(unique) == len(labels):
            return name, labels
        groups = [tuple(i for i, label in enumerate(labels) if label == u) for u in unique]
        shape = self.im.shape(name)
        for group in groups:
            if len({shape[i] for i in group}) != 1:
                raise ModelFormatError(f"Einsum node {self.node.name!r}: a repeated label spans axes of sizes "
                                       f"{[shape[i] for i in group]}")
        out_shape = tuple(shape[g[0]] for g in groups)
        if (value := self.constant(name)) is not None:
            return self._new_constant(_take_diagonal(value, groups)), unique
        out = self.im.fresh(f"{self.y}_diag")
        self.im.emit(IR_OP, [name], out, out_shape, self.node.name, dtype=self.dtype, groups=tuple(groups))
        return out, unique

    def multiply(self, a: str, b: str) -> str:
        """a @ b of [batch, m, k] and [batch, k, n] (float32), or the broadcast product of
        [batch, m, 1, k] and [batch, 1, n, k] summed over k (every other dtype)."""
        out = self.im.fresh(f"{self.y}_mm")
        if self.dtype == "float32":
            import_matmul(self.im, helper.make_node("MatMul", [a, b], [out], name=self.node.name), {})
            return out
        va, vb = self.constant(a), self.constant(b)
        if va is not None and vb is not None:
            return self._new_constant(np.sum(va * vb, axis=-1, dtype=va.dtype))
        product = self.im.fresh(f"{self.y}_prod")
        elementwise.emit(self.im, self.node, "mul", [a, b], self.dtype, output=product)
        return self.reduce_sum(product, [len(self.im.shape(product)) - 1])


def _take_diagonal(value: np.ndarray, groups: list[tuple[int, ...]]) -> np.ndarray:
    """numpy: out[i_0, ...] = value at the axes of group g all at index i_g."""
    out_shape = tuple(value.shape[g[0]] for g in groups)
    index = [None] * value.ndim
    grids = np.indices(out_shape, sparse=True) if out_shape else []
    for grid, group in zip(grids, groups):
        for axis in group:
            index[axis] = grid
    return value[tuple(index)] if groups else value


def import_einsum(im, node, at) -> None:
    inputs = list(node.input)
    kinds = {im.dtype(name) for name in inputs}
    if len(kinds) != 1:
        raise ModelFormatError(f"Einsum node {node.name!r}: inputs have different dtypes ({dtypes.describe(kinds)})")
    dtype = kinds.pop()
    if dtype not in NUMERIC:
        raise UnsupportedModelError(f"Einsum node {node.name!r}: input dtype {dtype} is not one Einsum computes "
                                    f"({dtypes.describe(NUMERIC)})")
    equation = at.get("equation", b"")
    equation = equation.decode() if isinstance(equation, bytes) else str(equation)
    labels, output = parse(node, equation, [len(im.shape(name)) for name in inputs])
    work = _Decomposer(im, node, dtype)
    sizes: dict = {}
    for name, ls in zip(inputs, labels):
        for label, size in zip(ls, im.shape(name)):
            if sizes.get(label, 1) not in (1, size) and size != 1:
                raise ModelFormatError(f"Einsum node {node.name!r}: label {label!r} has sizes {sizes[label]} and {size}")
            sizes[label] = max(sizes.get(label, 1), size)
    operands = []
    for i, name in enumerate(inputs):  # diagonals; sum the labels nothing else reads; drop broadcast 1s
        name, ls = work.diagonal(name, labels[i])
        others = set(output).union(*(labels[j] for j in range(len(inputs)) if j != i))
        shape = im.shape(name)
        alone = [a for a, label in enumerate(ls) if label not in others]
        name = work.reduce_sum(name, alone)
        ls = [label for a, label in enumerate(ls) if a not in alone]
        shape = im.shape(name)
        broadcast = [a for a, label in enumerate(ls) if shape[a] == 1 and sizes[label] != 1]
        if broadcast:
            ls = [label for a, label in enumerate(ls) if a not in broadcast]
            name = work.reshape(name, tuple(d for a, d in enumerate(shape) if a not in broadcast))
        operands.append((name, ls))
    name, ls = operands[0]
    for j in range(1, len(operands)):
        later = set(output).union(*(operands[k][1] for k in range(j + 1, len(operands))))
        name, ls = _contract(work, (name, ls), operands[j], later, sizes)
    extra = [a for a, label in enumerate(ls) if label not in output]  # only when one operand reads a label twice
    name = work.reduce_sum(name, extra)
    ls = [label for a, label in enumerate(ls) if a not in extra]
    name = work.transpose(name, [ls.index(label) for label in output])
    out_shape = tuple(sizes[label] for label in output)
    if name in im.constants:
        im.emit("Concat", [work.reshape(name, out_shape)], node.output[0], out_shape, node.name, dtype=dtype, axis=0)
        return
    im.emit("Reshape", [name], node.output[0], out_shape, node.name, dtype=dtype)


def _contract(work: _Decomposer, a: tuple[str, list], b: tuple[str, list], later: set, sizes: dict) -> tuple[str, list]:
    (name_a, la), (name_b, lb) = a, b
    batch = [label for label in la if label in lb and label in later]
    summed = [label for label in la if label in lb and label not in later]
    kept_a = [label for label in la if label not in lb]
    kept_b = [label for label in lb if label not in la]
    bt, m, k, n = (math.prod(sizes[label] for label in part) for part in (batch, kept_a, summed, kept_b))
    if work.dtype == "float32":
        ta = work.reshape(work.transpose(name_a, [la.index(x) for x in batch + kept_a + summed]), (bt, m, k))
        tb = work.reshape(work.transpose(name_b, [lb.index(x) for x in batch + summed + kept_b]), (bt, k, n))
    else:
        ta = work.reshape(work.transpose(name_a, [la.index(x) for x in batch + kept_a + summed]), (bt, m, 1, k))
        tb = work.reshape(work.transpose(name_b, [lb.index(x) for x in batch + kept_b + summed]), (bt, 1, n, k))
    product = work.multiply(ta, tb)
    labels = batch + kept_a + kept_b
    return work.reshape(product, tuple(sizes[label] for label in labels)), labels


IMPORTS = {"Einsum": (import_einsum, 1, 2**31)}


def diagonal_table(shape: tuple[int, ...], groups) -> np.ndarray:
    """The flat index into x of every output element (the reference graph's Gather)."""
    strides = [math.prod(shape[a + 1:]) for a in range(len(shape))]
    out_shape = tuple(shape[g[0]] for g in groups)
    flat = np.zeros(out_shape, np.int64)
    for axis, (grid, group) in enumerate(zip(np.indices(out_shape), groups)):
        flat += grid * sum(strides[a] for a in group)
    return flat


def lower(graph, node, program) -> None:
    x, y = node.inputs[0], node.outputs[0]
    shape, out = graph.shape_of(x), graph.info(y).shape
    esize = dtypes.itemsize(graph.info(y).dtype)
    x_steps = row_major_steps(shape, esize)
    dims = [Dim(count, sum(x_steps[a] for a in group), ys)
            for count, group, ys in zip(out, node.attrs["groups"], row_major_steps(out, esize))]
    emit_gather(program, node.name, program.operand(graph, x), Ptr(y), dims, esize=esize)


def export(ex, node) -> None:
    x, y = node.inputs[0], node.outputs[0]
    shape = ex.graph.shape_of(x)
    flat = ex.temp(y)
    source = ex.graph_const(x) if ex.graph.is_constant(x) else x
    ex.add("Reshape", [source, ex.const(f"{y}__flat", np.array([-1], np.int64))], flat)
    ex.add("Gather", [flat, ex.const(f"{y}__diagonal", diagonal_table(shape, node.attrs["groups"]))], y, axis=0)


def flops(graph, node) -> int:
    return 0
