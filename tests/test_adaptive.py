"""The browser runtime's pure parts, on the server: the variant policy, the latency monitor, the
edge-vs-cloud arithmetic and the offline precache list."""

from __future__ import annotations

import json
import math
import struct

import pytest

from edgewasm.bundle import ChunkSpec, FileSpec, VariantSpec
from edgewasm.errors import EdgewasmError, PolicyError
from edgewasm.offline import PLACEHOLDER, precache_list, write_service_worker
from edgewasm.runtime.adaptive import Context, Policy, choose_variant, precision_bits
from edgewasm.runtime.monitor import LatencyMonitor, percentile
from edgewasm.runtime.twin import PROFILES, cloud_estimate_ms, same_float32_bits


def variant(name: str, weight_bytes: int, pages: int = 1, accuracy: float | None = None,
            methods: list[str] | None = None) -> VariantSpec:
    report = {"methods": methods or [name]}
    if accuracy is not None:
        report["accuracy"] = {"accuracy": accuracy, "samples": 360}
    return VariantSpec(name, FileSpec(f"{name}/model.wasm", "0" * 64, 2000), pages, [], [],
                       weights=[ChunkSpec(f"{name}/weights-000.bin", "0" * 64, weight_bytes, 0)], report=report)


BUNDLE = [variant("int8", 2784), variant("fp32", 10432), variant("fp16", 5216)]


@pytest.mark.parametrize("context, expected", [
    (Context(), "fp32"),
    (Context(battery_level=0.9, charging=False, effective_type="4g", device_memory_gb=8), "fp32"),
    (Context(battery_level=0.4, charging=False), "fp16"),
    (Context(battery_level=0.1, charging=False), "int8"),
    (Context(battery_level=0.1, charging=True), "fp32"),  # plugged in: no reason to save
    (Context(effective_type="3g"), "fp16"),
    (Context(effective_type="2g"), "int8"),
    (Context(save_data=True), "int8"),
    (Context(device_memory_gb=1), "fp16"),
    (Context(priority="power"), "int8"),
    (Context(priority="accuracy", battery_level=0.05, charging=False, save_data=True), "fp32"),
])
def test_policy_follows_its_documented_rules(context, expected):
    choice = choose_variant(BUNDLE, context)
    assert choice.variant == expected, choice.explain()
    assert choice.ranking == ("fp32", "fp16", "int8")
    assert choice.reasons and choice.context == context


def test_the_strongest_signal_decides_and_every_signal_is_reported():
    choice = choose_variant(BUNDLE, Context(battery_level=0.4, charging=False, effective_type="slow-2g"))
    assert choice.variant == "int8"
    assert "slow-2g connection" in choice.reasons[1] and "battery 40 %" in choice.explain()


def test_memory_budget_drops_variants_that_do_not_fit():
    big = [variant("fp32", 10, pages=600), variant("fp16", 10, pages=400), variant("int8", 10, pages=300)]
    choice = choose_variant(big, Context(priority="accuracy", device_memory_gb=0.5))  # 32 MiB = 512 pages
    assert choice.variant == "fp16" and "fp32 would exceed 32 MiB" in choice.explain()
    choice = choose_variant(big, Context(priority="accuracy", device_memory_gb=0.25))  # 256 pages: none
    assert choice.variant == "int8" and "no variant fits" in choice.explain()


def test_a_variant_measured_much_less_accurate_is_never_chosen_automatically():
    measured = [variant("fp32", 100, accuracy=0.97), variant("fp16", 50, accuracy=0.969),
                variant("int8", 25, accuracy=0.90)]
    choice = choose_variant(measured, Context(priority="power"))
    assert choice.variant == "fp16"
    assert "int8 (90.0 %) more than 1 point below" in choice.explain()


def test_next_variant_is_the_neighbour_to_prefetch():
    assert choose_variant(BUNDLE).next_variant() == "fp16"
    assert choose_variant(BUNDLE, Context(priority="power")).next_variant() == "fp16"
    assert choose_variant(BUNDLE[:1]).next_variant() is None


def test_precision_comes_from_the_name_or_the_methods():
    assert [precision_bits(v) for v in BUNDLE] == [8, 32, 16]
    assert precision_bits(variant("small", 1, methods=["int8 dynamic", "fusion"])) == 8
    assert precision_bits(variant("custom", 1, methods=["fusion"])) == 32


