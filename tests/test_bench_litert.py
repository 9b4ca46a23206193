"""The bench's `.tflite` twins (bench.twins: the bench model's function and weights in Keras, for
LiteRT.js) and the real architectures named in its suite (bench.real). The twin tests need
TensorFlow (the `keras` extra) and skip without it; LiteRT.js itself runs in
tests/browser/test_litert_browser.py."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from edgewasm.bench.prepare import prepare_suite_model, random_inputs
from edgewasm.bench.real import REAL, REAL_NAMES
from edgewasm.bench.suite import SUITE_NAMES, expand_names, suite_model


def tensorflow():
    return pytest.importorskip("tensorflow", reason="twins need the keras extra (tensorflow-cpu)")


def test_twin_has_the_same_weights_and_counts_its_ops():
    """The resnet block's twin: NHWC convolutions with the ONNX weights, no Transpose in the
    .tflite; its outputs, put back in NCHW, match onnxruntime on the original graph."""
    tensorflow()
    from edgewasm.bench.twins import twin_for, twin_summary

    proto = suite_model("resnet-block").build()
    inputs = random_inputs(proto)
    twin = twin_for(proto, "resnet-block", inputs)
    info = twin.info
    print(twin_summary(info))
    assert info["inputs"] == [["x", [0, 2, 3, 1]]] and info["outputs"] == [["y", [0, 2, 3, 1]]]
    assert info["tflite_ops"].get("CONV_2D") == 2 and "TRANSPOSE" not in info["tflite_ops"]
    assert info["max_abs_diff"]["tflite"] < 1e-3 and info["keras_onnx_ops"]["Conv"] == 2


def test_a_graph_the_builder_does_not_know_has_no_twin(tmp_path, monkeypatch):
    tensorflow()
    from edgewasm.bench.twins import NoTwin, twin_for

    monkeypatch.setenv("EDGEWASM_CACHE", str(tmp_path))
    graph = helper.make_graph([helper.make_node("Einsum", ["x", "x"], ["y"], equation="ij,ij->i")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
    with pytest.raises(NoTwin, match="no Einsum"):
        twin_for(proto, "einsum", random_inputs(proto))
    with pytest.raises(NoTwin, match="no Einsum"):  # remembered: not rebuilt on every run
        twin_for(proto, "einsum", random_inputs(proto))


def test_model_groups_name_the_suite_and_the_real_models():
    assert expand_names(["suite"]) == list(SUITE_NAMES)
    assert expand_names(["real", "digits"]) == list(REAL_NAMES) + ["digits"]
    assert expand_names(["all", "digits"]) == list(SUITE_NAMES + REAL_NAMES)
    for wanted in ("efficientnet-b0", "mobilenetv3-small", "convnext-t", "bert-s128", "whisper-encoder",
                   "ssdlite-det", "lraspp-seg"):
        assert wanted in REAL_NAMES


@pytest.mark.parametrize("entry", REAL, ids=REAL_NAMES)
def test_real_model_is_static_and_its_inputs_fit(entry):
    """Every named real model restores from the zoo with fixed input shapes its inputs match."""
    proto = entry.build()
    onnx.checker.check_model(proto)
    inputs = entry.inputs()
    for value in proto.graph.input:
        dims = [d.dim_value for d in value.type.tensor_type.shape.dim]
        assert all(d > 0 for d in dims) and list(inputs[value.name].shape) == dims, (value.name, dims)
    if entry.name == "bert-s128":
        assert {v.shape for v in inputs.values()} == {(1, 128)}


@pytest.mark.parametrize("name", ["bert-s128", "whisper-encoder", "mobilenetv3-small"])
def test_real_model_compiles_and_matches_onnxruntime(name, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    import edgewasm

    (model,) = prepare_suite_model(suite_model(name), tmp_path)
    assert model.edgewasm_refusal is None, model.edgewasm_refusal
    want = ort.InferenceSession(str(model.onnx_path), providers=["CPUExecutionProvider"]).run(None, model.inputs)
    got = edgewasm.load(model.bundle).run(model.inputs)
    for expected, value in zip(want, got.values()):
        np.testing.assert_allclose(value, expected, atol=1e-4, rtol=1e-3)


def test_real_models_without_the_zoo(tmp_path, monkeypatch, capsys):
    """Installed from a wheel (no tests/zoo): naming a real model is a usage error that says why;
    the default run (all) runs the suite alone."""
    import edgewasm.bench.real as real
    from edgewasm.bench import BenchOptions, run_bench
    from edgewasm.cli import main

    monkeypatch.setenv("EDGEWASM_ZOO", str(tmp_path))
    monkeypatch.delitem(__import__("sys").modules, "edgewasm_bench_zoo", raising=False)
    with pytest.raises(real.ZooUnavailable):
        real.zoo_module()
    assert main(["bench", "--models", "resnet18", "--engines", "wasmtime"]) == 2
    assert "need the model zoo" in capsys.readouterr().err
    options = BenchOptions(models=["all"], engines=["onnxruntime"], repeats=1, cold_starts=0,
                           microbenchmarks=False, warmup_seconds=0.0, block_seconds=0.001)
    options.models = ["all"]
    monkeypatch.setattr("edgewasm.bench.runner.Bench.run", lambda self: self.options.models)
    assert run_bench(options) == list(SUITE_NAMES)
