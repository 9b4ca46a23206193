"""EyeLike: ones on the k-th diagonal of a 2-D tensor shaped like the input, zeros elsewhere, in the
`dtype` attribute's type (the input's by default). Shapes are static, so the result is a compile-time
constant that the importer folds into its readers; only when it is a graph output does the module
copy it out (an IR Concat of the one constant)."""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..errors import ModelFormatError, UnsupportedModelError


def import_eye_like(im, node, at) -> None:
    x, y = node.input[0], node.output[0]
    shape = im.shape(x)
    if len(shape) != 2:
        raise ModelFormatError(f"EyeLike node {node.name!r}: the input must be 2-D, got shape {shape}")
    dtype = im.dtype(x)
    if "dtype" in at:
        dtype = dtypes.from_onnx(int(at["dtype"]))
        if dtype is None:
            raise UnsupportedModelError(f"EyeLike node {node.name!r}: dtype "
                                        f"{dtypes.onnx_type_name(int(at['dtype']))} is not supported")
    eye = np.eye(shape[0], shape[1], int(at.get("k", 0))).astype(dtypes.numpy_dtype(dtype))
    if y not in {o.name for o in im.model.graph.output}:
        im.constants[y] = eye
        return
    name = im.fresh(f"{y}_eye")
    im.constants[name] = eye
    im.emit("Concat", [name], y, shape, node.name, dtype=dtype, axis=0)


IMPORTS = {"EyeLike": (import_eye_like, 1, 1)}
IR_OP = None  # IR Concat (ops/concat.py) when the result is a graph output
