"""Reading the compile-time arguments of ONNX nodes: axes (an attribute in old opsets, a constant
input in new ones), integer constants, and axis normalisation, with typed errors naming the node."""

from __future__ import annotations

import numpy as np
import onnx

from ..errors import ModelFormatError


def normalize_axis(node: onnx.NodeProto, axis: int, rank: int, what: str = "axis") -> int:
    """axis in [-rank, rank) -> [0, rank), or ModelFormatError."""
    if not -rank <= axis < rank:
        raise ModelFormatError(f"{node.op_type} node {node.name!r}: {what} {axis} is out of range for rank {rank}")
    return axis % rank


def int_constant(im, node: onnx.NodeProto, name: str, what: str) -> np.ndarray:
    """The value of an integer constant input (shape math is folded at compile time)."""
    value = im.const(name, node, what)
    if value.dtype.kind not in "iu":
        raise ModelFormatError(f"{node.op_type} node {node.name!r}: {what} must be an integer tensor, "
                               f"got {value.dtype}")
    return value.astype(np.int64)


def optional_input(node: onnx.NodeProto, index: int) -> str | None:
    return node.input[index] if len(node.input) > index and node.input[index] else None


def raw_axes(im, node: onnx.NodeProto, at: dict, input_index: int, attribute_until_opset: int) -> list[int] | None:
    """The `axes` attribute (opset < attribute_until_opset) or the optional constant input at
    input_index (from that opset on), as given; None when absent."""
    if im.opset < attribute_until_opset:
        raw = at.get("axes")
        return None if raw is None else [int(a) for a in raw]
    name = optional_input(node, input_index)
    return None if name is None else int_constant(im, node, name, "axes").reshape(-1).tolist()


def normalize_axes(node: onnx.NodeProto, raw: list[int], rank: int) -> list[int]:
    """Axes in [-rank, rank) -> [0, rank); repeated axes are a model error."""
    axes = [normalize_axis(node, a, rank, "axes entry") for a in raw]
    if len(set(axes)) != len(axes):
        raise ModelFormatError(f"{node.op_type} node {node.name!r}: repeated axes {raw}")
    return axes


def axes_argument(im, node: onnx.NodeProto, at: dict, input_index: int, rank: int,
                  attribute_until_opset: int) -> list[int] | None:
    """Normalised axes of a node whose axes moved from an attribute to an input; None when absent."""
    raw = raw_axes(im, node, at, input_index, attribute_until_opset)
    return None if raw is None else normalize_axes(node, raw, rank)
