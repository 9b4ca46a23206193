"""onnxruntime's contrib ops that its transformer optimizer writes (optimum's O1-O4 files,
sentence-transformers' model_O*.onnx): SkipLayerNormalization, SkipSimplifiedLayerNormalization,
SimplifiedLayerNormalization, EmbedLayerNormalization, BiasGelu, FastGelu, Gelu, QuickGelu through
the public API against onnxruntime's own kernels, float16 included; and a graph written out of
topological order (onnxruntime's float16 converter does that), which onnxruntime sorts itself."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import edgewasm
from edgewasm.engines import run_onnxruntime
from edgewasm.errors import UnsupportedModelError

from quant_models import ort_outputs

MS = "com.microsoft"
HIDDEN = 24


def model(nodes, inputs, outputs, constants, opset=17, dtype=TensorProto.FLOAT, rank=None):
    """outputs: names (of `dtype`, the first input's rank unless given) or (name, dtype, rank)."""
    rank = rank or len(inputs[0][2])
    outputs = [o if isinstance(o, tuple) else (o, dtype, rank) for o in outputs]
    graph = helper.make_graph(
        nodes, "contrib",
        [helper.make_tensor_value_info(name, kind, shape) for name, kind, shape in inputs],
        [helper.make_tensor_value_info(name, kind, [f"{name}_{i}" for i in range(r)]) for name, kind, r in outputs],
        [numpy_helper.from_array(np.asarray(value), name) for name, value in constants.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset), helper.make_opsetid(MS, 1)],
                             ir_version=10)


def check(tmp_path, proto, feeds, atol=2e-5, rtol=1e-4):
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b")
    got = edgewasm.load(tmp_path / "b").run(feeds)
    want = ort_outputs(proto, feeds)
    assert set(got) == set(want)
    for name, value in want.items():
        assert got[name].dtype == value.dtype and got[name].shape == value.shape, name
        np.testing.assert_allclose(got[name].astype(np.float64), value.astype(np.float64), atol=atol, rtol=rtol,
                                   err_msg=name)
    reference = run_onnxruntime(tmp_path / "b", feeds)  # the variant's reference.onnx: standard ops only
    for name, value in want.items():
        np.testing.assert_allclose(reference[name].astype(np.float64), value.astype(np.float64), atol=atol, rtol=rtol)
    return edgewasm.load(tmp_path / "b")


def rand(*shape, seed=0, scale=1.0, dtype=np.float32):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


@pytest.mark.parametrize("form", ["plain", "beta_bias_sum", "float16"])
def test_skip_layer_normalization(tmp_path, form):
    dtype = np.float16 if form == "float16" else np.float32
    kind = TensorProto.FLOAT16 if form == "float16" else TensorProto.FLOAT
    constants = {"gamma": rand(HIDDEN, seed=1, dtype=dtype), "beta": rand(HIDDEN, seed=2, dtype=dtype),
                 "bias": rand(HIDDEN, seed=3, dtype=dtype)}
    inputs, outputs = ["x", "skip", "gamma"], ["y"]
    if form != "plain":
        inputs += ["beta", "bias"]
        outputs += ["", "", "sum"]
    nodes = [helper.make_node("SkipLayerNormalization", inputs, outputs, domain=MS, epsilon=1e-5)]
    proto = model(nodes, [("x", kind, [2, 5, HIDDEN]), ("skip", kind, [2, 5, HIDDEN])], [o for o in outputs if o],
                  {k: v for k, v in constants.items() if k in inputs}, dtype=kind)
    feeds = {"x": rand(2, 5, HIDDEN, seed=4, scale=3, dtype=dtype), "skip": rand(2, 5, HIDDEN, seed=5, dtype=dtype)}
    loaded = check(tmp_path, proto, feeds, atol=2e-3 if dtype == np.float16 else 2e-5)
    assert "f32_layernorm" in loaded.variant.kernels


