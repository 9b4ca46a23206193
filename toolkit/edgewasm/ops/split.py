"""Split: y_i = consecutive chunks of x along one axis, in any dtype; imported as one IR Slice per
output (one x_copy_nd call each: a chunk of the last axis copies a run per row, a chunk of an
outer axis one memory.copy), an output that is the whole input a view.

Every opset spelling: the chunk sizes as the `split` attribute (opsets 1-12; opset 1 also as an
input) or a constant input (13+); absent, equal parts over the outputs, or from opset 18 the
`num_outputs` attribute: ceil(dim / num_outputs) per chunk, the last one smaller.
"""

from __future__ import annotations

import math

from ..errors import ModelFormatError
from ..frontend.arguments import int_constant, normalize_axis, optional_input

IR_OP = None  # IR Slice (ops/slice.py) and Reshape (ops/views.py)


def chunk_sizes(im, node, at, dim: int) -> list[int]:
    """The size of every output's chunk, checked against the axis length."""
    outputs = len(node.output)
    name = optional_input(node, 1)
    if name is not None and (im.opset >= 13 or im.opset < 2):
        split = int_constant(im, node, name, "split").reshape(-1).tolist()
    elif "split" in at and im.opset < 13:
        split = [int(s) for s in at["split"]]
    else:
        split = None
    num_outputs = at.get("num_outputs")
    if num_outputs is not None:
        if im.opset < 18:
            raise ModelFormatError(f"Split node {node.name!r}: num_outputs needs opset 18 (model: {im.opset})")
        if split is not None:
            raise ModelFormatError(f"Split node {node.name!r}: split and num_outputs are both given")
        if int(num_outputs) != outputs or outputs < 1:
            raise ModelFormatError(f"Split node {node.name!r}: num_outputs {num_outputs} but {outputs} outputs")
        chunk = math.ceil(dim / outputs)
        # chunks of ceil(dim / outputs), the last one smaller, possibly empty (3 into 4 is 1, 1, 1, 0);
        # refused where even it cannot take the rest (5 into 4), as onnxruntime refuses it
        split = [max(0, min(chunk, dim - i * chunk)) for i in range(outputs)]
        if dim - chunk * (outputs - 1) < 0:
            raise ModelFormatError(f"Split node {node.name!r}: {outputs} outputs of ceil({dim}/{outputs}) = {chunk} "
                                   "would leave more than the last one short")
    elif split is None:
        if im.opset >= 18:
            raise ModelFormatError(f"Split node {node.name!r}: opset 18 needs the split input or num_outputs")
        if dim % outputs:
            raise ModelFormatError(f"Split node {node.name!r}: axis of {dim} does not split into {outputs} "
                                   "equal parts")
        split = [dim // outputs] * outputs
    if len(split) != outputs or any(s < 0 for s in split) or sum(split) != dim:
        raise ModelFormatError(f"Split node {node.name!r}: chunks {split} do not split an axis of {dim} into "
                               f"{outputs} outputs")
    return split


def import_split(im, node, at) -> None:
    x = node.input[0]
    shape, dtype = im.shape(x), im.dtype(x)
    if not shape:
        raise ModelFormatError(f"Split node {node.name!r}: the input must have rank >= 1")
    axis = normalize_axis(node, int(at.get("axis", 0)), len(shape))
    start = 0
    for output, size in zip(node.output, chunk_sizes(im, node, at, shape[axis])):
        out = shape[:axis] + (size,) + shape[axis + 1:]
        if output and size == shape[axis]:
            im.emit("Reshape", [x], output, out, node.name, dtype=dtype)
        elif output:
            starts = [0] * len(shape)
            starts[axis] = start
            im.emit("Slice", [x], output, out, node.name, dtype=dtype, starts=starts, steps=[1] * len(shape))
        start += size


IMPORTS = {"Split": (import_split, 1, 2)}
