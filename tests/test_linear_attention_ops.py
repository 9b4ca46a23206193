"""LinearAttention (opset 27) through the public API (compile, load, run in wasmtime): every update
rule, GQA/MQA, decay per head or per key dimension, beta per head or shared, past_state given or
not, run-time or compiled-in, default or explicit scale, T = 1 decode and T > 1 prefill, float32,
float16 and bfloat16 (and a float32 state with float16 activations), against onnxruntime on the
original graph (onnx's reference evaluator where onnxruntime has no kernel), plus the variant's
reference.onnx; and the typed errors for what the spec forbids."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from onnx import helper, numpy_helper

import edgewasm
from edgewasm.errors import ModelFormatError, UnsupportedModelError

from oracles import ONNX_TYPES, check, compile_and_run, ort_outputs, reference_outputs

OPSET = 27
INPUTS = ("query", "key", "value", "past_state", "decay", "beta")


def model(feeds: dict, constants: dict | None = None, outputs=("output", "present_state"), **attrs):
    """A one-node LinearAttention model whose inputs are `feeds` (graph inputs) and `constants`
    (initializers), by their spec names; absent optional inputs are left empty."""
    constants = constants or {}
    given = {**feeds, **constants}
    last = max(i for i, n in enumerate(INPUTS) if n in given)
    names = [n if n in given else "" for n in INPUTS[:last + 1]]
    node = helper.make_node("LinearAttention", names, list(outputs), **attrs)
    out_types = {"output": given["query"].dtype,
                 "present_state": given["past_state"].dtype if "past_state" in given else given["query"].dtype}
    b, t = given["query"].shape[:2]
    hq, hkv = attrs["q_num_heads"], attrs["kv_num_heads"]
    dk, dv = given["query"].shape[2] // hq, given["value"].shape[2] // hkv
    out_shapes = {"output": (b, t, hq * dv), "present_state": (b, hkv, dk, dv)}
    graph = helper.make_graph(
        [node], "linear_attention",
        [helper.make_tensor_value_info(n, ONNX_TYPES[v.dtype], v.shape) for n, v in feeds.items()],
        [helper.make_tensor_value_info(n, ONNX_TYPES[out_types[n]], out_shapes[n]) for n in outputs if n],
        [numpy_helper.from_array(v, n) for n, v in constants.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=10)


def inputs(b=2, t=3, hq=4, hkv=2, dk=5, dv=3, rule="gated_delta", past=False, decay_per_key=True,
           beta_shared=False, seed=0, dtype=np.float32):
    """Random inputs in the ranges models feed: unit-norm-ish keys, negative log decays, beta in (0, 1)."""
    rng = np.random.default_rng(seed)
    x = {"query": rng.standard_normal((b, t, hq * dk)),
         "key": rng.standard_normal((b, t, hkv * dk)) / np.sqrt(dk),
         "value": rng.standard_normal((b, t, hkv * dv))}
    if past:
        x["past_state"] = rng.standard_normal((b, hkv, dk, dv)) * 0.5
    if rule in ("gated", "gated_delta"):
        x["decay"] = -rng.uniform(0.01, 1.0, (b, t, hkv * dk if decay_per_key else hkv))
    if rule in ("delta", "gated_delta"):
        x["beta"] = rng.uniform(0.05, 0.95, (b, t, 1 if beta_shared else hkv))
    return {n: np.asarray(v, dtype) for n, v in x.items()}


RULES = ["linear", "gated", "delta", "gated_delta"]


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("past", [False, True])
@pytest.mark.parametrize("heads", [(4, 4), (4, 2), (6, 1)])
def test_every_rule_with_heads_and_past(tmp_path, rule, past, heads):
    hq, hkv = heads
    feeds = inputs(hq=hq, hkv=hkv, rule=rule, past=past, seed=hq + hkv)
    check(tmp_path, model(feeds, q_num_heads=hq, kv_num_heads=hkv, update_rule=rule), feeds)


@pytest.mark.parametrize("rule", ["gated", "gated_delta"])
def test_decay_per_head(tmp_path, rule):
    feeds = inputs(rule=rule, decay_per_key=False, past=True, seed=3)
    check(tmp_path, model(feeds, q_num_heads=4, kv_num_heads=2, update_rule=rule), feeds)


@pytest.mark.parametrize("rule", ["delta", "gated_delta"])
def test_beta_shared_by_every_head(tmp_path, rule):
    feeds = inputs(rule=rule, beta_shared=True, seed=4)
    check(tmp_path, model(feeds, q_num_heads=4, kv_num_heads=2, update_rule=rule), feeds)


@pytest.mark.parametrize("shape", [dict(b=1, t=1, dk=8, dv=8), dict(b=3, t=1, dk=4, dv=6), dict(b=1, t=9, dk=3, dv=7),
                                   dict(b=2, t=6, dk=16, dv=2), dict(b=1, t=2, dk=1, dv=1)])
def test_shapes_decode_and_prefill(tmp_path, shape):
    feeds = inputs(past=True, seed=5, **shape)
    check(tmp_path, model(feeds, q_num_heads=4, kv_num_heads=2), feeds)  # update_rule defaults to gated_delta


@pytest.mark.parametrize("scale", [0.25, -1.5, 3.0])
def test_explicit_scale(tmp_path, scale):
    feeds = inputs(rule="gated", seed=6)
    check(tmp_path, model(feeds, q_num_heads=4, kv_num_heads=2, update_rule="gated", scale=scale), feeds)


def test_chunk_size_does_not_change_the_result(tmp_path):
    feeds = inputs(t=7, seed=7)
    got = check(tmp_path, model(feeds, q_num_heads=4, kv_num_heads=2, chunk_size=2), feeds)
    (tmp_path / "again").mkdir()
    again = compile_and_run(tmp_path / "again", model(feeds, q_num_heads=4, kv_num_heads=2), feeds)
    for name in got:
        np.testing.assert_array_equal(got[name], again[name])


def test_constant_past_state_and_key(tmp_path):
    feeds = inputs(past=True, seed=8)
    constants = {"past_state": feeds.pop("past_state"), "key": feeds.pop("key")}
    proto = model(feeds, constants, q_num_heads=4, kv_num_heads=2)
    check(tmp_path, proto, feeds, want=ort_outputs(proto, feeds))


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_only_the_query_at_run_time(tmp_path, dtype):
    """Key, value, decay, beta and past_state compiled in: present_state is known at compile time
    and still written by the module, in its dtype."""
    feeds = inputs(past=True, seed=19, dtype=dtype)
    constants = {n: feeds.pop(n) for n in ("key", "value", "past_state", "decay", "beta")}
    proto = model(feeds, constants, q_num_heads=4, kv_num_heads=2)
    tol = 2e-3 if dtype == np.float16 else None
    check(tmp_path, proto, feeds, **({"atol": tol, "rtol": tol} if tol else {}))


def test_state_carries_over_between_calls(tmp_path):
    """Prefill then decode with present_state fed back equals one prefill over both parts."""
    full = inputs(t=4, seed=9)
    first = {n: v[:, :3] for n, v in full.items()}
    second = {n: v[:, 3:] for n, v in full.items()}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "c").mkdir()
    got_full = compile_and_run(tmp_path / "a", model(full, q_num_heads=4, kv_num_heads=2), full)
    got_first = compile_and_run(tmp_path / "b", model(first, q_num_heads=4, kv_num_heads=2), first)
    second["past_state"] = got_first["present_state"]
    got_second = compile_and_run(tmp_path / "c", model(second, q_num_heads=4, kv_num_heads=2), second)
    np.testing.assert_allclose(got_second["output"], got_full["output"][:, 3:], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_second["present_state"], got_full["present_state"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("past", [False, True])
def test_float16(tmp_path, rule, past):
    feeds = inputs(rule=rule, past=past, seed=10, dtype=np.float16)
    check(tmp_path, model(feeds, q_num_heads=4, kv_num_heads=2, update_rule=rule), feeds, atol=2e-3, rtol=2e-3)


@pytest.mark.parametrize("past", [False, True])
def test_bfloat16_against_the_reference(tmp_path, past):
    feeds = inputs(past=past, seed=11, dtype=ml_dtypes.bfloat16)
    proto = model(feeds, q_num_heads=4, kv_num_heads=2)
    check(tmp_path, proto, feeds, want=reference_outputs(proto, feeds), atol=2e-2, rtol=2e-2, variant=False)


def test_float32_state_with_float16_activations(tmp_path):
    """S and T are separate type constraints: present_state keeps past_state's dtype."""
    feeds = inputs(past=True, seed=12, dtype=np.float16)
    feeds["past_state"] = feeds["past_state"].astype(np.float32)
    proto = model(feeds, q_num_heads=4, kv_num_heads=2)
    got = check(tmp_path, proto, feeds, want=reference_outputs(proto, feeds), atol=2e-3, rtol=2e-3, variant=False)
    assert got["output"].dtype == np.float16 and got["present_state"].dtype == np.float32