def test_skip_simplified_and_simplified_layer_normalization(tmp_path):
    """T5/Llama-style RMS norms: the skip form (com.microsoft) and onnxruntime's default-domain one."""
    nodes = [helper.make_node("SkipSimplifiedLayerNormalization", ["x", "skip", "g1"], ["y1", "", "", "sum"], domain=MS,
                              epsilon=1e-6),
             helper.make_node("SimplifiedLayerNormalization", ["sum", "g2"], ["y2"], axis=-1, epsilon=1e-6)]
    proto = model(nodes, [("x", TensorProto.FLOAT, [3, HIDDEN]), ("skip", TensorProto.FLOAT, [3, HIDDEN])],
                  ["y1", "y2", "sum"], {"g1": rand(HIDDEN, seed=6), "g2": rand(HIDDEN, seed=7)})
    check(tmp_path, proto, {"x": rand(3, HIDDEN, seed=8, scale=2), "skip": rand(3, HIDDEN, seed=9)})


@pytest.mark.parametrize("half", [False, True])
def test_fused_gelus(tmp_path, half):
    dtype, kind = (np.float16, TensorProto.FLOAT16) if half else (np.float32, TensorProto.FLOAT)
    nodes = [helper.make_node("BiasGelu", ["x", "b"], ["bias_gelu"], domain=MS),
             helper.make_node("FastGelu", ["x", "b"], ["fast_gelu"], domain=MS),
             helper.make_node("FastGelu", ["x"], ["fast_gelu_plain"], domain=MS),
             helper.make_node("Gelu", ["x"], ["gelu"], domain=MS),
             helper.make_node("QuickGelu", ["x"], ["quick_gelu"], domain=MS, alpha=1.5)]
    outputs = ["bias_gelu", "fast_gelu", "fast_gelu_plain", "gelu", "quick_gelu"]
    proto = model(nodes, [("x", kind, [4, HIDDEN])], outputs, {"b": rand(HIDDEN, seed=10, dtype=dtype)}, dtype=kind)
    check(tmp_path, proto, {"x": rand(4, HIDDEN, seed=11, scale=2, dtype=dtype)},
          atol=2e-3 if half else 2e-5, rtol=2e-3 if half else 1e-4)


@pytest.mark.parametrize("with_segments", [False, True])
def test_embed_layer_normalization(tmp_path, with_segments):
    vocab, positions, batch, sequence = 50, 16, 2, 7
    constants = {"words": rand(vocab, HIDDEN, seed=12), "positions": rand(positions, HIDDEN, seed=13),
                 "segments_table": rand(2, HIDDEN, seed=14), "gamma": rand(HIDDEN, seed=15), "beta": rand(HIDDEN, seed=16)}
    names = ["ids", "segments" if with_segments else "", "words", "positions",
             "segments_table" if with_segments else "", "gamma", "beta", "mask"]
    nodes = [helper.make_node("EmbedLayerNormalization", names, ["y", "mask_index", "embedding_sum"], domain=MS,
                              epsilon=1e-12)]
    inputs = [("ids", TensorProto.INT32, [batch, sequence]), ("mask", TensorProto.INT32, [batch, sequence])]
    if with_segments:
        inputs.append(("segments", TensorProto.INT32, [batch, sequence]))
    else:
        del constants["segments_table"]
    proto = model(nodes, inputs, ["y", ("mask_index", TensorProto.INT32, 1), "embedding_sum"], constants, rank=3)
    rng = np.random.default_rng(17)
    mask = np.ones((batch, sequence), np.int32)
    mask[1, -3:] = 0
    feeds = {"ids": rng.integers(0, vocab, (batch, sequence)).astype(np.int32), "mask": mask}
    if with_segments:
        feeds["segments"] = rng.integers(0, 2, (batch, sequence)).astype(np.int32)
    check(tmp_path, proto, feeds)


