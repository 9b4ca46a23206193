"""If, Loop and Scan through the public API, against onnxruntime on the original graph (and the
variant's reference.onnx): run-time If executes only the taken branch, constant conditions fold to
their branch, loops and scans unroll."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper

import edgewasm
from edgewasm.engines import run_onnxruntime
from edgewasm.errors import ExecutionError, UnsupportedModelError
from oracles import ort_outputs

FLOAT, INT64, BOOL = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL


def vi(name, kind, shape):
    return helper.make_tensor_value_info(name, kind, shape)


def model(nodes, inputs, outputs, inits=(), opset=17):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)


def compile_model(tmp_path, proto, **kwargs):
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b", **kwargs)
    return edgewasm.load(tmp_path / "b")


def assert_matches(tmp_path, loaded, proto, feeds):
    got, want = loaded.run(feeds), ort_outputs(proto, feeds)
    reference = run_onnxruntime(tmp_path / "b", feeds)
    for name, value in want.items():
        assert got[name].dtype == value.dtype and got[name].shape == value.shape, name
        np.testing.assert_allclose(got[name], value, rtol=1e-4, atol=1e-5, err_msg=name)
        np.testing.assert_allclose(reference[name], value, rtol=1e-4, atol=1e-5, err_msg=name)


def branches_model(nested: bool = False):
    """y = x * 2 + b if sum(x) > 0 else tanh(x) - b (reading x and b from the outer scope); the
    else branch holds another run-time If when nested."""
    then_branch = helper.make_graph(
        [helper.make_node("Mul", ["x", "two"], ["t0"]), helper.make_node("Add", ["t0", "b"], ["t_out"])],
        "then", [], [vi("t_out", FLOAT, [2, 3])], [helper.make_tensor("two", FLOAT, [], [2.0])])
    else_nodes = [helper.make_node("Tanh", ["x"], ["e0"]), helper.make_node("Sub", ["e0", "b"], ["e_out"])]
    if nested:
        inner_then = helper.make_graph([helper.make_node("Neg", ["e_out"], ["i_out"])], "inner_then", [],
                                       [vi("i_out", FLOAT, [2, 3])])
        inner_else = helper.make_graph([helper.make_node("Identity", ["x"], ["j_out"])], "inner_else", [],
                                       [vi("j_out", FLOAT, [2, 3])])
        else_nodes += [helper.make_node("Not", ["flag"], ["not_flag"]),
                       helper.make_node("If", ["not_flag"], ["e_final"], then_branch=inner_then, else_branch=inner_else)]
    else_branch = helper.make_graph(else_nodes, "else", [], [vi("e_final" if nested else "e_out", FLOAT, [2, 3])])
    nodes = [helper.make_node("ReduceSum", ["x"], ["s"], keepdims=0),
             helper.make_node("Greater", ["s", "zero"], ["positive"]),
             helper.make_node("If", ["positive"], ["y"], name="choose", then_branch=then_branch, else_branch=else_branch),
             helper.make_node("Relu", ["y"], ["z"])]
    inputs = [vi("x", FLOAT, [2, 3]), vi("b", FLOAT, [3])] + ([vi("flag", BOOL, [])] if nested else [])
    return model(nodes, inputs, [vi("z", FLOAT, [2, 3]), vi("positive", BOOL, [])],
                 [helper.make_tensor("zero", FLOAT, [], [0.0])])


@pytest.mark.parametrize("nested", [False, True])
def test_run_time_if_runs_the_taken_branch(tmp_path, nested):
    proto = branches_model(nested)
    loaded = compile_model(tmp_path, proto)
    rng = np.random.default_rng(0)
    b = rng.standard_normal(3).astype(np.float32)
    for sign in (1, -1, 1, -1):  # one module, both branches, in turn
        x = (np.abs(rng.standard_normal((2, 3))) * sign).astype(np.float32)
        feeds = {"x": x, "b": b}
        if nested:
            for flag in (True, False):
                assert_matches(tmp_path, loaded, proto, {**feeds, "flag": np.array(flag)})
        else:
            assert_matches(tmp_path, loaded, proto, feeds)
    assert "x_elementwise" in loaded.variant.kernels


def test_constant_condition_folds_to_its_branch(tmp_path):
    then_branch = helper.make_graph([helper.make_node("Sigmoid", ["x"], ["t"])], "then", [], [vi("t", FLOAT, [4])])
    else_branch = helper.make_graph([helper.make_node("Erf", ["x"], ["e"])], "else", [], [vi("e", FLOAT, [4])])
    nodes = [helper.make_node("Shape", ["x"], ["shape"]), helper.make_node("Equal", ["shape", "four"], ["is_four"]),
             helper.make_node("Squeeze", ["is_four"], ["cond"]),
             helper.make_node("If", ["cond"], ["y"], then_branch=then_branch, else_branch=else_branch)]
    proto = model(nodes, [vi("x", FLOAT, [4])], [vi("y", FLOAT, [4])], [helper.make_tensor("four", INT64, [1], [4])])
    loaded = compile_model(tmp_path, proto)
    assert "f32_vsigmoid" in loaded.variant.kernels and "f32_verf" not in loaded.variant.kernels
    assert_matches(tmp_path, loaded, proto, {"x": np.linspace(-2, 2, 4, dtype=np.float32)})


def test_branches_with_different_shapes_are_refused_by_name(tmp_path):
    then_branch = helper.make_graph([helper.make_node("Identity", ["x"], ["t"])], "then", [], [vi("t", FLOAT, [2, 3])])
    else_branch = helper.make_graph([helper.make_node("ReduceSum", ["x"], ["e"], keepdims=1)], "else", [],
                                    [vi("e", FLOAT, [1, 1])])
    proto = model([helper.make_node("If", ["c"], ["y"], name="pick", then_branch=then_branch, else_branch=else_branch)],
                  [vi("x", FLOAT, [2, 3]), vi("c", BOOL, [])], [vi("y", FLOAT, None)])
    proto.graph.output[0].type.tensor_type.shape.Clear()
    with pytest.raises(UnsupportedModelError, match="If node 'pick': its branches give output 'y' different shapes"):
        compile_model(tmp_path, proto)


def test_a_branch_that_cannot_run_with_the_fixed_shapes_fails_only_when_taken(tmp_path):
    """A sample-rate switch: the else branch reshapes to a size the fixed input cannot have."""
    then_branch = helper.make_graph([helper.make_node("Identity", ["x"], ["t"])], "then", [], [vi("t", FLOAT, [1, 6])])
    else_branch = helper.make_graph([helper.make_node("Reshape", ["x", "bad_shape"], ["e"])], "else", [],
                                    [vi("e", FLOAT, [1, 6])], [helper.make_tensor("bad_shape", INT64, [2], [4, -1])])
    proto = model([helper.make_node("Equal", ["rate", "r16k"], ["is16k"]),
                   helper.make_node("If", ["is16k"], ["y"], name="by_rate", then_branch=then_branch,
                                    else_branch=else_branch)],
                  [vi("x", FLOAT, [1, 6]), vi("rate", INT64, [])], [vi("y", FLOAT, [1, 6])],
                  [helper.make_tensor("r16k", INT64, [], [16000])])
    loaded = compile_model(tmp_path, proto)
    x = np.arange(6, dtype=np.float32).reshape(1, 6)
    np.testing.assert_array_equal(loaded.run({"x": x, "rate": np.array(16000)})["y"], x)
    with pytest.raises(ExecutionError, match="If node 'by_rate': the else branch was taken, but it cannot run"):
        loaded.run({"x": x, "rate": np.array(8000)})
    np.testing.assert_array_equal(loaded.run({"x": x, "rate": np.array(16000)})["y"], x)


def test_profile_build_times_an_if_as_one_layer(tmp_path):
    proto = branches_model()
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b", profile=True)
    loaded = edgewasm.load(tmp_path / "b")
    feeds = {"x": np.ones((2, 3), np.float32), "b": np.zeros(3, np.float32)}
    result = loaded.profile(feeds)
    np.testing.assert_array_equal(result["outputs"]["z"], loaded.run(feeds)["z"])
    nodes = [layer["node"] for layer in result["layers"]]
    assert nodes.count("choose") == 1 and not any(node.startswith("choose/") for node in nodes), nodes


def loop_model(trip_count: int, with_condition: bool):
    """acc = acc * 0.5 + x * i for i < M (and while i < 5 when with_condition); the per-step acc is
    also a scan output."""
    body = helper.make_graph(
        [helper.make_node("Cast", ["i"], ["i_f"], to=FLOAT),
         helper.make_node("Mul", ["x", "i_f"], ["xi"]),
         helper.make_node("Mul", ["acc_in", "half"], ["decayed"]),
         helper.make_node("Add", ["decayed", "xi"], ["acc_out"]),
         helper.make_node("Identity", ["acc_out"], ["step"]),
         helper.make_node("Less", ["i", "five"], ["keep_going"]) if with_condition
         else helper.make_node("Identity", ["cond_in"], ["keep_going"])],
        "body", [vi("i", INT64, []), vi("cond_in", BOOL, []), vi("acc_in", FLOAT, [3])],
        [vi("keep_going", BOOL, []), vi("acc_out", FLOAT, [3]), vi("step", FLOAT, [3])],
        [helper.make_tensor("half", FLOAT, [], [0.5]), helper.make_tensor("five", INT64, [], [5])])
    proto = model([helper.make_node("Loop", ["M", "cond", "acc0"], ["acc", "steps"], body=body)],
                  [vi("x", FLOAT, [3]), vi("acc0", FLOAT, [3])], [vi("acc", FLOAT, [3]), vi("steps", FLOAT, ["n", 3])],
                  [helper.make_tensor("M", INT64, [], [trip_count]), helper.make_tensor("cond", BOOL, [], [True])])
    return proto


@pytest.mark.parametrize("trip_count, with_condition", [(4, False), (9, True), (1, False)])
def test_loop_unrolls(tmp_path, trip_count, with_condition):
    proto = loop_model(trip_count, with_condition)
    loaded = compile_model(tmp_path, proto)
    rng = np.random.default_rng(trip_count)
    assert_matches(tmp_path, loaded, proto, {"x": rng.standard_normal(3).astype(np.float32),
                                             "acc0": rng.standard_normal(3).astype(np.float32)})


def test_loop_with_a_run_time_trip_count_is_refused(tmp_path):
    proto = loop_model(3, False)
    proto.graph.initializer.pop(0)
    proto.graph.input.append(vi("M", INT64, []))
    with pytest.raises(UnsupportedModelError, match="Loop node .*the trip count M is computed at run time"):
        compile_model(tmp_path, proto)


@pytest.mark.parametrize("in_axis, in_direction, out_axis, out_direction", [(0, 0, 0, 0), (1, 1, 1, 0), (0, 1, 1, 1)])
def test_scan_unrolls_every_axis_and_direction(tmp_path, in_axis, in_direction, out_axis, out_direction):
    """A running sum with a state, over the rows (or columns) of x."""
    body = helper.make_graph(
        [helper.make_node("Add", ["state_in", "row"], ["state_out"]), helper.make_node("Tanh", ["state_out"], ["emitted"])],
        "body", [vi("state_in", FLOAT, [4]), vi("row", FLOAT, [4])], [vi("state_out", FLOAT, [4]), vi("emitted", FLOAT, [4])])
    x_shape = [5, 4] if in_axis == 0 else [4, 5]
    proto = model([helper.make_node("Scan", ["s0", "x"], ["s", "ys"], body=body, num_scan_inputs=1,
                                    scan_input_axes=[in_axis], scan_input_directions=[in_direction],
                                    scan_output_axes=[out_axis], scan_output_directions=[out_direction])],
                  [vi("s0", FLOAT, [4]), vi("x", FLOAT, x_shape)],
                  [vi("s", FLOAT, [4]), vi("ys", FLOAT, [5, 4] if out_axis == 0 else [4, 5])])
    loaded = compile_model(tmp_path, proto)
    rng = np.random.default_rng(in_axis * 4 + in_direction * 2 + out_direction)
    assert_matches(tmp_path, loaded, proto, {"s0": rng.standard_normal(4).astype(np.float32),
                                             "x": rng.standard_normal(x_shape).astype(np.float32)})


def scan8_model(directions, lens=None):
    """Opset 8's batched Scan: a running sum and product over x[b, t, :], each step's sum emitted."""
    body = helper.make_graph(
        [helper.make_node("Add", ["sum_in", "row"], ["sum_out"]), helper.make_node("Mul", ["prod_in", "row"], ["prod_out"]),
         helper.make_node("Sigmoid", ["sum_out"], ["emitted"])],
        "body", [vi("sum_in", FLOAT, [3]), vi("prod_in", FLOAT, [3]), vi("row", FLOAT, [3])],
        [vi("sum_out", FLOAT, [3]), vi("prod_out", FLOAT, [3]), vi("emitted", FLOAT, [3])])
    inits = [helper.make_tensor("lens", INT64, [2], lens)] if lens is not None else []
    return model([helper.make_node("Scan", ["lens" if lens is not None else "", "s0", "p0", "x"], ["s", "p", "ys"],
                                   body=body, num_scan_inputs=1, directions=directions)],
                 [vi("s0", FLOAT, [2, 3]), vi("p0", FLOAT, [2, 3]), vi("x", FLOAT, [2, 4, 3])],
                 [vi("s", FLOAT, [2, 3]), vi("p", FLOAT, [2, 3]), vi("ys", FLOAT, [2, 4, 3])], inits, opset=8)


@pytest.mark.parametrize("direction", [0, 1])
@pytest.mark.parametrize("lens", [None, [4, 4]])
def test_opset8_batched_scan_unrolls_per_batch(tmp_path, direction, lens):
    proto = scan8_model([direction], lens)
    loaded = compile_model(tmp_path, proto)
    rng = np.random.default_rng(direction)
    assert_matches(tmp_path, loaded, proto, {"s0": rng.standard_normal((2, 3)).astype(np.float32),
                                             "p0": rng.standard_normal((2, 3)).astype(np.float32),
                                             "x": rng.standard_normal((2, 4, 3)).astype(np.float32)})


def test_opset8_scan_with_short_sequences_is_refused(tmp_path):
    with pytest.raises(UnsupportedModelError, match="sequence_lens \\[4, 2\\] shorter"):
        compile_model(tmp_path, scan8_model([0], [4, 2]))
