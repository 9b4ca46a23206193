"""Compile ONNX models and run them in wasmtime: outputs must match onnxruntime on the
original model within the fp32 contract (atol 1e-5 + rtol 1e-4)."""

from __future__ import annotations

import numpy as np
import pytest
import wasmtime
from onnx import helper

import edgewasm
from edgewasm.engines import run_onnxruntime, within_contract
from edgewasm.backend.assemble import CUSTOM_SECTION, assemble
from edgewasm.runtime.sandbox import sections, module_interface

from models import make_mlp as mlp, make_model
from oracles import ort_outputs


def compile_and_compare(tmp_path, proto, inputs, batch=1):
    path = tmp_path / "m.onnx"
    path.write_bytes(proto.SerializeToString())
    edgewasm.compile(path, tmp_path / "bundle", batch=batch)
    got = edgewasm.load(tmp_path / "bundle").run(inputs)
    want = ort_outputs(proto, inputs)
    assert set(got) == set(want)
    for name in want:
        assert got[name].shape == want[name].shape and got[name].dtype == np.float32
        assert within_contract(got[name], want[name]), (name, np.abs(got[name] - want[name]).max())
    ref = run_onnxruntime(tmp_path / "bundle", inputs)  # the variant's reference.onnx
    for name in want:
        assert within_contract(ref[name], want[name])
    return got


def randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("sizes,batch", [([100, 37, 13], 3), ([64, 32, 10], 1), ([5, 9, 17, 3], 7), ([1, 1], 1)])
def test_mlp_matches_onnxruntime(tmp_path, sizes, batch):
    compile_and_compare(tmp_path, mlp(sizes), {"x": randn(batch, sizes[0])}, batch=batch)


@pytest.mark.parametrize("trans_a,trans_b,alpha,beta,c_shape", [
    (0, 0, 1.0, 1.0, (13,)), (1, 0, 0.5, 2.0, (1, 13)), (0, 1, 1.0, 0.0, (13,)),
    (1, 1, 1.5, 1.0, (5, 13)), (0, 0, 1.0, 1.0, None), (0, 1, 1.0, 3.0, (5, 1)), (0, 0, 1.0, 1.0, ()),
])
def test_gemm_attributes(tmp_path, trans_a, trans_b, alpha, beta, c_shape):
    m, k, n = 5, 11, 13
    a_shape = [k, m] if trans_a else [m, k]
    w = randn(*((n, k) if trans_b else (k, n)), seed=1)
    inits = [("w", w)]
    inputs = ["a", "w"]
    if c_shape is not None:
        inits.append(("c", randn(*c_shape, seed=2)))
        inputs.append("c")
    node = helper.make_node("Gemm", inputs, ["y"], transA=trans_a, transB=trans_b, alpha=alpha, beta=beta)
    proto = make_model([node], [("a", a_shape)], [("y", [m, n])], inits)
    compile_and_compare(tmp_path, proto, {"a": randn(*a_shape)})


def test_matmul_add_relu_softmax_and_views(tmp_path):
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["mm"]),
        helper.make_node("Add", ["mm", "b"], ["z"]),
        helper.make_node("Relu", ["z"], ["r"]),
        helper.make_node("Reshape", ["r", "shape"], ["r2"]),
        helper.make_node("Flatten", ["r2"], ["f"], axis=1),
        helper.make_node("Add", ["f", "x2"], ["s"]),
        helper.make_node("Softmax", ["s"], ["y"], axis=-1),
    ]
    inits = [("w", randn(6, 12, seed=3)), ("b", randn(12, seed=4)), ("shape", np.array([0, 3, 4], np.int64))]
    proto = make_model(nodes, [("x", [2, 6]), ("x2", [2, 12])], [("y", [2, 12]), ("r", [2, 12])], inits)
    compile_and_compare(tmp_path, proto, {"x": randn(2, 6), "x2": randn(2, 12, seed=5)})


def test_batched_matmul_rows_and_opset11_softmax(tmp_path):
    """MatMul over a rank-3 activation and opset-11 Softmax over the flattened trailing block."""
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Softmax", ["h"], ["y"], axis=1)]
    proto = make_model(nodes, [("x", ["N", 3, 7])], [("y", ["N", 3, 5])], [("w", randn(7, 5, seed=6))], opset=11)
    compile_and_compare(tmp_path, proto, {"x": randn(2, 3, 7)}, batch=2)


def test_identity_model_and_scalar_bias(tmp_path):
    nodes = [helper.make_node("Add", ["x", "c"], ["s"]), helper.make_node("Identity", ["s"], ["y"])]
    proto = make_model(nodes, [("x", [3, 4])], [("y", [3, 4])], [("c", np.float32(2.5))])
    compile_and_compare(tmp_path, proto, {"x": randn(3, 4)})


def test_special_values_propagate(tmp_path):
    proto = mlp([8, 6, 4], softmax=False)
    x = randn(4, 8)
    x[0, 0], x[1, 3], x[2, 5], x[3, 1] = np.nan, np.inf, -0.0, 1e30
    got = compile_and_compare(tmp_path, proto, {"x": x}, batch=4)
    assert np.isnan(got["logits"][0]).any()


