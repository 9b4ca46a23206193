"""onnxruntime's EmbedLayerNormalization (com.microsoft, adopted by frontend/contrib.py), a BERT
embedding block, imported as the standard ops it fuses:
  inputs  input_ids, segment_ids?, word_embedding, position_embedding, segment_embedding?, gamma,
          beta, mask?, position_ids?
  output  LayerNormalization(word[input_ids] + position[position_ids or 0..S-1] [+ segment[segment_ids]])
  mask_index  per batch row, the count of mask values equal to 1 (int32; 0s without a mask)
  embedding_sum  the sum before the normalization, when named."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper

from ..errors import ModelFormatError

IR_OP = None


def import_embed_layer_norm(im, node, at) -> None:
    names = list(node.input) + [""] * (9 - len(node.input))
    ids, segments, words, positions, segment_table, gamma, beta, mask, position_ids = names
    if len(node.input) < 7 or not all((ids, words, positions, gamma, beta)):
        raise ModelFormatError(f"EmbedLayerNormalization node {node.name!r}: input_ids, word_embedding, "
                               "position_embedding, gamma and beta are required")
    outputs = list(node.output) + [""] * (3 - len(node.output))
    shape = im.shape(ids)
    if len(shape) != 2:
        raise ModelFormatError(f"EmbedLayerNormalization node {node.name!r}: input_ids must be [batch, sequence], "
                               f"got {list(shape)}")
    batch, sequence = shape
    base = node.output[0]
    nodes = []

    def add(op, inputs, **attrs):
        out = im.fresh(f"{base}__{op.lower()}")
        nodes.append(helper.make_node(op, inputs, [out], name=f"{node.name} ({op})", **attrs))
        return out

    if not position_ids:
        position_ids = im.fresh(f"{base}__positions")
        im.constants[position_ids] = np.arange(sequence, dtype=np.int64).reshape(1, sequence)
    total = add("Add", [add("Gather", [words, ids]), add("Gather", [positions, position_ids])])
    if segments and segment_table:
        total = add("Add", [total, add("Gather", [segment_table, segments])])
    if outputs[2]:
        nodes.append(helper.make_node("Identity", [total], [outputs[2]], name=f"{node.name} (embedding_sum)"))
    nodes.append(helper.make_node("LayerNormalization", [total, gamma, beta], [outputs[0]], name=node.name, axis=-1,
                                  epsilon=float(at.get("epsilon", 1e-12))))
    if outputs[1]:
        if mask:
            ones = add("Cast", [add("Equal", [mask, _one(im, base, im.dtype(mask))])], to=TensorProto.INT32)
            axes = im.fresh(f"{base}__axes")
            im.constants[axes] = np.array([1], np.int64)
            nodes.append(helper.make_node("ReduceSum", [ones, axes], [outputs[1]], name=f"{node.name} (mask_index)",
                                          keepdims=0))
        else:
            im.constants[outputs[1]] = np.zeros(batch, np.int32)
    im.import_nodes(nodes)


def _one(im, base: str, dtype: str) -> str:
    name = im.fresh(f"{base}__one")
    im.constants[name] = np.ones((), np.dtype(dtype))
    return name


IMPORTS = {"EmbedLayerNormalization": (import_embed_layer_norm, 1, 9)}  # segment inputs may be empty: checked above
