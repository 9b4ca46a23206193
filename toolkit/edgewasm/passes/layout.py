"""Layout: keep convolutional regions channels-last, with transposes only at their borders.

The importer wraps every channels-last op (Conv, ConvTranspose, Pool, spatial ScaleShift)
between a LayoutTranspose to NHWC and one back to NCHW, which is correct but transposes around
every op. This pass moves the transposes until they meet and cancel:
  - a to-NCHW transpose sinks below an op that can follow its inputs into another layout when
    all its activation inputs arrive through to-NCHW transposes: elementwise ops (constant
    operands permuted alike, so a per-channel [C, 1, 1] becomes [1, 1, C]), a Concat (its axis
    permuted: a channel concat becomes a last-axis concat), a Pad (its pads permuted), a
    reduction that keeps its axes (its axes permuted: a spatial mean becomes a mean over rows);
  - a to-NHWC transpose rises above such an op (one activation input) when it is the only reader;
  - to-NCHW followed by to-NHWC is the identity, and transposes nobody reads disappear;
  - a graph Transpose of a to-NCHW transpose reads the channels-last tensor with the composed
    permutation, and a to-NHWC transpose of a graph Transpose likewise (tf2onnx wraps every
    convolution of a Keras model in Transpose(0, 3, 1, 2) .. Transpose(0, 2, 3, 1): both vanish);
    so does a Transpose of a Reshape that only splits the channels of a to-NCHW transpose (a
    detection head's view(N, A, K, H, W).permute(0, 3, 4, 1, 2)).
What remains is where a channels-first consumer needs the data: graph outputs, a Flatten or
Reshape of a spatial map, ops that do not know layouts. (GlobalAveragePool's [N, C, 1, 1] output
has the same bytes in both layouts, so its transpose lowers to a view.)
"""

from __future__ import annotations

import numpy as np

from ..ir import Graph, Node, TensorInfo
from ..ops.layout_transpose import CHANNELS_FIRST, CHANNELS_LAST, IR_OP as TRANSPOSE, perm

# Ops that follow their inputs into another layout. Elementwise ops follow any permutation (with
# their constants permuted alike); Concat and Pad need their axis or pads permuted.
UNARY = {"Clamp", "Sigmoid", "Tanh", "Erf", "Gelu", "LeakyRelu", "HardSigmoid", "HardSwish", "Sqrt", "Exp", "Log"}
BINARY = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min"}


def channels_last(graph: Graph) -> tuple[Graph, dict]:
    """Rewrite the graph in place; the report counts the transposes left."""
    for node in graph.nodes:
        _adopt(graph, node)
    rewrites = (_cancel_pair, _compose_permute, _split_channels_permute, _sink_to_channels_first,
                _hoist_to_channels_last)
    changed = True
    while changed:
        changed = False
        _remove_unread_transposes(graph)
        # every rewrite involves a transpose's input or output: skip the nodes that touch none
        # (keeps a graph of thousands of nodes, e.g. an unrolled recurrence, linear per sweep)
        near = {t for n in graph.nodes if n.op == TRANSPOSE for t in (*n.inputs, *n.outputs)}
        near |= {n.outputs[0] for n in graph.nodes if n.op == "Reshape" and n.inputs[0] in near}  # _split_channels_permute
        for node in list(graph.nodes):
            if not near.intersection(node.inputs) and not near.intersection(node.outputs):
                continue
            if node in graph.nodes and any(rule(graph, node) for rule in rewrites):
                changed = True
                break
    _remove_unread_transposes(graph)
    return graph, {"layout_transposes": sum(n.op == TRANSPOSE for n in graph.nodes)}


def _adopt(graph: Graph, node: Node) -> None:
    """A graph Transpose that is exactly a layout transpose (torch's ConvNeXt permutes its blocks
    to channels-last and back) becomes one, so the rules below move and cancel it too."""
    if node.op != "Transpose" or graph.info(node.inputs[0]).dtype != "float32":
        return
    rank = len(node.attrs["perm"])
    for to in (CHANNELS_LAST, CHANNELS_FIRST):
        if rank >= 3 and list(node.attrs["perm"]) == perm(to, rank):
            node.op, node.attrs = TRANSPOSE, {"to": to}
            return


def _is_transpose(node: Node | None, to: str) -> bool:
    return node is not None and node.op == TRANSPOSE and node.attrs["to"] == to


def _producer(graph: Graph, name: str) -> Node | None:
    return next((n for n in graph.nodes if name in n.outputs), None)


def _activations(graph: Graph, node: Node) -> list[str]:
    return [i for i in node.inputs if not graph.is_constant(i)]


