"""Descriptors for x_elementwise (wasm-kernels/x_elementwise.wat): elementwise ops in any dtype.

An op over one to three operands with numpy broadcasting is described as dimensions (count, one
byte step per operand and one for y), size-1 dimensions dropped and neighbours that continue every
operand's walk merged, so most calls are one flat run.
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..errors import UnsupportedModelError
from .program import Ptr

# op name -> op code of x_elementwise.wat
OPS = {
    "copy": 0, "neg": 1, "abs": 2, "sign": 3, "not": 4, "bitnot": 5, "isnan": 6, "isinf": 7, "isposinf": 8,
    "isneginf": 9, "floor": 10, "ceil": 11, "round": 12, "reciprocal": 13,
    "add": 20, "sub": 21, "mul": 22, "div": 23, "mod": 24, "fmod": 25, "max": 26, "min": 27, "pow": 28, "clip": 29,
    "equal": 30, "less": 31, "less_equal": 32, "greater": 33, "greater_equal": 34,
    "and": 35, "or": 36, "xor": 37, "bitand": 38, "bitor": 39, "bitxor": 40, "shl": 41, "shr": 42,
    "where": 50,
}
INTEGER_CLASS, UINT64_CLASS, FLOAT_CLASS, RAW_CLASS = 0, 1, 2, 3
FLOAT_ONLY = {"isnan", "isinf", "isposinf", "isneginf", "floor", "ceil", "round"}
INTEGER_ONLY = {"bitnot", "bitand", "bitor", "bitxor", "shl", "shr"}
NOT_IN_FLOAT_CLASS = INTEGER_ONLY | {"pow"}  # f32 Pow has its own SIMD kernel (f32_vbinary_nd)


def compute_class(op: str, dtype: str) -> int:
    """How x_elementwise computes `op` on operands of `dtype` (the first value operand's)."""
    if op in ("copy", "where") and dtype != "bool":
        return RAW_CLASS
    if dtypes.is_float(dtype):
        return FLOAT_CLASS
    return UINT64_CLASS if dtype == "uint64" else INTEGER_CLASS


def supports(op: str, dtype: str) -> bool:
    """Whether x_elementwise computes `op` on `dtype` operands."""
    if dtype not in dtypes.COMPUTED:
        return False
    if dtypes.is_float(dtype):
        return op not in NOT_IN_FLOAT_CLASS or (op == "pow" and dtype == "float64")  # $f64_pow
    return op not in FLOAT_ONLY


def broadcast_dims(out_shape: tuple[int, ...], operands: list[tuple[tuple[int, ...], int]],
                   y_itemsize: int) -> list[tuple[int, list[int]]]:
    """[(count, [byte step per operand..., y step])] outer to inner for y = op(operands), numpy
    broadcasting; operands are (shape, itemsize). Size-1 dims dropped, continuing walks merged."""
    rank = len(out_shape)
    steps_per_operand = []
    for shape, itemsize in operands:
        padded = (1,) * (rank - len(shape)) + tuple(shape)
        steps, step = [], itemsize
        for d in reversed(padded):
            steps.append(step if d != 1 else 0)
            step *= d
        steps_per_operand.append(steps[::-1])
    y_steps, step = [], y_itemsize
    for d in reversed(out_shape):
        y_steps.append(step)
        step *= d
    y_steps = y_steps[::-1]
    merged: list[tuple[int, list[int]]] = []  # inner first
    for axis in reversed(range(rank)):
        count = out_shape[axis]
        steps = [s[axis] for s in steps_per_operand] + [y_steps[axis]]
        if count == 1:
            continue
        if merged:
            inner_count, inner_steps = merged[-1]
            if all(s == i * inner_count for s, i in zip(steps, inner_steps)):
                merged[-1] = (inner_count * count, inner_steps)
                continue
        merged.append((count, steps))
    return merged[::-1] or [(1, [0] * len(operands) + [y_itemsize])]


def descriptor(op: str, cls: int, operand_dtypes: list[str], y_dtype: str,
               dims: list[tuple[int, list[int]]]) -> np.ndarray:
    codes = [dtypes.kernel_code(d) for d in operand_dtypes]
    codes += [codes[-1]] * (3 - len(codes))
    words = [OPS[op], cls, *codes, dtypes.kernel_code(y_dtype), len(dims)]
    for count, steps in dims:
        operand_steps = steps[:-1] + [0] * (3 - (len(steps) - 1))
        words += [count, *operand_steps, steps[-1]]
    values = np.array(words, np.int64)
    if np.abs(values).max(initial=0) >= 2**31:
        raise UnsupportedModelError("an elementwise op spans more than 2 GiB; wasm32 memory cannot hold it")
    return values.astype(np.int32)


def emit_elementwise(program, node: str, op: str, operands: list[tuple[Ptr, tuple[int, ...], str]],
                     y: Ptr, out_shape: tuple[int, ...], y_dtype: str, cls: int | None = None) -> None:
    """Append one x_elementwise call: y = op(*operands) with numpy broadcasting (operands are
    (pointer, shape, dtype)); the class defaults to the one the value operands' dtype calls for."""
    if math.prod(out_shape) == 0:
        return
    if cls is None:
        value_dtype = operands[1][2] if op == "where" else operands[0][2]
        cls = compute_class(op, value_dtype)
    dims = broadcast_dims(tuple(out_shape), [(shape, dtypes.itemsize(dtype)) for _, shape, dtype in operands],
                          dtypes.itemsize(y_dtype))
    desc = program.table(f"{y.tensor}__ew{len(program.calls)}",
                         descriptor(op, cls, [d for _, _, d in operands], y_dtype, dims))
    pointers = [p for p, _, _ in operands]
    pointers += [pointers[0]] * (3 - len(pointers))
    program.call("x_elementwise", [desc, *pointers, y], node)
