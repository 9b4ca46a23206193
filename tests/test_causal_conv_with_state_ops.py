"""CausalConvWithState (opset 27) through the public API (compile, load, run in wasmtime): kernel
sizes 1 to 5 (k = 1: an empty present_state), inputs shorter than k - 1, bias and past_state given
or not, at run time or compiled in, activation none/silu/swish, float32 and float16 against
onnxruntime on the original graph, bfloat16 against onnx's reference evaluator, the variant's
reference.onnx, a prefill then decode steps carrying the state equal to one call over the whole
sequence; and the typed errors for what the spec forbids."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import edgewasm
from edgewasm.engines import within_contract
from edgewasm.errors import ModelFormatError, UnsupportedModelError

from oracles import ONNX_TYPES, check, compile_and_run, ort_outputs, reference_outputs

OPSET = 27
INPUTS = ("input", "weight", "bias", "past_state")


def model(feeds: dict, constants: dict | None = None, outputs=("output", "present_state"), **attrs):
    """A one-node CausalConvWithState model whose inputs are `feeds` (graph inputs) and `constants`
    (initializers), by their spec names; absent optional inputs are left empty."""
    constants = constants or {}
    given = {**feeds, **constants}
    last = max(i for i, n in enumerate(INPUTS) if n in given)
    names = [n if n in given else "" for n in INPUTS[:last + 1]]
    node = helper.make_node("CausalConvWithState", names, list(outputs), **attrs)
    b, c, length = given["input"].shape
    k = given["weight"].shape[2]
    shapes = {"output": (b, c, length), "present_state": (b, c, k - 1)}
    dtype = ONNX_TYPES[given["input"].dtype]
    graph = helper.make_graph(
        [node], "causal_conv_with_state",
        [helper.make_tensor_value_info(n, ONNX_TYPES[v.dtype], v.shape) for n, v in feeds.items()],
        [helper.make_tensor_value_info(n, dtype, shapes[n]) for n in outputs if n],
        [numpy_helper.from_array(v, n) for n, v in constants.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=10)


def inputs(b=2, c=3, length=6, k=4, bias=False, past=False, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    x = {"input": rng.standard_normal((b, c, length)), "weight": rng.standard_normal((c, 1, k)) * 0.5}
    if bias:
        x["bias"] = rng.standard_normal(c)
    if past:
        x["past_state"] = rng.standard_normal((b, c, k - 1))
    return {n: np.asarray(v, dtype) for n, v in x.items()}


@pytest.mark.parametrize("activation", [None, "none", "silu", "swish"])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("past", [False, True])
def test_activation_bias_past(tmp_path, activation, bias, past):
    feeds = inputs(bias=bias, past=past, seed=bias + 2 * past)
    attrs = {} if activation is None else {"activation": activation}
    check(tmp_path, model(feeds, **attrs), feeds)


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (1, 1, 1, 4), (2, 5, 7, 1), (1, 4, 2, 4), (3, 2, 9, 3),
                                   (2, 6, 1, 5), (1, 8, 16, 2)])
def test_shapes(tmp_path, shape):
    b, c, length, k = shape
    feeds = inputs(b=b, c=c, length=length, k=k, bias=True, past=True, seed=sum(shape))
    check(tmp_path, model(feeds, activation="silu"), feeds)


def test_kernel_size_one_without_past_has_empty_state(tmp_path):
    feeds = inputs(k=1)
    got = check(tmp_path, model(feeds), feeds)
    assert got["present_state"].shape == (2, 3, 0)


@pytest.mark.parametrize("compiled", [("weight",), ("weight", "bias"), ("weight", "bias", "past_state")])
def test_compiled_in_parameters(tmp_path, compiled):
    every = inputs(bias=True, past=True, seed=7)
    feeds = {n: v for n, v in every.items() if n not in compiled}
    constants = {n: v for n, v in every.items() if n in compiled}
    want = ort_outputs(model(every, activation="silu"), every)
    check(tmp_path, model(feeds, constants, activation="silu"), feeds, want=want)


def test_only_output_read(tmp_path):
    """present_state is computed but not a graph output."""
    feeds = inputs(past=True, seed=4)
    proto = model(feeds)
    del proto.graph.output[1]
    check(tmp_path, proto, feeds)


def test_prefill_then_decode_carries_the_state(tmp_path):
    """One call over 8 positions equals a call over 5 then three one-position calls, each fed the
    previous present_state."""
    full = inputs(b=2, c=4, length=8, k=4, bias=True, seed=11)
    (tmp_path / "a").mkdir()
    whole = compile_and_run(tmp_path / "a", model(full, activation="silu"), full)
    head = {"input": full["input"][:, :, :5], "weight": full["weight"], "bias": full["bias"]}
    (tmp_path / "b").mkdir()
    first = compile_and_run(tmp_path / "b", model(head, activation="silu"), head)
    step = {"input": full["input"][:, :, 5:6], "weight": full["weight"], "bias": full["bias"],
            "past_state": first["present_state"]}
    (tmp_path / "c").mkdir()
    path = tmp_path / "c" / "m.onnx"
    path.write_bytes(model(step, activation="silu").SerializeToString())
    edgewasm.compile(path, tmp_path / "c" / "bundle")
    decoder = edgewasm.load(tmp_path / "c" / "bundle")
    outs, state = [first["output"]], first["present_state"]
    for t in range(5, 8):
        got = decoder.run({**step, "input": full["input"][:, :, t:t + 1], "past_state": state})
        outs.append(got["output"])
        state = got["present_state"]
    assert within_contract(np.concatenate(outs, axis=2), whole["output"])
    np.testing.assert_array_equal(state, whole["present_state"])
    np.testing.assert_array_equal(state, full["input"][:, :, 5:])


@pytest.mark.parametrize("activation", ["none", "silu"])
def test_float16(tmp_path, activation):
    feeds = inputs(bias=True, past=True, seed=5, dtype=np.float16)
    check(tmp_path, model(feeds, activation=activation), feeds, atol=2e-3, rtol=2e-3)


@pytest.mark.parametrize("activation", ["none", "swish"])
def test_bfloat16_against_reference(tmp_path, activation):
    feeds = inputs(bias=True, past=True, seed=6, dtype=ml_dtypes.bfloat16)
    proto = model(feeds, activation=activation)
    check(tmp_path, proto, feeds, want=reference_outputs(proto, feeds), atol=2e-2, rtol=2e-2, variant=False)


def refuses(tmp_path, proto, error, match):
    path = tmp_path / "m.onnx"
    path.write_bytes(proto.SerializeToString())
    with pytest.raises(error, match=match):
        edgewasm.compile(path, tmp_path / "bundle")


def test_refuses_unknown_activation(tmp_path):
    refuses(tmp_path, model(inputs(), activation="gelu"), ModelFormatError, "activation 'gelu'")


def test_refuses_float64(tmp_path):
    refuses(tmp_path, model(inputs(dtype=np.float64)), UnsupportedModelError, "float64")


def test_refuses_mixed_dtypes(tmp_path):
    feeds = inputs()
    feeds["weight"] = feeds["weight"].astype(np.float16)
    refuses(tmp_path, model(feeds), ModelFormatError, "dtype float16")


def test_refuses_bad_weight_shape(tmp_path):
    feeds = inputs()
    feeds["weight"] = np.ones((3, 2, 4), np.float32)
    refuses(tmp_path, model(feeds), ModelFormatError, r"weight must have shape \[3, 1, k\]")


def test_refuses_bad_past_state_shape(tmp_path):
    feeds = inputs(past=True)
    feeds["past_state"] = np.ones((2, 3, 4), np.float32)
    refuses(tmp_path, model(feeds), ModelFormatError, r"past_state must have shape \[2, 3, 3\]")


def test_refuses_rank_two_input(tmp_path):
    feeds = {"input": np.ones((3, 6), np.float32), "weight": np.ones((3, 1, 2), np.float32)}
    node = helper.make_node("CausalConvWithState", ["input", "weight"], ["output", "state"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info(n, TensorProto.FLOAT, v.shape)
                                            for n, v in feeds.items()],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, [3, 6])])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=10)
    refuses(tmp_path, proto, ModelFormatError, "rank 3")