def test_matches_onnx_reference_too(tmp_path):
    feeds = inputs(hq=6, hkv=3, t=4, past=True, seed=13)
    proto = model(feeds, q_num_heads=6, kv_num_heads=3)
    check(tmp_path, proto, feeds, want=reference_outputs(proto, feeds), variant=False)


# -- errors -------------------------------------------------------------------------------------


def compile_error(tmp_path, proto):
    path = tmp_path / "bad.onnx"
    path.write_bytes(proto.SerializeToString())
    edgewasm.compile(path, tmp_path / "bad_bundle")


@pytest.mark.parametrize("rule, drop, add", [("gated", "decay", None), ("delta", "beta", None),
                                             ("linear", None, "decay"), ("gated", None, "beta"),
                                             ("delta", None, "decay")])
def test_rule_and_inputs_must_agree(tmp_path, rule, drop, add):
    feeds = inputs(rule="gated_delta", seed=14)
    keep = {"linear": (), "gated": ("decay",), "delta": ("beta",)}[rule]
    feeds = {n: v for n, v in feeds.items() if n in ("query", "key", "value") or n in keep or n == add}
    feeds.pop(drop, None)
    with pytest.raises(ModelFormatError, match="LinearAttention node .*(requires|takes no)"):
        compile_error(tmp_path, model(feeds, q_num_heads=4, kv_num_heads=2, update_rule=rule))


