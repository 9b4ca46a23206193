"""ReduceMax, ReduceMin, ReduceSum, ReduceMean, ReduceProd, ReduceL1, ReduceL2, ReduceSumSquare,
ReduceLogSum and ReduceLogSumExp over any axes, in every dtype ONNX allows them: axes as an
attribute (before opset 13 for ReduceSum, 18 for the others) or a constant input (from then on),
keepdims, noop_with_empty_axes, empty reductions (the op's identity: -inf for max, 0 for a sum,
1 for a product, -inf for the logs, 0 for a mean as onnxruntime gives).

float32 ReduceSum and ReduceMean are the IR ops ReduceSum / ReduceMean (BatchNormalization's
decomposition emits them too): each run of adjacent reduced axes is one f32_rsum call over x viewed
as [outer, r, inner] (no transposes); non-adjacent runs chain (a mean of means is the mean).
Summation order is documented in wasm-kernels/f32_reduce.wat.

Every other reduction is one IR op Reduce (kind, axes): x is viewed as [outer, r, inner] once
size-1 axes are dropped; reduced axes that are not adjacent are first gathered behind the kept ones
(one x_copy_nd transpose into scratch), so every reduction is one pass over its set. float32 max,
min, L1, L2, sum of squares and log-sum-exp run on the SIMD128 kernels of f32_reduce.wat (log of
the sum is f32_rsum then f32_vlog); ReduceProd and every other dtype on the scalar x_reduce
(wasm-kernels/x_reduce.wat documents its arithmetic: floats in f64 rounded once; integers exact in
64 bits and saturated to their dtype, as onnxruntime's, a column that leaves the 64-bit range
computed in f64; L2 and log results of integers truncated). A reduction over no axes
(noop_with_empty_axes) is the identity for max, min, sum, mean and prod and the elementwise
|x|, x^2, log x ... for the others, which x_reduce computes as a reduction over one element.
"""

from __future__ import annotations

import math

import numpy as np
from onnx import TensorProto

from .. import dtypes
from ..backend.gather import emit_gather, transpose_dims
from ..backend.program import Ptr
from ..errors import UnsupportedModelError
from ..frontend.arguments import axes_argument

IR_OP = ("ReduceMean", "ReduceSum", "Reduce")
KINDS = {"ReduceMax": "max", "ReduceMin": "min", "ReduceSum": "sum", "ReduceMean": "mean", "ReduceProd": "prod",
         "ReduceL1": "l1", "ReduceL2": "l2", "ReduceSumSquare": "sumsquare", "ReduceLogSum": "logsum",
         "ReduceLogSumExp": "logsumexp"}
ONNX_OPS = {kind: op for op, kind in KINDS.items()}
OP_CODES = {"max": 0, "min": 1, "sum": 2, "mean": 3, "prod": 4, "l1": 5, "l2": 6, "sumsquare": 7, "logsum": 8,
            "logsumexp": 9}  # wasm-kernels/x_reduce.wat
AXES_BECOME_INPUT = {op: 13 if op == "ReduceSum" else 18 for op in KINDS}
IDENTITY_OF_ONE = ("max", "min", "sum", "mean", "prod")  # over a single element: the element itself
NORM_MODES = {"l1": 0, "sumsquare": 1, "l2": 2}  # f32_rnorm
EXPORT_OPSET = 18  # the reference graph writes axes as an input (the ReduceX-18 form)


def check_dtype(node, dtype: str, allow_bool: bool = False) -> None:
    """Refuse dtypes no kernel computes (float8, sub-byte) and bool where ONNX does not define the op."""
    if dtype not in dtypes.COMPUTED or (dtype == "bool" and not allow_bool):
        allowed = [d for d in dtypes.COMPUTED if d != "bool" or allow_bool]
        raise UnsupportedModelError(f"{node.op_type} node {node.name!r}: input has dtype {dtype}; "
                                    f"{node.op_type} is computed on {dtypes.describe(allowed)}")


def import_reduce(im, node, at) -> None:
    x, y = node.input[0], node.output[0]
    kind = KINDS[node.op_type]
    dtype = im.dtype(x)
    check_dtype(node, dtype, allow_bool=kind in ("max", "min"))
    shape = im.shape(x)
    axes = axes_argument(im, node, at, 1, len(shape), attribute_until_opset=AXES_BECOME_INPUT[node.op_type])
    keepdims = bool(at.get("keepdims", 1))
    if not axes:  # absent or empty: every axis, or none with noop_with_empty_axes (axes-as-input opsets)
        noop = at.get("noop_with_empty_axes", 0) and im.opset >= AXES_BECOME_INPUT[node.op_type]
        axes = [] if noop else list(range(len(shape)))
    if not axes:  # over no axes (noop, or a rank-0 input): each element is reduced alone
        if kind in IDENTITY_OF_ONE:
            im.emit("Reshape", [x], y, shape, node.name, dtype=dtype)
        else:
            im.emit("Reduce", [x], y, shape, node.name, dtype=dtype, kind=kind, axes=(), keepdims=True)
        return
    if dtype == "float32" and kind in ("sum", "mean"):
        _import_f32_sum(im, node, x, y, shape, axes, keepdims)
        return
    out_shape = tuple(1 if i in axes else d for i, d in enumerate(shape) if keepdims or i not in axes)
    im.emit("Reduce", [x], y, out_shape, node.name, dtype=dtype, kind=kind, axes=tuple(sorted(axes)),
            keepdims=keepdims)


