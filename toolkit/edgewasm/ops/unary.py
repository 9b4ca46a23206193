"""Unary elementwise ops: Sigmoid, Tanh, Erf, Gelu, LeakyRelu, HardSigmoid, HardSwish, Sqrt, Exp,
Log. Each runs one kernel of wasm-kernels/f32_vunary.wat (Exp: f32_softmax.wat's f32_vexp_array);
the transcendentals are polynomials in wat with their measured errors documented there."""

from __future__ import annotations

import numpy as np

from ..backend.program import Ptr
from ..errors import UnsupportedModelError

IR_OP = ("Sigmoid", "Tanh", "Erf", "Gelu", "LeakyRelu", "HardSigmoid", "HardSwish", "Sqrt", "Exp", "Log")
KERNELS = {"Sigmoid": "f32_vsigmoid", "Tanh": "f32_vtanh", "Erf": "f32_verf", "LeakyRelu": "f32_vlrelu",
           "HardSigmoid": "f32_vhsigmoid", "HardSwish": "f32_vhswish", "Sqrt": "f32_vsqrt",
           "Exp": "f32_vexp_array", "Log": "f32_vlog"}
SQRT_HALF = np.float32(np.sqrt(0.5))
SQRT_2_OVER_PI = np.float32(np.sqrt(2 / np.pi))


def import_unary(im, node, at) -> None:
    x = node.input[0]
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
    im.emit(node.op_type, [x], node.output[0], im.shape(x), node.name, **attrs)


IMPORTS = {op: (import_unary, 1, 1) for op in IR_OP}


def lower(graph, node, program) -> None:
    n = graph.info(node.outputs[0]).size
    if node.op == "Gelu":
        kernel = "f32_vgelu_tanh" if node.attrs["approximate"] == "tanh" else "f32_vgelu"
    else:
        kernel = KERNELS[node.op]
    params = [float(node.attrs[p]) for p in ("alpha", "beta") if p in node.attrs]
    program.call(kernel, [n, Ptr(node.inputs[0]), Ptr(node.outputs[0]), *params], node.name)


def export(ex, node) -> None:
    x, y = node.inputs[0], node.outputs[0]
    if node.op != "Gelu":
        ex.add(node.op, [x], y, **{k: node.attrs[k] for k in ("alpha", "beta") if k in node.attrs})
        return
    # Gelu is opset 20; the reference graph (opset 17) spells out its definition.
    half = ex.const(f"{y}__half", np.float32(0.5))
    one = ex.const(f"{y}__one", np.float32(1.0))
    if node.attrs["approximate"] == "tanh":  # tanh(sqrt(2/pi) * (x^3 * 0.044715 + x))
        squared, cubed, term, inner, scaled, t = (ex.temp(y) for _ in range(6))
        ex.add("Mul", [x, x], squared)
        ex.add("Mul", [squared, x], cubed)
        ex.add("Mul", [cubed, ex.const(f"{y}__c", np.float32(0.044715))], term)
        ex.add("Add", [term, x], inner)
        ex.add("Mul", [inner, ex.const(f"{y}__k", SQRT_2_OVER_PI)], scaled)
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
