"""Element types on the compiler's side: ONNX's codes, numpy's names, and the codes the generic
kernels read (wasm-kernels/x_elementwise.wat).

A tensor's dtype is a numpy name (ml_dtypes' for bfloat16, the float8 and the sub-byte types);
`bundle.DTYPES` has the bytes per element and the runtime's typecodes.

The low-precision dtypes (LOW_PRECISION: the float8 types, float4_e2m1fn, int4, uint4, int2, uint2)
take one byte per element inside the module, as ml_dtypes' arrays hold them: the element's code in
the low bits (SUB_BYTE_BITS of them for the sub-byte types), high bits zero when the module writes
them; a kernel that reads one masks the code (and sign-extends int4/int2). They are graph inputs,
outputs and constants in their own dtype; x_cast (wasm-kernels/x_cast.wat, codes 13..22 below)
converts them from and to every dtype. Hosts pack the sub-byte ones as ONNX does outside numpy
(see bundle.py).
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto

from .bundle import DTYPES, FLOAT_DTYPES, LOW_PRECISION, SUB_BYTE_BITS  # noqa: F401 (re-exported)

# The dtype codes of wasm-kernels/x_elementwise.wat (and every kernel that reads a dtype at run time).
KERNEL_CODES = {"float32": 0, "float64": 1, "float16": 2, "bfloat16": 3, "int8": 4, "uint8": 5, "int16": 6,
                "uint16": 7, "int32": 8, "uint32": 9, "int64": 10, "uint64": 11, "bool": 12}
COMPUTED = tuple(KERNEL_CODES)  # the dtypes run-time ops compute in; the float8 and sub-byte ones are only cast
# The codes x_cast (wasm-kernels/x_cast.wat) reads besides KERNEL_CODES: one byte per element.
LOW_PRECISION_CODES = {name: 13 + i for i, name in enumerate(LOW_PRECISION)}
CAST_CODES = {**KERNEL_CODES, **LOW_PRECISION_CODES}
INTEGERS = ("int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64")
SIGNED = ("int8", "int16", "int32", "int64")

ONNX_NAMES = {
    TensorProto.FLOAT: "float32", TensorProto.DOUBLE: "float64", TensorProto.FLOAT16: "float16",
    TensorProto.BFLOAT16: "bfloat16", TensorProto.INT8: "int8", TensorProto.UINT8: "uint8",
    TensorProto.INT16: "int16", TensorProto.UINT16: "uint16", TensorProto.INT32: "int32",
    TensorProto.UINT32: "uint32", TensorProto.INT64: "int64", TensorProto.UINT64: "uint64",
    TensorProto.BOOL: "bool", TensorProto.FLOAT8E4M3FN: "float8_e4m3fn",
    TensorProto.FLOAT8E4M3FNUZ: "float8_e4m3fnuz", TensorProto.FLOAT8E5M2: "float8_e5m2",
    TensorProto.FLOAT8E5M2FNUZ: "float8_e5m2fnuz", TensorProto.INT4: "int4", TensorProto.UINT4: "uint4",
    TensorProto.FLOAT4E2M1: "float4_e2m1fn", TensorProto.FLOAT8E8M0: "float8_e8m0fnu",
    TensorProto.INT2: "int2", TensorProto.UINT2: "uint2",
}
ONNX_TYPES = {name: code for code, name in ONNX_NAMES.items()}


def from_onnx(elem_type: int) -> str | None:
    """The dtype name of an ONNX element type, or None for one tensors cannot hold here (string, complex)."""
    return ONNX_NAMES.get(elem_type)


def onnx_type_name(elem_type: int) -> str:
    return TensorProto.DataType.Name(elem_type) if elem_type in TensorProto.DataType.values() else str(elem_type)


def to_onnx(name: str) -> int:
    return ONNX_TYPES[name]


def of_array(value: np.ndarray) -> str:
    """The dtype name of a numpy array (ml_dtypes' types by their own names)."""
    return "bool" if value.dtype == np.bool_ else value.dtype.name


def numpy_dtype(name: str) -> np.dtype:
    try:
        return np.dtype(name)
    except TypeError:  # bfloat16, the float8 and sub-byte types
        import ml_dtypes

        return np.dtype(getattr(ml_dtypes, name))


def itemsize(name: str) -> int:
    return DTYPES[name][1]


def is_float(name: str) -> bool:
    return name in FLOAT_DTYPES


def is_integer(name: str) -> bool:
    return name in INTEGERS


def kernel_code(name: str) -> int:
    return KERNEL_CODES[name]


def describe(names) -> str:
    return ", ".join(sorted(set(names), key=list(DTYPES).index))