def _import_f32_sum(im, node, x: str, y: str, shape: tuple[int, ...], axes: list[int], keepdims: bool) -> None:
    runs = _adjacent_runs(sorted(axes))
    current, current_shape = x, list(shape)
    for i, (first, last) in enumerate(reversed(runs)):  # innermost run first: outer axes keep their index
        out_shape = current_shape[:first] + [1] * (last - first + 1) + current_shape[last + 1:]
        final = i == len(runs) - 1
        out = y if final and keepdims else im.fresh(f"{y}_reduced")
        im.emit(node.op_type, [current], out, tuple(out_shape), node.name, first=first, last=last)
        current, current_shape = out, out_shape
    if not keepdims:
        im.emit("Reshape", [current], y, tuple(d for i, d in enumerate(shape) if i not in axes), node.name)


def _adjacent_runs(axes: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for a in axes:
        if runs and runs[-1][1] == a - 1:
            runs[-1] = (runs[-1][0], a)
        else:
            runs.append((a, a))
    return runs


IMPORTS = {op: (import_reduce, 1, 2) for op in KINDS}


def reduction_view(shape: tuple[int, ...], axes) -> tuple[int, int, int] | None:
    """(outer, r, inner) such that x viewed as [outer, r, inner] reduces over r, or None when the
    reduced axes are not adjacent once size-1 axes are dropped. An empty set (r = 0) has no layout
    to respect: [kept elements, 0, 1]."""
    axes = set(axes)
    r = math.prod(shape[a] for a in axes)
    kept = math.prod(d for a, d in enumerate(shape) if a not in axes)
    if r == 0:
        return kept, 0, 1
    dims = [(d, a in axes) for a, d in enumerate(shape) if d != 1]
    reduced = [i for i, (_, is_reduced) in enumerate(dims) if is_reduced]
    if not reduced:
        return kept, 1, 1
    if reduced[-1] - reduced[0] + 1 != len(reduced):
        return None
    return (math.prod(d for d, _ in dims[:reduced[0]]), r, math.prod(d for d, _ in dims[reduced[-1] + 1:]))


def lower(graph, node, program) -> None:
    if node.op == "Reduce":
        _lower_reduce(graph, node, program)
        return
    shape = graph.info(node.inputs[0]).shape
    first, last = node.attrs["first"], node.attrs["last"]
    outer, r, inner = math.prod(shape[:first]), math.prod(shape[first:last + 1]), math.prod(shape[last + 1:])
    divisor = float(r) if node.op == "ReduceMean" and r else 1.0  # the mean of nothing is 0, as onnxruntime
    program.call("f32_rsum", [outer, r, inner, Ptr(node.inputs[0]), Ptr(node.outputs[0]), divisor], node.name)


def _lower_reduce(graph, node, program) -> None:
    x, y = node.inputs[0], node.outputs[0]
    if graph.info(y).size == 0:
        return
    shape, dtype, kind = graph.shape_of(x), graph.dtype_of(x), node.attrs["kind"]
    axes = node.attrs["axes"]
    source = program.operand(graph, x)
    view = reduction_view(shape, axes)
    if view is None:  # gather the reduced axes behind the kept ones
        kept = [a for a in range(len(shape)) if a not in axes]
        esize = dtypes.itemsize(dtype)
        gathered = program.temp(f"{y}__gathered", esize * math.prod(shape))
        emit_gather(program, node.name, source, gathered, transpose_dims(shape, tuple(kept) + tuple(axes), esize),
                    esize=esize)
        source = gathered
        view = (math.prod(shape[a] for a in kept), math.prod(shape[a] for a in axes), 1)
    outer, r, inner = view
    if dtype == "float32" and kind != "prod":
        if kind in ("max", "min"):
            program.call("f32_rmax", [outer, r, inner, source, Ptr(y), int(kind == "min")], node.name)
        elif kind in NORM_MODES:
            program.call("f32_rnorm", [outer, r, inner, source, Ptr(y), NORM_MODES[kind]], node.name)
        elif kind == "logsumexp":
            program.call("f32_rlogsumexp", [outer, r, inner, source, Ptr(y)], node.name)
        else:  # sum, mean (over no axes), logsum: a sum, then log in place
            divisor = float(r) if kind == "mean" and r else 1.0
            program.call("f32_rsum", [outer, r, inner, source, Ptr(y), divisor], node.name)
            if kind == "logsum":
                program.call("f32_vlog", [outer * inner, Ptr(y), Ptr(y)], node.name)
        return
    program.call("x_reduce", [OP_CODES[kind], dtypes.kernel_code(dtype), outer, r, inner, source, Ptr(y)], node.name)


def export(ex, node) -> None:
    ex.opset = max(ex.opset, EXPORT_OPSET)
    x, y = node.inputs[0], node.outputs[0]
    if node.op != "Reduce":
        axes, keepdims, op = list(range(node.attrs["first"], node.attrs["last"] + 1)), 1, node.op
    else:
        axes, keepdims, op = list(node.attrs["axes"]), int(node.attrs["keepdims"]), ONNX_OPS[node.attrs["kind"]]
    if ex.graph.is_constant(x):
        x = ex.graph_const(x)
    inputs = [x, ex.const(f"{y}__axes", np.array(axes, np.int64))] if axes else [x]
    extra = {} if axes else {"noop_with_empty_axes": 1}
    if ex.graph.dtype_of(node.inputs[0]) == "bool":  # ReduceMax/Min read bool from opset 20: through uint8
        as_u8, reduced = ex.temp(f"{y}__u8"), ex.temp(f"{y}__reduced")
        ex.add("Cast", [x], as_u8, to=TensorProto.UINT8)
        ex.add(op, [as_u8, *inputs[1:]], reduced, keepdims=keepdims, **extra)
        ex.add("Cast", [reduced], y, to=TensorProto.BOOL)
        return
    ex.add(op, inputs, y, keepdims=keepdims, **extra)


def flops(graph, node) -> int:
    return graph.info(node.inputs[0]).size if dtypes.is_float(graph.dtype_of(node.inputs[0])) else 0
