"""A policy that knows: every variant of a multi-variant bundle carries its latency relative to
fp32 (timed through wasmtime at compile time) and its memory, and 'power' / 'balanced' never pick
a variant slower than one they passed over (a lighter variant that makes each inference 8x longer
spends more energy); `choice.explain()` gives the numbers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import edgewasm
from edgewasm.bundle import ChunkSpec, FileSpec, VariantSpec, parse_manifest
from edgewasm.runtime.adaptive import Context, choose_variant, latency_vs_fp32, slower

from cnn_models import make_mobilenet_v2


def variant(name: str, weight_bytes: int, vs_fp32: float | None, pages: int = 160, fp32_ms: float = 7.0) -> VariantSpec:
    report = {"methods": [name]}
    if vs_fp32 is not None:
        report["latency"] = {"ms": fp32_ms * vs_fp32, "vs_fp32": vs_fp32, "fp32_ms": fp32_ms, "method": "wasmtime"}
    return VariantSpec(name, FileSpec(f"{name}/model.wasm", "0" * 64, 2000), pages, [], [],
                       weights=[ChunkSpec(f"{name}/weights-000.bin", "0" * 64, weight_bytes, 0)], report=report)


CONTEXTS = [Context(priority="power"), Context(), Context(effective_type="3g"), Context(battery_level=0.3, charging=False),
            Context(battery_level=0.1, charging=False), Context(save_data=True), Context(device_memory_gb=1)]


def assert_never_slower_than_passed_over(variants: list[VariantSpec], context: Context) -> str:
    """The policy's own rule (adaptive.slower: beyond SLOWER_MARGIN and, with milliseconds on both,
    SLOWER_FLOOR_MS), so a compile-time timing of a tiny model that differs by noise is not a failure."""
    choice = choose_variant(variants, context)
    by_name = {v.name: v for v in variants}
    chosen = by_name[choice.variant]
    for name in choice.ranking[: choice.ranking.index(choice.variant)]:  # the variants it passed over
        assert not slower(chosen, by_name[name]), (context, choice.explain())
    if context.priority == "power":  # the fastest, within the margin
        timed = [v for v in variants if latency_vs_fp32(v) is not None]
        assert not timed or not slower(chosen, min(timed, key=latency_vs_fp32)), choice.explain()
    return choice.variant


def test_power_skips_an_int8_that_is_8x_slower_and_says_why():
    bundle = [variant("fp32", 10_000, 1.0), variant("fp16", 5_000, 0.97), variant("int8", 2_500, 7.9)]
    choice = choose_variant(bundle, Context(priority="power"))
    assert choice.variant == "fp16", choice.explain()
    explained = choice.explain()
    assert "fp16 (0.97x fp32's latency, 10.0 MiB memory" in explained
    assert "int8 (7.90x fp32's latency" in explained and "slower than fp16 (0.97x)" in explained
    assert choose_variant(bundle, Context(battery_level=0.1, charging=False)).variant == "fp16"
    assert choose_variant(bundle, Context(priority="accuracy")).variant == "fp32"


def test_a_faster_light_variant_is_still_chosen_and_noise_does_not_block_a_step():
    bundle = [variant("fp32", 10_000, 1.0), variant("fp16", 5_000, 1.04), variant("int8", 2_500, 0.6)]
    assert choose_variant(bundle, Context(priority="power")).variant == "int8"
    assert choose_variant(bundle, Context(effective_type="3g")).variant == "fp16"  # 4 % is within the noise


def test_microseconds_apart_is_not_slower():
    """A 4-microsecond model's variants differ by timer noise: the policy keeps ranking by precision
    and bytes (a difference under SLOWER_FLOOR_MS per run is not 'slower'), but not for a 7 ms model."""
    tiny = [variant("fp32", 10_000, 1.0, fp32_ms=0.004), variant("fp16", 5_000, 0.9, fp32_ms=0.004),
            variant("int8", 2_500, 1.6, fp32_ms=0.004)]
    assert choose_variant(tiny, Context(priority="power")).variant == "int8"
    large = [variant("fp32", 10_000, 1.0), variant("fp16", 5_000, 0.9), variant("int8", 2_500, 1.6)]
    assert choose_variant(large, Context(priority="power")).variant == "fp16"


def test_balanced_steps_over_a_slower_variant():
    bundle = [variant("fp32", 10_000, 1.0), variant("fp16", 5_000, 1.3), variant("int8", 2_500, 0.8)]
    choice = choose_variant(bundle, Context(effective_type="3g"))  # one step down: not to the slower fp16
    assert choice.variant == "int8" and "fp16 (1.30x" in choice.explain()


@pytest.mark.parametrize("latencies", list(itertools.product((0.5, 1.0, 1.5, 8.0), repeat=3)))
def test_no_priority_ever_picks_a_variant_slower_than_one_it_passed_over(latencies):
    bundle = [variant("fp32", 10_000, 1.0)] + [variant(n, size, r) for n, size, r in
                                                zip(("fp16", "int8", "int8+prune"), (5_000, 2_500, 1_200), latencies)]
    for context in CONTEXTS:
        assert_never_slower_than_passed_over(bundle, context)


def test_without_measurements_the_ranking_decides_as_before():
    bundle = [variant("fp32", 10_000, None), variant("fp16", 5_000, None), variant("int8", 2_500, None)]
    assert choose_variant(bundle, Context(priority="power")).variant == "int8"


def test_a_compiled_bundle_reports_latency_and_memory_and_the_policy_uses_them(tmp_path):
    proto = make_mobilenet_v2(width=0.35, resolution=64, classes=10)
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b", variants="fp32,fp16,int8")
    spec = parse_manifest((tmp_path / "b" / "manifest.json").read_bytes())
    variants = list(spec.variants.values())
    for v in variants:
        latency = v.report["latency"]
        assert latency["ms"] > 0 and latency["fp32_ms"] > 0 and "wasmtime" in latency["method"]
        assert latency["vs_fp32"] == pytest.approx(latency["ms"] / latency["fp32_ms"], rel=1e-2)
        assert v.report["memory_bytes"] == v.memory_bytes
    assert spec.variants["fp32"].report["latency"]["vs_fp32"] == 1.0
    for context in CONTEXTS:
        chosen = assert_never_slower_than_passed_over(variants, context)
        assert f"{latency_vs_fp32(spec.variants[chosen]):.2f}x fp32's latency" in choose_variant(variants, context).explain()
    x = {"x": np.zeros((1, 3, 64, 64), np.float32)}
    assert edgewasm.load(tmp_path / "b", choose_variant(variants, Context(priority="power")).variant).run(x)


def test_a_single_variant_is_not_timed(tmp_path):
    proto = make_mobilenet_v2(width=0.35, resolution=32, classes=10)
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b")
    assert "latency" not in parse_manifest((tmp_path / "b" / "manifest.json").read_bytes()).variants["fp32"].report
