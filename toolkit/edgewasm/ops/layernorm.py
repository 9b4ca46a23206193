"""LayerNormalization (opset 17): normalize over the axes from `axis` on, flattened into rows,
then scale and shift; f32_layernorm computes mean and variance in two passes (summation order
documented in wasm-kernels/f32_layernorm.wat), f32.sqrt and true division. The optional Mean and
InvStdDev outputs are written when the graph uses them. Scale and bias may be constants or
computed tensors; constants broadcast to the normalized shape at compile time."""

from __future__ import annotations

import math

import numpy as np
from onnx import helper

from ..backend.program import Ptr
from ..errors import ModelFormatError, UnsupportedModelError
from ..frontend.arguments import normalize_axis, optional_input
from ..ir import TensorInfo

IR_OP = "LayerNorm"


def import_layernorm(im, node, at) -> None:
    x = node.input[0]
    shape = im.shape(x)
    axis = normalize_axis(node, int(at.get("axis", -1)), len(shape))
    if all(im.dtype(name) == "float64" for name in node.input if name):  # computed in float64 (float64_ops.py)
        from .. import dtypes
        from . import float64_ops

        stash = dtypes.from_onnx(int(at.get("stash_type", 1)))
        if stash not in ("float32", "float64"):
            raise UnsupportedModelError(f"LayerNormalization node {node.name!r}: stash_type {stash} is not "
                                        "float32 or float64")
        outputs = [node.output[i] if len(node.output) > i and node.output[i] else None for i in (1, 2)]
        float64_ops.layer_norm(im, node, x, axis, node.input[1], optional_input(node, 2),
                               float(at.get("epsilon", 1e-5)), *outputs, stash)
        return
    half = im.dtype(x)
    if half in ("float16", "bfloat16") and any(len(node.output) > i and node.output[i] for i in (1, 2)):
        _import_half_with_stats(im, node, at, half)
        return
    for name in node.input:
        if name:
            im.require_float(node, name)
    normalized = shape[axis:]
    inputs = [x]
    for index, what in ((1, "scale"), (2, "bias")):
        name = optional_input(node, index)
        if name is None:
            continue
        if name in im.constants:
            try:
                value = np.broadcast_to(im.constants[name], normalized)
            except ValueError:
                raise ModelFormatError(f"LayerNormalization node {node.name!r}: {what} of shape "
                                       f"{im.constants[name].shape} does not broadcast to {normalized}") from None
            name = im.add_constant(f"{name}_{what}", value)
        elif im.shape(name) != normalized:
            raise UnsupportedModelError(f"LayerNormalization node {node.name!r}: a computed {what} must have the "
                                        f"normalized shape {normalized}, got {im.shape(name)}")
        inputs.append(name)
    stats = shape[:axis] + (1,) * len(normalized)
    extra = {attr: node.output[i] if len(node.output) > i and node.output[i] else None
             for attr, i in (("mean", 1), ("inv_std", 2))}
    im.emit("LayerNorm", inputs, node.output[0], shape, node.name, axis=axis,
            epsilon=float(at.get("epsilon", 1e-5)), **extra)
    for name in filter(None, extra.values()):  # the training outputs, when the graph asks for them
        if name in im.tensors or name in im.constants:
            raise ModelFormatError(f"tensor {name!r} is produced twice")
        im.tensors[name] = TensorInfo(name, stats)
        im.nodes[-1].outputs.append(name)


def _import_half_with_stats(im, node, at, half: str) -> None:
    """float16/bfloat16 X with the Mean or InvStdDev output: computed in float32 between casts, Y cast
    back to X's dtype while Mean and InvStdDev stay in the stash type (float32, as the spec types them)."""
    from .. import dtypes
    from .cast import emit_cast

    stash = dtypes.from_onnx(int(at.get("stash_type", 1)))
    if stash != "float32":
        raise UnsupportedModelError(f"LayerNormalization node {node.name!r}: stash_type {stash} with {half} "
                                    "input is not supported")
    widened = type(node)()
    widened.CopyFrom(node)
    for i, name in enumerate(node.input):
        if name and im.dtype(name) == half:
            wide = im.fresh(f"{name}_float32")
            if name in im.constants:
                im.constants[wide] = im.constants[name].astype(np.float32)
            else:
                emit_cast(im, node, name, wide, "float32")
            widened.input[i] = wide
    widened.output[0] = im.fresh(f"{node.output[0]}_float32")
    import_layernorm(im, widened, at)
    emit_cast(im, node, widened.output[0], node.output[0], half)


IMPORTS = {"LayerNormalization": (import_layernorm, 2, 3)}


def _operand(graph, program, name: str) -> Ptr:
    return program.weight(name, graph.constants[name]) if graph.is_constant(name) else Ptr(name)


def lower(graph, node, program) -> None:
    x, y = node.inputs[0], node.outputs[0]
    shape, axis = graph.info(x).shape, node.attrs["axis"]
    rows, n = math.prod(shape[:axis]), math.prod(shape[axis:])
    gamma = _operand(graph, program, node.inputs[1])
    beta = _operand(graph, program, node.inputs[2]) if len(node.inputs) > 2 else 0
    mean, inv_std = (Ptr(node.attrs[a]) if node.attrs[a] else 0 for a in ("mean", "inv_std"))
    program.call("f32_layernorm", [rows, n, Ptr(x), gamma, beta, Ptr(y), mean, inv_std,
                                   float(node.attrs["epsilon"])], node.name)


def export(ex, node) -> None:
    inputs = [ex.graph_const(i) if ex.graph.is_constant(i) else i for i in node.inputs]
    outputs = [node.outputs[0], node.attrs["mean"] or "", node.attrs["inv_std"] or ""]
    while not outputs[-1]:
        outputs.pop()
    ex.nodes.append(helper.make_node("LayerNormalization", inputs, outputs, axis=node.attrs["axis"],
                                     epsilon=node.attrs["epsilon"]))


def flops(graph, node) -> int:
    return 8 * graph.info(node.outputs[0]).size
