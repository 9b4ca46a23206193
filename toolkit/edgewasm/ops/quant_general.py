"""QuantizeLinear and DequantizeLinear in every form the spec allows, decomposed at import into
dtype-generic IR ops (Cast, Elementwise, Reshape, Gather) that compute what onnx's reference
computes (onnx/reference/ops/op_quantize_linear.py, op_dequantize_linear.py), with onnxruntime's
answer where the two differ (float16/bfloat16 divide in float32; a NaN quantizes to the lowest
integer code).

quantize_linear.py and dequantize_linear.py keep their fused uint8 per-tensor kernels and hand
every other node here:

  QuantizeLinear   scale and zero point reshaped (per-tensor, per-axis) or repeated (blocked,
                   block_size) to broadcast against x; q = x / scale in the compute dtype (the
                   `precision` attribute's, else float32: float16/bfloat16 x and scales divide in
                   float32 as onnxruntime does, int32 x in float64 as numpy promotes it);
                   integer outputs: rint (half to even), + zero point in int32, clipped to the
                   output dtype's range (a NaN gives the lowest value, as onnxruntime);
                   int4/uint4/int2/uint2 outputs are that value's low bits (IR op Narrow: one
                   byte per element, the code in the low bits, as bundle.py stores them); float8 outputs: cast with `saturate` (ops/cast.py: x_cast);
                   float4_e2m1fn: + zero point, then cast (saturating, as ml_dtypes).
  DequantizeLinear (float(x) - float(zero point)) * scale in float32 (float64 for int32 x, as
                   numpy promotes it), then the output dtype (output_dtype, else the scale's);
                   a float8 or float4 x ignores its (zero) zero point, as the reference does.

IR op Narrow: y = x & mask stored one byte per element (x int32 in the sub-byte dtype's range):
the sub-byte code of an integer value.
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..backend.elementwise import emit_elementwise
from ..backend.program import Ptr
from ..errors import ModelFormatError, UnsupportedModelError
from . import elementwise
from .cast import emit_cast

IR_OP = "Narrow"
IMPORTS: dict = {}

INT_RANGES = {"uint8": (0, 255), "int8": (-128, 127), "uint16": (0, 65535), "int16": (-32768, 32767),
              "uint4": (0, 15), "int4": (-8, 7), "uint2": (0, 3), "int2": (-2, 1)}
SUB_BYTE = {"int4": 0xF, "uint4": 0xF, "int2": 0x3, "uint2": 0x3}
FLOAT8 = ("float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz")
SMALL_FLOATS = FLOAT8 + ("float4_e2m1fn",)
COMPUTE = ("float32", "float64", "float16", "bfloat16")


def _optional(node, index: int) -> str | None:
    return node.input[index] if len(node.input) > index and node.input[index] else None


class _Builder:
    """Emits the IR nodes of one decomposed node; constants are transformed in numpy instead."""

    def __init__(self, im, node):
        self.im, self.node = im, node
        self.where = f"{node.op_type} node {node.name!r}"
        self.base = node.output[0]

    def const(self, value, dtype: str) -> str:
        name = self.im.fresh(f"{self.base}__q")
        self.im.constants[name] = np.asarray(value).astype(dtypes.numpy_dtype(dtype))
        return name

    def cast(self, name: str, dtype: str, output: str | None = None, saturate: int = 1) -> str:
        im = self.im
        if im.dtype(name) == dtype and output is None:
            return name
        if name in im.constants and output is None:
            return self.const(im.constants[name].astype(dtypes.numpy_dtype(dtype)), dtype)
        out = output or im.fresh(f"{self.base}__q")
        emit_cast(im, self.node, name, out, dtype, saturate=saturate)
        return out

    def ew(self, op: str, inputs: list[str], dtype: str, output: str | None = None) -> str:
        out = output or self.im.fresh(f"{self.base}__q")
        elementwise.emit(self.im, self.node, op, inputs, dtype, out)
        return out

    def expand(self, name: str, x_shape: tuple[int, ...], axis: int, block: int, what: str) -> str:
        """The scale or zero point `name` made broadcastable to x (reference's reshape_input)."""
        im, shape = self.im, self.im.shape(name)
        size = math.prod(shape)
        rank = len(x_shape)
        if size == 1 and (not block or len(shape) <= 1):
            return self._reshape(name, ())
        if not -rank <= axis < rank:
            raise ModelFormatError(f"{self.where}: axis {axis} is out of range for an input of rank {rank}")
        axis %= rank
        if not block:
            if len(shape) != 1 or shape[0] != x_shape[axis]:
                raise ModelFormatError(f"{self.where}: {what} of shape {shape} is neither per tensor nor per axis "
                                       f"{axis} of an input of shape {x_shape}")
            return self._reshape(name, tuple(x_shape[axis] if i == axis else 1 for i in range(rank)))
        if block < 0:
            raise ModelFormatError(f"{self.where}: block_size must be positive, got {block}")
        blocks = -(-x_shape[axis] // block)
        if len(shape) != rank or shape[axis] != blocks or \
                any(s != d for i, (s, d) in enumerate(zip(shape, x_shape)) if i != axis):
            raise ModelFormatError(f"{self.where}: {what} of shape {shape} does not block an input of shape "
                                   f"{x_shape} by {block} along axis {axis}")
        indices = np.arange(x_shape[axis]) // block
        if name in im.constants:
            return self.const(np.take(im.constants[name], indices, axis=axis), im.dtype(name))
        out = im.fresh(f"{self.base}__q")
        im.emit("Gather", [name], out, x_shape, self.node.name, dtype=im.dtype(name), axis=axis, indices=indices)
        return out

    def _reshape(self, name: str, shape: tuple[int, ...]) -> str:
        im = self.im
        if im.shape(name) == shape:
            return name
        if name in im.constants:
            return self.const(im.constants[name].reshape(shape), im.dtype(name))
        out = im.fresh(f"{self.base}__q")
        im.emit("Reshape", [name], out, shape, self.node.name, dtype=im.dtype(name))
        return out


def _promote(a: str, b: str) -> str:
    try:
        promoted = dtypes.of_array(np.empty(0, np.promote_types(dtypes.numpy_dtype(a), dtypes.numpy_dtype(b))))
    except TypeError:
        promoted = "float32"
    if dtypes.is_integer(promoted):  # int32 x and an int32 scale divide as numpy does: in float64
        return "float64"
    return promoted if promoted in COMPUTE else "float32"


def general_quantize(im, node, at) -> None:
    b = _Builder(im, node)
    x, scale, zp = node.input[0], node.input[1], _optional(node, 2)
    x_shape, x_dtype = im.shape(x), im.dtype(x)
    if x_dtype not in ("float32", "float16", "bfloat16", "int32"):
        raise ModelFormatError(f"{b.where}: x has dtype {x_dtype}; QuantizeLinear reads float32, float16, "
                               "bfloat16 or int32")
    requested = int(at.get("output_dtype", 0))
    target = dtypes.from_onnx(requested) if requested else None
    if zp is not None:
        if target is not None and target != im.dtype(zp):
            raise ModelFormatError(f"{b.where}: output_dtype {target} differs from the zero point's {im.dtype(zp)}")
        target = im.dtype(zp)
    target = target or "uint8"
    if target not in INT_RANGES and target not in SMALL_FLOATS:
        raise UnsupportedModelError(f"{b.where}: quantizing to {target} is not supported (edgewasm quantizes to "
                                    f"{', '.join(list(INT_RANGES) + list(SMALL_FLOATS))})")
    precision = int(at.get("precision", 0))
    # float16/bfloat16 divide in float32 unless `precision` says otherwise (as onnxruntime does)
    compute = dtypes.from_onnx(precision) if precision else _promote(_promote(x_dtype, im.dtype(scale)), "float32")
    if compute not in COMPUTE:
        raise UnsupportedModelError(f"{b.where}: precision {compute} is not supported (float32, float64, float16, "
                                    "bfloat16)")
    axis, block = int(at.get("axis", 1)), int(at.get("block_size", 0))
    s = b.cast(b.expand(scale, x_shape, axis, block, "the scale"), compute)
    q = b.ew("div", [b.cast(x, compute), s], compute)
    y = node.output[0]
    if target in INT_RANGES:
        lo, hi = INT_RANGES[target]
        r = b.ew("round", [q], compute)
        bound = min(2.0**30, float(np.finfo(dtypes.numpy_dtype(compute)).max))
        low = b.const(-bound, compute)
        r = b.ew("where", [b.ew("isnan", [r], "bool"), low, r], compute)  # NaN -> the lowest code, as onnxruntime
        r = b.ew("clip", [r, low, b.const(bound, compute)], compute)
        r = b.cast(r, "int32")
        if zp is not None:
            r = b.ew("add", [r, b.cast(b.expand(zp, x_shape, axis, block, "the zero point"), "int32")], "int32")
        r = b.ew("clip", [r, b.const(lo, "int32"), b.const(hi, "int32")], "int32")
        if target in SUB_BYTE:
            im.emit("Narrow", [r, b.const(SUB_BYTE[target], "int32")], y, x_shape, node.name, dtype=target)
        else:
            b.cast(r, target, output=y)
        return
    if target == "float4_e2m1fn" and zp is not None:
        q = b.ew("add", [q, b.cast(b.expand(zp, x_shape, axis, block, "the zero point"), compute)], compute)
    b.cast(q, target, output=y, saturate=int(at.get("saturate", 1)))


def general_dequantize(im, node, at) -> None:
    b = _Builder(im, node)
    x, scale, zp = node.input[0], node.input[1], _optional(node, 2)
    x_shape, x_dtype = im.shape(x), im.dtype(x)
    if x_dtype not in ("int8", "uint8", "int16", "uint16", "int32") + tuple(SUB_BYTE) + SMALL_FLOATS:
        raise UnsupportedModelError(f"{b.where}: dequantizing {x_dtype} is not supported")
    requested = int(at.get("output_dtype", 0))
    out_dtype = dtypes.from_onnx(requested) if requested else im.dtype(scale)
    if out_dtype not in ("float32", "float16", "bfloat16"):
        raise ModelFormatError(f"{b.where}: the output dtype {out_dtype} is not float32, float16 or bfloat16")
    axis, block = int(at.get("axis", 1)), int(at.get("block_size", 0))
    compute = "float64" if x_dtype == "int32" else "float32"
    d = b.cast(x, compute)
    if zp is not None and x_dtype not in SMALL_FLOATS:
        if im.dtype(zp) != x_dtype:
            raise ModelFormatError(f"{b.where}: the zero point has dtype {im.dtype(zp)}, x {x_dtype}")
        d = b.ew("sub", [d, b.cast(b.expand(zp, x_shape, axis, block, "the zero point"), compute)], compute)
    s = b.cast(b.expand(scale, x_shape, axis, block, "the scale"), compute)
    y = node.output[0]
    if out_dtype == compute:
        b.ew("mul", [d, s], compute, output=y)
    else:
        b.cast(b.ew("mul", [d, s], compute), out_dtype, output=y)


def lower(graph, node, program) -> None:
    x, mask = node.inputs
    y = graph.info(node.outputs[0])
    emit_elementwise(program, node.name, "bitand",
                     [(program.operand(graph, x), graph.shape_of(x), "int32"),
                      (program.operand(graph, mask), graph.shape_of(mask), "int32")],
                     Ptr(y.name), y.shape, "uint8")


def export(ex, node) -> None:
    target = ex.graph.info(node.outputs[0]).dtype
    ex.add("Cast", [node.inputs[0]], node.outputs[0], to=dtypes.to_onnx(target))
    ex.opset = max(ex.opset, 25 if target in ("int2", "uint2") else 21)


def flops(graph, node) -> int:
    return 0
