"""The relaxed-SIMD tier (`edgewasm compile --simd relaxed`, issue 17): int8-relaxed is its own
variant (7-bit weights), computed with deterministic relaxed dot products, bit-identical to
onnxruntime on its reference graph; a baseline module may not use relaxed SIMD; a host without
relaxed SIMD loads the baseline twin and says why in model.choice. Chromium: tests/browser/
test_relaxed_parity.py."""

from __future__ import annotations

import json

import numpy as np
import pytest

import edgewasm
from edgewasm.bundle import parse_manifest
from edgewasm.engines import bit_identical, run_onnxruntime
from edgewasm.errors import BundleError, CompressionError
from edgewasm.runtime import wasmtime_simd
from edgewasm.runtime.adaptive import Policy
from edgewasm.runtime.simd import PROBE, resolve, uses_relaxed_simd
from edgewasm.variants import parse_variants

from relaxed_models import inputs, relaxed_bundle

KERNEL = "qu8_qc7w_gemm_4x8c4_relaxed"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return relaxed_bundle(tmp_path_factory.mktemp("relaxed"))


def test_simd_relaxed_adds_the_relaxed_twin(bundle):
    manifest = json.loads((bundle / "manifest.json").read_text())
    spec = parse_manifest(json.dumps(manifest).encode())
    assert list(spec.variants) == ["fp32", "int8", "int8-relaxed"]
    assert {KERNEL, "qu8_qc7w_gemm_1x8c4_relaxed"} <= set(spec.variants["int8-relaxed"].kernels)
    assert not any(k.endswith("_relaxed") for name in ("fp32", "int8") for k in spec.variants[name].kernels)
    assert "7-bit weights, relaxed SIMD" in spec.variants["int8-relaxed"].report["methods"]


def test_relaxed_variant_gives_onnxruntimes_bits_on_its_reference(bundle):
    relaxed, baseline = edgewasm.load(bundle, "int8-relaxed"), edgewasm.load(bundle, "int8")
    assert relaxed.variant.name == "int8-relaxed" and relaxed.choice.reasons == ("chosen by name",)
    differs = False
    for x in inputs():
        got = relaxed.run(x)["y"]
        assert bit_identical(got, run_onnxruntime(bundle, x, variant="int8-relaxed")["y"])
        differs |= not bit_identical(got, baseline.run(x)["y"])
    assert differs  # its own numerics (7-bit weights), not the baseline's


def test_relaxed_weights_are_7_bit(bundle):
    import onnx
    from onnx import numpy_helper

    reference = onnx.load(bundle / "int8-relaxed" / "reference.onnx")
    weights = [numpy_helper.to_array(t) for t in reference.graph.initializer if t.data_type == onnx.TensorProto.INT8]
    assert weights and all(w.min() >= -63 and w.max() <= 63 for w in weights)
    assert any(w.min() == -63 or w.max() == 63 for w in weights)


def test_without_relaxed_simd_the_host_loads_the_baseline_twin(bundle, monkeypatch):
    monkeypatch.setattr(wasmtime_simd, "relaxed_supported", lambda: False)
    model = edgewasm.load(bundle, "int8-relaxed")
    assert model.variant.name == "int8"
    assert "int8-relaxed needs relaxed SIMD, which this wasmtime engine does not validate: its baseline twin int8" \
        in model.choice.explain()
    x = inputs(1)[0]
    assert bit_identical(model.run(x)["y"], run_onnxruntime(bundle, x, variant="int8")["y"])
    assert edgewasm.load(bundle, "fp32").choice.reasons == ("chosen by name",)


def test_relaxed_simd_is_refused_outside_the_relaxed_tier(bundle):
    spec = parse_manifest((bundle / "manifest.json").read_bytes())
    relaxed_wasm = (bundle / "int8-relaxed" / "model.wasm").read_bytes()
    wasmtime_simd.check_module(spec.variants["int8-relaxed"], relaxed_wasm)
    with pytest.raises(BundleError, match="relaxed SIMD"):
        wasmtime_simd.check_module(spec.variants["int8"], relaxed_wasm)  # a manifest that hides the tier
    with pytest.raises(BundleError, match="relaxed SIMD"):
        wasmtime_simd.check_module(None, PROBE)  # a bring-your-own module
    wasmtime_simd.check_module(None, (bundle / "int8" / "model.wasm").read_bytes())


def test_fallback_needs_a_twin_and_the_policy_ranks_the_tier_after_it(bundle):
    spec = parse_manifest((bundle / "manifest.json").read_bytes())
    assert resolve(spec, "int8-relaxed", True, "x") == ("int8-relaxed", None)
    del spec.variants["int8"]
    with pytest.raises(BundleError, match="no baseline twin"):
        resolve(spec, "int8-relaxed", False, "this engine")
    ranking = Policy().rank(parse_manifest((bundle / "manifest.json").read_bytes()).variants.values())
    assert [v.name for v in ranking] == ["fp32", "int8", "int8-relaxed"]


