"""Gemm: y = clamp(x @ w + bias), w constant [K, N]; rows = prod(x.shape[:-1]).

Imports ONNX Gemm (transA/transB/alpha/beta folded at compile time); ONNX MatMul by constant 2-D
weights becomes this op too (matmul.py). Lowers to the register-blocked f32_gemm kernels with
weights packed into panels.
"""

from __future__ import annotations

import math

import numpy as np

from ..backend.packing import f32_gemm_kernel, pack_f32_gemm
from ..backend.program import Ptr
from ..errors import ModelFormatError, UnsupportedModelError

IR_OP = "Gemm"
INF = math.inf


def _import_wide_gemm(im, node, at, a: str, b: str, c: str | None) -> None:
    """Gemm on float64 (and the integer dtypes ONNX allows): alpha * A' @ B' (+ beta * C) as an Einsum
    (computed in the dtype's own arithmetic, float64 in float64) and x_elementwise multiply/add;
    A and B may be computed at run time."""
    from .. import dtypes
    from . import elementwise
    from .matmul import import_wide

    dtype = im.dtype(a)
    if any(im.dtype(name) != dtype for name in (b, c) if name):
        raise ModelFormatError(f"Gemm node {node.name!r}: A, B and C have different dtypes")
    if len(im.shape(a)) != 2 or len(im.shape(b)) != 2:
        raise ModelFormatError(f"Gemm node {node.name!r}: A and B must be 2-D")
    m, k = im.shape(a)[::-1] if at.get("transA", 0) else im.shape(a)
    k2, n = im.shape(b)[::-1] if at.get("transB", 0) else im.shape(b)
    if k != k2:
        raise ModelFormatError(f"Gemm node {node.name!r}: inner dimensions differ ({k} vs {k2})")
    equation = f"{'ji' if at.get('transA', 0) else 'ij'},{'kj' if at.get('transB', 0) else 'jk'}->ik"
    alpha, beta = float(at.get("alpha", 1.0)), float(at.get("beta", 1.0))
    scalar = dtypes.numpy_dtype(dtype).type
    out = node.output[0]
    product = im.fresh(f"{out}_ab") if alpha != 1.0 or c is not None else out
    import_wide(im, node, equation, [a, b], product)
    if alpha != 1.0:
        scaled = im.fresh(f"{out}_alpha_ab") if c is not None else out
        alpha_name = im.fresh(f"{out}_alpha")
        im.constants[alpha_name] = np.array(alpha, dtype=scalar)
        elementwise.emit(im, node, "mul", [product, alpha_name], dtype, scaled)
        product = scaled
    if c is None:
        return
    try:
        np.broadcast_shapes(im.shape(c), (m, n))
    except ValueError:
        raise ModelFormatError(f"Gemm node {node.name!r}: C of shape {im.shape(c)} does not broadcast to "
                               f"{(m, n)}") from None
    if beta != 1.0:
        if c in im.constants:
            scaled_c = im.fresh(f"{out}_beta_c")
            im.constants[scaled_c] = (im.constants[c] * np.array(beta, dtype=scalar)).astype(scalar)
        else:
            beta_name, scaled_c = im.fresh(f"{out}_beta"), im.fresh(f"{out}_beta_c")
            im.constants[beta_name] = np.array(beta, dtype=scalar)
            elementwise.emit(im, node, "mul", [c, beta_name], dtype, scaled_c)
        c = scaled_c
    elementwise.emit(im, node, "add", [product, c], dtype, out)


def _import_run_time_b(im, node, at, a: str, b: str, c: str | None) -> None:
    """B computed at run time: the ONNX ops Gemm is defined by (Transpose, MatMul, Mul by alpha and
    beta, Add), each imported by its own unit (float16/bfloat16 compute in float32 between casts)."""
    from onnx import helper

    from .. import dtypes

    if len(im.shape(a)) != 2 or len(im.shape(b)) != 2:
        raise ModelFormatError(f"Gemm node {node.name!r}: A and B must be 2-D")
    out, nodes = node.output[0], []
    scalar = dtypes.numpy_dtype(im.dtype(a))

    def step(op, inputs, **attrs):
        name = im.fresh(f"{out}_{op.lower()}")
        nodes.append(helper.make_node(op, inputs, [name], node.name, **attrs))
        return name

    def constant(base, value):
        name = im.fresh(f"{out}_{base}")
        im.constants[name] = np.asarray(value, scalar)
        return name

    if at.get("transA", 0):
        a = step("Transpose", [a], perm=[1, 0])
    if at.get("transB", 0):
        b = step("Transpose", [b], perm=[1, 0])
    y = step("MatMul", [a, b])
    alpha, beta = float(at.get("alpha", 1.0)), float(at.get("beta", 1.0))
    if alpha != 1.0:
        y = step("Mul", [y, constant("alpha", alpha)])
    if c is not None:
        if beta != 1.0:
            c = step("Mul", [c, constant("beta", beta)])
        y = step("Add", [y, c])
    nodes[-1].output[0] = out
    im.import_nodes(nodes)