def test_memory_plan_reuses_activation_buffers(tmp_path):
    """A deep narrow MLP needs two live activations at a time, not one per layer."""
    sizes = [64] * 12
    proto = mlp(sizes, softmax=False)
    path = tmp_path / "deep.onnx"
    path.write_bytes(proto.SerializeToString())
    edgewasm.compile(path, tmp_path / "b", batch=16)
    model_ = edgewasm.load(tmp_path / "b")
    report = model_.variant.report
    activations = report["memory_bytes"] - report["weight_bytes"]
    one_activation = 16 * 64 * 4
    assert activations < 4 * one_activation + 65536, report  # 11 layers unplanned would need 12x
    compile_and_compare(tmp_path, proto, {"x": randn(16, 64)}, batch=16)


def test_fusion_reported_and_kernels_recorded(tmp_path):
    path = tmp_path / "m.onnx"
    nodes = [helper.make_node("MatMul", ["x", "w"], ["mm"]), helper.make_node("Add", ["mm", "b"], ["z"]),
             helper.make_node("Relu", ["z"], ["y"])]
    path.write_bytes(make_model(nodes, [("x", [1, 9])], [("y", [1, 5])], [("w", randn(9, 5)), ("b", randn(5))])
                     .SerializeToString())
    edgewasm.compile(path, tmp_path / "b")
    variant = edgewasm.load(tmp_path / "b").variant
    assert variant.kernels == ["f32_gemm_1x8"]  # bias and Relu live in the GEMM epilogue
    assert len(variant.report["fusions"]) == 2


def test_emitted_module_is_sandboxed(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(mlp([10, 7, 3]).SerializeToString())
    edgewasm.compile(path, tmp_path / "b")
    imports, exports = module_interface((tmp_path / "b" / "fp32" / "model.wasm").read_bytes())
    assert imports == 0
    assert set(exports) == {"memory", "run"}


def test_modules_ship_without_custom_sections(tmp_path):
    """The `name` section wat2wasm writes is debug info: dropped, and the module still runs."""
    wat = '(module (memory (export "memory") 1) (func $named (export "run") (result i32) (i32.const 0)))'
    assert bytes(wasmtime.wat2wasm(wat)) != assemble(wat)
    path = tmp_path / "m.onnx"
    path.write_bytes(mlp([10, 7, 3]).SerializeToString())
    edgewasm.compile(path, tmp_path / "b")
    wasm = (tmp_path / "b" / "fp32" / "model.wasm").read_bytes()
    assert CUSTOM_SECTION not in [section for section, _, _ in sections(wasm)]
    x = np.ones((1, 10), np.float32)
    assert edgewasm.load(tmp_path / "b").run({"x": x})["y"].shape == (1, 3)


def test_empty_results_are_zero_bytes_at_the_boundary(tmp_path):
    """A Slice past the end gives an empty output beside a real one; an empty input reshaped is empty."""
    nodes = [helper.make_node("Slice", ["x", "starts", "ends", "axes"], ["e"]), helper.make_node("Relu", ["x"], ["y"]),
             helper.make_node("Reshape", ["z", "shape"], ["r"], allowzero=1)]
    inits = {"starts": np.array([7], np.int64), "ends": np.array([9], np.int64), "axes": np.array([1], np.int64),
             "shape": np.array([3, 0], np.int64)}
    proto = make_model(nodes, [("x", [2, 5]), ("z", [0, 3])], [("e", [2, 0]), ("y", [2, 5]), ("r", [3, 0])], inits)
    x = randn(2, 5)
    got = compile_and_compare(tmp_path, proto, {"x": x, "z": np.zeros((0, 3), np.float32)})
    assert got["e"].shape == (2, 0) and got["r"].shape == (3, 0)
    np.testing.assert_array_equal(got["y"], np.maximum(x, 0))



def _gate_model(gate: helper.NodeProto, expose_gate: bool):
    """y = x * gate(x) over [2, 3, 37]; with expose_gate the gate is also a graph output (no fusion)."""
    from onnx import TensorProto

    shape = [2, 3, 37]
    nodes = [gate, helper.make_node("Mul", ["x", "g"], ["y"], name="gated")]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)]
    if expose_gate:
        outputs.append(helper.make_tensor_value_info("g", TensorProto.FLOAT, shape))
    graph = helper.make_graph(nodes, "gate", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)], outputs)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)


