"""DepthToSpace (DCR and CRD modes) and SpaceToDepth in any dtype: a reshape to 6-D, one transpose
(one x_copy_nd call) and a reshape back, the reshapes being views, as the ONNX spec defines them."""

from __future__ import annotations

from ..errors import ModelFormatError
from .permute import emit_transpose

IR_OP = None  # IR Reshape (ops/views.py) and Transpose (ops/permute.py)


def _blocksize(node, at, shape) -> int:
    if len(shape) != 4:
        raise ModelFormatError(f"{node.op_type} node {node.name!r}: the input must be 4-D [N, C, H, W], got {shape}")
    if "blocksize" not in at or int(at["blocksize"]) < 1:
        raise ModelFormatError(f"{node.op_type} node {node.name!r}: a blocksize >= 1 is required")
    return int(at["blocksize"])


def _rearrange(im, node, view: tuple[int, ...], perm: list[int], out: tuple[int, ...]) -> None:
    x, y = node.input[0], node.output[0]
    dtype = im.dtype(x)
    viewed, moved = im.fresh(f"{y}_6d"), im.fresh(f"{y}_moved")
    im.emit("Reshape", [x], viewed, view, node.name, dtype=dtype)
    emit_transpose(im, viewed, moved, perm, node.name)
    im.emit("Reshape", [moved], y, out, node.name, dtype=dtype)


def import_depth_to_space(im, node, at) -> None:
    shape = im.shape(node.input[0])
    b = _blocksize(node, at, shape)
    n, c, h, w = shape
    if c % (b * b):
        raise ModelFormatError(f"DepthToSpace node {node.name!r}: {c} channels are not a multiple of "
                               f"blocksize^2 = {b * b}")
    mode = at.get("mode", b"DCR")
    mode = mode.decode() if isinstance(mode, bytes) else str(mode)
    out = (n, c // (b * b), h * b, w * b)
    if mode == "DCR":
        _rearrange(im, node, (n, b, b, c // (b * b), h, w), [0, 3, 4, 1, 5, 2], out)
    elif mode == "CRD":
        _rearrange(im, node, (n, c // (b * b), b, b, h, w), [0, 1, 4, 2, 5, 3], out)
    else:
        raise ModelFormatError(f"DepthToSpace node {node.name!r}: mode {mode!r} is not DCR or CRD")


def import_space_to_depth(im, node, at) -> None:
    shape = im.shape(node.input[0])
    b = _blocksize(node, at, shape)
    n, c, h, w = shape
    if h % b or w % b:
        raise ModelFormatError(f"SpaceToDepth node {node.name!r}: {h}x{w} is not a multiple of blocksize {b}")
    _rearrange(im, node, (n, c, h // b, b, w // b, b), [0, 3, 5, 1, 2, 4], (n, c * b * b, h // b, w // b))


IMPORTS = {"DepthToSpace": (import_depth_to_space, 1, 1), "SpaceToDepth": (import_space_to_depth, 1, 1)}
