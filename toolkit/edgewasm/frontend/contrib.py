"""onnxruntime's contrib ops that its transformer optimizer writes (optimum's O1-O4 files,
sentence-transformers' model_O*.onnx, `onnxruntime.transformers.optimizer`) and that a model saved
after onnxruntime's graph optimizations holds (`optimized_model_filepath`): fused forms of standard ops. Nodes of these ops move from the com.microsoft domain to the default one (Attention
renamed com.microsoft.Attention), where their op units (ops/bias_gelu.py, ops/skip_layer_norm.py,
ops/embed_layer_norm.py, ops/packed_attention.py, ops/fused_matmul.py, ops/integer_gemm.py,
ops/matmul_nbits.py) import
them as the standard ops they fuse. onnxruntime registers SimplifiedLayerNormalization (RMS normalization) in
the default domain itself."""

from __future__ import annotations

import onnx
from onnx import TensorProto, helper

from .subgraphs import all_nodes, subgraphs

MICROSOFT = "com.microsoft"
ADOPTED = frozenset({"BiasGelu", "FastGelu", "Gelu", "QuickGelu", "SkipLayerNormalization",
                     "SkipSimplifiedLayerNormalization", "SimplifiedLayerNormalization", "EmbedLayerNormalization",
                     # what a model saved after onnxruntime's own graph optimizations holds
                     "FusedMatMul", "FusedConv", "DynamicQuantizeMatMul", "MatMulIntegerToFloat",
                     "MatMulNBits",  # transformers.js's q4 and q4f16 files
                     "MultiHeadAttention"})
RENAMED = {"Attention": "com.microsoft.Attention"}  # the default domain's Attention is opset 23's, not this one
NOT_IN_ONNX = frozenset({"SimplifiedLayerNormalization"})  # default-domain names onnx's checker does not know


def adopt_contrib_ops(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of `model` with its adopted com.microsoft nodes in the default domain (the model
    itself if it has none)."""
    if not any(n.domain == MICROSOFT and (n.op_type in ADOPTED or n.op_type in RENAMED)
               for n in all_nodes(model.graph.node)):
        return model
    model = _copy(model)
    for node in all_nodes(model.graph.node):
        if node.domain == MICROSOFT and (node.op_type in ADOPTED or node.op_type in RENAMED):
            node.domain = ""
            node.op_type = RENAMED.get(node.op_type, node.op_type)
    return model


def topologically_sorted(model: onnx.ModelProto) -> onnx.ModelProto:
    """The model with its graph's nodes in an order where each comes after the nodes it reads
    (onnxruntime sorts a graph itself; its float16 converter writes some out of order): Kahn's
    order, the earliest written ready node first, so a sorted graph keeps its order. The model
    itself when it is sorted, or has a cycle (for the checker to refuse)."""
    import heapq

    nodes = list(model.graph.node)
    producer = {o: i for i, n in enumerate(nodes) for o in n.output if o}
    needs = [{producer[name] for name in _reads(n) if name in producer} - {i} for i, n in enumerate(nodes)]
    if all(all(j < i for j in deps) for i, deps in enumerate(needs)):
        return model
    readers: dict[int, list[int]] = {}
    for i, deps in enumerate(needs):
        for j in deps:
            readers.setdefault(j, []).append(i)
    waiting = [len(deps) for deps in needs]
    ready = [i for i, count in enumerate(waiting) if count == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for k in readers.get(i, ()):
            waiting[k] -= 1
            if waiting[k] == 0:
                heapq.heappush(ready, k)
    if len(order) != len(nodes):
        return model
    model = _copy(model)
    del model.graph.node[:]
    model.graph.node.extend(nodes[i] for i in order)
    return model


def _reads(node: onnx.NodeProto) -> list[str]:
    """The names a node reads, its subgraphs' outer-scope reads included."""
    names = [i for i in node.input if i]
    for graph in subgraphs(node):
        inner = {o for n in all_nodes(graph.node) for o in n.output} | {i.name for i in graph.input} | \
                {t.name for t in graph.initializer}
        names += [i for n in all_nodes(graph.node) for i in n.input if i and i not in inner]
    return names


def _copy(model: onnx.ModelProto) -> onnx.ModelProto:
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    return copy


# -- for the op units: a fused block on float16 tensors runs in float32 and rounds its outputs once,
# as onnxruntime's fused kernels do

HALF = ("float16", "bfloat16")


def in_float32(im, node, names: list[str], half: str | None) -> list[str]:
    """names as float32 tensors (Casts of the half ones; empty names stay empty)."""
    if half is None:
        return names
    wide = []
    for name in names:
        if name and im.dtype(name) in HALF:
            cast = im.fresh(f"{name}__float32")
            im.import_nodes([helper.make_node("Cast", [name], [cast], name=f"{node.name} (float32)", to=TensorProto.FLOAT)])
            name = cast
        wide.append(name)
    return wide


def output_in_float32(im, node, y: str, half: str | None) -> str:
    """Where the fused computation writes y: y itself, or a float32 tensor cast back into y after."""
    return y if half is None or not y else im.fresh(f"{y}__float32")


def narrow(im, node, wide: str, y: str, half: str | None) -> None:
    if half is not None and wide != y:
        to = TensorProto.FLOAT16 if half == "float16" else TensorProto.BFLOAT16
        im.import_nodes([helper.make_node("Cast", [wide], [y], name=f"{node.name} (rounded)", to=to)])


def half_of(im, name: str) -> str | None:
    return im.dtype(name) if im.dtype(name) in HALF else None
