"""onnxruntime's fused GELUs (com.microsoft, adopted by frontend/contrib.py), imported as the
standard ops they fuse, so the GELU kernels and the chain fusion take them as any Gelu:
  BiasGelu(A, bias)     Gelu(A + bias)                       (erf form)
  FastGelu(X[, bias])   Gelu(X [+ bias], approximate="tanh")
  QuickGelu(X)          X * Sigmoid(alpha * X), alpha 1.702 unless given
(com.microsoft's Gelu is the default domain's erf Gelu and needs no unit.) On float16 tensors
BiasGelu and FastGelu run in float32 with one rounding at the end, as a fused kernel does."""

from __future__ import annotations

import numpy as np
from onnx import helper

from ..frontend.contrib import half_of, in_float32, narrow, output_in_float32


IR_OP = None


def _biased_gelu(im, node, bias: str, approximate: str) -> None:
    """Gelu(x [+ bias]), in float32 on float16 tensors with one rounding at the end (a fused kernel's)."""
    half = half_of(im, node.input[0])
    x, bias = in_float32(im, node, [node.input[0], bias], half)
    if bias:
        total = im.fresh(f"{node.output[0]}__biased")
        im.import_nodes([helper.make_node("Add", [x, bias], [total], name=f"{node.name} (bias)")])
        x = total
    y = output_in_float32(im, node, node.output[0], half)
    im.import_nodes([helper.make_node("Gelu", [x], [y], name=node.name, approximate=approximate)])
    narrow(im, node, y, node.output[0], half)


def import_bias_gelu(im, node, at) -> None:
    _biased_gelu(im, node, node.input[1], "none")


def import_fast_gelu(im, node, at) -> None:
    _biased_gelu(im, node, node.input[1] if len(node.input) > 1 else "", "tanh")


def import_quick_gelu(im, node, at) -> None:
    x, y = node.input[0], node.output[0]
    alpha = im.fresh(f"{y}__alpha")
    im.constants[alpha] = np.array(float(at.get("alpha", 1.702)), np.float32).astype(im.dtype(x))
    scaled, gate = im.fresh(f"{y}__scaled"), im.fresh(f"{y}__gate")
    im.import_nodes([helper.make_node("Mul", [x, alpha], [scaled], name=f"{node.name} (alpha)"),
                     helper.make_node("Sigmoid", [scaled], [gate], name=f"{node.name} (sigmoid)"),
                     helper.make_node("Mul", [x, gate], [y], name=node.name)])


IMPORTS = {"BiasGelu": (import_bias_gelu, 2, 2), "FastGelu": (import_fast_gelu, 1, 2),
           "QuickGelu": (import_quick_gelu, 1, 1)}
