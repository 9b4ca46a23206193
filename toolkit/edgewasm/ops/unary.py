"""Unary elementwise ops: Sigmoid, Tanh, Erf, Gelu, LeakyRelu, HardSigmoid, HardSwish, Sqrt, Exp,
Log. Each runs one kernel of wasm-kernels/f32_vunary.wat (Exp: f32_softmax.wat's f32_vexp_array);
the transcendentals are polynomials in wat with their measured errors documented there.

The rarer ones (Sin, Cos, Tan, Asin, Acos, Atan, Sinh, Cosh, Asinh, Acosh, Atanh, Softplus,
Softsign, Elu, Selu, Celu, Mish, ThresholdedRelu, Shrink, Swish) share one op-coded kernel,
f32_vunary_op, whose helpers document their accuracy (Sin/Cos: absolute error <= 1.6e-7 for
|x| <= 1.05e6, NaN beyond).

float64 tensors compute in float64: every op here runs f64_vunary_op (wasm-kernels/f64_vunary.wat,
scalar f64 polynomials and series; Sin/Cos NaN beyond |x| = 8.4e8). float16/bfloat16 compute in
float32 between casts (the importer's Float32OnlyError fallback)."""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..backend.program import Ptr
from ..errors import UnsupportedModelError

# ONNX op -> ($f32x4_unary_op code, (attribute, default) for its parameters p0, p1)
OP_CODED = {
    "Sin": (0, ()), "Cos": (1, ()), "Tan": (2, ()), "Asin": (3, ()), "Acos": (4, ()), "Atan": (5, ()),
    "Sinh": (6, ()), "Cosh": (7, ()), "Asinh": (8, ()), "Acosh": (9, ()), "Atanh": (10, ()),
    "Softplus": (11, ()), "Softsign": (12, ()), "Elu": (13, (("alpha", 1.0),)),
    "Selu": (14, (("alpha", 1.67326319217681884765625), ("gamma", 1.05070102214813232421875))),
    "Celu": (15, (("alpha", 1.0),)), "Mish": (16, ()), "ThresholdedRelu": (17, (("alpha", 1.0),)),
    "Shrink": (18, (("lambd", 0.5), ("bias", 0.0))), "Swish": (19, (("alpha", 1.0),)),
}
IR_OP = ("Sigmoid", "Tanh", "Erf", "Gelu", "LeakyRelu", "HardSigmoid", "HardSwish", "Sqrt", "Exp", "Log",
         *OP_CODED)
KERNELS = {"Sigmoid": "f32_vsigmoid", "Tanh": "f32_vtanh", "Erf": "f32_verf", "LeakyRelu": "f32_vlrelu",
           "HardSigmoid": "f32_vhsigmoid", "HardSwish": "f32_vhswish", "Sqrt": "f32_vsqrt",
           "Exp": "f32_vexp_array", "Log": "f32_vlog", "Swish": "f32_vswish"}  # Swish: op-coded in chains
# float64 tensors compute in float64 (wasm-kernels/f64_vunary.wat): ONNX op -> f64_vunary_op code
F64_CODES = {"Exp": 0, "Log": 1, "Sqrt": 2, "Sigmoid": 3, "Tanh": 4, "Softplus": 5, "Softsign": 6, "Elu": 7,
             "Selu": 8, "Celu": 9, "LeakyRelu": 10, "HardSigmoid": 11, "HardSwish": 12, "ThresholdedRelu": 13,
             "Shrink": 14, "Swish": 15, "Mish": 16, "Gelu": 17, "Sinh": 18, "Cosh": 19, "Asinh": 20, "Acosh": 21,
             "Atanh": 22, "Sin": 23, "Cos": 24, "Tan": 25, "Asin": 26, "Acos": 27, "Atan": 28, "Erf": 29}
F64_GELU_ERF = 30  # Gelu with approximate="none" (17: its tanh form)
SQRT_HALF = np.float32(np.sqrt(0.5))
SQRT_2_OVER_PI = np.float32(np.sqrt(2 / np.pi))


def _computes_in_float64(node, at) -> bool:
    """Whether f64_vunary_op computes this node (F64_CODES: every op of this unit; Celu too)."""
    return node.op_type in F64_CODES


def import_unary(im, node, at) -> None:
    x = node.input[0]
    if node.op_type == "Shrink" and im.dtype(x) in dtypes.INTEGERS:
        _import_integer_shrink(im, node, at)
        return
    dtype = "float64" if im.dtype(x) == "float64" and _computes_in_float64(node, at) else "float32"
    if dtype == "float32":
        im.require_float(node, x)
    attrs = {}
    if node.op_type == "LeakyRelu":
        attrs["alpha"] = float(at.get("alpha", 0.01))
    elif node.op_type == "HardSigmoid":
        attrs["alpha"], attrs["beta"] = float(at.get("alpha", 0.2)), float(at.get("beta", 0.5))
    elif node.op_type == "Gelu":
        approximate = at.get("approximate", b"none")
        approximate = approximate.decode() if isinstance(approximate, bytes) else str(approximate)
        if approximate not in ("none", "tanh"):
            raise UnsupportedModelError(f"Gelu node {node.name!r}: approximate={approximate!r} is not "
                                        "'none' or 'tanh'")
        attrs["approximate"] = approximate
    elif node.op_type in OP_CODED:
        attrs = {name: float(at.get(name, default)) for name, default in OP_CODED[node.op_type][1]}
    im.emit(node.op_type, [x], node.output[0], im.shape(x), node.name, dtype=dtype, **attrs)


