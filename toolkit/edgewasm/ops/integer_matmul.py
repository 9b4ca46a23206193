"""MatMulInteger and QLinearMatMul on any operands (run-time A and B, int8 or uint8 on either side,
per-tensor, per-row or per-column scales and zero points, float16/bfloat16 scales): decomposed at
import as onnx's reference computes them, with IR op IntMatMul (int32 x int32 -> int32, numpy's
matmul broadcasting, exact wrapping int32 accumulation: i32_matmul in wasm-kernels/x_quant.wat).

  MatMulInteger  (int32(A) - a_zp) @ (int32(B) - b_zp)
  QLinearMatMul  y = saturate(rint(C * (a_scale * b_scale / y_scale) + y_zp)), C as above; the
                 multiplier in the scales' dtype, the product in float64 (numpy's promotion of
                 int32 and a float scale), rint half to even.

A's 1-D scale and zero point of more than one value are per row (shape [M] read as [M, 1]); B's
are per column (broadcast against the last axis). The fused onnxruntime forms (uint8 A, constant
B: qlinear_gemm.py, integer_gemm.py) are imported by their units first; only the rest comes here.
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..backend.broadcast import output_shape
from ..backend.program import Ptr
from ..errors import ModelFormatError, UnsupportedModelError
from .quant_general import INT_RANGES, _Builder, _optional

IR_OP = "IntMatMul"
IMPORTS: dict = {}


def _int_matmul(b: _Builder, a: str, w: str, output: str) -> None:
    im, node = b.im, b.node
    a_shape, w_shape = im.shape(a), im.shape(w)
    if not a_shape or not w_shape:
        raise ModelFormatError(f"{b.where}: matmul operands must have rank >= 1, got {a_shape} and {w_shape}")
    a2 = b._reshape(a, (1, a_shape[0])) if len(a_shape) == 1 else a
    w2 = b._reshape(w, (w_shape[0], 1)) if len(w_shape) == 1 else w
    sa, sw = im.shape(a2), im.shape(w2)
    if sa[-1] != sw[-2]:
        raise ModelFormatError(f"{b.where}: A of shape {a_shape} does not multiply B of shape {w_shape}")
    try:
        batch = output_shape(sa[:-2], sw[:-2])
    except ValueError:
        raise ModelFormatError(f"{b.where}: batch dimensions of {a_shape} and {w_shape} do not broadcast") from None
    shape = (*batch, sa[-2], sw[-1])
    final = (*batch, *([sa[-2]] if len(a_shape) > 1 else []), *([sw[-1]] if len(w_shape) > 1 else []))
    out = output if final == shape else im.fresh(f"{b.base}__q")
    im.emit(IR_OP, [a2, w2], out, shape, node.name, dtype="int32")
    if out != output:
        im.emit("Reshape", [out], output, final, node.name, dtype="int32")


def _centered(b: _Builder, x: str, zp: str | None, per_row: bool) -> str:
    x32 = b.cast(x, "int32")
    if zp is None:
        return x32
    if b.im.dtype(zp) != b.im.dtype(x):
        raise ModelFormatError(f"{b.where}: zero point {zp!r} has dtype {b.im.dtype(zp)}, its operand "
                               f"{b.im.dtype(x)}")
    return b.ew("sub", [x32, b.cast(_param(b, zp, x, per_row), "int32")], "int32")


def _param(b: _Builder, name: str, operand: str, per_row: bool) -> str:
    """A scale or zero point made to broadcast against its operand: a 1-D one of A is per row."""
    shape = b.im.shape(name)
    if math.prod(shape) == 1:
        return b._reshape(name, ())
    if per_row and len(shape) == 1 and len(b.im.shape(operand)) >= 2:
        return b._reshape(name, (shape[0], 1))
    return name


def _check_ints(b: _Builder, *names: str) -> None:
    for name in names:
        if b.im.dtype(name) not in ("int8", "uint8"):
            raise UnsupportedModelError(f"{b.where}: {name!r} has dtype {b.im.dtype(name)}; integer matmuls "
                                        "read int8 or uint8 here")


def general_matmul_integer(im, node, at) -> None:
    b = _Builder(im, node)
    a, w = node.input[0], node.input[1]
    _check_ints(b, a, w)
    _int_matmul(b, _centered(b, a, _optional(node, 2), True), _centered(b, w, _optional(node, 3), False),
                node.output[0])


def general_qlinear_matmul(im, node, at) -> None:
    b = _Builder(im, node)
    a, a_scale, a_zp, w, w_scale, w_zp, y_scale, y_zp = node.input
    _check_ints(b, a, w)
    target = im.dtype(y_zp)
    if target not in ("int8", "uint8"):
        raise UnsupportedModelError(f"{b.where}: a {target} output is not supported (int8 or uint8)")
    scale_dtype = im.dtype(a_scale)
    if scale_dtype not in ("float32", "float16", "bfloat16") or \
            {im.dtype(w_scale), im.dtype(y_scale)} != {scale_dtype}:
        raise ModelFormatError(f"{b.where}: the scales must share one float dtype, got "
                               f"{im.dtype(a_scale)}, {im.dtype(w_scale)}, {im.dtype(y_scale)}")
    acc = im.fresh(f"{b.base}__acc")
    _int_matmul(b, _centered(b, a, a_zp, True), _centered(b, w, w_zp, False), acc)
    multiplier = b.ew("div", [b.ew("mul", [_param(b, a_scale, a, True), _param(b, w_scale, w, False)],
                                   scale_dtype), _param(b, y_scale, w, False)], scale_dtype)
    d = b.ew("mul", [b.cast(acc, "float64"), b.cast(multiplier, "float64")], "float64")
    d = b.ew("add", [d, b.cast(_param(b, y_zp, w, False), "float64")], "float64")
    lo, hi = INT_RANGES[target]
    d = b.ew("clip", [b.ew("round", [d], "float64"), b.const(lo, "float64"), b.const(hi, "float64")], "float64")
    shape = im.shape(acc)
    if im.shape(d) != shape:
        raise ModelFormatError(f"{b.where}: the scales and zero points do not broadcast to the output {shape}")
    b.cast(d, target, output=node.output[0])


def _conv_accumulator(b: _Builder, at, x: str, w: str, x_zp: str | None, w_zp: str | None, bias: str | None,
                      output: str) -> None:
    """int32 ConvInteger (+ an int32 bias per output channel) as im2col and IntMatMul: the centered
    input, flattened with one zero appended, gathered by a compile-time index table (padding reads
    the zero), times the centered weights viewed [group, M / group, C / group * kernel]."""
    from ..frontend.spatial import sliding_window

    im, node = b.im, b.node
    xs, ws = im.shape(x), im.shape(w)
    if len(xs) < 3 or len(ws) != len(xs):
        raise ModelFormatError(f"{b.where}: input {xs} and weights {ws} are not a convolution's")
    n, c, m = xs[0], xs[1], ws[0]
    group = int(at.get("group", 1))
    if group < 1 or c % group or m % group or ws[1] != c // group:
        raise ModelFormatError(f"{b.where}: group {group} does not fit input {xs} and weights {ws}")
    kernel = tuple(int(k) for k in at.get("kernel_shape", ws[2:]))
    if kernel != tuple(ws[2:]):
        raise ModelFormatError(f"{b.where}: kernel_shape {kernel} differs from the weights' {tuple(ws[2:])}")
    window = sliding_window(node, at, tuple(xs[2:]), kernel)
    _check_ints(b, x, w)
    xc = _centered(b, x, x_zp, False)
    if x_zp is not None and math.prod(im.shape(x_zp)) != 1:
        raise UnsupportedModelError(f"{b.where}: the input zero point must be one value, got {im.shape(x_zp)}")
    wc = b.cast(w, "int32")
    if w_zp is not None:
        if im.dtype(w_zp) != im.dtype(w):
            raise ModelFormatError(f"{b.where}: the weights' zero point has dtype {im.dtype(w_zp)}, not {im.dtype(w)}")
        zshape = im.shape(w_zp)
        if math.prod(zshape) == 1:
            z = b._reshape(w_zp, ())
        elif len(zshape) == 1 and zshape[0] == m:
            z = b._reshape(w_zp, (m,) + (1,) * (len(ws) - 1))
        else:
            raise ModelFormatError(f"{b.where}: the weights' zero point of shape {zshape} is neither per tensor "
                                   f"nor per output channel ({m})")
        wc = b.ew("sub", [wc, b.cast(z, "int32")], "int32")
    spatial, out = tuple(xs[2:]), tuple(window.out_spatial)
    cg, size, taps, positions = c // group, math.prod(xs[2:]), math.prod(kernel), math.prod(out)
    # input coordinates of every (kernel tap, output position), per spatial dimension
    tap_grid = np.indices(kernel).reshape(len(kernel), -1)
    out_grid = np.indices(out).reshape(len(out), -1)
    flat = np.zeros((taps, positions), np.int64)
    valid = np.ones((taps, positions), bool)
    for d in range(len(spatial)):
        coord = (out_grid[d][None, :] * window.strides[d] - window.pads_begin[d]
                 + tap_grid[d][:, None] * window.dilations[d])
        valid &= (coord >= 0) & (coord < spatial[d])
        flat = flat * spatial[d] + np.clip(coord, 0, spatial[d] - 1)
    channels = np.arange(c).reshape(group, cg, 1, 1) * size
    indices = np.where(valid[None, None], channels + flat[None, None], c * size)  # [G, Cg, taps, P]
    indices = indices.reshape(group, cg * taps, positions)
    xf = b._reshape(xc, (n, c * size))
    padded = im.fresh(f"{b.base}__q")
    im.emit("Concat", [xf, b.const(np.zeros((n, 1)), "int32")], padded, (n, c * size + 1), node.name,
            dtype="int32", axis=1)
    columns = im.fresh(f"{b.base}__q")
    im.emit("Gather", [padded], columns, (n, group, cg * taps, positions), node.name, dtype="int32", axis=1,
            indices=indices)
    acc = im.fresh(f"{b.base}__q")
    _int_matmul(b, b._reshape(wc, (group, m // group, cg * taps)), columns, acc)
    acc = b._reshape(acc, (n, m, *out))
    if bias is not None:
        if im.dtype(bias) != "int32" or math.prod(im.shape(bias)) != m:
            raise ModelFormatError(f"{b.where}: the bias must be int32 of {m} values, got {im.dtype(bias)} "
                                   f"{im.shape(bias)}")
        acc = b.ew("add", [acc, b._reshape(bias, (m,) + (1,) * len(out))], "int32")
    if output:
        im.emit("Reshape", [acc], output, im.shape(acc), node.name, dtype="int32")


def general_conv_integer(im, node, at) -> None:
    b = _Builder(im, node)
    _conv_accumulator(b, at, node.input[0], node.input[1], _optional(node, 2), _optional(node, 3), None,
                      node.output[0])


def general_qlinear_conv(im, node, at) -> None:
    b = _Builder(im, node)
    x, x_scale, x_zp, w, w_scale, w_zp, y_scale = node.input[:7]
    y_zp, bias = _optional(node, 7), _optional(node, 8)
    target = im.dtype(y_zp) if y_zp else im.dtype(x)
    if target not in ("int8", "uint8"):
        raise UnsupportedModelError(f"{b.where}: a {target} output is not supported (int8 or uint8)")
    acc = im.fresh(f"{b.base}__acc")
    _conv_accumulator(b, at, x, w, x_zp or None, w_zp or None, bias, acc)
    shape = im.shape(acc)
    m = shape[1]
    ws = im.shape(w_scale)
    if math.prod(ws) == 1:
        w_s = b._reshape(w_scale, ())
    elif len(ws) == 1 and ws[0] == m:
        w_s = b._reshape(w_scale, (m,) + (1,) * (len(shape) - 2))
    else:
        raise ModelFormatError(f"{b.where}: the weights' scale of shape {ws} is neither per tensor nor per output "
                               f"channel ({m})")
    for name in (x_scale, y_scale) + ((y_zp,) if y_zp else ()):
        if math.prod(im.shape(name)) != 1:
            raise ModelFormatError(f"{b.where}: {name!r} must be one value, got shape {im.shape(name)}")
    multiplier = b.ew("div", [b.ew("mul", [b._reshape(x_scale, ()), w_s], "float32"), b._reshape(y_scale, ())],
                      "float32")
    d = b.ew("mul", [b.cast(acc, "float64"), b.cast(multiplier, "float64")], "float64")
    if y_zp:
        d = b.ew("add", [d, b.cast(b._reshape(y_zp, ()), "float64")], "float64")
    lo, hi = INT_RANGES[target]
    d = b.ew("round", [b.ew("clip", [d, b.const(lo, "float64"), b.const(hi, "float64")], "float64")], "float64")
    b.cast(d, target, output=node.output[0])


def fused_or_general(importer, general):
    """An importer that tries the fused onnxruntime form (`importer`) and, when that refuses the
    node, imports it by `general` instead (undoing whatever the failed attempt added)."""

    def run(im, node, at) -> None:
        constants, tensors, nodes = set(im.constants), set(im.tensors), len(im.nodes)
        try:
            importer(im, node, at)
        except UnsupportedModelError:
            for name in set(im.constants) - constants:
                del im.constants[name]
            for name in set(im.tensors) - tensors:
                del im.tensors[name]
            del im.nodes[nodes:]
            general(im, node, at)

    return run


def _batch_offsets(a_batch, w_batch, out_batch) -> list[tuple[int, int]]:
    rank = len(out_batch)
    pa = (1,) * (rank - len(a_batch)) + tuple(a_batch)
    pw = (1,) * (rank - len(w_batch)) + tuple(w_batch)
    ia = np.broadcast_to(np.arange(math.prod(pa)).reshape(pa), out_batch).reshape(-1)
    iw = np.broadcast_to(np.arange(math.prod(pw)).reshape(pw), out_batch).reshape(-1)
    return list(zip(ia.tolist(), iw.tolist()))


def lower(graph, node, program) -> None:
    a, w = node.inputs
    y = graph.info(node.outputs[0])
    sa, sw = graph.shape_of(a), graph.shape_of(w)
    m, k, n = sa[-2], sa[-1], sw[-1]
    batch = y.shape[:-2]
    count = math.prod(batch)
    pa, pw = program.operand(graph, a), program.operand(graph, w)
    a_size, w_size = m * k * 4, k * n * 4
    na, nw = math.prod(sa[:-2]), math.prod(sw[:-2])
    if (na in (1, count)) and (nw in (1, count)):
        program.call("i32_matmul", [count, m, k, n, pa, a_size if na > 1 else 0, pw, w_size if nw > 1 else 0,
                                    Ptr(y.name)], node.name)
        return
    for t, (ia, iw) in enumerate(_batch_offsets(sa[:-2], sw[:-2], batch)):
        program.call("i32_matmul", [1, m, k, n, Ptr(pa.tensor, pa.offset + ia * a_size), 0,
                                    Ptr(pw.tensor, pw.offset + iw * w_size), 0, Ptr(y.name, t * m * n * 4)],
                     node.name)


def export(ex, node) -> None:
    """int32 @ int32 as float64 MatMul (exact while sums stay below 2^53), back to int32."""
    a, w = (ex.graph_const(i) if ex.graph.is_constant(i) else i for i in node.inputs)
    y = node.outputs[0]
    fa, fw, fy = f"{y}__a_f64", f"{y}__b_f64", f"{y}__f64"
    ex.add("Cast", [a], fa, to=dtypes.to_onnx("float64"))
    ex.add("Cast", [w], fw, to=dtypes.to_onnx("float64"))
    ex.add("MatMul", [fa, fw], fy)
    ex.add("Cast", [fy], y, to=dtypes.to_onnx("int32"))


def flops(graph, node) -> int:
    a = graph.shape_of(node.inputs[0])
    return 2 * graph.info(node.outputs[0]).size * a[-1]