def test_relaxed_variants_are_static_int8_only():
    with pytest.raises(CompressionError, match="int8 variants only"):
        parse_variants("fp16-relaxed")
    assert [r.name for r in parse_variants("fp32,int8+prune,fp16", "relaxed")] == \
        ["fp32", "int8+prune", "int8+prune-relaxed", "fp16"]
    with pytest.raises(CompressionError, match="--calibrate"):
        edgewasm.compile(b"", "unused", variants="int8-relaxed")


def test_cli_refuses_simd_relaxed_without_an_int8_variant(tmp_path, capsys):
    from edgewasm.cli import main

    (tmp_path / "m.onnx").write_bytes(b"")
    assert main(["compile", str(tmp_path / "m.onnx"), "-o", str(tmp_path / "b"), "--variants", "fp32,fp16",
                 "--simd", "relaxed"]) != 0
    assert "--simd relaxed builds the relaxed twin of an int8 variant" in capsys.readouterr().err


RELAXED_WAT = """(module (memory (export "memory") 1)
  (func (export "run") (result i32)
    (v128.store (i32.const 32) (i32x4.relaxed_dot_i8x16_i7x16_add_s (v128.load (i32.const 0))
                                (v128.const i8x16 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16) (v128.load (i32.const 16))))
    (i32.const 0)))"""
# 0xFD 0x80 0x02 (relaxed's first opcode) inside a constant, atomics, a br_table, lanes, bulk memory:
# the decoder, not the byte pattern, must say no
DECOY_WAT = """(module (memory 1 1 shared)
  (func (export "run") (result i32) (local v128)
    (local.set 0 (v128.const i8x16 0xfd 0x80 0x02 0xfd 0x93 0x82 0 0 0 0 0 0 0 0 0 0))
    (block (block (br_table 0 1 (i32.const 1))))
    (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1))) (atomic.fence)
    (v128.store8_lane offset=3 5 (i32.const 0) (local.get 0))
    (memory.fill (i32.const 0) (i32.const 0) (i32.const 4))
    (i32.extract_lane 2 (i32x4.splat (f32.const 1.5))) drop
    (i64.const 0xfd8002) drop
    (i32.const 0)))""".replace("(i32.extract_lane 2", "(i32x4.extract_lane 2")


def test_the_stdlib_audit_finds_relaxed_instructions(bundle):
    import wasmtime

    from edgewasm.backend import kernels

    assert uses_relaxed_simd(PROBE) and uses_relaxed_simd(bytes(wasmtime.wat2wasm(RELAXED_WAT)))
    decoy = bytes(wasmtime.wat2wasm(DECOY_WAT))
    assert b"\xfd\x80\x02" in decoy and not uses_relaxed_simd(decoy)
    assert uses_relaxed_simd((bundle / "int8-relaxed" / "model.wasm").read_bytes())
    assert not uses_relaxed_simd((bundle / "int8" / "model.wasm").read_bytes())
    library = kernels.load_library()
    for name in library:  # every kernel's code decodes; exactly the relaxed tier's uses relaxed SIMD
        wasm = bytes(wasmtime.wat2wasm(f"(module (memory 1) {kernels.wat_functions([name])})"))
        assert uses_relaxed_simd(wasm) == ("relaxed_dot" in kernels.wat_functions([name])), name


def test_arm64_engines_give_the_same_bits(bundle):
    """arm64 V8 (Node under qemu; its relaxed dot is sdot/smull, x86's pmaddubsw/VNNI) and Cranelift
    aarch64 compute the tier's bytes exactly as x86-64 wasmtime (tests/test_arm_parity.py has the engines)."""
    import os

    from edgewasm import arm64

    node, python = arm64.node_command(), arm64.python_command()
    if node is None or python is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"the arm64 engines are not installed: {arm64.SETUP_HINT}")
        pytest.skip(f"the arm64 engines are not installed: {arm64.SETUP_HINT}")
    xs = inputs()
    items = [(bundle, xs, "int8-relaxed")]
    want = [edgewasm.load(bundle, "int8-relaxed").run(x)["y"] for x in xs]
    # Node 20's V8 ships relaxed SIMD behind this flag (on by default from V8 11.4)
    for got_runs in (arm64.run_many(items, command=node + ["--experimental-wasm-relaxed-simd"])[0],
                     arm64.run_many(items, engine="wasmtime", command=python)[0]):
        for got, w in zip(got_runs, want):
            assert not isinstance(got, Exception), got
            assert bit_identical(got["y"], w)
