"""Reshape: a view that shares its input's bytes (ONNX Reshape, Flatten, Identity, Dropout at inference)."""

from __future__ import annotations

import math

import numpy as np

from ..dtypes import numpy_dtype
from ..errors import ModelFormatError, UnsupportedModelError

IR_OP = "Reshape"


def _reshape_to(im, node, shape: tuple[int, ...]) -> None:
    x = node.input[0]
    if math.prod(shape) != math.prod(im.shape(x)):
        raise ModelFormatError(f"{node.op_type} node {node.name!r}: cannot reshape {im.shape(x)} to {shape}")
    im.emit("Reshape", [x], node.output[0], shape, node.name, dtype=im.dtype(x))


def import_flatten(im, node, at) -> None:
    shape = im.shape(node.input[0])
    axis = int(at.get("axis", 1))
    if not -len(shape) <= axis <= len(shape):
        raise ModelFormatError(f"Flatten node {node.name!r}: axis {axis} out of range for rank {len(shape)}")
    axis = axis + len(shape) if axis < 0 else axis  # [-r, r]: a negative axis counts from the end
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


def import_dropout(im, node, at) -> None:
    """Inference: the identity. Training mode (random) and a mask the graph reads are refused."""
    _dropout_mask(im, node)
    import_identity(im, node, at)


def fold_dropout(im, node, at) -> list:
    """onnx's evaluator gives opsets 7-11 the opset-12 mask (all true, bool)."""
    mask = _dropout_mask(im, node)
    return [im.constants[node.input[0]]] + ([im.constants[mask]] if mask else [])


def _dropout_mask(im, node) -> str | None:
    """Refuses training mode; places the inference mask as a constant and returns its name."""
    training = node.input[2] if len(node.input) > 2 and node.input[2] else None
    ratio = node.input[1] if len(node.input) > 1 and node.input[1] else None
    dropping = ratio is None or float(np.asarray(im.const(ratio, node, "ratio")).reshape(-1)[0]) != 0
    if training is not None and dropping and bool(np.asarray(im.const(training, node, "training_mode")).reshape(-1)[0]):
        raise UnsupportedModelError(f"Dropout node {node.name!r}: training_mode=True drops values at random; "
                                    "only inference (the identity) is supported")
    mask = node.output[1] if len(node.output) > 1 and node.output[1] else None
    if mask is not None:  # nothing is dropped: the mask is all true, a compile-time constant
        im.constants[mask] = np.ones(im.shape(node.input[0]), np.bool_)
        if im.opset < 12:  # opsets 7-11: onnxruntime's inference mask is all false (0 in X's dtype before 10)
            kind = np.bool_ if im.opset >= 10 else numpy_dtype(im.dtype(node.input[0]))
            im.constants[mask] = np.zeros(im.shape(node.input[0]), kind)
    return mask


IMPORTS = {
    "Flatten": (import_flatten, 1, 1),
    "Reshape": (import_reshape, 2, 2),
    "Identity": (import_identity, 1, 1),
    "Dropout": (import_dropout, 1, 3),
}
FOLDS = {"Dropout": fold_dropout}


def lower(graph, node, program) -> None:
    program.views[node.outputs[0]] = node.inputs[0]


def export(ex, node) -> None:
    shape = ex.graph.info(node.outputs[0]).shape
    ex.add("Reshape", [node.inputs[0], ex.const(f"{node.outputs[0]}__shape", np.array(shape, np.int64))],
           node.outputs[0], **({"allowzero": 1} if 0 in shape else {}))  # a 0 is a size, not "copy"


def flops(graph, node) -> int:
    return 0