def _import_integer_shrink(im, node, at) -> None:
    """Shrink of integers: x < -lambd ? x + bias : x > lambd ? x - bias : 0, in float32 and truncated
    back to x's dtype, as onnxruntime's static_cast<T>(x + bias) computes it."""
    from .spatial_graph import Builder

    b = Builder(im, node, "float32")
    lambd, bias = float(at.get("lambd", 0.5)), float(at.get("bias", 0.0))
    x = b.cast(node.input[0], "float32")
    shrunk = b.where(b.op("Less", [x, -lambd]), b.op("Add", [x, bias]),
                     b.where(b.op("Greater", [x, lambd]), b.op("Sub", [x, bias]), 0.0))
    b.cast(shrunk, im.dtype(node.input[0]), node.output[0])


IMPORTS = {op: (import_unary, 1, 1) for op in IR_OP}


def lower(graph, node, program) -> None:
    n = graph.info(node.outputs[0]).size
    if graph.info(node.outputs[0]).dtype == "float64":
        names = ([name for name, _ in OP_CODED[node.op][1]] if node.op in OP_CODED
                 else [k for k in ("alpha", "beta") if k in node.attrs])
        values = [float(node.attrs[name]) for name in names]
        code = F64_GELU_ERF if node.op == "Gelu" and node.attrs["approximate"] == "none" else F64_CODES[node.op]
        program.call("f64_vunary_op", [code, n, Ptr(node.inputs[0]), Ptr(node.outputs[0]),
                                       *values, *[0.0] * (2 - len(values))], node.name)
        return
    if node.op in OP_CODED and node.op not in KERNELS:
        code, params = OP_CODED[node.op]
        values = [float(node.attrs[name]) for name, _ in params]
        program.call("f32_vunary_op", [code, n, Ptr(node.inputs[0]), Ptr(node.outputs[0]),
                                       *values, *[0.0] * (2 - len(values))], node.name)
        return
    if node.op == "Gelu":
        kernel = "f32_vgelu_tanh" if node.attrs["approximate"] == "tanh" else "f32_vgelu"
    else:
        kernel = KERNELS[node.op]
    params = [float(node.attrs[p]) for p in ("alpha", "beta") if p in node.attrs]
    program.call(kernel, [n, Ptr(node.inputs[0]), Ptr(node.outputs[0]), *params], node.name)


def export(ex, node) -> None:
    x, y = node.inputs[0], node.outputs[0]
    real = np.float64 if ex.graph.info(y).dtype == "float64" else np.float32  # the constants' dtype
    if node.op == "Mish":  # opset 18: spelled out for the opset-17 reference graph
        soft, t = ex.temp(y), ex.temp(y)
        ex.add("Softplus", [x], soft)
        ex.add("Tanh", [soft], t)
        ex.add("Mul", [x, t], y)
        return
    if node.op == "Swish":  # opset 24: x * sigmoid(alpha * x)
        scaled, s = ex.temp(y), ex.temp(y)
        ex.add("Mul", [x, ex.const(f"{y}__alpha", real(np.float32(node.attrs["alpha"])))], scaled)
        ex.add("Sigmoid", [scaled], s)
        ex.add("Mul", [x, s], y)
        return
    if node.op in OP_CODED:
        ex.add(node.op, [x], y, **{name: node.attrs[name] for name, _ in OP_CODED[node.op][1]})
        return
    if node.op != "Gelu":
        ex.add(node.op, [x], y, **{k: node.attrs[k] for k in ("alpha", "beta") if k in node.attrs})
        return
    # Gelu is opset 20; the reference graph (opset 17) spells out its definition.
    half = ex.const(f"{y}__half", real(0.5))
    one = ex.const(f"{y}__one", real(1.0))
    if node.attrs["approximate"] == "tanh":  # tanh(sqrt(2/pi) * (x^3 * 0.044715 + x))
        squared, cubed, term, inner, scaled, t = (ex.temp(y) for _ in range(6))
        ex.add("Mul", [x, x], squared)
        ex.add("Mul", [squared, x], cubed)
        ex.add("Mul", [cubed, ex.const(f"{y}__c", real(0.044715))], term)
        ex.add("Add", [term, x], inner)
        ex.add("Mul", [inner, ex.const(f"{y}__k", real(np.sqrt(2 / np.pi)) if real is np.float64 else SQRT_2_OVER_PI)], scaled)
        ex.add("Tanh", [scaled], t)
    else:
        scaled, t = ex.temp(y), ex.temp(y)
        ex.add("Mul", [x, ex.const(f"{y}__k", SQRT_HALF)], scaled)
        ex.add("Erf", [scaled], t)
    one_plus, halved = ex.temp(y), ex.temp(y)
    ex.add("Add", [t, one], one_plus)
    ex.add("Mul", [x, half], halved)
    ex.add("Mul", [halved, one_plus], y)


def flops(graph, node) -> int:
    return graph.info(node.outputs[0]).size