def test_statistics_outputs_are_refused_by_name(tmp_path):
    nodes = [helper.make_node("SkipLayerNormalization", ["x", "x", "g"], ["y", "mean"], domain=MS)]
    proto = model(nodes, [("x", TensorProto.FLOAT, [2, HIDDEN])], ["y", "mean"], {"g": rand(HIDDEN)})
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    with pytest.raises(UnsupportedModelError, match="mean and inv_std_var"):
        edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b")


@pytest.mark.parametrize("shuffle", [False, True])
def test_nodes_out_of_topological_order_are_sorted(tmp_path, shuffle):
    """Two nodes swapped, or a 40-node chain with a skip path written in a random order."""
    if not shuffle:
        nodes = [helper.make_node("Relu", ["h"], ["y"]),          # reads h before the node that makes it
                 helper.make_node("Mul", ["x", "two"], ["h"])]
    else:
        nodes = [helper.make_node("Mul", [f"h{i}", "two"], [f"h{i + 1}"]) if i % 3 else
                 helper.make_node("Add", [f"h{i}", "x"], [f"h{i + 1}"]) for i in range(40)]
        nodes = [helper.make_node("Identity", ["x"], ["h0"])] + nodes + [helper.make_node("Tanh", ["h40"], ["y"])]
        nodes = [nodes[i] for i in np.random.default_rng(19).permutation(len(nodes))]
    proto = model(nodes, [("x", TensorProto.FLOAT, [3, 4])], ["y"], {"two": np.float32(0.9)})
    check(tmp_path, proto, {"x": rand(3, 4, seed=18)})


@pytest.mark.parametrize("form", ["lengths", "raw_mask", "query_mask", "causal_bias", "no_mask_v_size", "float16"])
def test_packed_qkv_attention(tmp_path, form):
    """com.microsoft Attention (onnxruntime's BERT optimizer): the packed projection, each mask
    form onnxruntime reads, unidirectional with an attention bias, a V of another size, float16."""
    batch, sequence, heads = 2, 6, 3
    half = form == "float16"
    dtype, kind = (np.float16, TensorProto.FLOAT16) if half else (np.float32, TensorProto.FLOAT)
    sizes = [HIDDEN, HIDDEN, 12] if form == "no_mask_v_size" else [HIDDEN] * 3
    constants = {"w": rand(HIDDEN, sum(sizes), seed=20, scale=0.3, dtype=dtype),
                 "b": rand(sum(sizes), seed=21, scale=0.1, dtype=dtype)}
    inputs = [("x", kind, [batch, sequence, HIDDEN])]
    attrs = dict(num_heads=heads)
    names = ["x", "w", "b"]
    rng = np.random.default_rng(22)
    feeds = {"x": rand(batch, sequence, HIDDEN, seed=23, dtype=dtype)}
    if form in ("lengths", "float16"):
        inputs.append(("mask", TensorProto.INT32, [batch]))
        feeds["mask"] = np.array([sequence, 4], np.int32)
        names.append("mask")
    elif form == "raw_mask":
        inputs.append(("mask", TensorProto.INT32, [batch, sequence]))
        feeds["mask"] = (rng.random((batch, sequence)) > 0.3).astype(np.int32)
        feeds["mask"][:, 0] = 1
        names.append("mask")
    elif form == "query_mask":
        inputs.append(("mask", TensorProto.INT32, [batch, sequence, sequence]))
        feeds["mask"] = (rng.random((batch, sequence, sequence)) > 0.3).astype(np.int32)
        feeds["mask"][..., 0] = 1
        names.append("mask")
    elif form == "causal_bias":
        inputs.append(("attention_bias", kind, [1, heads, sequence, sequence]))
        feeds["attention_bias"] = rand(1, heads, sequence, sequence, seed=24, dtype=dtype)
        names += ["", "", "attention_bias"]
        attrs["unidirectional"] = 1
    else:
        attrs["qkv_hidden_sizes"] = sizes
    nodes = [helper.make_node("Attention", names, ["y"], domain=MS, **attrs)]
    proto = model(nodes, inputs, ["y"], constants, dtype=kind)
    check(tmp_path, proto, feeds, atol=2e-3 if half else 2e-5, rtol=2e-3 if half else 1e-4)