@pytest.mark.parametrize("gate, fused_as", [
    (helper.make_node("Sigmoid", ["x"], ["g"], name="gate"), "Swish"),
    (helper.make_node("HardSigmoid", ["x"], ["g"], name="gate", alpha=1 / 6, beta=0.5), "HardSwish"),
    (helper.make_node("HardSigmoid", ["x"], ["g"], name="gate", alpha=0.2, beta=0.5), None),
])
def test_self_gates_fuse_into_one_unary_with_the_same_bits(tmp_path, gate, fused_as):
    """x * Sigmoid(x) runs as one Swish pass, x * HardSigmoid(x; 1/6, 0.5) as HardSwish: the bits of
    the two-op graph (compiled unfused because its gate is also an output), NaN/inf/-0 included."""
    x = np.random.default_rng(2).standard_normal((2, 3, 37)).astype(np.float32) * 8
    x.reshape(-1)[:6] = [np.nan, np.inf, -np.inf, -0.0, 0.0, -100.0]
    outputs = {}
    for expose in (False, True):
        path = tmp_path / f"m{int(expose)}.onnx"
        path.write_bytes(_gate_model(gate, expose).SerializeToString())
        edgewasm.compile(path, tmp_path / f"b{int(expose)}")
        model = edgewasm.load(tmp_path / f"b{int(expose)}")
        fusions = model.variant.report["fusions"]
        assert any(f.endswith(f"({fused_as})") for f in fusions) == (fused_as is not None and not expose), fusions
        outputs[expose] = model.run({"x": x})["y"]
    assert outputs[False].view(np.uint32).tolist() == outputs[True].view(np.uint32).tolist()
    assert within_contract(outputs[False], ort_outputs(_gate_model(gate, False), {"x": x})["y"])


@pytest.mark.parametrize("relu, gamma_shape, folds", [(False, [6], True), (False, [1, 1, 6], True), (False, [], True),
                                                      (True, [6], False), (False, [4, 1], False)])
def test_a_column_scale_after_a_dense_layer_folds_into_its_weights(tmp_path, relu, gamma_shape, folds):
    """MatMul + bias -> Mul(per-column constant) (ConvNeXt's layer scale) becomes one Gemm with scaled
    weights and bias; not after a Relu (scaling does not commute with a clamp) nor for a per-row constant."""
    from onnx import TensorProto, numpy_helper

    rng = np.random.default_rng(8)
    nodes = [helper.make_node("MatMul", ["x", "w"], ["m"]), helper.make_node("Add", ["m", "b"], ["a"])]
    if relu:
        nodes.append(helper.make_node("Relu", ["a"], ["a2"]))
    nodes.append(helper.make_node("Mul", ["a2" if relu else "a", "gamma"], ["y"]))
    inits = {"w": rng.standard_normal((5, 6)).astype(np.float32), "b": rng.standard_normal(6).astype(np.float32),
             "gamma": (rng.standard_normal(gamma_shape) * 1e-2).astype(np.float32)}
    graph = helper.make_graph(nodes, "scale", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 5])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 6])],
                              [numpy_helper.from_array(v, k) for k, v in inits.items()])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b")
    model = edgewasm.load(tmp_path / "b")
    assert any("column scale" in f for f in model.variant.report["fusions"]) == folds
    x = rng.standard_normal((1, 4, 5)).astype(np.float32)
    assert within_contract(model.run({"x": x})["y"], ort_outputs(proto, {"x": x})["y"])


def test_composed_clamps_keep_signed_zeros_and_never_fuse_a_nan_bound(tmp_path):
    """Clip(-0, 6) then Relu fuses into the GEMM's clamp as [+0, 6]: max(max(acc, -0), +0) is +0 for
    acc = -0, never -0. A Clip whose bound is NaN stays a node of its own (the epilogue's clamp takes
    numbers)."""
    def build(lo):
        nodes = [helper.make_node("MatMul", ["x", "w"], ["mm"]), helper.make_node("Add", ["mm", "b"], ["z"]),
                 helper.make_node("Clip", ["z", "lo", "hi"], ["c"]), helper.make_node("Relu", ["c"], ["y"])]
        w = randn(9, 5, seed=3)
        w[:, 0] = -np.abs(w[:, 0])  # +0 inputs times these give -0 products
        inits = [("w", w), ("b", np.array([-0.0, 0.5, -0.5, 1.0, 0.0], np.float32)),
                 ("lo", np.array(lo, np.float32)), ("hi", np.array(6.0, np.float32))]
        return make_model(nodes, [("x", [4, 9])], [("y", [4, 5])], inits)

    x = randn(4, 9, seed=4)
    x[0] = 0.0  # row 0, column 0: -0 bias + -0 products = -0 before the clamps
    for name, lo in (("zero", -0.0), ("nan", np.nan)):
        (tmp_path / name).mkdir()
        path = tmp_path / name / "m.onnx"
        path.write_bytes(build(lo).SerializeToString())
        edgewasm.compile(path, tmp_path / name / "b", batch=4)
        model_ = edgewasm.load(tmp_path / name / "b")
        y = model_.run({"x": x})["y"]
        if name == "zero":
            assert model_.variant.kernels == ["f32_gemm_4x8"]
            assert y[0, 0] == 0 and not np.signbit(y).any()
        else:
            assert model_.variant.kernels != ["f32_gemm_4x8"]  # the NaN Clip runs after the GEMM
