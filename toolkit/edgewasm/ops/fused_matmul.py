"""onnxruntime's fusions that a model saved after its graph optimizations holds
(SessionOptions.optimized_model_filepath; com.microsoft, adopted by frontend/contrib.py), imported
as the standard ops they fuse:
  FusedMatMul(A, B)            alpha * op(A) @ op(B): transBatchA / transBatchB move axis 0 of the
                               operand to the second-to-last place (its batch axes first, as
                               onnxruntime's kernel reads them), then transA / transB swap the
                               last two axes
  FusedConv(X, W[, B[, Z]])    activation(Conv(X, W, B) [+ Z]), activation one of Relu, Clip,
                               Sigmoid, Tanh, LeakyRelu, HardSigmoid with its activation_params"""

from __future__ import annotations

import numpy as np
from onnx import helper

from ..errors import ModelFormatError, UnsupportedModelError

IR_OP = None
CONV_ATTRIBUTES = ("auto_pad", "dilations", "group", "kernel_shape", "pads", "strides")
ACTIVATIONS = {"Relu": (), "Sigmoid": (), "Tanh": (), "LeakyRelu": ("alpha",), "HardSigmoid": ("alpha", "beta")}


def import_fused_matmul(im, node, at) -> None:
    where = f"FusedMatMul node {node.name!r}"
    base, nodes, operands = node.output[0], [], []
    for name, side in zip(node.input[:2], "AB"):
        rank = len(im.shape(name))
        perm = list(range(rank))
        if int(at.get(f"transBatch{side}", 0)) and rank > 2:
            perm = [*range(1, rank - 1), 0, rank - 1]
        if int(at.get(f"trans{side}", 0)):
            if rank < 2:
                raise ModelFormatError(f"{where}: trans{side} on an operand of rank {rank}")
            perm[-2], perm[-1] = perm[-1], perm[-2]
        if perm != sorted(perm):
            turned = im.fresh(f"{base}__{side}")
            nodes.append(helper.make_node("Transpose", [name], [turned], name=f"{node.name} (op({side}))", perm=perm))
            name = turned
        operands.append(name)
    alpha = float(at.get("alpha", 1.0))
    product = node.output[0] if alpha == 1.0 else im.fresh(f"{base}__product")
    nodes.append(helper.make_node("MatMul", operands, [product], name=node.name))
    if alpha != 1.0:
        scale = im.fresh(f"{base}__alpha")
        im.constants[scale] = np.array(alpha, np.float32).astype(im.dtype(node.input[0]))
        nodes.append(helper.make_node("Mul", [product, scale], [node.output[0]], name=f"{node.name} (alpha)"))
    im.import_nodes(nodes)


def import_fused_conv(im, node, at) -> None:
    where = f"FusedConv node {node.name!r}"
    activation = at.get("activation", "")
    activation = activation.decode() if isinstance(activation, bytes) else activation
    params = [float(p) for p in at.get("activation_params", [])]
    if activation not in ACTIVATIONS and activation != "Clip":
        raise UnsupportedModelError(f"{where}: activation {activation!r} is not supported "
                                    f"({', '.join([*ACTIVATIONS, 'Clip'])})")
    base, nodes = node.output[0], []
    conv_out = im.fresh(f"{base}__conv")
    conv_attrs = {name: at[name] for name in CONV_ATTRIBUTES if name in at}
    nodes.append(helper.make_node("Conv", list(node.input[:3]), [conv_out], name=node.name, **conv_attrs))
    if len(node.input) > 3 and node.input[3]:
        summed = im.fresh(f"{base}__sum")
        nodes.append(helper.make_node("Add", [conv_out, node.input[3]], [summed], name=f"{node.name} (sum)"))
        conv_out = summed
    if activation == "Clip":
        if len(params) != 2:
            raise ModelFormatError(f"{where}: Clip needs activation_params [min, max], got {params}")
        bounds = []
        for label, value in zip(("min", "max"), params):
            bounds.append(im.fresh(f"{base}__{label}"))
            im.constants[bounds[-1]] = np.array(value, np.float32).astype(im.dtype(node.input[0]))
        nodes.append(helper.make_node("Clip", [conv_out, *bounds], [node.output[0]], name=f"{node.name} (Clip)"))
    else:
        names = ACTIVATIONS[activation]
        if len(params) not in (0, len(names)):
            raise ModelFormatError(f"{where}: {activation} takes {len(names)} activation_params, got {params}")
        nodes.append(helper.make_node(activation, [conv_out], [node.output[0]], name=f"{node.name} ({activation})",
                                      **dict(zip(names, params))))
    im.import_nodes(nodes)


IMPORTS = {"FusedMatMul": (import_fused_matmul, 2, 2), "FusedConv": (import_fused_conv, 2, 4)}
