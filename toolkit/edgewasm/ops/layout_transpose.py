"""LayoutTranspose: move a tensor between ONNX's channels-first layout [N, C, *spatial] and the
channels-last layout [N, *spatial, C] that the convolution and pooling kernels read.

Importers wrap every channels-last op in a pair of these; passes/layout.py then cancels the
pairs that meet, so transposes remain only where a channels-first consumer needs one. Each image
is one 2-D transpose ([C, S] <-> [S, C]); when C or S is 1 both layouts have the same bytes and
the transpose is a view.
"""

from __future__ import annotations

import math

from ..backend.program import Ptr
from ..ir import TensorInfo

IR_OP = "LayoutTranspose"
IMPORTS: dict = {}
CHANNELS_LAST, CHANNELS_FIRST = "NHWC", "NCHW"


def channels_last_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    return (shape[0], *shape[2:], shape[1])


def channels_first_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    return (shape[0], shape[-1], *shape[1:-1])


def to_channels_last(im, x: str, node_name: str) -> str:
    """Emit x [N, C, *S] -> [N, *S, C]; returns the channels-last tensor's name."""
    y = im.fresh(f"{x}__nhwc")
    im.emit(IR_OP, [x], y, channels_last_shape(im.shape(x)), node_name, to=CHANNELS_LAST)
    _keep_dtype(im, x, y)
    return y


def to_channels_first(im, x: str, y: str, node_name: str) -> None:
    """Emit x [N, *S, C] -> y [N, C, *S]."""
    im.emit(IR_OP, [x], y, channels_first_shape(im.shape(x)), node_name, to=CHANNELS_FIRST)
    _keep_dtype(im, x, y)


def _keep_dtype(im, x: str, y: str) -> None:
    """uint8 activations (static int8 regions) stay uint8: u8_transpose moves their bytes."""
    if x in im.tensors and im.tensors[x].dtype == "uint8":
        im.tensors[y] = TensorInfo(y, im.tensors[y].shape, im.tensors[x].dtype)


def perm(to: str, rank: int) -> list[int]:
    if to == CHANNELS_LAST:
        return [0, *range(2, rank), 1]
    return [0, rank - 1, *range(1, rank - 1)]


def lower(graph, node, program) -> None:
    x, y = node.inputs[0], node.outputs[0]
    shape = graph.info(x).shape
    if node.attrs["to"] == CHANNELS_LAST:
        channels, pixels = shape[1], math.prod(shape[2:])
        rows, cols = channels, pixels
    else:
        channels, pixels = shape[-1], math.prod(shape[1:-1])
        rows, cols = pixels, channels
    if channels == 1 or pixels == 1:
        program.views[y] = x
        return
    u8 = graph.info(x).dtype == "uint8"
    image_bytes = (1 if u8 else 4) * channels * pixels
    for image in range(shape[0]):
        program.call("u8_transpose" if u8 else "f32_transpose",
                     [rows, cols, Ptr(x, image * image_bytes), Ptr(y, image * image_bytes)], node.name)


def export(ex, node) -> None:
    ex.add("Transpose", node.inputs, node.outputs[0], perm=perm(node.attrs["to"], len(ex.graph.info(node.inputs[0]).shape)))


def flops(graph, node) -> int:
    return 0
