"""ONNX Attention (opsets 23 and 24) through the public API (compile, load, run in wasmtime).

Every case is compared with onnx's reference evaluator (the spec) and, where onnxruntime's CPU
provider runs it, with onnxruntime on the original graph: 3-D and 4-D Q/K/V at odd sizes, GQA
ratios 2 and 4 and MQA, bool and float masks broadcast over batch and heads (and shorter than the
key length), is_causal with and without past (the bottom-right offset), past/present, scale,
softcap, softmax_precision, every qk_matmul_output_mode, nonpad_kv_seqlen, fully masked rows,
float16/bfloat16/float64; and the typed errors for what the spec refuses.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

import edgewasm
from edgewasm.engines import run_onnxruntime
from edgewasm.errors import ModelFormatError, UnsupportedModelError

NP = {TensorProto.FLOAT: np.float32, TensorProto.FLOAT16: np.float16, TensorProto.DOUBLE: np.float64,
      TensorProto.BFLOAT16: ml_dtypes.bfloat16, TensorProto.BOOL: np.bool_, TensorProto.INT64: np.int64,
      TensorProto.INT32: np.int32}
F32 = TensorProto.FLOAT
# float32 contract; float16/bfloat16 round between ops like the reference, with the module's own
# polynomial exp: a few units in their last place
TOL = {np.float32: (1e-5, 1e-4), np.float64: (1e-12, 1e-12), np.float16: (2e-3, 4e-3),
       ml_dtypes.bfloat16: (2e-2, 3e-2)}


def model(inputs: dict, n_outputs: int = 1, opset: int = 23, **attrs) -> onnx.ModelProto:
    """One Attention node; `inputs` maps each input slot name to (elem_type, shape) or None (absent)."""
    slots = ["Q", "K", "V", "attn_mask", "past_key", "past_value", "nonpad_kv_seqlen"]
    names = [s if inputs.get(s) is not None else "" for s in slots]
    while names and not names[-1]:
        names.pop()
    outputs = ["Y", "present_key", "present_value", "qk_matmul_output"][:n_outputs]
    node = helper.make_node("Attention", names, outputs, name="attn", **attrs)
    graph = helper.make_graph(
        [node], "attention",
        [helper.make_tensor_value_info(n, inputs[n][0], list(inputs[n][1])) for n in names if n],
        [helper.make_tensor_value_info(n, TensorProto.UNDEFINED, None) for n in outputs])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)
    inferred = onnx.shape_inference.infer_shapes(proto).graph
    types = {v.name: v.type for v in inferred.output}
    for out in proto.graph.output:
        if out.name in types and types[out.name].tensor_type.elem_type:
            out.type.CopyFrom(types[out.name])
        else:  # no shape inferred: symbolic dims of the right rank
            rank = len(inputs["Q"][1]) if out.name == "Y" else 4
            out.type.CopyFrom(helper.make_tensor_type_proto(inputs["Q"][0], [f"{out.name}{i}" for i in range(rank)]))
    return proto


def feeds(proto: onnx.ModelProto, seed: int = 0, nonpad=None, mask=None) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {}
    for vi in proto.graph.input:
        t = vi.type.tensor_type
        shape = [d.dim_value for d in t.shape.dim]
        dtype = NP[t.elem_type]
        if vi.name == "nonpad_kv_seqlen":
            out[vi.name] = np.asarray(nonpad, np.int64)
        elif vi.name == "attn_mask" and mask is not None:
            out[vi.name] = np.asarray(mask).astype(dtype)
        elif dtype == np.bool_:
            out[vi.name] = rng.random(shape) < 0.7
        else:
            out[vi.name] = rng.standard_normal(shape).astype(dtype)
    return out


def compile_run(tmp_path, proto, inputs):
    path = tmp_path / "m.onnx"
    path.write_bytes(proto.SerializeToString())
    edgewasm.compile(path, tmp_path / "bundle")
    return edgewasm.load(tmp_path / "bundle").run(inputs)


def ort_outputs(proto, inputs):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in session.get_outputs()], session.run(None, inputs)))


def close(got, want, dtype, name, oracle):
    atol, rtol = TOL[dtype]
    assert got.dtype == want.dtype and got.shape == want.shape, (oracle, name, got.dtype, got.shape, want.dtype,
                                                                  want.shape)
    g, w = got.astype(np.float64), want.astype(np.float64)
    same_inf = np.isinf(w) & (g == w)
    bad = ~(np.isclose(g, w, rtol=rtol, atol=atol, equal_nan=True) | same_inf)
    assert not bad.any(), f"{oracle} {name}: {bad.sum()} of {bad.size} differ, e.g. got {g[bad][:4]} want {w[bad][:4]}"


def check(tmp_path, proto, inputs, ort=True):
    got = compile_run(tmp_path, proto, inputs)
    dtype = inputs["Q"].dtype.type
    want = dict(zip([o.name for o in proto.graph.output], ReferenceEvaluator(proto).run(None, inputs)))
    assert set(got) == set(want)
    attrs = {a.name: helper.get_attribute_value(a) for a in proto.graph.node[0].attribute}
    for name in want:
        if name == "qk_matmul_output" and attrs.get("softcap", 0) > 0 and attrs.get("qk_matmul_output_mode", 0) == 0:
            # onnx's reference returns the softcapped scores in mode 0; the spec (and its function body,
            # and onnxruntime) the raw QK product: onnxruntime decides
            assert ort
            continue
        close(got[name], np.asarray(want[name]), dtype, name, "reference")
    if ort:
        for name, value in ort_outputs(proto, inputs).items():
            close(got[name], value, dtype, name, "onnxruntime")
        for name, value in run_onnxruntime(tmp_path / "bundle", inputs).items():  # the variant's reference.onnx
            close(got[name], value, dtype, name, "reference.onnx")
    return got


def qkv3(b, sq, skv, hq, hkv, head, v_head, dtype=F32):
    return {"Q": (dtype, (b, sq, hq * head)), "K": (dtype, (b, skv, hkv * head)), "V": (dtype, (b, skv, hkv * v_head))}


def qkv4(b, sq, skv, hq, hkv, head, v_head, dtype=F32):
    return {"Q": (dtype, (b, hq, sq, head)), "K": (dtype, (b, hkv, skv, head)), "V": (dtype, (b, hkv, skv, v_head))}


# -- shapes and heads ------------------------------------------------------------------------------


@pytest.mark.parametrize("hq, hkv", [(3, 3), (4, 2), (8, 2), (4, 1)])  # MHA, GQA ratios 2 and 4, MQA
def test_3d_heads(tmp_path, hq, hkv):
    proto = model(qkv3(2, 3, 5, hq, hkv, 5, 7), q_num_heads=hq, kv_num_heads=hkv)
    check(tmp_path, proto, feeds(proto, seed=hq))


@pytest.mark.parametrize("hq, hkv", [(2, 2), (6, 3), (4, 1)])
def test_4d_heads_odd_sizes(tmp_path, hq, hkv):
    proto = model(qkv4(3, 1, 7, hq, hkv, 3, 5))
    check(tmp_path, proto, feeds(proto, seed=hkv))


@pytest.mark.parametrize("scale", [0.1, 2.5])
def test_scale(tmp_path, scale):
    proto = model(qkv4(1, 4, 6, 2, 2, 8, 8), scale=scale)
    check(tmp_path, proto, feeds(proto, seed=3))


def test_softcap_with_large_scores(tmp_path):
    proto = model(qkv3(2, 4, 4, 4, 2, 6, 6), q_num_heads=4, kv_num_heads=2, softcap=2.0, scale=3.0)
    check(tmp_path, proto, feeds(proto, seed=5))


# -- masks -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("mask_type", [TensorProto.BOOL, F32])
@pytest.mark.parametrize("mask_shape", [(3, 5), (1, 3, 5), (4, 3, 5), (2, 1, 3, 5), (2, 4, 3, 5), (1, 5), (5,), (3, 1)])
def test_masks_broadcast(tmp_path, mask_type, mask_shape):
    """(3, 1) has fewer columns than the 5 keys: padded with False / -inf; onnxruntime refuses it and
    the (1, 5) and (5,) broadcasts over queries, so the reference is the oracle there."""
    inputs = qkv4(2, 3, 5, 4, 2, 4, 3)
    inputs["attn_mask"] = (mask_type, mask_shape)
    proto = model(inputs)
    check(tmp_path, proto, feeds(proto, seed=7), ort=mask_shape not in ((3, 1), (1, 5), (5,)))


@pytest.mark.parametrize("mask_type", [TensorProto.BOOL, F32])
def test_mask_shorter_than_total_keys_with_past(tmp_path, mask_type):
    inputs = qkv3(2, 2, 3, 4, 2, 4, 4)
    inputs["attn_mask"] = (mask_type, (2, 4))  # 4 of past 2 + 3 = 5 keys: the fifth is masked
    inputs["past_key"] = (F32, (2, 2, 2, 4))
    inputs["past_value"] = (F32, (2, 2, 2, 4))
    proto = model(inputs, n_outputs=3, q_num_heads=4, kv_num_heads=2)
    rng = np.random.default_rng(1)
    mask = rng.random((2, 4)) < 0.8 if mask_type == TensorProto.BOOL else rng.standard_normal((2, 4))
    mask[:, 0] = True if mask_type == TensorProto.BOOL else mask[:, 0]
    check(tmp_path, proto, feeds(proto, seed=11, mask=mask), ort=False)  # onnxruntime refuses short masks


def test_fully_masked_rows_are_zero(tmp_path):
    inputs = qkv4(1, 3, 4, 2, 2, 4, 4)
    inputs["attn_mask"] = (TensorProto.BOOL, (3, 4))
    proto = model(inputs, n_outputs=4, qk_matmul_output_mode=3)
    mask = np.ones((3, 4), bool)
    mask[1] = False
    got = check(tmp_path, proto, feeds(proto, seed=2, mask=mask), ort=False)
    assert not got["Y"][:, :, 1].any() and not got["qk_matmul_output"][:, :, 1].any()
    assert got["Y"][:, :, 0].any()


def test_run_time_float_mask_with_a_fully_masked_row(tmp_path):
    inputs = qkv3(2, 3, 4, 2, 1, 4, 4)
    inputs["attn_mask"] = (F32, (2, 1, 3, 4))
    proto = model(inputs, n_outputs=4, q_num_heads=2, kv_num_heads=1, qk_matmul_output_mode=3)
    mask = np.random.default_rng(0).standard_normal((2, 1, 3, 4))
    mask[1, 0, 2] = -np.inf
    mask[0, 0, 0, :2] = -np.inf
    got = check(tmp_path, proto, feeds(proto, seed=3, mask=mask), ort=False)
    assert not got["Y"][1, 2].any() and np.isfinite(got["Y"]).all()


@pytest.mark.parametrize("causal", [0, 1])
def test_constant_mask_and_no_repeated_kv_heads(tmp_path, causal):
    """A mask initializer folds into one constant bias; GQA multiplies each KV head once (no Expand)."""
    from edgewasm.frontend.onnx import import_onnx

    inputs = qkv3(1, 4, 4, 4, 2, 4, 4)
    proto = model(inputs, q_num_heads=4, kv_num_heads=2, is_causal=causal)
    mask = np.random.default_rng(1).random((4, 4)) < 0.6
    mask[:, 0] = True
    proto.graph.node[0].input.append("attn_mask")
    proto.graph.initializer.append(onnx.numpy_helper.from_array(mask, "attn_mask"))
    check(tmp_path, proto, feeds(proto, seed=4))
    ops = [n.op for n in import_onnx(proto).nodes]
    assert "Expand" not in ops and ops.count("MatMul") == 2, ops


# -- causal, past and present -------------------------------------------------------------------------


@pytest.mark.parametrize("sq, skv", [(4, 4), (3, 6)])
def test_causal(tmp_path, sq, skv):
    proto = model(qkv3(2, sq, skv, 4, 2, 4, 5), q_num_heads=4, kv_num_heads=2, is_causal=1)
    check(tmp_path, proto, feeds(proto, seed=sq))


@pytest.mark.parametrize("rank", [3, 4])
def test_causal_with_past_and_present(tmp_path, rank):
    inputs = (qkv3 if rank == 3 else qkv4)(2, 2, 2, 4, 1, 3, 5)
    inputs["past_key"] = (F32, (2, 1, 3, 3))
    inputs["past_value"] = (F32, (2, 1, 3, 5))
    attrs = {"q_num_heads": 4, "kv_num_heads": 1} if rank == 3 else {}
    proto = model(inputs, n_outputs=3, is_causal=1, **attrs)
    got = check(tmp_path, proto, feeds(proto, seed=4))
    assert got["present_key"].shape == (2, 1, 5, 3)


def test_causal_with_float_mask_and_past(tmp_path):
    inputs = qkv4(1, 3, 3, 2, 2, 4, 4)
    inputs["attn_mask"] = (F32, (2, 3, 5))
    inputs["past_key"] = (F32, (1, 2, 2, 4))
    inputs["past_value"] = (F32, (1, 2, 2, 4))
    proto = model(inputs, n_outputs=3, is_causal=1)
    check(tmp_path, proto, feeds(proto, seed=9), ort=False)


# -- the fourth output, softmax_precision -------------------------------------------------------------


@pytest.mark.parametrize("mode", [0, 1, 2, 3])
@pytest.mark.parametrize("softcap", [0.0, 1.5])
def test_qk_matmul_output_modes(tmp_path, mode, softcap):
    inputs = qkv4(2, 3, 4, 2, 1, 4, 4)
    inputs["attn_mask"] = (F32, (3, 4))
    inputs["past_key"] = (F32, (2, 1, 1, 4))
    inputs["past_value"] = (F32, (2, 1, 1, 4))
    inputs["attn_mask"] = (F32, (3, 5))
    proto = model(inputs, n_outputs=4, qk_matmul_output_mode=mode, softcap=softcap)
    check(tmp_path, proto, feeds(proto, seed=mode))


@pytest.mark.parametrize("dtype, precision", [(F32, TensorProto.FLOAT), (F32, TensorProto.DOUBLE),
                                              (TensorProto.FLOAT16, TensorProto.FLOAT),
                                              (TensorProto.BFLOAT16, TensorProto.FLOAT)])
def test_softmax_precision(tmp_path, dtype, precision):
    proto = model(qkv3(1, 3, 4, 2, 2, 4, 4, dtype), n_outputs=4, q_num_heads=2, kv_num_heads=2,
                  softmax_precision=precision, qk_matmul_output_mode=3)
    check(tmp_path, proto, feeds(proto, seed=1), ort=False)


# -- nonpad_kv_seqlen (opset 24) -------------------------------------------------------------------------


@pytest.mark.parametrize("causal", [0, 1])
def test_nonpad_kv_seqlen(tmp_path, causal):
    inputs = qkv4(3, 2, 6, 4, 2, 4, 4)
    inputs["nonpad_kv_seqlen"] = (TensorProto.INT64, (3,))
    proto = model(inputs, opset=24, is_causal=causal)
    # batch item 2 has fewer keys (1) than queries (2): causally its first query row is fully masked
    got = check(tmp_path, proto, feeds(proto, seed=6, nonpad=[6, 3, 1]), ort=False)
    if causal:
        assert not got["Y"][2, :, 0].any() and got["Y"][2, :, 1].any()


@pytest.mark.parametrize("left, right, causal", [(1, -1, 1), (2, 0, 0), (-1, 1, 0)])
def test_nonpad_with_sliding_window_and_short_mask(tmp_path, left, right, causal):
    inputs = qkv4(2, 3, 6, 2, 2, 4, 4)
    inputs["attn_mask"] = (TensorProto.BOOL, (3, 5))
    inputs["nonpad_kv_seqlen"] = (TensorProto.INT64, (2,))
    proto = model(inputs, opset=25, is_causal=causal, left_window_size=left, right_window_size=right)
    mask = np.ones((3, 5), bool)
    mask[0, 1] = False
    check(tmp_path, proto, feeds(proto, seed=2, nonpad=[5, 4], mask=mask), ort=False)


@pytest.mark.parametrize("left, right, causal", [(1, -1, 1), (2, 0, 0), (-1, 1, 0), (0, 2, 1)])
def test_sliding_window_opset_25(tmp_path, left, right, causal):
    inputs = qkv3(2, 4, 3, 2, 1, 4, 4)
    inputs["past_key"] = (F32, (2, 1, 2, 4))
    inputs["past_value"] = (F32, (2, 1, 2, 4))
    proto = model(inputs, n_outputs=3, opset=25, q_num_heads=2, kv_num_heads=1, is_causal=causal,
                  left_window_size=left, right_window_size=right)
    check(tmp_path, proto, feeds(proto, seed=left + 3), ort=False)


# -- dtypes ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [2, 3])
@pytest.mark.parametrize("dtype", [TensorProto.FLOAT16, TensorProto.BFLOAT16, TensorProto.DOUBLE])
def test_dtypes(tmp_path, dtype, mode):
    """onnxruntime runs float16 (not bfloat16 or float64); in mode 2 its masked float16 scores are
    -65504 where the spec has -inf, so it is the oracle in mode 3 only."""
    inputs = qkv3(2, 3, 5, 4, 2, 4, 6, dtype)
    inputs["attn_mask"] = (TensorProto.BOOL, (3, 5))
    inputs["past_key"] = (dtype, (2, 2, 1, 4))
    inputs["past_value"] = (dtype, (2, 2, 1, 6))
    inputs["attn_mask"] = (TensorProto.BOOL, (3, 6))
    proto = model(inputs, n_outputs=4, q_num_heads=4, kv_num_heads=2, is_causal=1, softcap=3.0,
                  qk_matmul_output_mode=mode)
    got = check(tmp_path, proto, feeds(proto, seed=8), ort=dtype == TensorProto.FLOAT16 and mode == 3)
    assert got["Y"].dtype == NP[dtype]


def test_float64_computes_in_float64(tmp_path):
    proto = model(qkv4(1, 2, 3, 1, 1, 2, 2, TensorProto.DOUBLE))
    inputs = feeds(proto, seed=0)
    inputs["V"] = inputs["V"] + 1e-9 * np.arange(6).reshape(1, 1, 3, 2)  # invisible in float32
    got = compile_run(tmp_path, proto, inputs)["Y"]
    want = ReferenceEvaluator(proto).run(None, inputs)[0]
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)


# -- errors -------------------------------------------------------------------------------------------------


def compile_error(tmp_path, proto):
    path = tmp_path / "bad.onnx"
    path.write_bytes(proto.SerializeToString())
    edgewasm.compile(path, tmp_path / "bad_bundle")


def raw_model(inputs: dict, outputs=("Y",), opset=23, **attrs):
    node = helper.make_node("Attention", list(inputs), list(outputs), name="attn", **attrs)
    graph = helper.make_graph([node], "bad", [helper.make_tensor_value_info(n, t, list(s)) for n, (t, s) in
                                              inputs.items() if n],
                              [helper.make_tensor_value_info(o, F32, ["a", "b", "c"]) for o in outputs])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)


@pytest.mark.parametrize("inputs, attrs, error, message", [
    (qkv3(1, 2, 2, 2, 2, 4, 4), {}, ModelFormatError, "q_num_heads and kv_num_heads"),
    (qkv3(1, 2, 2, 3, 2, 4, 4), {"q_num_heads": 3, "kv_num_heads": 2}, ModelFormatError, "not a multiple"),
    (qkv4(1, 2, 2, 2, 2, 4, 4) | {"K": (F32, (1, 2, 2, 5))}, {}, ModelFormatError, "head size"),
    (qkv4(1, 2, 2, 2, 2, 4, 4) | {"attn_mask": (F32, (3, 2))}, {}, ModelFormatError, "does not broadcast"),
    (qkv4(1, 2, 2, 2, 2, 4, 4) | {"attn_mask": (F32, (2, 3))}, {}, ModelFormatError, "columns"),
    (qkv4(1, 2, 2, 2, 2, 4, 4) | {"attn_mask": (TensorProto.INT32, (2, 2))}, {}, ModelFormatError, "attn_mask"),
    (qkv4(1, 2, 2, 2, 2, 4, 4) | {"attn_mask": ("", ()), "past_key": (F32, (1, 2, 1, 4))}, {}, ModelFormatError,
     "together"),
    (qkv4(1, 2, 2, 2, 2, 4, 4), {"qk_matmul_output_mode": 5}, ModelFormatError, "qk_matmul_output_mode"),
    (qkv4(1, 2, 2, 2, 2, 4, 4), {"softmax_precision": TensorProto.INT32}, ModelFormatError, "softmax_precision"),
    (qkv4(1, 2, 2, 2, 2, 4, 4, TensorProto.INT32), {}, UnsupportedModelError, "dtype int32"),
    (qkv4(1, 2, 2, 2, 2, 4, 4), {"opset": 25, "q_num_heads": 2, "kv_num_heads": 2}, ModelFormatError,
     "must not be given for 4-D"),
    (qkv3(1, 2, 2, 2, 2, 4, 4), {"opset": 25, "q_num_heads": 2, "kv_num_heads": 2, "left_window_size": -3},
     ModelFormatError, "left_window_size"),
])
def test_errors(tmp_path, inputs, attrs, error, message):
    inputs = {k if v[0] != "" else "": v for k, v in inputs.items()}  # ("", ()) leaves a slot empty
    with pytest.raises(error, match=message):
        compile_error(tmp_path, raw_model(inputs, **attrs))


def test_nonpad_with_past_is_refused(tmp_path):
    inputs = qkv4(1, 2, 2, 2, 2, 4, 4) | {"": ("", ()), "past_key": (F32, (1, 2, 1, 4)),
                                          "past_value": (F32, (1, 2, 1, 4)),
                                          "nonpad_kv_seqlen": (TensorProto.INT64, (1,))}
    node_inputs = ["Q", "K", "V", "", "past_key", "past_value", "nonpad_kv_seqlen"]
    node = helper.make_node("Attention", node_inputs, ["Y"], name="attn")
    graph = helper.make_graph([node], "bad", [helper.make_tensor_value_info(n, t, list(s)) for n, (t, s) in
                                              inputs.items() if n],
                              [helper.make_tensor_value_info("Y", F32, ["a", "b", "c", "d"])])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 24)], ir_version=10)
    with pytest.raises(ModelFormatError, match="nonpad_kv_seqlen cannot be combined"):
        compile_error(tmp_path, proto)
