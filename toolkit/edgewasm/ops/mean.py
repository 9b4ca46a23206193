"""Mean (opsets 6-13): the elementwise mean of one or more inputs with numpy broadcasting, as their
Sum (a left-to-right chain of Adds, ops/binary.py) divided by the input count, in the input dtype:
float32 by the float32 kernels, float64 in f64, float16/bfloat16 through float32 (x_elementwise)."""

from __future__ import annotations

import numpy as np
import onnx

from .. import dtypes
from ..errors import ModelFormatError, UnsupportedModelError

IR_OP = None
FLOATS = ("float32", "float64", "float16", "bfloat16")


def run_node(im, op_type: str, inputs: list[str], outputs: list[str], name: str, **attrs) -> None:
    """Import one standard ONNX node made here (a decomposition into other units' ops)."""
    im.import_nodes([onnx.helper.make_node(op_type, inputs, outputs, name=name, **attrs)])


def constant(im, base: str, value) -> str:
    """A new compile-time constant named after `base`."""
    name = im.fresh(base)
    im.constants[name] = np.asarray(value)
    return name


def import_mean(im, node, at) -> None:
    inputs = list(node.input)
    if any(not name for name in inputs):
        raise ModelFormatError(f"Mean node {node.name!r} has an empty input")
    found = {im.dtype(name) for name in inputs}
    if len(found) != 1:
        raise ModelFormatError(f"Mean node {node.name!r}: inputs have different dtypes ({dtypes.describe(found)})")
    dtype = found.pop()
    if dtype not in FLOATS:
        raise UnsupportedModelError(f"Mean node {node.name!r}: input {inputs[0]!r} has dtype {dtype}; Mean takes "
                                    "float16, bfloat16, float32 or float64")
    y = node.output[0]
    if len(inputs) == 1:
        run_node(im, "Identity", inputs, [y], node.name)
        return
    total = im.fresh(f"{y}_sum")
    run_node(im, "Sum", inputs, [total], node.name)
    count = constant(im, f"{y}_count", np.array(len(inputs), dtypes.numpy_dtype(dtype)))
    run_node(im, "Div", [total, count], [y], node.name)


IMPORTS = {"Mean": (import_mean, 1, 2**31)}
