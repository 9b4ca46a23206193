"""Quantization passes: float16 weights, int8 exactly as onnxruntime's quantizer does it, and int16.

fp16   every float32 constant a node reads is rounded to the nearest float16 (kept as float32 in the
       graph, so every op still computes in f32); the backend then ships those weights as float16
       and `init()` widens them (backend/codecs.py).
int8   dynamic: each Gemm becomes DynamicQuantize (uint8 activations, scale and zero point computed
       at run time) + IntegerGemm (int8 weights, symmetric per output column, int32 accumulation,
       float epilogue): the graph onnxruntime's `quantize_dynamic(per_channel=True)` makes of a
       MatMul, with the same weights, scales and arithmetic, so its reference.onnx gives our bits.
       Convolutions stay float (CONV_KEPT_FLOAT says why; static int8 is the fast CNN path).
       static (with calibration data): QLinearGemm / QLinearConv chains, as quantize_static (QDQ)
       makes them (uint8 max pooling, QLinearGlobalAveragePool, reshapes in between), with the
       activations (256-byte tables), residual Adds and squeeze-excitation products between them
       in uint8 too.
int16  dynamic: each Gemm becomes DynamicQuantize16 (int16 activations, symmetric per tensor, scale
       computed at run time) + Int16Gemm (int16 weights symmetric per output column, exact int64
       accumulation, float epilogue), each Conv DynamicQuantize16 + Int16Conv (per output channel);
       their reference.onnx computes the same in standard ONNX ops (onnxruntime has no int16 path).

The weight formulas are onnxruntime's `compute_scale_zp` + `quantize_nparray` (onnxruntime/
quantization/quant_utils.py): range widened to include 0, symmetrized, scale computed in float64
and stored as float32, `q = clip(rint(w / scale))` with a float32 division.
"""

from __future__ import annotations

import numpy as np

from ..errors import CompressionError
from ..ir import Graph, Node, TensorInfo
from .fuse import compose_clamps

INT8_SYMMETRIC = (-127, 127)
INT7_SYMMETRIC = (-63, 63)  # the relaxed-SIMD tier's weights (backend/qpacking.QC7W_RANGE holds them)


