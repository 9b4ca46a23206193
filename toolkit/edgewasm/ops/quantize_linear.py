"""Quantize: ONNX QuantizeLinear to uint8 with a constant per-tensor scale and zero point,
q = sat(rint(x / scale) + zp) (onnxruntime's arithmetic: f32_qu8_vcvt in qu8_vcvt.wat).

The entry of a statically quantized region: made by `--quantize int8 --calibrate` and imported
from quantize_static models.

Every other form the spec allows (run-time scale or zero point, per-axis, blocked, every output
dtype, float16/bfloat16 inputs and scales, output_dtype, precision, saturate) is decomposed at
import into dtype-generic IR ops exactly as onnx's reference computes it (general_quantize):
x / scale in the compute dtype, rint (half to even), the zero point added in int32, clipped to the
output's range; the sub-byte outputs (int4/uint4/int2/uint2) are the int8/uint8 result's low bits
reinterpreted (IR op Narrow); the float8 and float4 outputs are Casts into those dtypes (saturate).
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper

from ..backend.program import Ptr
from ..errors import UnsupportedModelError
from ..frontend.quantized import emit_typed

IR_OP = "Quantize"


def per_tensor(im, node, index: int, what: str, dtype, default=None):
    """A constant scalar input (scale or zero point) as a Python number; `default` if omitted."""
    if index >= len(node.input) or not node.input[index]:
        if default is None:
            raise UnsupportedModelError(f"{node.op_type} node {node.name!r}: {what} is required")
        return default
    value = im.const(node.input[index], node, what)
    if value.size != 1 or value.dtype != dtype:
        raise UnsupportedModelError(f"{node.op_type} node {node.name!r}: {what} must be one {np.dtype(dtype)} "
                                    f"(per-tensor, uint8 activations), got {value.dtype} of shape {value.shape}")
    return value.reshape(()).item()


def _fused(im, node, at) -> bool:
    """Whether the node is the uint8 per-tensor form f32_qu8_vcvt computes."""
    x = node.input[0]
    if x in im.constants or im.dtype(x) != "float32" or int(at.get("block_size", 0)):
        return False
    if int(at.get("output_dtype", 0)) not in (0, TensorProto.UINT8) or \
            int(at.get("precision", 0)) not in (0, TensorProto.FLOAT):
        return False
    scale = node.input[1]
    if scale not in im.constants or im.constants[scale].size != 1 or im.constants[scale].dtype != np.float32:
        return False
    zp = node.input[2] if len(node.input) > 2 and node.input[2] else None
    return zp is None or (zp in im.constants and im.constants[zp].size == 1 and im.constants[zp].dtype == np.uint8)


def import_quantize(im, node, at) -> None:
    x = node.input[0]
    if not _fused(im, node, at):
        from .quant_general import general_quantize

        general_quantize(im, node, at)
        return
    if x in im.constants:
        raise UnsupportedModelError(f"QuantizeLinear node {node.name!r}: a constant input needs constant scale and "
                                    "zero point (then it is folded)")
    if im.tensors[x].dtype != "float32":
        raise UnsupportedModelError(f"QuantizeLinear node {node.name!r}: input {x!r} is {im.tensors[x].dtype}")
    scale = float(per_tensor(im, node, 1, "the scale", np.float32))
    zp = int(per_tensor(im, node, 2, "the zero point", np.uint8, default=0))
    emit_typed(im, IR_OP, [x], [(node.output[0], im.shape(x), "uint8")], node.name, scale=scale, zero_point=zp)


IMPORTS = {"QuantizeLinear": (import_quantize, 2, 3)}


def lower(graph, node, program) -> None:
    program.call("f32_qu8_vcvt", [graph.info(node.inputs[0]).size, Ptr(node.inputs[0]), Ptr(node.outputs[0]),
                                  float(node.attrs["scale"]), int(node.attrs["zero_point"])], node.name)


def export(ex, node) -> None:
    y = node.outputs[0]
    scale = ex.const(f"{y}__scale", np.float32(node.attrs["scale"]))
    zp = ex.const(f"{y}__zero_point", np.uint8(node.attrs["zero_point"]))
    ex.nodes.append(helper.make_node("QuantizeLinear", [node.inputs[0], scale, zp], [y]))


def flops(graph, node) -> int:
    return 2 * graph.info(node.inputs[0]).size
