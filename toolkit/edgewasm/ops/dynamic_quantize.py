"""DynamicQuantize: ONNX DynamicQuantizeLinear, x float32 -> (q uint8, scale float32, zero point
uint8), with the tensor's range measured at run time (onnxruntime's arithmetic: qu8_dynquant.wat).

Produced by `edgewasm compile --quantize int8` (passes/quantize.py) and imported from
onnxruntime's quantize_dynamic models; read by IntegerGemm.
"""

from __future__ import annotations

from onnx import helper

from ..backend.program import Ptr
from ..errors import ModelFormatError, UnsupportedModelError
from ..ir import Node, TensorInfo

IR_OP = "DynamicQuantize"


def import_dynamic_quantize(im, node, at) -> None:
    x = node.input[0]
    if x in im.constants:
        raise UnsupportedModelError(f"DynamicQuantizeLinear node {node.name!r}: a constant input is not supported")
    if im.tensors[x].dtype != "float32":
        raise UnsupportedModelError(f"DynamicQuantizeLinear node {node.name!r}: input {x!r} is "
                                    f"{im.tensors[x].dtype}; only float32 is supported")
    if len(node.output) != 3 or not all(node.output):
        raise ModelFormatError(f"DynamicQuantizeLinear node {node.name!r} must name its 3 outputs")
    specs = [(node.output[0], im.shape(x), "uint8"), (node.output[1], (), "float32"), (node.output[2], (), "uint8")]
    for name, shape, dtype in specs:
        if name in im.tensors or name in im.constants:
            raise ModelFormatError(f"tensor {name!r} is produced twice")
        im.tensors[name] = TensorInfo(name, tuple(shape), dtype)
    im.nodes.append(Node(IR_OP, [x], list(node.output), {}, node.name))


IMPORTS = {"DynamicQuantizeLinear": (import_dynamic_quantize, 1, 1)}


def lower(graph, node, program) -> None:
    q, scale, zp = node.outputs
    program.call("qu8_dynquant", [graph.info(node.inputs[0]).size, Ptr(node.inputs[0]), Ptr(q), Ptr(scale), Ptr(zp)],
                 node.name)


def export(ex, node) -> None:
    ex.nodes.append(helper.make_node("DynamicQuantizeLinear", node.inputs, node.outputs))


def flops(graph, node) -> int:
    return 4 * graph.info(node.inputs[0]).size  # min, max, divide, round
