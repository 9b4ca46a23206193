"""What only init() reads is dead after it: fp16 and sparse variants of a CNN need no more linear
memory than fp32 (their encodings are shipped inside the weights they expand into, or in bytes the
arena reuses), give the fp32 variant's bits when their weights are already half-exact and sparse,
and stay right after a trap re-made the instance (init() runs again on freshly written bytes)."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

import edgewasm
from edgewasm.variants import Options

from bits import assert_same_bits
from cnn_models import _Builder
from models import make_model

VARIANTS = ("fp32", "fp16", "fp32+prune", "fp16+prune")


def exact_sparse_cnn(resolution: int = 10, seed: int = 0) -> onnx.ModelProto:
    """Wide layers at a small resolution (weights dominate the memory), no BatchNorm to fold: a 3x3
    stem, a Winograd 3x3, a depthwise 3x3, a 1x1 with a residual add, the Gemm head. Every weight
    is float16-exact with 60 % zeros, so the fp16 and pruned (50 %) variants keep exactly these."""
    b = _Builder(seed, batchnorm=False)
    x = b.node("Relu", [b.conv("x", 3, 48, 3)])
    h = b.node("Relu", [b.conv(x, 48, 96, 3)])
    h = b.relu6(b.conv(h, 96, 96, 3, group=96))
    h = b.node("Add", [b.conv(h, 96, 48, 1), x])
    y = b.head(h, 48, 10)
    rng = np.random.default_rng(seed)
    for name, value in b.constants.items():
        if value.ndim >= 2:  # weights: 60 % zeros
            value = np.where(rng.random(value.shape) < 0.6, np.float32(0), value)
        b.constants[name] = value.astype(np.float16).astype(np.float32)
    return make_model(b.nodes + [onnx.helper.make_node("Identity", [y], ["y"])], [("x", [1, 3, resolution, resolution])],
                      [("y", [1, 10])], b.constants, "exact_cnn")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    root = tmp_path_factory.mktemp("memory_plan")
    (root / "m.onnx").write_bytes(exact_sparse_cnn().SerializeToString())
    edgewasm.compile(root / "m.onnx", root / "b", variants=",".join(VARIANTS), options=Options(prune=0.5))
    return root / "b"


def test_compressed_variants_need_no_more_memory_than_fp32_and_keep_its_bits(bundle):
    manifest = json.loads((bundle / "manifest.json").read_text())["variants"]
    fp32 = manifest["fp32"]
    x = {"x": np.random.default_rng(1).standard_normal((1, 3, 10, 10)).astype(np.float32)}
    want = edgewasm.load(bundle, "fp32").run(x)["y"]
    for name in VARIANTS[1:]:
        variant = manifest[name]
        assert variant["init"], name
        assert variant["report"]["weight_bytes"] < 0.6 * fp32["report"]["weight_bytes"], name
        # weights dominate this plan: before, the encodings came on top of them (14 pages against 11)
        assert variant["memory"]["pages"] <= fp32["memory"]["pages"], (name, variant["memory"], fp32["memory"])
        assert_same_bits(edgewasm.load(bundle, name).run(x)["y"], want)


def test_a_trap_after_run_reused_the_init_region_leaves_the_model_right(bundle):
    import wasmtime

    x = {"x": np.random.default_rng(2).standard_normal((1, 3, 10, 10)).astype(np.float32)}
    want = edgewasm.load(bundle, "fp32").run(x)["y"]
    for name in VARIANTS[1:]:
        model = edgewasm.load(bundle, name)
        assert_same_bits(model.run(x)["y"], want)  # run() has written the arena over the encodings' bytes
        instance = model.instance
        real = instance.native_calls.get("run") or instance.functions["run"]

        def run_then_trap(*args, real=real):
            real(*args)
            raise wasmtime.Trap("injected trap after run")

        instance.native_calls["run"] = instance.functions["run"] = run_then_trap
        with pytest.raises(edgewasm.errors.ExecutionError, match="injected trap.*re-made"):
            model.run(x)
        assert instance.functions["run"] is not run_then_trap  # a new instance: bytes written again, init() run
        assert_same_bits(model.run(x)["y"], want)


def adversarial_mlp() -> onnx.ModelProto:
    """Zero patterns at the edges of what in-place expansion allows: the last weight expanded (the
    least room above it) has all its zeros first, so its values are read last; another has them
    all last; the first is 6 elements (under the 8 a mask byte covers). Every weight is
    float16-exact and at least 60 % zeros."""
    from models import make_mlp

    model = make_mlp([3, 2, 40, 33, 8, 8], batch=2, softmax=False)
    for tensor in model.graph.initializer:
        value = numpy_helper.to_array(tensor).copy()
        if value.ndim == 2:
            flat = value.reshape(-1)
            zeros = int(np.ceil(0.6 * flat.size))
            if tensor.name == "w2":
                flat[-zeros:] = 0
            else:
                flat[:zeros] = 0
        tensor.CopyFrom(numpy_helper.from_array(value.astype(np.float16).astype(np.float32), tensor.name))
    return model


def test_in_place_expansion_restores_every_bit_at_the_edges(tmp_path):
    (tmp_path / "m.onnx").write_bytes(adversarial_mlp().SerializeToString())
    variants = ("fp32", "fp16", "fp32+prune", "fp16+prune", "int8", "int8+prune")
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b", variants=",".join(variants), options=Options(prune=0.5))
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())["variants"]
    x = {"x": np.random.default_rng(4).standard_normal((2, 3)).astype(np.float32)}
    for name, same_as in (("fp16", "fp32"), ("fp32+prune", "fp32"), ("fp16+prune", "fp32"), ("int8+prune", "int8")):
        assert manifest[name]["init"] and manifest[name]["memory"]["pages"] <= manifest[same_as]["memory"]["pages"]
        assert_same_bits(edgewasm.load(tmp_path / "b", name).run(x)["logits"],
                         edgewasm.load(tmp_path / "b", same_as).run(x)["logits"])
