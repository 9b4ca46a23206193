"""Cast and CastLike between any two dtypes, at run time.

Most casts are one x_elementwise copy in the source dtype's compute class (wasm-kernels/x_elementwise.wat
documents the conversions: ONNX's, with numpy's answer where ONNX leaves it open). Casts to float32
from the wide floats have SIMD128 kernels (f16_vcvt.wat, in_f32_vcvt.wat), and from the 8-bit and
sub-byte dtypes a 256-entry table computed here with ml_dtypes (so every code means exactly what
numpy says; sub-byte dtypes take one byte per element). A float8 or sub-byte source cast to another
computed dtype goes through float32 (exact: every code is a float32). Casts into the float8, float4 and
sub-byte dtypes, from any dtype, are x_cast (wasm-kernels/x_cast.wat: one rounding to nearest even,
`saturate` for the float8 targets, e8m0's `round_mode`, integers wrapped into int4/int2: bit for bit
as onnx.reference computes them, except where ONNX's own text decides otherwise or leaves it open: e8m0's
special values follow the spec's table as onnxruntime does, and a float out of int4/int2's range is
truncated then wrapped as onnxruntime and onnx's test data do). Constants fold by the same rules
(`cast_array`). A cast to the same dtype is a view.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto

from .. import dtypes
from ..backend.elementwise import FLOAT_CLASS, INTEGER_CLASS, UINT64_CLASS, emit_elementwise
from ..backend.program import Ptr
from ..errors import ModelFormatError, UnsupportedModelError

IR_OP = "Cast"
WIDE_KERNELS = {"float16": "f16_f32_vcvt", "bfloat16": "bf16_f32_vcvt", "float64": "f64_f32_vcvt"}
SUB_BYTE_MASKS = {"int4": 0xF, "uint4": 0xF, "float4_e2m1fn": 0xF, "int2": 0x3, "uint2": 0x3}
# the first opset whose Cast reads each dtype (the reference graph's opset is raised to it)
OPSETS = {"float8_e4m3fn": 19, "float8_e4m3fnuz": 19, "float8_e5m2": 19, "float8_e5m2fnuz": 19,
          "int4": 21, "uint4": 21, "float4_e2m1fn": 23, "float8_e8m0fnu": 24, "int2": 25, "uint2": 25}


def lookup_table(dtype: str) -> np.ndarray:
    """The float32 value of every byte as one element of `dtype` (a sub-byte dtype reads the low bits)."""
    codes = np.arange(256, dtype=np.uint8) & np.uint8(SUB_BYTE_MASKS.get(dtype, 0xFF))
    return codes.view(dtypes.numpy_dtype(dtype)).astype(np.float32)


ROUND_MODES = {"up": 0, "down": 1, "nearest": 2}  # x_cast's flags bits 1-2 (e8m0 targets)


def _rounding(node, at) -> dict:
    saturate = int(at.get("saturate", 1))
    round_mode = at.get("round_mode", "up")
    round_mode = round_mode.decode() if isinstance(round_mode, bytes) else str(round_mode)
    if round_mode not in ROUND_MODES:
        raise ModelFormatError(f"{node.op_type} node {node.name!r}: round_mode {round_mode!r} is not one of "
                               f"{', '.join(ROUND_MODES)}")
    return {"saturate": int(bool(saturate)), "round_mode": round_mode}


def import_cast(im, node, at) -> None:
    to = int(at.get("to", 0))
    target = dtypes.from_onnx(to)
    if target is None:
        raise UnsupportedModelError(f"Cast node {node.name!r}: casting to {dtypes.onnx_type_name(to)} is not "
                                    "supported (string and complex tensors are not)")
    emit_cast(im, node, node.input[0], node.output[0], target, **_rounding(node, at))


def import_cast_like(im, node, at) -> None:
    emit_cast(im, node, node.input[0], node.output[0], im.dtype(node.input[1]), **_rounding(node, at))


def emit_cast(im, node, x: str, y: str, target: str, saturate: int = 1, round_mode: str = "up") -> None:
    source = im.dtype(x)
    if target not in dtypes.CAST_CODES:
        raise UnsupportedModelError(f"{node.op_type} node {node.name!r}: casting to {target} is not supported "
                                    f"(tensors are {dtypes.describe(dtypes.CAST_CODES)})")
    im.emit("Cast", [x], y, im.shape(x), node.name, dtype=target, source=source, saturate=saturate,
            round_mode=round_mode)


IMPORTS = {"Cast": (import_cast, 1, 1), "CastLike": (import_cast_like, 2, 2)}


def cast_array(x: np.ndarray, target: str, saturate: int = 1, round_mode: str = "up") -> np.ndarray:
    """numpy's twin of the module's casts (so a folded constant equals what run time computes): onnx.reference's
    Cast, but e8m0 by ONNX's table as onnxruntime computes it and a float into int4/uint4/int2/uint2
    truncated then wrapped (see wasm-kernels/x_cast.wat)."""
    from onnx.reference.ops.op_cast import cast_to

    source = dtypes.of_array(x)
    with np.errstate(all="ignore"):
        if target == "float8_e8m0fnu" and source != target:
            b = (x.view(np.uint32) if source == "float32" else x.astype(np.float32).view(np.uint32)).astype(np.int64)
            exponent = b >> 23 & 0xFF
            m = np.where(exponent == 0, b << 1, b) & 0x7FFFFF
            up = {"up": m != 0, "down": np.zeros(m.shape, bool), "nearest": (m & 0x400000) != 0}[round_mode]
            code = np.where((b < 0x00400000) | (b >= 0x80000000), 0 if saturate else 0xFF,
                            np.where(b > 0x7F000000, 0xFE if saturate else 0xFF, exponent + up))
            code = np.where(np.isnan(x.astype(np.float32)), 0xFF, code)
            return code.astype(np.uint8).view(dtypes.numpy_dtype(target))
        if target in dtypes.SUB_BYTE_BITS and target != "float4_e2m1fn" and dtypes.is_float(source):
            wide = np.trunc(x.astype(np.float64))
            ints = np.where(np.isnan(wide), 0, np.where(wide >= 2.0 ** 63, -1, np.where(
                wide < -(2.0 ** 63), 0, np.clip(wide, -(2.0 ** 63), 2.0 ** 62).astype(np.int64))))
            codes = (np.asarray(ints, np.int64) & ((1 << dtypes.SUB_BYTE_BITS[target]) - 1)).astype(np.uint8)
            return codes.view(dtypes.numpy_dtype(target)).reshape(x.shape)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(cast_to(x, dtypes.to_onnx(target), bool(saturate), round_mode))


def fold_cast(im, node, at) -> list[np.ndarray]:
    x = im.constants[node.input[0]]
    if node.op_type == "CastLike":
        target = im.dtype(node.input[1])
    else:
        target = dtypes.from_onnx(int(at.get("to", 0)))
    rounding = _rounding(node, at)
    if target is None:  # strings: a constant the graph may still fold away
        from onnx.reference.ops.op_cast import cast_to

        return [np.asarray(cast_to(np.asarray(x), int(at.get("to", 0)), bool(rounding["saturate"]),
                                   rounding["round_mode"]))]
    return [cast_array(np.asarray(x), target, rounding["saturate"], rounding["round_mode"])]


FOLDS = {"Cast": fold_cast, "CastLike": fold_cast}


def _class(dtype: str) -> int:
    if dtypes.is_float(dtype):
        return FLOAT_CLASS
    return UINT64_CLASS if dtype == "uint64" else INTEGER_CLASS


def lower(graph, node, program) -> None:
    source, target = node.attrs["source"], graph.info(node.outputs[0]).dtype
    x, y = node.inputs[0], node.outputs[0]
    shape = graph.info(y).shape
    n = graph.info(y).size
    if source == target:
        program.views[y] = x
        return
    if graph.is_constant(x):
        raise ModelFormatError(f"Cast node {node.name!r}: casts of constants fold at import")
    if target in dtypes.LOW_PRECISION:  # any dtype into float8 / float4 / sub-byte: x_cast
        flags = int(node.attrs.get("saturate", 1)) | ROUND_MODES[node.attrs.get("round_mode", "up")] << 1
        program.call("x_cast", [n, Ptr(x), dtypes.CAST_CODES[source], Ptr(y), dtypes.CAST_CODES[target], flags],
                     node.name)
        return
    if source not in dtypes.COMPUTED:  # float8 / sub-byte: through the float32 table
        table = program.weight(f"cast__{source}_to_float32", lookup_table(source))
        if target == "float32":
            program.call("x8_f32_vlut", [n, table, Ptr(x), Ptr(y)], node.name)
            return
        wide = program.temp(f"{y}__float32", 4 * n)
        program.call("x8_f32_vlut", [n, table, Ptr(x), wide], node.name)
        # int4/int2 values are integers: the integer class wraps them into unsigned targets (-1 -> 2^64 - 1)
        cls = INTEGER_CLASS if source in ("int4", "uint4", "int2", "uint2") else FLOAT_CLASS
        emit_elementwise(program, node.name, "copy", [(wide, shape, "float32")], Ptr(y), shape, target, cls)
        return
    if target == "float32" and source in WIDE_KERNELS:
        program.call(WIDE_KERNELS[source], [n, Ptr(x), Ptr(y)], node.name)
        return
    emit_elementwise(program, node.name, "copy", [(Ptr(x), shape, source)], Ptr(y), shape, target, _class(source))


def export(ex, node) -> None:
    target = ex.graph.info(node.outputs[0]).dtype
    attrs = {}
    if target.startswith("float8") and not node.attrs.get("saturate", 1):
        attrs["saturate"] = 0
    if target == "float8_e8m0fnu" and node.attrs.get("round_mode", "up") != "up":
        attrs["round_mode"] = node.attrs["round_mode"]
    ex.add("Cast", [node.inputs[0]], node.outputs[0], to=dtypes.to_onnx(target), **attrs)
    ex.opset = max(ex.opset, OPSETS.get(node.attrs["source"], 0), OPSETS.get(target, 0))


def flops(graph, node) -> int:
    return 0  # a change of encoding, no arithmetic