def _followed_attrs(graph: Graph, node: Node, to: str) -> dict | None:
    """The node's attributes once its rank-r inputs are permuted by `to`, or None if it cannot follow."""
    if len(node.outputs) != 1:
        return None
    rank = len(graph.info(node.outputs[0]).shape)
    order = perm(to, rank)
    same_rank = all(len(graph.info(i).shape) == rank for i in _activations(graph, node))
    if node.op in UNARY or (node.op in BINARY and same_rank
                            and all(graph.constants[i].ndim <= rank for i in node.inputs if graph.is_constant(i))):
        return dict(node.attrs)
    if node.op == "Concat" and same_rank:
        return dict(node.attrs, axis=order.index(node.attrs["axis"]))
    if node.op == "Pad":
        return dict(node.attrs, begin=tuple(node.attrs["begin"][i] for i in order),
                    end=tuple(node.attrs["end"][i] for i in order))
    if node.op in ("ReduceMean", "ReduceSum") and same_rank:  # float32 sums over one run of axes, kept as 1s
        moved = sorted(order.index(a) for a in range(node.attrs["first"], node.attrs["last"] + 1))
        if moved == list(range(moved[0], moved[-1] + 1)):  # still one run: a squeeze-excitation's spatial mean
            return dict(node.attrs, first=moved[0], last=moved[-1])
    if node.op == "Reduce" and node.attrs["keepdims"] and same_rank:
        return dict(node.attrs, axes=tuple(sorted(order.index(a) for a in node.attrs["axes"])))
    return None


def _followed_constant(graph: Graph, name: str, to: str, rank: int) -> str:
    """A constant operand permuted like the activations (broadcasting from the right first)."""
    value = graph.constants[name]
    if value.size == 1:
        return name
    full = value.reshape((1,) * (rank - value.ndim) + value.shape)
    moved = graph.fresh_name(f"{name}__nhwc")
    graph.constants[moved] = np.ascontiguousarray(np.transpose(full, perm(to, rank)))
    return moved



def _permuted_shape(shape: tuple[int, ...], to: str) -> tuple[int, ...]:
    return tuple(shape[i] for i in perm(to, len(shape)))


def _sink_to_channels_first(graph: Graph, node: Node) -> bool:
    """op(T_nchw(u)...) -> T_nchw(op(u...)) when every activation input comes through a to-NCHW."""
    sources = [_producer(graph, i) for i in _activations(graph, node)]
    if not sources or not all(_is_transpose(s, CHANNELS_FIRST) for s in sources):
        return False
    attrs = _followed_attrs(graph, node, CHANNELS_LAST)
    if attrs is None:
        return False
    out = node.outputs[0]
    rank = len(graph.info(out).shape)
    inner = graph.fresh_name(f"{out}__nhwc")
    graph.tensors[inner] = TensorInfo(inner, _permuted_shape(graph.info(out).shape, CHANNELS_LAST), graph.info(out).dtype)
    rename = {s.outputs[0]: s.inputs[0] for s in sources}
    node.inputs = [_followed_constant(graph, i, CHANNELS_LAST, rank) if graph.is_constant(i) else rename[i]
                   for i in node.inputs]
    node.outputs = [inner]
    node.attrs = attrs
    graph.nodes.insert(graph.nodes.index(node) + 1,
                       Node(TRANSPOSE, [inner], [out], {"to": CHANNELS_FIRST}, node.name))
    return True


def _hoist_to_channels_last(graph: Graph, node: Node) -> bool:
    """T_nhwc(op(x)) -> op(T_nhwc(x)) when the transpose is the op's only reader (one activation)."""
    if len(_activations(graph, node)) != 1 or node.op == TRANSPOSE:
        return False
    out = node.outputs[0]
    readers = graph.consumers(out)
    if len(readers) != 1 or not _is_transpose(readers[0], CHANNELS_LAST) or graph.is_graph_output(out):
        return False
    attrs = _followed_attrs(graph, node, CHANNELS_LAST)
    if attrs is None:
        return False
    transpose = readers[0]
    rank = len(graph.info(out).shape)
    x = _activations(graph, node)[0]
    moved = graph.fresh_name(f"{x}__nhwc")
    graph.tensors[moved] = TensorInfo(moved, _permuted_shape(graph.info(x).shape, CHANNELS_LAST), graph.info(x).dtype)
    graph.nodes.insert(graph.nodes.index(node), Node(TRANSPOSE, [x], [moved], {"to": CHANNELS_LAST}, transpose.name))
    node.inputs = [moved if i == x else _followed_constant(graph, i, CHANNELS_LAST, rank) for i in node.inputs]
    node.outputs = list(transpose.outputs)
    node.attrs = attrs
    graph.nodes.remove(transpose)
    del graph.tensors[out]
    return True


