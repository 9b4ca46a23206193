"""Elementwise chains fused into one pass (passes/chains.py, ops/chain.py, f32_vchain): through the
public API, a chain compiles to one node named in the report's "fusions", and its outputs have the
bits of the unfused graph (the same model with every intermediate also a graph output, so nothing
fuses) and are within the fp32 contract of onnxruntime."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import edgewasm
from edgewasm.engines import run_onnxruntime, within_contract

from transformer_models import ort_run

f32 = np.float32


def _model(nodes, inputs, outputs, constants, shape):
    graph = helper.make_graph(
        nodes, "chain",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, shape) for n in inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, shape) for n in outputs],
        initializer=[numpy_helper.from_array(np.asarray(v, f32), k) for k, v in constants.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)


def _data(shape, seed, scale=4.0):
    x = (np.random.default_rng(seed).standard_normal(shape) * scale).astype(f32)
    flat = x.reshape(-1)
    flat[:8] = [np.nan, np.inf, -np.inf, -0.0, 0.0, -3.0, 3.0, -100.0]
    return x


HARD_SWISH = ([helper.make_node("Add", ["x", "three"], ["t1"], name="add3"),
               helper.make_node("Clip", ["t1", "zero", "six"], ["t2"], name="clip"),
               helper.make_node("Mul", ["x", "t2"], ["t3"], name="mul"),
               helper.make_node("Div", ["t3", "six"], ["y"], name="div")],
              ["x"], {"three": 3.0, "zero": 0.0, "six": 6.0})
GELU = ([helper.make_node("Div", ["x", "sqrt2"], ["t1"], name="div"),
         helper.make_node("Erf", ["t1"], ["t2"], name="erf"),
         helper.make_node("Add", ["t2", "one"], ["t3"], name="add1"),
         helper.make_node("Mul", ["x", "t3"], ["t4"], name="mul"),
         helper.make_node("Mul", ["t4", "half"], ["y"], name="half")],
        ["x"], {"sqrt2": np.sqrt(2.0), "one": 1.0, "half": 0.5})
SILU_RESIDUAL = ([helper.make_node("Sigmoid", ["x"], ["t1"], name="sig"),
                  helper.make_node("Mul", ["x", "t1"], ["t2"], name="gate"),
                  helper.make_node("Add", ["t2", "r"], ["y"], name="residual")],
                 ["x", "r"], {})
# a residual used twice, a constant on the left (c - t, c / t), Max/Min, a square and two operand tensors
TWICE = ([helper.make_node("Sub", ["one", "x"], ["t1"], name="rsub"),
          helper.make_node("Mul", ["t1", "r"], ["t2"], name="scale"),
          helper.make_node("Add", ["r", "t2"], ["t3"], name="residual"),
          helper.make_node("Max", ["t3", "lo"], ["t4"], name="max"),
          helper.make_node("Mul", ["t4", "t4"], ["t5"], name="square"),
          helper.make_node("Div", ["one", "t5"], ["t6"], name="rdiv"),
          helper.make_node("Tanh", ["t6"], ["t7"], name="tanh"),
          helper.make_node("Sub", ["t7", "s"], ["y"], name="sub")],
         ["x", "r", "s"], {"one": 1.0, "lo": -2.0})
# PP-LCNetV3 as paddle2onnx writes it: an affine step (scale, bias), hard-swish of it, another affine
# step; the affine result has two readers, both in the chain (it is kept)
AFFINE_HARD_SWISH = ([helper.make_node("Mul", ["s1", "x"], ["t1"], name="scale1"),
                      helper.make_node("Add", ["t1", "b1"], ["t2"], name="bias1"),
                      helper.make_node("Add", ["t2", "three"], ["t3"], name="add3"),
                      helper.make_node("Clip", ["t3", "zero", "six"], ["t4"], name="clip"),
                      helper.make_node("Mul", ["t2", "t4"], ["t5"], name="mul"),
                      helper.make_node("Div", ["t5", "six"], ["t6"], name="div"),
                      helper.make_node("Mul", ["s2", "t6"], ["t7"], name="scale2"),
                      helper.make_node("Add", ["t7", "b2"], ["y"], name="bias2")],
                     ["x"], {"s1": [1.25], "b1": [-0.5], "three": 3.0, "zero": 0.0, "six": 6.0, "s2": [0.75],
                             "b2": [0.125]})
CHAINS = {"hard_swish": (HARD_SWISH, 4), "gelu": (GELU, 5), "silu_residual": (SILU_RESIDUAL, 2), "twice": (TWICE, 8),
          "affine_hard_swish": (AFFINE_HARD_SWISH, 8)}


def _compile_run(tmp_path, tag, proto, feed):
    path = tmp_path / f"{tag}.onnx"
    path.write_bytes(proto.SerializeToString())
    edgewasm.compile(path, tmp_path / tag)
    model = edgewasm.load(tmp_path / tag)
    return model, model.run(feed)


def _assert_same_bits(a, b):
    """Bit-identical, any NaN matching any NaN (wasm leaves NaN payloads open)."""
    nan = np.isnan(a)
    assert np.array_equal(nan, np.isnan(b))
    assert a[~nan].view(np.uint32).tolist() == b[~nan].view(np.uint32).tolist()


def _intermediates(nodes):
    return [n.output[0] for n in nodes if n.output[0] != "y"]


@pytest.mark.parametrize("chain", CHAINS)
@pytest.mark.parametrize("shape", [(2, 3, 5, 7), (3, 1031)])  # a tail of 2; several blocks and a tail of 1
def test_chain_is_one_pass_with_the_unfused_bits(tmp_path, chain, shape):
    (nodes, inputs, constants), steps = CHAINS[chain]
    feed = {name: _data(shape, seed) for seed, name in enumerate(inputs)}
    proto = _model(nodes, inputs, ["y"], constants, shape)
    model, fused = _compile_run(tmp_path, "fused", proto, feed)
    report = model.variant.report["fusions"]
    assert [f for f in report if f.endswith(f"({steps} ops in one pass)")], report
    assert "f32_vchain" in model.variant.kernels
    unfused_proto = _model(nodes, inputs, ["y", *_intermediates(nodes)], constants, shape)
    unfused_model, unfused = _compile_run(tmp_path, "unfused", unfused_proto, feed)
    assert not any("one pass" in f for f in unfused_model.variant.report["fusions"])
    assert "f32_vchain" not in unfused_model.variant.kernels
    _assert_same_bits(fused["y"], unfused["y"])
    finite = {k: np.nan_to_num(v, nan=0.5, posinf=7.0, neginf=-7.0) for k, v in feed.items()}
    got = model.run(finite)
    want = ort_run(proto, finite)["y"]
    assert within_contract(got["y"], want), np.nanmax(np.abs(got["y"] - want))
    reference = run_onnxruntime(tmp_path / "fused", finite)["y"]  # reference.onnx spells every step out
    assert within_contract(reference, want)


@pytest.mark.parametrize("expose", ["t2", "t2x"])
def test_a_second_reader_or_a_graph_output_interrupts_the_chain(tmp_path, expose):
    """Hard-swish whose Clip output is also a graph output ("t2") or also read by another node: the
    chain stops there (Add + Clip fuse, Mul + Div fuse), and the bits stay the unfused ones."""
    nodes, inputs, constants = HARD_SWISH
    shape = (2, 3, 5, 7)
    outputs = ["y", "t2"]
    if expose == "t2x":
        nodes = nodes + [helper.make_node("Neg", ["t2"], ["n"], name="other_reader")]
        outputs = ["y", "n"]
    feed = {"x": _data(shape, 5)}
    model, fused = _compile_run(tmp_path, "fused", _model(nodes, inputs, outputs, constants, shape), feed)
    report = [f for f in model.variant.report["fusions"] if "one pass" in f]
    assert report == ["add3 + clip (2 ops in one pass)", "mul + div (2 ops in one pass)"], report
    every = _model(nodes, inputs, outputs + ["t1", "t3"], constants, shape)
    _, unfused = _compile_run(tmp_path, "unfused", every, feed)
    for name in outputs:
        _assert_same_bits(fused[name], unfused[name])


def test_a_kept_value_with_a_reader_outside_stays_a_tensor(tmp_path):
    """The affine result t2 is also read by a node outside the chain: it is not kept; the chain
    stops at it (scale1 + bias1) and the rest fuses from it, with the unfused bits."""
    nodes, inputs, constants = AFFINE_HARD_SWISH
    nodes = nodes + [helper.make_node("Neg", ["t2"], ["n"], name="outside")]
    shape = (2, 3, 5, 7)
    feed = {"x": _data(shape, 9)}
    model, fused = _compile_run(tmp_path, "fused", _model(nodes, inputs, ["y", "n"], constants, shape), feed)
    report = [f for f in model.variant.report["fusions"] if "one pass" in f]
    assert report == ["scale1 + bias1 (2 ops in one pass)",
                      "add3 + clip + mul + div + scale2 + bias2 (6 ops in one pass)"], report
    every = _model(nodes, inputs, ["y", "n", *_intermediates(nodes[:-1])], constants, shape)
    _, unfused = _compile_run(tmp_path, "unfused", every, feed)
    for name in ("y", "n"):
        _assert_same_bits(fused[name], unfused[name])


def test_int8_and_fp16_variants_compile_and_keep_their_chains(tmp_path):
    """After compression the float32 chains still fuse; the variants run within their contracts."""
    nodes, inputs, constants = HARD_SWISH
    rng = np.random.default_rng(0)
    w = rng.standard_normal((16, 8)).astype(f32) * 0.3
    graph_nodes = [helper.make_node("MatMul", ["a", "w"], ["x"], name="mm")] + nodes
    graph = helper.make_graph(
        graph_nodes, "mm_chain", [helper.make_tensor_value_info("a", TensorProto.FLOAT, [4, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 8])],
        initializer=[numpy_helper.from_array(np.asarray(v, f32), k) for k, v in {**constants, "w": w}.items()])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
    path = tmp_path / "m.onnx"
    path.write_bytes(proto.SerializeToString())
    edgewasm.compile(path, tmp_path / "b", variants="fp32,fp16,int8")
    a = rng.standard_normal((4, 16)).astype(f32)
    want = ort_run(proto, {"a": a})["y"]
    for variant in ("fp32", "fp16", "int8"):
        model = edgewasm.load(tmp_path / "b", variant=variant)
        assert any("one pass" in f for f in model.variant.report["fusions"]), (variant, model.variant.report)
        got = model.run({"a": a})["y"]
        tolerance = 1e-5 if variant == "fp32" else 0.1
        assert np.allclose(got, want, atol=tolerance, rtol=tolerance), (variant, np.abs(got - want).max())
