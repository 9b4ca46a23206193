"""onnxruntime's fused normalizations, imported as the standard ops they fuse (LayerNormalization,
RMSNormalization: the f32_layernorm and row-norm kernels):
  SkipLayerNormalization(input, skip, gamma[, beta[, bias]])       com.microsoft
      s = input + skip [+ bias];  output = LayerNormalization(s, gamma, beta) over the last axis;
      outputs (output, mean, inv_std_var, input_skip_bias_sum): the sum is written when named,
      mean and inv_std_var (training only, onnxruntime's CPU kernel leaves them) are refused
  SkipSimplifiedLayerNormalization(input, skip, gamma)             com.microsoft
      the same with RMS normalization and no beta (a bias input is refused: onnxruntime versions
      disagree on whether it is added)
  SimplifiedLayerNormalization(X, scale)                            onnxruntime's, default domain
      RMS normalization (axis, epsilon, stash_type as RMSNormalization's)
epsilon defaults to onnxruntime's 1e-12 for the skip forms. On float16 (or bfloat16) tensors the
whole fused computation runs in float32 and only its outputs are rounded, as onnxruntime's fused
kernels do (the sum rounded to float16 before the normalization gave other values)."""

from __future__ import annotations

from onnx import helper

from ..errors import UnsupportedModelError
from ..frontend.contrib import half_of, in_float32, narrow, output_in_float32

IR_OP = None
SKIP_EPSILON = 1e-12


def _skip_sum(im, node, x: str, skip: str, bias: str, half: str | None) -> str:
    """x + skip [+ bias] (float32 names): the graph's input_skip_bias_sum output is written when named."""
    named = node.output[3] if len(node.output) > 3 and node.output[3] else ""
    target = output_in_float32(im, node, named, half)
    total = target if target and not bias else im.fresh(f"{node.output[0]}__sum")
    nodes = [helper.make_node("Add", [x, skip], [total], name=f"{node.name} (skip)")]
    if bias:
        biased = target or im.fresh(f"{node.output[0]}__biased")
        nodes.append(helper.make_node("Add", [total, bias], [biased], name=f"{node.name} (bias)"))
        total = biased
    im.import_nodes(nodes)
    if named:
        narrow(im, node, total, named, half)
    return total


def _refuse_statistics(node) -> None:
    if any(node.output[1:3]):
        raise UnsupportedModelError(f"{node.op_type} node {node.name!r}: the mean and inv_std_var outputs "
                                    "(training only) are not supported")


def import_skip_layer_norm(im, node, at) -> None:
    _refuse_statistics(node)
    half = half_of(im, node.input[0])
    x, skip, gamma, beta, bias = in_float32(im, node, list(node.input) + [""] * (5 - len(node.input)), half)
    total = _skip_sum(im, node, x, skip, bias, half)
    y = output_in_float32(im, node, node.output[0], half)
    im.import_nodes([helper.make_node("LayerNormalization", [total, gamma] + ([beta] if beta else []), [y],
                                      name=node.name, axis=-1, epsilon=float(at.get("epsilon", SKIP_EPSILON)))])
    narrow(im, node, y, node.output[0], half)


def import_skip_simplified_layer_norm(im, node, at) -> None:
    _refuse_statistics(node)
    if len(node.input) > 3 and node.input[3]:
        raise UnsupportedModelError(f"SkipSimplifiedLayerNormalization node {node.name!r}: a bias input is not "
                                    "supported (onnxruntime versions disagree on whether it is added)")
    half = half_of(im, node.input[0])
    x, skip, gamma = in_float32(im, node, list(node.input[:3]), half)
    total = _skip_sum(im, node, x, skip, "", half)
    y = output_in_float32(im, node, node.output[0], half)
    im.import_nodes([helper.make_node("RMSNormalization", [total, gamma], [y], name=node.name, axis=-1,
                                      epsilon=float(at.get("epsilon", SKIP_EPSILON)))])
    narrow(im, node, y, node.output[0], half)


def import_simplified_layer_norm(im, node, at) -> None:
    if len(node.output) > 1 and node.output[1]:
        raise UnsupportedModelError(f"SimplifiedLayerNormalization node {node.name!r}: the inv_std_var output "
                                    "is not supported")
    attrs = {name: at[name] for name in ("axis", "epsilon", "stash_type") if name in at}
    im.import_nodes([helper.make_node("RMSNormalization", list(node.input), [node.output[0]], name=node.name,
                                      **attrs)])


IMPORTS = {"SkipLayerNormalization": (import_skip_layer_norm, 3, 5),
           "SkipSimplifiedLayerNormalization": (import_skip_simplified_layer_norm, 3, 4),
           "SimplifiedLayerNormalization": (import_simplified_layer_norm, 2, 2)}