def test_unknown_update_rule(tmp_path):
    feeds = inputs(rule="linear", seed=15)
    with pytest.raises(ModelFormatError, match="update_rule 'softmax'"):
        compile_error(tmp_path, model(feeds, q_num_heads=4, kv_num_heads=2, update_rule="softmax"))


@pytest.mark.parametrize("hq, hkv", [(4, 3), (3, 6)])
def test_heads_must_divide(tmp_path, hq, hkv):
    feeds = inputs(rule="linear", hq=4, hkv=2, dk=6, seed=16)
    with pytest.raises(ModelFormatError, match="LinearAttention node"):
        compile_error(tmp_path, model(feeds, q_num_heads=hq, kv_num_heads=hkv, update_rule="linear"))


def test_past_state_shape_is_checked(tmp_path):
    feeds = inputs(past=True, seed=17)
    feeds["past_state"] = feeds["past_state"][:, :, :-1]
    with pytest.raises(ModelFormatError, match="past_state must have shape"):
        compile_error(tmp_path, model(feeds, q_num_heads=4, kv_num_heads=2))


def test_float64_is_refused(tmp_path):
    feeds = inputs(rule="linear", seed=18, dtype=np.float64)
    proto = model(feeds, q_num_heads=4, kv_num_heads=2, update_rule="linear")
    with pytest.raises((UnsupportedModelError, ModelFormatError), match="float64|double"):
        compile_error(tmp_path, proto)