def test_packed_attention_with_a_cache_is_refused_by_name(tmp_path):
    nodes = [helper.make_node("Attention", ["x", "w", "", "", "past"], ["y", "present"], domain=MS, num_heads=2)]
    proto = model(nodes, [("x", TensorProto.FLOAT, [1, 3, 8]), ("past", TensorProto.FLOAT, [2, 1, 2, 0, 4])],
                  ["y", ("present", TensorProto.FLOAT, 5)], {"w": rand(8, 24)})
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    with pytest.raises(UnsupportedModelError, match="key/value cache"):
        edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b")


@pytest.mark.parametrize("attrs, a_shape, b_shape", [
    (dict(alpha=0.125), (2, 3, 5, 4), (2, 3, 4, 6)),
    (dict(transA=1, transB=1, alpha=2.0), (3, 4, 5), (3, 6, 4)),
    (dict(transBatchA=1), (2, 3, 4, 5), (3, 4, 5, 6)),
    (dict(transBatchB=1, transB=1), (2, 3, 4, 5), (6, 2, 3, 5)),
])
def test_fused_matmul(tmp_path, attrs, a_shape, b_shape):
    """What a model saved after onnxruntime's graph optimizations holds (optimized_model_filepath)."""
    nodes = [helper.make_node("FusedMatMul", ["a", "b"], ["y"], domain=MS, **attrs)]
    proto = model(nodes, [("a", TensorProto.FLOAT, list(a_shape)), ("b", TensorProto.FLOAT, list(b_shape))], ["y"], {})
    check(tmp_path, proto, {"a": rand(*a_shape, seed=30), "b": rand(*b_shape, seed=31)})


@pytest.mark.parametrize("activation, params, with_sum", [("Relu", [], True), ("Clip", [0.0, 6.0], False),
                                                          ("LeakyRelu", [0.2], False), ("HardSigmoid", [0.3, 0.4], True),
                                                          ("Sigmoid", [], False)])
def test_fused_conv(tmp_path, activation, params, with_sum):
    names = ["x", "w", "b"] + (["z"] if with_sum else [])
    extra = dict(activation_params=params) if params else {}
    nodes = [helper.make_node("FusedConv", names, ["y"], domain=MS, activation=activation, pads=[1, 1, 1, 1],
                              strides=[1, 1], **extra)]
    inputs = [("x", TensorProto.FLOAT, [1, 3, 6, 6])] + ([("z", TensorProto.FLOAT, [1, 4, 6, 6])] if with_sum else [])
    proto = model(nodes, inputs, ["y"], {"w": rand(4, 3, 3, 3, seed=32, scale=0.5), "b": rand(4, seed=33)})
    feeds = {"x": rand(1, 3, 6, 6, seed=34)}
    if with_sum:
        feeds["z"] = rand(1, 4, 6, 6, seed=35)
    check(tmp_path, proto, feeds)


def test_dynamic_quantize_matmul_and_matmul_integer_to_float(tmp_path):
    """onnxruntime's saved int8 fusions, uint8 weights with per-column zero points included: its bits."""
    rng = np.random.default_rng(36)
    w = rng.integers(0, 256, (16, 8)).astype(np.uint8)
    constants = {"w": w, "w_scale": (rng.random(8) * 0.02 + 0.001).astype(np.float32),
                 "w_zp": rng.integers(0, 256, 8).astype(np.uint8), "bias": rand(8, seed=37)}
    nodes = [helper.make_node("DynamicQuantizeMatMul", ["x", "w", "w_scale", "w_zp", "bias"], ["y"], domain=MS),
             helper.make_node("DynamicQuantizeLinear", ["x"], ["q", "s", "z"]),
             helper.make_node("MatMulIntegerToFloat", ["q", "w", "s", "w_scale", "z", "w_zp"], ["y2"], domain=MS)]
    proto = model(nodes, [("x", TensorProto.FLOAT, [3, 16])], ["y", "y2"], constants)
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b")
    x = rand(3, 16, seed=38)
    got, want = edgewasm.load(tmp_path / "b").run({"x": x}), ort_outputs(proto, {"x": x})
    for name in ("y", "y2"):
        np.testing.assert_array_equal(got[name].view(np.uint32), want[name].view(np.uint32), err_msg=name)