def import_gemm(im, node, at) -> None:
    a, b = node.input[0], node.input[1]
    c = node.input[2] if len(node.input) > 2 and node.input[2] else None
    from .matmul import WIDE_DTYPES

    if im.dtype(a) in WIDE_DTYPES:
        _import_wide_gemm(im, node, at, a, b, c)
        return
    if b not in im.constants:
        _import_run_time_b(im, node, at, a, b, c)
        return
    for name in (a, b, c):
        if name:
            im.require_float(node, name)
    if len(im.shape(a)) != 2 or len(im.shape(b)) != 2:
        raise UnsupportedModelError(f"Gemm node {node.name!r}: A and B must be 2-D")
    w = im.const(b, node, "B (the weights)").astype(np.float32)
    if at.get("transB", 0):
        w = w.T
    alpha, beta = float(at.get("alpha", 1.0)), float(at.get("beta", 1.0))
    if alpha != 1.0:
        w = w * np.float32(alpha)
    x = a
    if at.get("transA", 0):
        if a in im.constants:
            raise UnsupportedModelError(f"Gemm node {node.name!r}: a constant A is not supported")
        rows, cols = im.shape(a)
        x = im.fresh(f"{a}_T")
        im.emit("Transpose2D", [a], x, (cols, rows), node.name)
    m, k = im.shape(x)
    if w.shape[0] != k:
        raise ModelFormatError(f"Gemm node {node.name!r}: inner dimensions differ ({k} vs {w.shape[0]})")
    n = w.shape[1]
    out = node.output[0]
    bias, extra = None, None
    if c is not None:
        cval = im.const(c, node, "C (the bias)").astype(np.float32) * np.float32(beta)
        if cval.size == 1 or (cval.ndim >= 1 and cval.shape[-1] == n and cval.size == n):
            bias = np.broadcast_to(cval.reshape(-1), (n,)).astype(np.float32)
        else:
            try:
                extra = np.ascontiguousarray(np.broadcast_to(cval, (m, n)), dtype=np.float32)
            except ValueError:
                raise ModelFormatError(f"Gemm node {node.name!r}: C of shape {cval.shape} does not "
                                       f"broadcast to {(m, n)}") from None
    wname = im.add_constant(f"{b}_w", w)
    inputs = [x, wname] + ([im.add_constant(f"{b}_bias", bias)] if bias is not None else [])
    gemm_out = im.fresh(out) if extra is not None else out
    im.emit("Gemm", inputs, gemm_out, (m, n), node.name, min=-INF, max=INF)
    if extra is not None:
        im.emit("Add", [gemm_out, im.add_constant(f"{c}_full", extra)], out, (m, n), node.name)


IMPORTS = {"Gemm": (import_gemm, 2, 3)}  # MatMul: see matmul.py (a constant 2-D B becomes a Gemm)


def lower(graph, node, program) -> None:
    x, wname = node.inputs[0], node.inputs[1]
    w = graph.constants[wname]
    bias = graph.constants[node.inputs[2]] if len(node.inputs) > 2 else None
    xshape = graph.info(x).shape
    rows, k, n = math.prod(xshape[:-1]), xshape[-1], w.shape[1]
    # keyed by the constants, not the node: Gemms that share weights (an unrolled recurrence's
    # steps, ops/recurrent.py) share one packed copy
    packed_name = f"{wname}__packed" + (f"__{node.inputs[2]}" if len(node.inputs) > 2 else "")
    packed = (Ptr(packed_name) if packed_name in program.weights
              else program.weight(packed_name, pack_f32_gemm(w.astype(np.float32), bias)))
    kernel = f32_gemm_kernel(rows, n, k)
    program.call(kernel, [rows, n, k, Ptr(x), 4 * k, packed, Ptr(node.outputs[0]), 4 * n,
                          float(node.attrs["min"]), float(node.attrs["max"])], node.name)


def export(ex, node) -> None:
    x, w = node.inputs[0], node.inputs[1]
    y = node.outputs[0]
    lo, hi = node.attrs["min"], node.attrs["max"]
    clamped = lo != -INF or hi != INF
    pre = ex.temp(y) if clamped else y
    inputs = [x, ex.graph_const(w)] + [ex.graph_const(b) for b in node.inputs[2:]]
    if len(ex.graph.info(x).shape) == 2:
        ex.add("Gemm", inputs, pre)
    elif len(inputs) == 3:
        mm = ex.temp(y)
        ex.add("MatMul", inputs[:2], mm)
        ex.add("Add", [mm, inputs[2]], pre)
    else:
        ex.add("MatMul", inputs, pre)
    if clamped:
        ex.clamp(pre, y, lo, hi)


def flops(graph, node) -> int:
    return 2 * graph.info(node.outputs[0]).size * graph.constants[node.inputs[1]].shape[0]
