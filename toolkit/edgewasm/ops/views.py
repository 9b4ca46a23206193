"""Reshape: a view that shares its input's bytes (ONNX Reshape, Flatten, Identity, Dropout)."""

from __future__ import annotations

import math

import numpy as np

from ..errors import ModelFormatError

IR_OP = "Reshape"


def _reshape_to(im, node, shape: tuple[int, ...]) -> None:
    x = node.input[0]
    if math.prod(shape) != math.prod(im.shape(x)):
        raise ModelFormatError(f"{node.op_type} node {node.name!r}: cannot reshape {im.shape(x)} to {shape}")
    im.emit("Reshape", [x], node.output[0], shape, node.name)


def import_flatten(im, node, at) -> None:
    shape = im.shape(node.input[0])
    axis = int(at.get("axis", 1))
    if not -len(shape) <= axis <= len(shape):
        raise ModelFormatError(f"Flatten node {node.name!r}: axis {axis} out of range for rank {len(shape)}")
    axis %= len(shape) + 1
    _reshape_to(im, node, (math.prod(shape[:axis]), math.prod(shape[axis:])))


def import_reshape(im, node, at) -> None:
    target_array = im.const(node.input[1], node, "the target shape")
    if target_array.ndim != 1 or target_array.dtype.kind not in "iu":
        raise ModelFormatError(f"Reshape node {node.name!r}: the target shape must be a 1-D integer tensor")
    target = [int(d) for d in target_array]
    src = im.shape(node.input[0])
    allowzero = int(at.get("allowzero", 0))
    if any(d == 0 for d in target[len(src):]) and not allowzero:
        raise ModelFormatError(f"Reshape node {node.name!r}: 0 in {target} copies a dimension {src} lacks")
    shape = [src[i] if d == 0 and not allowzero else d for i, d in enumerate(target)]
    if shape.count(-1) > 1:
        raise ModelFormatError(f"Reshape node {node.name!r}: more than one -1 in {target}")
    if -1 in shape:
        known = math.prod(d for d in shape if d != -1)
        if known == 0 or math.prod(src) % known:
            raise ModelFormatError(f"Reshape node {node.name!r}: cannot reshape {src} to {target}")
        shape[shape.index(-1)] = math.prod(src) // known
    _reshape_to(im, node, tuple(shape))


def import_identity(im, node, at) -> None:
    _reshape_to(im, node, im.shape(node.input[0]))


IMPORTS = {
    "Flatten": (import_flatten, 1, 1),
    "Reshape": (import_reshape, 2, 2),
    "Identity": (import_identity, 1, 1),
    "Dropout": (import_identity, 1, 3),
}


def lower(graph, node, program) -> None:
    program.views[node.outputs[0]] = node.inputs[0]


def export(ex, node) -> None:
    shape = ex.graph.info(node.outputs[0]).shape
    ex.add("Reshape", [node.inputs[0], ex.const(f"{node.outputs[0]}__shape", np.array(shape, np.int64))],
           node.outputs[0])


def flops(graph, node) -> int:
    return 0