def quantize_symmetric(w: np.ndarray, axis: int | None, qrange: tuple[int, int] = INT8_SYMMETRIC,
                       dtype=np.int8) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric quantization per channel along `axis` (the output channel), or per tensor with
    axis None: (q, scale[channels] or a scalar scale)."""
    w = np.asarray(w, np.float32)
    other = tuple(i for i in range(w.ndim) if i != axis)
    rmin = np.minimum(w.min(axis=other), np.float32(0))
    rmax = np.maximum(w.max(axis=other), np.float32(0))
    absmax = np.maximum(np.abs(rmin), np.abs(rmax))
    qmin, qmax = qrange
    scale64 = (absmax.astype(np.float64) - (-absmax).astype(np.float64)) / (float(qmax) - float(qmin))
    scale = np.where(scale64 < np.finfo(np.float32).tiny, np.float32(1), scale64.astype(np.float32)).astype(np.float32)
    shape = [1] * w.ndim
    if axis is not None:
        shape[axis] = -1
    info = np.iinfo(dtype)
    q = np.clip(np.rint(w / scale.reshape(shape)), info.min, info.max).astype(dtype)
    return q, scale


def round_to_half(graph: Graph) -> tuple[Graph, dict]:
    """Round every float32 constant that nodes read to float16 precision (values past float16's
    range stay float32: they would become inf)."""
    rounded = kept = 0
    worst = 0.0
    finite_half = float(np.finfo(np.float16).max)
    for name in sorted({i for node in graph.nodes for i in node.inputs if graph.is_constant(i)}):
        value = graph.constants[name]
        if value.dtype != np.float32 or value.size == 0:
            continue
        if np.abs(value[np.isfinite(value)]).max(initial=0.0) > finite_half:
            kept += 1
            continue
        half = value.astype(np.float16).astype(np.float32)
        worst = max(worst, float(np.abs(half - value).max(initial=0.0)))
        graph.constants[name] = half
        rounded += 1
    return graph, {"pass": "fp16", "constants_rounded": rounded, "constants_kept_float32": kept,
                   "max_abs_change": worst}


CONV_KEPT_FLOAT = ("dynamic int8 is slower than fp32 on a convolution: the run-time range, quantize and "
                   "float-epilogue passes over each input and output cost more than the integer products save "
                   "(MobileNetV3-small 7-9x slower, depthwise layers 10x); quantize convolutions statically "
                   "(--calibrate), which keeps them in uint8 from layer to layer")


def quantize_dynamic_int8(graph: Graph) -> tuple[Graph, dict]:
    """Rewrite every Gemm into DynamicQuantize + IntegerGemm (one DynamicQuantize per activation);
    convolutions stay float (CONV_KEPT_FLOAT), which the report lists."""
    quantized: dict[str, list[str]] = {}  # activation -> [q, scale, zp]
    dense: dict[str, tuple[str, str]] = {}  # Gemm weights -> [q, scale]
    nodes: list[Node] = []
    layers, kept = [], []
    for node in graph.nodes:
        if node.op == "Conv":
            kept.append(node.name or node.outputs[0])
        if node.op != "Gemm":
            nodes.append(node)
            continue
        x, w_name = node.inputs[0], node.inputs[1]
        if x not in quantized:
            quantized[x] = _dynamic_quantize(graph, x, nodes, node.name)
        w = graph.constants[w_name]
        q, scale = quantize_symmetric(w, axis=1)
        if w_name not in dense:  # Gemms sharing weights (an unrolled recurrence's steps) share their quantization
            dense[w_name] = _constant(graph, f"{w_name}__qc8w", q), _constant(graph, f"{w_name}__wscale", scale)
        q_name, scale_name = dense[w_name]
        nodes.append(Node("IntegerGemm", [*quantized[x], q_name, scale_name, *node.inputs[2:]], node.outputs,
                          dict(node.attrs), node.name))
        layers.append({"layer": node.name or node.outputs[0], "k": int(w.shape[0]), "n": int(w.shape[1]),
                       "max_abs_weight_error": float(np.abs(q * scale[None, :] - w).max(initial=0.0))})
    graph.nodes = nodes
    return graph, {"pass": "int8 dynamic", "activations": "uint8 per tensor, computed at run time",
                   "weights": "int8 symmetric, per output column", "layers": layers,
                   **({"kept_float": {"layers": kept, "reason": CONV_KEPT_FLOAT}} if kept else {})}


def quantize_dynamic_int16(graph: Graph) -> tuple[Graph, dict]:
    """Every Gemm becomes DynamicQuantize16 (int16 activations, symmetric per tensor, scale
    max|x| / 32767 computed at run time) + Int16Gemm (int16 weights symmetric per output column,
    q in [-32767, 32767], exact int64 accumulation, float epilogue): ~2^-15 of each range where int8
    keeps ~2^-7, at half the fp32 weight bytes. A pointwise convolution (1x1, stride 1, unpadded,
    one group) is that same dense layer over the pixels of its channels-last tensors; every other
    convolution becomes Int16Conv (weights per output channel, the same arithmetic)."""
    quantized: dict[str, list[str]] = {}  # activation -> [q, scale]
    dense: dict[tuple[str, bool], tuple[str, str]] = {}  # (Gemm weights, pointwise) -> [q, scale]
    nodes: list[Node] = []
    layers = []
    for node in graph.nodes:
        pointwise = node.op == "Conv" and node.attrs["group"] == 1 and node.attrs["window"].is_pointwise
        if node.op not in ("Gemm", "Conv"):
            nodes.append(node)
            continue
        x, w_name = node.inputs[0], node.inputs[1]
        if x not in quantized:
            quantized[x] = [_tensor(graph, f"{x}__q16", graph.info(x).shape, "int16"),
                            _tensor(graph, f"{x}__scale", (), "float32")]
            nodes.append(Node("DynamicQuantize16", [x], quantized[x], {}, f"{node.name} quantize input"))
        w = graph.constants[w_name]
        if node.op == "Conv" and not pointwise:
            q, scale = quantize_symmetric(w, axis=0, qrange=(-32767, 32767), dtype=np.int16)
            nodes.append(Node("Int16Conv", [*quantized[x], _constant(graph, f"{w_name}__qc16w", q),
                                            _constant(graph, f"{w_name}__wscale", scale), *node.inputs[2:]],
                              node.outputs, dict(node.attrs), node.name))
            error = np.abs(q * scale.reshape(-1, *[1] * (w.ndim - 1)) - w).max(initial=0.0)
            layers.append({"layer": node.name or node.outputs[0], "weights": list(w.shape), "per": "output channel",
                           "max_abs_weight_error": float(error)})
            continue
        if pointwise:  # [M, C, 1, 1] -> [C, M]
            w = np.ascontiguousarray(w.reshape(w.shape[0], -1).T)
        q, scale = quantize_symmetric(w, axis=1, qrange=(-32767, 32767), dtype=np.int16)
        if (w_name, pointwise) not in dense:  # Gemms sharing weights share their quantization
            dense[w_name, pointwise] = (_constant(graph, f"{w_name}__qc16w", q),
                                        _constant(graph, f"{w_name}__wscale", scale))
        nodes.append(Node("Int16Gemm", [*quantized[x], *dense[w_name, pointwise], *node.inputs[2:]],
                          node.outputs, {"min": node.attrs["min"], "max": node.attrs["max"]}, node.name))
        error = np.abs(q.astype(np.float32) * scale[None, :] - w).max(initial=0.0)
        layers.append({"layer": node.name or node.outputs[0], "k": int(w.shape[0]), "n": int(w.shape[1]),
                       "max_abs_weight_error": float(error)})
    graph.nodes = nodes
    return graph, {"pass": "int16 dynamic", "activations": "int16 symmetric per tensor, computed at run time",
                   "weights": "int16 symmetric per output column (dense) or output channel (convolution)",
                   "layers": layers}


def activation_params(rmin: float, rmax: float) -> tuple[float, int]:
    """uint8 scale and zero point of a calibrated range: onnxruntime's compute_scale_zp (asymmetric,
    the range widened to include 0, the scale in float64 then float32, the zero point rounded from
    the float64 scale)."""
    lo = min(np.float32(rmin), np.float32(0))
    hi = max(np.float32(rmax), np.float32(0))
    scale64 = (np.float64(hi) - np.float64(lo)) / 255.0
    if scale64 < np.finfo(np.float32).tiny:
        return 1.0, 0
    return float(np.float32(scale64)), int(np.round(0 - np.float64(lo) / scale64))


def quantize_static_int8(graph: Graph, data: dict[str, np.ndarray], weight_bits: int = 8) -> tuple[Graph, dict]:
    """Rewrite dense layers and convolutions into uint8 chains with calibrated activations
    (onnxruntime's quantize_static with MinMax calibration, per-channel int8 weights, QDQ):
    Quantize where a float tensor enters, QLinearGemm / QLinearConv from layer to layer, Dequantize
    where a float consumer needs it. Between them, what onnxruntime also runs on uint8 stays uint8:
    max pooling, reshapes and layout transposes (the input's scale: exact, as quantization is
    monotonic), global average pooling (QLinearGlobalAveragePool, its own calibrated scale) and the
    tabled activations (QLinearLookup, their own calibrated scale); then residual Adds and
    squeeze-excitation products whose operands have uint8 twins become one uint8 pass each
    (fold_residual_adds, fold_channel_products).

    A fused Relu/Clip becomes the output's saturation (the calibrated range is post-clamp and
    includes 0), so only clamps with lo <= 0 <= hi can be folded; other layers stay float.
    weight_bits 7: weights symmetric in [-63, 63] (the relaxed-SIMD tier; onnxruntime's reduce_range
    idea), else [-127, 127].
    """
    qrange = {8: INT8_SYMMETRIC, 7: INT7_SYMMETRIC}[weight_bits]
    from ..ops.qlinear_lookup import TABLED
    from .activations import activations

    def eligible(node: Node) -> bool:
        if node.op not in ("Gemm", "Conv") or not node.attrs["min"] <= 0 <= node.attrs["max"] \
                or graph.info(node.inputs[0]).dtype != "float32":
            return False
        rank = len(graph.info(node.inputs[0]).shape)
        return node.op == "Conv" or rank == 2 or len(node.inputs) == 2

    layers = [n for n in graph.nodes if eligible(n)]
    if not layers:
        raise CompressionError("static int8 found no dense layer or convolution it can quantize")
    uint8: set[str] = set()  # float tensors that become uint8
    followers: list[Node] = []  # pools, reshapes, transposes and tabled activations reading a uint8 tensor
    for node in graph.nodes:
        if node in layers:
            uint8.add(node.outputs[0])
        elif node.inputs and node.inputs[0] in uint8 and _follows_uint8(graph, node):
            followers.append(node)
            uint8.add(node.outputs[0])
    pools = [n for n in followers if (n.op == "Pool" and n.attrs["kind"] == "avg") or n.op in TABLED]
    measured = activations(graph, data, sorted({t for n in layers + pools for t in (n.inputs[0], n.outputs[0])}),
                           optimize=False)
    params = {name: activation_params(float(v.min()), float(v.max())) for name, v in measured.items()}
    readers = {id(n) for n in layers + followers}
    quantized: dict[str, str] = {}
    nodes: list[Node] = []
    report, tables = [], []
    for node in graph.nodes:
        if node not in layers and node not in followers:
            nodes.append(node)
            continue
        x, y = node.inputs[0], node.outputs[0]
        if x not in quantized:
            quantized[x] = _tensor(graph, f"{x}__q", graph.info(x).shape, "uint8")
            scale, zp = params[x]
            nodes.append(Node("Quantize", [x], [quantized[x]], {"scale": scale, "zero_point": zp}, f"{node.name} quantize input"))
        quantized[y] = _tensor(graph, f"{y}__q", graph.info(y).shape, "uint8")
        if node in followers:
            if node.op in TABLED:  # its own calibrated output: float readers get its Dequantize
                tables.append(f"{node.op} ({node.name or y})")
                nodes.append(_lookup(node, [(node.op, node.attrs)], quantized[x], params[x], quantized[y], params[y]))
            elif node.op == "Pool" and node.attrs["kind"] == "avg":
                (x_scale, x_zp), (y_scale, y_zp) = params[x], params[y]
                nodes.append(Node("QLinearGlobalAveragePool", [quantized[x]], [quantized[y]],
                                  {"x_scale": x_scale, "x_zp": x_zp, "y_scale": y_scale, "y_zp": y_zp}, node.name))
            else:
                params[y] = params[x]
                nodes.append(Node(node.op, [quantized[x], *node.inputs[1:]], [quantized[y]], dict(node.attrs), node.name))
        else:
            nodes.append(_quantized_layer(graph, node, quantized, params, report, measured, qrange))
        float_readers = [c for c in graph.consumers(y) if id(c) not in readers or c.inputs[0] != y]
        if float_readers or graph.is_graph_output(y):
            y_scale, y_zp = params[y]
            nodes.append(Node("Dequantize", [quantized[y]], [y], {"scale": y_scale, "zero_point": y_zp},
                              f"{node.name} dequantize output"))
        else:
            del graph.tensors[y]
    graph.nodes = nodes
    adds = fold_residual_adds(graph)
    products = fold_channel_products(graph)
    samples = len(next(iter(data.values())))
    return graph, {"pass": "int8 static", "calibration_samples": samples, "calibration": "min/max",
                   "activations": "uint8 per tensor, calibrated",
                   "weights": f"int{weight_bits} symmetric per output column (dense) or output channel (convolution)",
                   "layers": report, **({"lookup_tables": tables} if tables else {}),
                   **({"residual_adds": adds} if adds else {}),
                   **({"channel_products": products} if products else {})}


def _lookup(first: Node, chain: list, q: str, x_params: tuple, y: str, y_params: tuple) -> Node:
    """QLinearLookup of q through the chain [(op, attrs)] to y (ops/qlinear_lookup.py)."""
    keys = {"HardSigmoid": ("alpha", "beta"), "LeakyRelu": ("alpha",), "Clamp": ("min", "max"), "Swish": ("alpha",)}
    attrs = {"chain": [(op, {k: float(a[k]) for k in keys.get(op, ())}) for op, a in chain],
             "x_scale": x_params[0], "x_zp": int(x_params[1]), "y_scale": y_params[0], "y_zp": int(y_params[1])}
    return Node("QLinearLookup", [q], [y], attrs, first.name)


def fold_residual_adds(graph: Graph) -> list[str]:
    """Add(a, b) [-> Relu] -> Quantize, where a and b both have a uint8 twin (the input of the
    Dequantize that made them, or the output of a Quantize that reads them), becomes QLinearAdd of
    the twins (ops/qlinear_add.py): one pass over uint8 instead of dequantizing both operands. As in
    onnxruntime's QDQ graphs, an operand is then its quantized value; a float reader left of the
    output gets a Dequantize of it. Dequantizes nobody reads any more are dropped."""
    twin: dict[str, tuple[str, float, int]] = {}  # float tensor -> (its uint8 twin, scale, zero point)
    for node in graph.nodes:
        if node.op in ("Quantize", "Dequantize"):
            f, q = (node.inputs[0], node.outputs[0]) if node.op == "Quantize" else (node.outputs[0], node.inputs[0])
            twin.setdefault(f, (q, node.attrs["scale"], int(node.attrs["zero_point"])))
    folded = []
    for add in [n for n in graph.nodes if n.op == "Add"]:
        a, b = add.inputs
        if a not in twin or b not in twin or graph.info(a).shape != graph.info(b).shape \
                or graph.info(add.outputs[0]).dtype != "float32" or graph.is_graph_output(add.outputs[0]):
            continue
        chain, r = [add], add.outputs[0]
        users = graph.consumers(r)
        if len(users) == 1 and users[0].op == "Clamp" and users[0].attrs["min"] == 0 \
                and users[0].attrs["max"] == float("inf"):
            chain.append(users[0])
            r = users[0].outputs[0]
        quantize = next((n for n in graph.consumers(r) if n.op == "Quantize"), None)
        if quantize is None or (len(chain) == 2 and graph.is_graph_output(r)):
            continue
        (qa, sa, za), (qb, sb, zb) = twin[a], twin[b]
        attrs = {"a_scale": sa, "a_zp": za, "b_scale": sb, "b_zp": zb, "y_scale": quantize.attrs["scale"],
                 "y_zp": int(quantize.attrs["zero_point"]), "relu": len(chain) == 2}
        position = graph.nodes.index(add)
        for node in chain + [quantize]:
            graph.nodes.remove(node)
        new = [Node("QLinearAdd", [qa, qb], list(quantize.outputs), attrs, add.name)]
        if graph.consumers(r) or graph.is_graph_output(r):
            new.append(Node("Dequantize", list(quantize.outputs), [r],
                            {"scale": attrs["y_scale"], "zero_point": attrs["y_zp"]}, f"{add.name} dequantize output"))
        if len(chain) == 2:
            del graph.tensors[add.outputs[0]]
        if not (graph.consumers(r) or graph.is_graph_output(r)):
            del graph.tensors[r]
        graph.nodes[position:position] = new
        folded.append(f"{add.name or add.outputs[0]}" + (" + Relu" if len(chain) == 2 else ""))
    if folded:
        _drop_unread_dequantizes(graph)
        _order(graph)
    return folded


def fold_channel_products(graph: Graph) -> list[str]:
    """Mul(Dequantize(q), s) -> Quantize, s a run-time float per channel ([1, ..., 1, C]: a
    squeeze-excitation scale), becomes QLinearMulChannels(q, s) (ops/qlinear_mul_channels.py): one
    pass over uint8 with the chain's exact bits; a float reader left of the product gets a
    Dequantize of it."""
    producer = {o: n for n in graph.nodes for o in n.outputs}
    folded = []
    for mul in [n for n in graph.nodes if n.op == "Mul"]:
        y = mul.outputs[0]
        shape = graph.info(y).shape
        if graph.info(y).dtype != "float32" or graph.is_graph_output(y) or not shape:
            continue
        for x, s in (mul.inputs, mul.inputs[::-1]):
            dequantize = producer.get(x)
            if dequantize is not None and dequantize.op == "Dequantize" and graph.info(x).shape == shape \
                    and not graph.is_constant(s) and graph.info(s).dtype == "float32" \
                    and graph.info(s).shape == (1,) * (len(shape) - 1) + (shape[-1],):
                break
        else:
            continue
        quantize = next((n for n in graph.consumers(y) if n.op == "Quantize"), None)
        if quantize is None:
            continue
        attrs = {"x_scale": dequantize.attrs["scale"], "x_zp": int(dequantize.attrs["zero_point"]),
                 "y_scale": quantize.attrs["scale"], "y_zp": int(quantize.attrs["zero_point"])}
        position = graph.nodes.index(mul)
        graph.nodes.remove(mul)
        graph.nodes.remove(quantize)
        new = [Node("QLinearMulChannels", [dequantize.inputs[0], s], list(quantize.outputs), attrs, mul.name)]
        if graph.consumers(y):
            new.append(Node("Dequantize", list(quantize.outputs), [y],
                            {"scale": attrs["y_scale"], "zero_point": attrs["y_zp"]}, f"{mul.name} dequantize output"))
        else:
            del graph.tensors[y]
        graph.nodes[position:position] = new
        folded.append(mul.name or y)
    if folded:
        _drop_unread_dequantizes(graph)
        _order(graph)
    return folded


def _drop_unread_dequantizes(graph: Graph) -> None:
    while True:
        dead = [n for n in graph.nodes if n.op == "Dequantize" and not graph.consumers(n.outputs[0])
                and not graph.is_graph_output(n.outputs[0])]
        if not dead:
            return
        for node in dead:
            graph.nodes.remove(node)
            del graph.tensors[node.outputs[0]]


def _order(graph: Graph) -> None:
    """A stable topological order (a QLinearAdd may read a twin that a later Quantize makes)."""
    ready = {t.name for t in graph.inputs} | set(graph.constants)
    pending, ordered = list(graph.nodes), []
    while pending:
        for i, node in enumerate(pending):
            if all(not x or x in ready for x in node.inputs):
                ordered.append(pending.pop(i))
                ready.update(node.outputs)
                break
        else:
            raise CompressionError("static int8: the quantized graph has a cycle")
    graph.nodes = ordered


def _follows_uint8(graph: Graph, node: Node) -> bool:
    """Ops that onnxruntime's quantize_static also runs on uint8 after a quantized layer: max
    pooling, a global average pooling (whose scale onnxruntime accepts), reshapes, layout moves; and
    the tabled activations (ops/qlinear_lookup.py: a 256-byte table from the input's scale to the
    output's own calibrated one, as a QDQ graph quantizes an activation's output)."""
    from ..ops.qlinear_lookup import TABLED

    if node.op in ("Reshape", "LayoutTranspose"):
        return True
    if node.op in TABLED:
        return graph.info(node.outputs[0]).dtype == "float32"
    if node.op != "Pool":
        return False
    return node.attrs["kind"] == "max" or node.attrs["window"].is_global


def _quantized_layer(graph: Graph, node: Node, quantized: dict, params: dict, report: list, measured,
                     qrange: tuple[int, int] = INT8_SYMMETRIC) -> Node:
    """QLinearGemm or QLinearConv of a float Gemm/Conv whose input and output are calibrated."""
    x, y = node.inputs[0], node.outputs[0]
    w = graph.constants[node.inputs[1]]
    conv = node.op == "Conv"
    q, w_scale = quantize_symmetric(w, axis=0 if conv else 1, qrange=qrange)
    q = np.clip(q, *qrange).astype(np.int8)
    (x_scale, x_zp), (y_scale, y_zp) = params[x], params[y]
    columns = w.shape[0] if conv else w.shape[1]
    bias = graph.constants[node.inputs[2]] if len(node.inputs) > 2 else np.zeros(columns, np.float32)
    bias_scale = np.float32(x_scale) * w_scale
    bias_q = np.clip(np.rint(bias.astype(np.float64) / bias_scale.astype(np.float64)),
                     np.iinfo(np.int32).min, np.iinfo(np.int32).max).astype(np.int32)
    report.append({"layer": node.name or y, "input_range": [float(measured[x].min()), float(measured[x].max())],
                   "output_range": [float(measured[y].min()), float(measured[y].max())],
                   "input_scale": x_scale, "input_zero_point": x_zp})
    attrs = {"x_scale": x_scale, "x_zp": x_zp, "y_scale": y_scale, "y_zp": y_zp}
    if conv:
        attrs.update(window=node.attrs["window"], group=node.attrs["group"])
    suffix = "__qc8w"
    return Node("QLinearConv" if conv else "QLinearGemm",
                [quantized[x], _constant(graph, f"{node.inputs[1]}{suffix}", q),
                 _constant(graph, f"{node.inputs[1]}__wscale", w_scale), _constant(graph, f"{y}__bias_q", bias_q)],
                [quantized[y]], attrs, node.name)


def _dynamic_quantize(graph: Graph, x: str, nodes: list[Node], name: str) -> list[str]:
    outputs = [_tensor(graph, f"{x}__q", graph.info(x).shape, "uint8"),
               _tensor(graph, f"{x}__scale", (), "float32"),
               _tensor(graph, f"{x}__zp", (), "uint8")]
    nodes.append(Node("DynamicQuantize", [x], outputs, {}, f"{name} quantize input"))
    return outputs



def _tensor(graph: Graph, base: str, shape: tuple[int, ...], dtype: str) -> str:
    name = graph.fresh_name(base)
    graph.tensors[name] = TensorInfo(name, tuple(shape), dtype)
    return name


def _constant(graph: Graph, base: str, value: np.ndarray) -> str:
    name = graph.fresh_name(base)
    graph.constants[name] = value
    return name


def fuse_integer_epilogues(graph: Graph) -> tuple[Graph, dict]:
    """Fold a Clamp (Relu, Clip) that alone reads an integer layer (int8 or int16) into its epilogue:
    the same f32x4.max/min on the same values, one pass over memory less (an imported
    quantize_dynamic graph keeps its Relu nodes)."""
    fused = []
    for node in list(graph.nodes):
        integer = node.op in ("IntegerGemm", "IntegerConv", "Int16Gemm", "Int16Conv")
        if not integer or graph.is_graph_output(node.outputs[0]):
            continue
        users = graph.consumers(node.outputs[0])
        if len(users) != 1 or users[0].op != "Clamp":
            continue
        clamp = users[0]
        composed = compose_clamps((node.attrs["min"], node.attrs["max"]), (clamp.attrs["min"], clamp.attrs["max"]))
        if composed is None:
            continue
        node.attrs["min"], node.attrs["max"] = lo, hi = composed
        del graph.tensors[node.outputs[0]]
        node.outputs = list(clamp.outputs)
        graph.nodes.remove(clamp)
        fused.append(f"{node.name or node.op} + {'Relu' if lo == 0 and hi == float('inf') else 'Clip'}")
    return graph, {"fusions": fused}
