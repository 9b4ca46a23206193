"""QLinearLookup: an elementwise float chain between two statically quantized tensors,
Dequantize -> HardSwish / HardSigmoid / LeakyRelu / Clamp / Sigmoid / Swish (SiLU) / Tanh ... ->
Quantize, as one 256-byte table.

A uint8 input has 256 values, so the chain's whole output is known at compile time: the table
holds Quantize(chain(Dequantize(q))) for every q, computed in float32 with the kernels' order of
operations (dequantize f32(q - zp) * scale; the ops below; quantize clip(x / scale, -zp, 255 - zp)
rounded half to even, + zp). The module then reads the table (x8_lut.wat) instead of making
three passes over float data. The reference graph keeps the chain in standard ops
(DequantizeLinear -> op ... -> QuantizeLinear), which onnxruntime computes with the same bits.
Made by the static int8 pass (passes/quantize.py: an activation that reads a uint8 tensor), never imported.
"""

from __future__ import annotations

import numpy as np

from ..backend.program import Ptr

IR_OP = "QLinearLookup"
IMPORTS: dict = {}
EXACT = ("HardSwish", "HardSigmoid", "LeakyRelu", "Clamp")  # ops whose float32 result numpy reproduces exactly
# Transcendental activations: their table is the correctly rounded float64 function quantized, and
# the reference graph holds that table (a Gather), since no float32 Sigmoid is every runtime's.
BY_VALUE = ("Sigmoid", "Swish", "Tanh")
TABLED = EXACT + BY_VALUE

f32 = np.float32


def _apply(op: str, attrs: dict, x: np.ndarray) -> np.ndarray:
    """One op of the chain in float32, in the order its wasm kernel computes it (finite x only);
    a BY_VALUE op in float64, rounded once to float32."""
    if op in BY_VALUE:
        v = x.astype(np.float64)
        if op == "Tanh":
            return np.tanh(v).astype(f32)
        alpha = float(f32(attrs.get("alpha", 1.0)))
        gate = 1.0 / (1.0 + np.exp(-(alpha * v if op == "Swish" else v)))
        return (v * gate if op == "Swish" else gate).astype(f32)
    if op == "HardSwish":
        return x * np.minimum(np.maximum(x * f32(1 / 6) + f32(0.5), f32(0)), f32(1))
    if op == "HardSigmoid":
        return np.minimum(np.maximum(x * f32(attrs["alpha"]) + f32(attrs["beta"]), f32(0)), f32(1))
    if op == "LeakyRelu":
        return np.where(x < 0, x * f32(attrs["alpha"]), x).astype(f32)
    return np.minimum(np.maximum(x, f32(attrs["min"])), f32(attrs["max"])).astype(f32)


def table(chain: list, x_scale: float, x_zp: int, y_scale: float, y_zp: int) -> np.ndarray:
    """The 256 outputs of Dequantize -> chain -> Quantize."""
    x = (np.arange(256, dtype=np.int32) - x_zp).astype(f32) * f32(x_scale)
    with np.errstate(over="ignore"):
        for op, attrs in chain:
            x = _apply(op, attrs, x).astype(f32)
        v = np.clip(x / f32(y_scale), f32(-y_zp), f32(255 - y_zp))
    return (np.rint(v).astype(np.int32) + y_zp).astype(np.uint8)


def lower(graph, node, program) -> None:
    a = node.attrs
    lut = program.weight(f"{node.outputs[0]}__lut", table(a["chain"], a["x_scale"], a["x_zp"], a["y_scale"], a["y_zp"]))
    program.call("x8_lut", [graph.info(node.outputs[0]).size, lut, Ptr(node.inputs[0]), Ptr(node.outputs[0])], node.name)


def export(ex, node) -> None:
    """DequantizeLinear -> the chain in standard ops -> QuantizeLinear; a chain with a BY_VALUE op:
    the table itself, Gather(table, x)."""
    a, y = node.attrs, node.outputs[0]
    if any(op in BY_VALUE for op, _ in a["chain"]):
        index = ex.temp(y)
        ex.add("Cast", [node.inputs[0]], index, to=6)  # int32
        ex.add("Gather", [ex.const(f"{y}__lut", table(a["chain"], a["x_scale"], a["x_zp"], a["y_scale"], a["y_zp"])),
                          index], y, axis=0)
        return
    x = ex.temp(y)
    ex.add("DequantizeLinear", [node.inputs[0], ex.const(f"{y}__x_scale", f32(a["x_scale"])),
                                ex.const(f"{y}__x_zp", np.uint8(a["x_zp"]))], x)
    for op, attrs in a["chain"]:
        out = ex.temp(y)
        if op == "Clamp":
            ex.clamp(x, out, attrs["min"], attrs["max"])
        else:
            ex.add(op, [x], out, **attrs)
        x = out
    ex.add("QuantizeLinear", [x, ex.const(f"{y}__y_scale", f32(a["y_scale"])),
                              ex.const(f"{y}__y_zp", np.uint8(a["y_zp"]))], y)


def flops(graph, node) -> int:
    return 0