@pytest.mark.parametrize("bad", [dict(priority="speed"), dict(battery_level=1.5), dict(effective_type="5g"),
                                 dict(device_memory_gb=0)])
def test_impossible_contexts_are_typed_errors(bad):
    with pytest.raises(PolicyError):
        Context(**bad)
    with pytest.raises(PolicyError, match="no variants"):
        Policy().choose([])
    assert issubclass(PolicyError, EdgewasmError)


def test_monitor_percentiles_and_histogram():
    monitor = LatencyMonitor()
    for ms in [0.3] * 90 + [4.0] * 9 + [120.0]:
        monitor.record(ms)
    summary = monitor.summary()
    assert summary["runs"] == 100
    assert summary["p50_ms"] == 0.3 and summary["p95_ms"] == 4.0 and summary["max_ms"] == 120.0
    counts = {bucket["le"]: bucket["count"] for bucket in summary["histogram"] if bucket["count"]}
    assert counts == {0.5: 90, 5.0: 9, 200.0: 1}
    assert math.isclose(summary["mean_ms"], (27 + 36 + 120) / 100)
    monitor.record_layers({"fc1": 0.1, "fc2": 0.2})
    assert monitor.summary()["layers"]["fc2"] == {"p50_ms": 0.2, "runs": 1}
    with pytest.raises(ValueError):
        monitor.record(float("nan"))
    monitor.reset()
    assert monitor.summary()["runs"] == 0 and math.isnan(monitor.summary()["p50_ms"])
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0 and percentile([1.0, 2.0], 0.95) == 2.0


def test_cloud_estimate_adds_the_emulated_link_to_the_measured_round_trip():
    profiles = {p.name: p for p in PROFILES}
    assert cloud_estimate_ms(3.0, profiles["loopback"], 500, 400) == 3.0
    # fast 3g: 562.5 ms RTT, 500 B up at 675 kbps, 400 B down at 1440 kbps
    assert math.isclose(cloud_estimate_ms(3.0, profiles["fast-3g"], 500, 400), 3.0 + 562.5 + 4000 / 675 + 3200 / 1440)


def test_bit_comparison_treats_nans_as_equal_and_nothing_else():
    def f32(*values):
        return struct.pack(f"<{len(values)}f", *values)

    quiet, payload = struct.pack("<I", 0x7FC00000), struct.pack("<I", 0x7FC00001)
    assert same_float32_bits(f32(1.0, -0.0), f32(1.0, -0.0))
    assert same_float32_bits(quiet + f32(2.0), payload + f32(2.0))
    assert not same_float32_bits(f32(0.0), f32(-0.0))
    assert not same_float32_bits(f32(1.0), f32(1.0000001))
    assert not same_float32_bits(f32(1.0), f32(1.0, 2.0))


def test_precache_lists_the_shell_the_runtime_and_the_wheel(tmp_path):
    dist = tmp_path / "dist"
    wheel = "edgewasm-0.1.0-py3-none-any.whl"
    files = ["index.html", "app.js", "app.py", "style.css", "snapshot-worker.mjs", "models/index.json",
             "models/digits/samples.json", "pyodide/pyodide.js", "pyodide/pyodide.mjs", "pyodide/pyodide.asm.mjs",
             "pyodide/pyodide.asm.wasm", "pyodide/python_stdlib.zip", f"pyodide/{wheel}"]
    for name in files:
        (dist / name).parent.mkdir(parents=True, exist_ok=True)
        (dist / name).write_text(name)
    (dist / "pyodide/pyodide-lock.json").write_text(json.dumps({"packages": {"edgewasm": {"file_name": wheel}}}))
    listed = precache_list(dist)
    assert listed[0] == "./" and set(listed[1:]) == set(files) | {"pyodide/pyodide-lock.json"}
    template = tmp_path / "sw.js"
    template.write_text(f"const PRECACHE = {PLACEHOLDER};\n")
    first = write_service_worker(template, dist)
    assert json.loads((dist / "sw.js").read_text().removeprefix("const PRECACHE = ").rstrip(";\n")) == first
    (dist / "app.py").write_text("changed")
    assert write_service_worker(template, dist)["build"] != first["build"], "a new build must change sw.js"
    (dist / "pyodide/python_stdlib.zip").unlink()
    with pytest.raises(EdgewasmError, match="python_stdlib.zip"):
        precache_list(dist)
