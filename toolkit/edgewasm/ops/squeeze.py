"""Squeeze and Unsqueeze: views (IR Reshape, see views.py) whose axes come from the attribute
before opset 13 and from a constant input after."""

from __future__ import annotations

from ..errors import ModelFormatError
from ..frontend.arguments import axes_argument, normalize_axes, raw_axes

IR_OP = None


def import_squeeze(im, node, at) -> None:
    x = node.input[0]
    shape = im.shape(x)
    axes = axes_argument(im, node, at, 1, len(shape), attribute_until_opset=13)
    if axes is None:
        axes = [i for i, d in enumerate(shape) if d == 1]
    if any(shape[a] != 1 for a in axes):
        raise ModelFormatError(f"Squeeze node {node.name!r}: axes {axes} of shape {shape} are not all 1")
    out = tuple(d for i, d in enumerate(shape) if i not in axes)
    im.emit("Reshape", [x], node.output[0], out, node.name, dtype=im.dtype(x))


def _unsqueezed(im, node, at, shape: tuple[int, ...]) -> tuple[int, ...]:
    raw = raw_axes(im, node, at, 1, attribute_until_opset=13)
    if raw is None:
        raise ModelFormatError(f"Unsqueeze node {node.name!r}: axes are required")
    out = list(shape)
    for axis in sorted(normalize_axes(node, raw, len(shape) + len(raw))):
        out.insert(axis, 1)
    return tuple(out)


def import_unsqueeze(im, node, at) -> None:
    x = node.input[0]
    im.emit("Reshape", [x], node.output[0], _unsqueezed(im, node, at, im.shape(x)), node.name, dtype=im.dtype(x))


def fold_unsqueeze(im, node, at) -> list:
    """onnx's evaluator inserts unsorted axes (e.g. the opset-1 attribute [3, 0]) in the given order."""
    x = im.constants[node.input[0]]
    return [x.reshape(_unsqueezed(im, node, at, x.shape))]


IMPORTS = {"Squeeze": (import_squeeze, 1, 2), "Unsqueeze": (import_unsqueeze, 1, 2)}
FOLDS = {"Unsqueeze": fold_unsqueeze}
