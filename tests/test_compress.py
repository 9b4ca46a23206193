"""Pruning, low-rank, distillation and the variant machinery: each does what it claims (smaller,
fewer FLOPs, exact where it should be exact), refuses what it cannot do, and reports itself."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

import edgewasm
from edgewasm.engines import bit_identical, run_onnxruntime, within_contract
from edgewasm.errors import CompressionError
from edgewasm.evaluation import Dataset
from edgewasm.frontend.onnx import import_onnx
from edgewasm.passes.prune import flush_subnormal_weights
from edgewasm.variants import Options, parse_variants, recipe_from_flags

from models import make_mlp, make_model
from quant_models import input_batches, ort_outputs


def compile_to(tmp_path, proto, batch=2, **kwargs):
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b", batch=batch, **kwargs)
    return tmp_path / "b"


def reference_weights(bundle, variant) -> list[np.ndarray]:
    model = onnx.load(bundle / variant / "reference.onnx")
    return [numpy_helper.to_array(i) for i in model.graph.initializer if len(i.dims) == 2]


def mlp_with_dead_neurons(sizes: list[int], seed: int = 0) -> onnx.ModelProto:
    """A Gemm MLP half of whose hidden neurons nobody reads (zero outgoing weights)."""
    model = make_mlp(sizes, seed=seed, softmax=False)
    rng = np.random.default_rng(seed)
    for i in range(1, len(sizes) - 1):
        w = next(t for t in model.graph.initializer if t.name == f"w{i}")
        value = numpy_helper.to_array(w).copy()  # [out, in] (transB): zero some input columns
        value[:, rng.choice(sizes[i], sizes[i] // 2, replace=False)] = 0
        w.CopyFrom(numpy_helper.from_array(value, w.name))
    return model


def test_structured_pruning_removes_dead_neurons_exactly_and_rewires(tmp_path):
    sizes = [30, 20, 16, 5]
    proto = mlp_with_dead_neurons(sizes)
    bundle = compile_to(tmp_path, proto, variants="fp32,fp32+structured", options=Options(prune_structured=0.5))
    shapes = [w.shape for w in reference_weights(bundle, "fp32+structured")]
    assert shapes == [(10, 30), (8, 10), (5, 8)] or sorted(shapes) == sorted([(30, 10), (10, 8), (8, 5)])
    pruned = edgewasm.load(bundle, "fp32+structured")
    report = pruned.variant.report
    assert report["compression"]["flops_vs_fp32"] < 0.6 and report["compression"]["weight_bytes_vs_fp32"] < 0.75
    for x in input_batches((2, 30), 5):  # the removed neurons did nothing: same function
        assert within_contract(pruned.run({"x": x})["logits"], ort_outputs(proto, {"x": x})["logits"])


def test_magnitude_pruning_ships_sparse_and_keeps_its_bits(tmp_path):
    proto = make_mlp([64, 48, 10], softmax=False)
    bundle = compile_to(tmp_path, proto, variants="fp32,fp32+prune,int8+prune,fp16+prune", options=Options(prune=0.7))
    for name in ("fp32+prune", "int8+prune"):
        weights = [w for w in reference_weights(bundle, name) if w.size >= 10 * 48]
        assert all((w == 0).mean() >= 0.699 for w in weights)
    fp32 = edgewasm.load(bundle, "fp32").variant.report["weight_bytes"]
    for name, at_most in (("fp32+prune", 0.45), ("fp16+prune", 0.26), ("int8+prune", 0.25)):
        model = edgewasm.load(bundle, name)
        assert model.variant.has_init, name
        assert model.variant.report["weight_bytes"] <= at_most * fp32, (name, model.variant.report["weight_bytes"])
        for x in input_batches((2, 64), 4, seed=1):
            got, want = model.run({"x": x}), run_onnxruntime(bundle, {"x": x}, name)
            if name == "int8+prune":
                assert bit_identical(got["logits"], want["logits"])
            else:
                assert within_contract(got["logits"], want["logits"])


def test_low_rank_factorizes_only_when_flops_drop_and_is_exact_at_full_rank(tmp_path):
    rng = np.random.default_rng(2)
    low = (rng.standard_normal((40, 3)) @ rng.standard_normal((3, 50))).astype(np.float32)  # rank 3
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("MatMul", ["r", "v"], ["y"])]
    proto = make_model(nodes, [("x", [2, 40])], [("y", [2, 4])],
                       {"w": low, "v": rng.standard_normal((50, 4)).astype(np.float32)})
    bundle = compile_to(tmp_path, proto, variants="fp32+lowrank", options=Options(low_rank="energy:0.999999"))
    model = edgewasm.load(bundle)
    layers = next(s for s in model.variant.report["steps"] if s["pass"] == "low-rank")["layers"]
    assert [(layer["rank"], layer["factorized"]) for layer in layers] == [(3, True), (4, False)]
    assert model.variant.report["compression"]["flops_vs_fp32"] < 0.25  # (3 * 90 + 200) / (2000 + 200) MACs
    for x in input_batches((2, 40), 4, seed=3):
        want = ort_outputs(proto, {"x": x})["y"]
        assert np.allclose(model.run({"x": x})["y"], want, atol=1e-4, rtol=1e-4)
    with pytest.raises(CompressionError, match="no layer gets fewer FLOPs"):
        compile_to(tmp_path / "full", proto, variants="fp32+lowrank", options=Options(low_rank="1.0"))


def test_distillation_recovers_the_teacher_and_keeps_pruned_zeros(tmp_path):
    proto = make_mlp([20, 24, 6], softmax=False, seed=4)
    data = {"x": np.random.default_rng(5).standard_normal((400, 20)).astype(np.float32)}
    bundle = compile_to(tmp_path, proto, variants="fp32+structured+distill,fp32+prune+distill",
                        options=Options(prune=0.6, prune_structured=0.5, distill=data))
    for name in ("fp32+structured+distill", "fp32+prune+distill"):
        report = edgewasm.load(bundle, name).variant.report
        step = next(s for s in report["steps"] if s["pass"] == "distillation")
        assert step["after"]["rms_error"] < 0.9 * step["before"]["rms_error"], step
        assert step["after"]["top1_agreement"] >= step["before"]["top1_agreement"]
        assert all(layer["rms_error_after"] <= layer["rms_error_before"] for layer in step["layers"])
    hidden = reference_weights(bundle, "fp32+prune+distill")
    assert all((w == 0).mean() >= 0.599 for w in hidden if w.shape in ((20, 24), (24, 20)))


def test_subnormal_weights_are_flushed_in_compressed_variants(tmp_path):
    proto = make_mlp([8, 4], softmax=False)
    w = next(t for t in proto.graph.initializer if t.name == "w0")
    value = numpy_helper.to_array(w).copy()
    value[0, :3] = [1e-40, -3e-39, 1e-45]
    w.CopyFrom(numpy_helper.from_array(value, w.name))
    graph, report = flush_subnormal_weights(import_onnx(proto))
    assert report["values"] == 3
    bundle = compile_to(tmp_path, proto, variants="fp32,fp16")
    steps = edgewasm.load(bundle, "fp16").variant.report["steps"]
    assert {"pass": "flush subnormal weights", "values": 3} in steps
    assert not any(s.get("pass") == "flush subnormal weights" for s in edgewasm.load(bundle, "fp32").variant.report["steps"])


@pytest.mark.parametrize("text, message", [
    ("fp32,int9", "'int9' is not a precision"), ("int8+shrink", "'shrink' is not a method"),
    ("fp32,fp32", "lists a variant twice"), ("int8+prune+prune", "names a method twice"), (",", "at least one"),
])
def test_bad_variant_lists_are_refused(text, message):
    with pytest.raises(CompressionError, match=message):
        parse_variants(text)


def test_variant_names_are_canonical_and_flags_make_one():
    assert [r.name for r in parse_variants("int8+distill+structured, fp16")] == ["int8+structured+distill", "fp16"]
    assert recipe_from_flags("int8", structured=False, prune=True, lowrank=False, distill=False).name == "int8+prune"
    assert recipe_from_flags(None, False, False, False, False).name == "fp32"


def test_distill_without_data_and_bad_amounts_are_refused(tmp_path):
    proto = make_mlp([8, 6, 4], softmax=False)
    with pytest.raises(CompressionError, match="--distill DATA.npz"):
        compile_to(tmp_path, proto, variants="fp32+structured+distill")
    with pytest.raises(CompressionError, match="--prune must be"):
        compile_to(tmp_path, proto, variants="fp32+prune", options=Options(prune=1.5))
    with pytest.raises(CompressionError, match="--low-rank expects"):
        compile_to(tmp_path, proto, variants="fp32+lowrank", options=Options(low_rank="half"))
    with pytest.raises(CompressionError, match="no dense layer feeding another"):
        compile_to(tmp_path, make_mlp([8, 4], softmax=False), variants="fp32+structured")


def test_eval_records_accuracy_of_every_variant(tmp_path):
    proto = make_mlp([12, 10, 3], softmax=True)
    x = np.random.default_rng(6).standard_normal((50, 12)).astype(np.float32)
    labels = ort_outputs(proto, {"x": x})["y"].argmax(1)
    labels[:5] = (labels[:5] + 1) % 3  # the fp32 model is then 90% accurate
    bundle = compile_to(tmp_path, proto, batch=1, variants="fp32,int8", eval_data=Dataset({"x": x}, labels))
    for name in ("fp32", "int8"):
        accuracy = edgewasm.load(bundle, name).variant.report["accuracy"]
        assert accuracy["samples"] == 50 and accuracy["fp32_accuracy"] == pytest.approx(0.9)
        assert accuracy["delta_points"] == pytest.approx(100 * (accuracy["accuracy"] - 0.9))
    assert edgewasm.load(bundle, "fp32").variant.report["accuracy"]["accuracy"] == pytest.approx(0.9)


def test_cli_builds_variants_and_prints_the_report(tmp_path):
    proto = make_mlp([12, 10, 3])
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    rng = np.random.default_rng(7)
    x = rng.standard_normal((30, 12)).astype(np.float32)
    np.savez(tmp_path / "eval.npz", x=x, labels=ort_outputs(proto, {"x": x})["y"].argmax(1))
    np.savez(tmp_path / "teacher.npz", x=rng.standard_normal((200, 12)).astype(np.float32))
    command = [sys.executable, "-m", "edgewasm.cli", "compile", str(tmp_path / "m.onnx"), "-o", str(tmp_path / "b"),
               "--variants", "fp32,fp16,int8,fp32+structured+distill", "--prune-structured", "0.3",
               "--distill", str(tmp_path / "teacher.npz"), "--eval", str(tmp_path / "eval.npz")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["variant", "weights", "vs", "fp32"]
    assert [line.split()[0] for line in lines[1:]] == ["fp32", "fp16", "int8", "fp32+structured+distill"]
    assert "1.0000 (+0.00)" in lines[1] and "structured pruning 30%, distillation" in lines[4]
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert all("accuracy" in v["report"] and "compression" in v["report"] for v in manifest["variants"].values())
    single = subprocess.run(command[:7] + ["--quantize", "int8", "--variants", "int8"], capture_output=True, text=True)
    assert single.returncode == 2 and "not with --quantize" in single.stderr
    bad = subprocess.run(command[:7] + ["--eval", str(tmp_path / "teacher.npz")], capture_output=True, text=True)
    assert bad.returncode == 2 and "no 'labels' array" in bad.stderr