@pytest.mark.parametrize("symmetric, block, k", [(True, 32, 64), (False, 32, 80), (False, 16, 40)])
def test_matmul_nbits(tmp_path, symmetric, block, k):
    """transformers.js's q4 files: onnxruntime's MatMulNBitsQuantizer output (4-bit blocks along K,
    packed zero points when asymmetric, K not a multiple of the block) against its own kernel."""
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    w = rand(k, 24, seed=40)
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Add", ["h", "b"], ["y"])]
    float_model = model(nodes, [("x", TensorProto.FLOAT, [3, k])], ["y"], {"w": w, "b": rand(24, seed=41)})
    quantizer = MatMulNBitsQuantizer(float_model, block_size=block, is_symmetric=symmetric)
    quantizer.process()
    proto = quantizer.model.model
    assert [n.op_type for n in proto.graph.node].count("MatMulNBits") == 1
    assert (len([n for n in proto.graph.node if n.op_type == "MatMulNBits"][0].input) > 3) == (not symmetric)
    loaded = check(tmp_path, proto, {"x": rand(3, k, seed=42)})
    assert loaded.variant.report["weight_bytes"] >= 4 * k * 24  # float32 weights: 8x the packed 4-bit ones


@pytest.mark.parametrize("form", ["cross_raw_mask", "self_causal_lengths", "float16_bias"])
def test_multi_head_attention(tmp_path, form):
    """com.microsoft MultiHeadAttention, separate projected Q, K, V (cross-attention with other key
    lengths and a V of another width, causal self-attention, a QKV bias and an attention bias)."""
    batch, heads = 2, 3
    half = form == "float16_bias"
    dtype, kind = (np.float16, TensorProto.FLOAT16) if half else (np.float32, TensorProto.FLOAT)
    s, l, dv = (5, 7, 12) if form == "cross_raw_mask" else (6, 6, HIDDEN)
    inputs = [("q", kind, [batch, s, HIDDEN]), ("k", kind, [batch, l, HIDDEN]), ("v", kind, [batch, l, dv])]
    feeds = {"q": rand(batch, s, HIDDEN, seed=50, dtype=dtype), "k": rand(batch, l, HIDDEN, seed=51, dtype=dtype),
             "v": rand(batch, l, dv, seed=52, dtype=dtype)}
    names, constants, attrs = ["q", "k", "v"], {}, dict(num_heads=heads)
    if form == "cross_raw_mask":
        inputs.append(("mask", TensorProto.INT32, [batch, l]))
        feeds["mask"] = np.array([[1] * l, [1] * (l - 3) + [0] * 3], np.int32)
        names += ["", "mask"]
    elif form == "self_causal_lengths":
        inputs.append(("mask", TensorProto.INT32, [batch]))
        feeds["mask"] = np.array([l, 4], np.int32)
        names += ["", "mask"]
        attrs["unidirectional"] = 1
    else:
        constants["bias"] = rand(2 * HIDDEN + dv, seed=53, scale=0.1, dtype=dtype)
        inputs.append(("attention_bias", kind, [1, heads, s, l]))
        feeds["attention_bias"] = rand(1, heads, s, l, seed=54, dtype=dtype)
        names += ["bias", "", "attention_bias"]
    nodes = [helper.make_node("MultiHeadAttention", names, ["y"], domain=MS, **attrs)]
    proto = model(nodes, inputs, ["y"], constants, dtype=kind)
    check(tmp_path, proto, feeds, atol=2e-3 if half else 2e-5, rtol=2e-3 if half else 1e-4)
