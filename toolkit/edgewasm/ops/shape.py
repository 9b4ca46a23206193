"""Shape, Size, Cast and CastLike: shapes are static, so Shape and Size of an activation are
compile-time constants and the shape computations that follow fold away in the importer; a Cast
of an activation to float32 is a view (only float32 activations exist at run time), and of a graph
input of another dtype a Convert (ops/convert.py)."""

from __future__ import annotations

import math

import numpy as np
import onnx

from ..errors import UnsupportedModelError

IR_OP = None


def import_shape(im, node, at) -> None:
    shape = im.shape(node.input[0])
    start, end = int(at.get("start", 0)), at.get("end")
    im.constants[node.output[0]] = np.array(shape[slice(start, None if end is None else int(end))], np.int64)


def import_size(im, node, at) -> None:
    im.constants[node.output[0]] = np.array(math.prod(im.shape(node.input[0])), np.int64)


def import_cast(im, node, at) -> None:
    _cast_to(im, node, int(at.get("to", 0)))


def import_cast_like(im, node, at) -> None:
    target = node.input[1]
    dtype = im.constants[target].dtype if target in im.constants else np.dtype(np.float32)
    _cast_to(im, node, onnx.helper.np_dtype_to_tensor_dtype(dtype))


def _cast_to(im, node, to: int) -> None:
    x = node.input[0]
    if to == onnx.TensorProto.FLOAT and x in im.tensors and im.tensors[x].dtype != "float32":
        # a graph input of another dtype (see frontend/onnx.py): the module converts it (ops/convert.py)
        im.emit("Convert", [x], node.output[0], im.shape(x), node.name, source=im.tensors[x].dtype)
        return
    if to != onnx.TensorProto.FLOAT:
        name = onnx.TensorProto.DataType.Name(to) if to in onnx.TensorProto.DataType.values() else str(to)
        raise UnsupportedModelError(
            f"{node.op_type} node {node.name!r}: casting the computed tensor {x!r} to {name}; activations are "
            "float32 only (integer casts are supported in shape computations, which fold at compile time)")
    im.emit("Reshape", [x], node.output[0], im.shape(x), node.name)


IMPORTS = {"Shape": (import_shape, 1, 1), "Size": (import_size, 1, 1), "Cast": (import_cast, 1, 1),
           "CastLike": (import_cast_like, 2, 2)}
