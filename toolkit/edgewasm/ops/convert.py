"""Convert: a graph input of another dtype, cast to float32 as the module's first step.

Activations are float32 only, but a model may take float16, float64, bfloat16, 8-bit or sub-byte
inputs and cast them straight to FLOAT (the frontend admits such an input only when every node
reading it is a Cast to FLOAT). The host then writes the input in its own encoding (`bundle.DTYPES`:
one byte per element for 8-bit and sub-byte dtypes) and the module converts it with a kernel of
in_f32_vcvt.wat (float16: f16_vcvt.wat); 8-bit and smaller dtypes go through a 256-entry f32 table
computed here, at compile time, with ml_dtypes, so every code means exactly what numpy says it does.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto

from ..backend.program import Ptr

IR_OP = "Convert"
# ONNX input dtype -> (edgewasm dtype name, the first opset whose Cast reads it: the reference graph's)
INPUT_DTYPES = {
    TensorProto.FLOAT16: ("float16", 13), TensorProto.DOUBLE: ("float64", 13),
    TensorProto.BFLOAT16: ("bfloat16", 13), TensorProto.INT8: ("int8", 13), TensorProto.UINT8: ("uint8", 13),
    TensorProto.FLOAT8E4M3FN: ("float8_e4m3fn", 19), TensorProto.FLOAT8E4M3FNUZ: ("float8_e4m3fnuz", 19),
    TensorProto.FLOAT8E5M2: ("float8_e5m2", 19), TensorProto.FLOAT8E5M2FNUZ: ("float8_e5m2fnuz", 19),
    TensorProto.INT4: ("int4", 21), TensorProto.UINT4: ("uint4", 21), TensorProto.FLOAT4E2M1: ("float4_e2m1fn", 23),
    TensorProto.FLOAT8E8M0: ("float8_e8m0fnu", 24), TensorProto.INT2: ("int2", 25), TensorProto.UINT2: ("uint2", 25),
}
ONNX_TYPES = {name: onnx_type for onnx_type, (name, _) in INPUT_DTYPES.items()}
OPSETS = {name: opset for name, opset in INPUT_DTYPES.values()}
WIDE_KERNELS = {"float16": "f16_f32_vcvt", "bfloat16": "bf16_f32_vcvt", "float64": "f64_f32_vcvt"}
SUB_BYTE_MASKS = {"int4": 0xF, "uint4": 0xF, "float4_e2m1fn": 0xF, "int2": 0x3, "uint2": 0x3}


def lookup_table(dtype: str) -> np.ndarray:
    """The float32 value of every byte as one element of `dtype` (a sub-byte dtype reads the low bits)."""
    import ml_dtypes  # onnx's own dependency: it has every dtype numpy lacks

    codes = np.arange(256, dtype=np.uint8) & np.uint8(SUB_BYTE_MASKS.get(dtype, 0xFF))
    kind = np.dtype(dtype) if dtype in ("int8", "uint8") else np.dtype(getattr(ml_dtypes, dtype))
    return codes.view(kind).astype(np.float32)


IMPORTS = {}  # emitted by the Cast importer (ops/shape.py) for such an input


def lower(graph, node, program) -> None:
    source = node.attrs["source"]
    n = graph.info(node.outputs[0]).size
    x, y = Ptr(node.inputs[0]), Ptr(node.outputs[0])
    if source in WIDE_KERNELS:
        program.call(WIDE_KERNELS[source], [n, x, y], node.name)
    else:
        table = program.weight(f"convert__{source}_to_float32", lookup_table(source))
        program.call("x8_f32_vlut", [n, table, x, y], node.name)


def export(ex, node) -> None:
    ex.add("Cast", [node.inputs[0]], node.outputs[0], to=TensorProto.FLOAT)
    ex.opset = max(ex.opset, OPSETS[node.attrs["source"]])


def flops(graph, node) -> int:
    return 0  # a change of encoding, no arithmetic