def _cancel_pair(graph: Graph, node: Node) -> bool:
    """T_nhwc(T_nchw(u)) is u: its readers read u instead (a graph output: an identity Transpose
    of u, which lowers to a view)."""
    if not _is_transpose(node, CHANNELS_LAST):
        return False
    source = _producer(graph, node.inputs[0])
    out = node.outputs[0]
    if not _is_transpose(source, CHANNELS_FIRST):
        return False
    original = source.inputs[0]
    if graph.is_graph_output(out):
        node.op, node.inputs = "Transpose", [original]
        node.attrs = {"perm": list(range(len(graph.info(out).shape))), "dtype": graph.info(out).dtype}
        return True
    _read_instead(graph, node, original)
    return True


def _compose_permute(graph: Graph, node: Node) -> bool:
    """Transpose(T_nchw(u), p) is Transpose(u, T_nchw's perm composed with p), and T_nhwc(
    Transpose(u, p)) is Transpose(u, p composed with T_nhwc's perm): the identity disappears (its
    readers read u), anything else is one transpose instead of two."""
    source = _producer(graph, node.inputs[0])
    if node.op == "Transpose" and _is_transpose(source, CHANNELS_FIRST):
        first, second = perm(CHANNELS_FIRST, len(node.attrs["perm"])), node.attrs["perm"]
    elif _is_transpose(node, CHANNELS_LAST) and source is not None and source.op == "Transpose":
        first, second = source.attrs["perm"], perm(CHANNELS_LAST, len(source.attrs["perm"]))
    else:
        return False
    original = source.inputs[0]
    composed = [int(first[p]) for p in second]
    out = node.outputs[0]
    if composed != sorted(composed) or graph.is_graph_output(out):
        if node.op != "Transpose":  # the LayoutTranspose becomes the one general Transpose
            dtype = graph.info(out).dtype
            node.op, node.attrs = "Transpose", {"dtype": dtype}
        node.inputs = [original]
        node.attrs = {**node.attrs, "perm": composed}
        _adopt(graph, node)
        return True
    _read_instead(graph, node, original)
    return True


def _split_channels_permute(graph: Graph, node: Node) -> bool:
    """Transpose(Reshape(T_nchw(u)), p) where the Reshape only splits the channels ([N, C, *S] ->
    [N, c1..ck, *S], a detection head's view(N, A, K, H, W)): reshape u instead ([N, *S, c1..ck],
    the same bytes) and transpose that with the composed permutation (none when it is the identity)."""
    if node.op != "Transpose":
        return False
    view = _producer(graph, node.inputs[0])
    if view is None or view.op != "Reshape" or graph.is_graph_output(view.outputs[0]) \
            or len(graph.consumers(view.outputs[0])) != 1:
        return False
    source = _producer(graph, view.inputs[0])
    if not _is_transpose(source, CHANNELS_FIRST):
        return False
    u = source.inputs[0]
    nhwc, split = graph.info(u).shape, graph.info(view.outputs[0]).shape
    spatial, k = nhwc[1:-1], len(split) - len(nhwc) + 1
    if k < 1 or split[0] != nhwc[0] or tuple(split[1 + k:]) != tuple(spatial) or int(np.prod(split[1:1 + k])) != nhwc[-1]:
        return False
    m = len(spatial)
    v = graph.fresh_name(f"{view.outputs[0]}__nhwc")
    graph.tensors[v] = TensorInfo(v, (nhwc[0], *spatial, *split[1:1 + k]), graph.info(view.outputs[0]).dtype)
    q = [0, *range(m + 1, m + 1 + k), *range(1, m + 1)]  # the split NCHW view = v.transpose(q)
    del graph.tensors[view.outputs[0]]
    view.inputs, view.outputs = [u, *view.inputs[1:]], [v]
    composed = [q[i] for i in node.attrs["perm"]]
    out = node.outputs[0]
    if composed == sorted(composed) and not graph.is_graph_output(out):  # the identity: read v itself
        _read_instead(graph, node, v)
        return True
    node.inputs = [v]
    node.attrs = {**node.attrs, "perm": composed}
    _adopt(graph, node)
    return True


def _read_instead(graph: Graph, node: Node, source: str) -> None:
    """Drop a node whose output is `source` itself: its readers read `source`."""
    out = node.outputs[0]
    for reader in graph.nodes:
        reader.inputs = [source if i == out else i for i in reader.inputs]
    graph.nodes.remove(node)
    del graph.tensors[out]


def _remove_unread_transposes(graph: Graph) -> None:
    removed = True
    while removed:
        removed = False
        for node in list(graph.nodes):
            if node.op not in (TRANSPOSE, "Transpose"):  # a Transpose left unread by _compose_permute
                continue
            out = node.outputs[0]
            if not graph.consumers(out) and not graph.is_graph_output(out):
                graph.nodes.remove(node)
                del graph.tensors[out]
                removed = True
