"""Measure what compression cost: bytes, FLOPs, latency and accuracy of every variant against fp32.

Accuracy is measured by running each compiled module itself (wasmtime, straight from its
VariantBuild, before the bundle is written) over `--eval DATA.npz`: one array per model input,
batch first, plus `labels` (class ids). The prediction is the argmax over the last axis of the
model's first output. Data are run in slices of the compiled batch; a short last slice is padded
with zeros (which can shift a dynamically quantized slice's scale: compile with --batch 1 to
measure every sample on its own).

Latency (`report["latency"]`, when a bundle has several variants) is timed here too, so the
adaptive policy knows which variant is faster: every variant and fp32 loaded in wasmtime at once,
zero inputs, one warm-up run each, then LATENCY_ROUNDS rounds that run each in turn (interleaved,
so a busy moment slows all alike), each turn repeated until it lasts about LATENCY_SAMPLE_SECONDS
(a microsecond model's single run is mostly timer and call noise); the median per variant, and its
ratio to fp32's.
A few runs on the compiling machine: a coarse figure for choosing, not a benchmark (`edgewasm bench`).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .bundle import FileSpec, VariantBuild, VariantSpec, packed_nbytes, sha256
from .errors import CompressionError, EdgewasmError, ExecutionError

LABELS = "labels"
LATENCY_ROUNDS = 5
LATENCY_SAMPLE_SECONDS = 0.002
LATENCY_MAX_REPEATS = 1000
LATENCY_METHOD = (f"wasmtime at compile time: zero inputs, one warm-up run, then the median of {LATENCY_ROUNDS} "
                  f"samples (each repeated to last about {LATENCY_SAMPLE_SECONDS * 1000:g} ms) interleaved with the "
                  "other variants' and fp32's")


@dataclass(frozen=True)
class Dataset:
    inputs: dict[str, np.ndarray]
    labels: np.ndarray | None = None

    @property
    def samples(self) -> int:
        return len(next(iter(self.inputs.values())))


def load_dataset(path: str | Path, need_labels: bool = False) -> Dataset:
    """Read a .npz of model inputs (and `labels`); every array must have the same first dimension."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (OSError, ValueError) as exc:
        raise CompressionError(f"cannot read {path} as a .npz of arrays: {exc}") from None
    labels = arrays.pop(LABELS, None)
    if need_labels and labels is None:
        raise CompressionError(f"{path} has no '{LABELS}' array (class ids), which --eval needs")
    if not arrays:
        raise CompressionError(f"{path} holds no input arrays (keys must be the model's input names)")
    counts = {key: len(a) if a.ndim else 0 for key, a in arrays.items()}
    if labels is not None:
        counts[LABELS] = len(labels) if labels.ndim else 0
    if len(set(counts.values())) != 1 or 0 in counts.values():
        raise CompressionError(f"{path}: every array needs the same number of samples (first dimension), got {counts}")
    return Dataset({k: np.ascontiguousarray(a, np.float32) for k, a in arrays.items()},
                   None if labels is None else labels.astype(np.int64).reshape(-1))


def load_build(build: VariantBuild):
    """A wasmtime Model straight from a VariantBuild (weights written, init() run)."""
    from .runtime.config import RuntimeConfig
    from .runtime.wasmtime_host import WasmtimeInstance, WasmtimeModel
    from .runtime.sandbox import LOOP_VARIANT_NO_EPOCH, LOOP_VARIANT_OFFSET

    spec = VariantSpec(build.name, FileSpec(f"{build.name}/model.wasm", sha256(build.wasm), len(build.wasm)),
                       build.pages, build.inputs, build.outputs, has_init=build.has_init)

    def setup(instance) -> None:
        instance.write(LOOP_VARIANT_OFFSET, LOOP_VARIANT_NO_EPOCH.to_bytes(4, "little"))  # as the host: no deadline
        instance.write(build.weights_offset, build.weights)
        if build.has_init and instance.call("init") != 0:
            raise ExecutionError("model init returned a non-zero status")

    config = RuntimeConfig(memory_limit=max(RuntimeConfig().memory_limit, spec.memory_bytes), deadline=None)
    return WasmtimeModel(spec, WasmtimeInstance(build.wasm, config, setup))


def run_dataset(model, data: Dataset) -> np.ndarray:
    """The model's first output over every sample, batch first."""
    batch = model.inputs[0].shape[0]
    missing = sorted({t.name for t in model.inputs} - set(data.inputs))
    if missing:
        raise CompressionError(f"the data lack the model's input(s) {missing}; they have {sorted(data.inputs)}")
    for spec in model.inputs:
        if tuple(data.inputs[spec.name].shape[1:]) != spec.shape[1:]:
            raise CompressionError(f"data {spec.name!r} samples have shape {data.inputs[spec.name].shape[1:]}, "
                                   f"the model's {spec.shape[1:]}")
    first = model.outputs[0].name
    results = []
    for start in range(0, data.samples, batch):
        count = min(batch, data.samples - start)
        feed = {}
        for spec in model.inputs:
            chunk = np.zeros(spec.shape, np.float32)
            chunk[:count] = data.inputs[spec.name][start:start + count]
            feed[spec.name] = chunk
        results.append(np.asarray(model.run(feed)[first])[:count])
    return np.concatenate(results)


def measure_latency(builds: list[VariantBuild], reference: VariantBuild, log: Callable[[str], None]) -> None:
    """Add `latency` {ms, vs_fp32, fp32_ms, method} to each build's report (see the module docstring)."""
    timed = [reference] + [b for b in builds if b is not reference]
    models = [load_build(b) for b in timed]
    feeds = [{t.name: bytes(packed_nbytes(t.dtype, int(np.prod(t.shape)))) for t in m.inputs} for m in models]
    seconds: list[list[float]] = [[] for _ in timed]
    repeats = 1
    for round_ in range(LATENCY_ROUNDS + 1):  # round 0: the warm-up, which also sets the repeats
        for model, feed, times in zip(models, feeds, seconds):
            start = time.perf_counter()
            for _ in range(repeats):
                model.run(feed)
            times.append((time.perf_counter() - start) / repeats)
        if not round_:
            fastest = min(times[0] for times in seconds)
            repeats = min(LATENCY_MAX_REPEATS, max(1, round(LATENCY_SAMPLE_SECONDS / max(fastest, 1e-9))))
            seconds = [[] for _ in timed]
    fp32_ms = 1000 * statistics.median(seconds[0])
    for build, times in zip(timed, seconds):
        ms = 1000 * statistics.median(times)
        if any(build is b for b in builds):
            build.report["latency"] = {"ms": round(ms, 4), "vs_fp32": round(ms / fp32_ms, 3),
                                       "fp32_ms": round(fp32_ms, 4), "method": LATENCY_METHOD}
            log(f"{build.name}: {ms:.3f} ms per run in wasmtime, {ms / fp32_ms:.2f}x fp32's")


def accuracy(outputs: np.ndarray, labels: np.ndarray) -> float:
    predicted = outputs.reshape(len(labels), -1).argmax(axis=1)
    return float((predicted == labels).mean())


def compare_variants(builds: list[VariantBuild], baseline: Callable[[], VariantBuild], data: Dataset | None,
                     log: Callable[[str], None] = lambda message: None) -> None:
    """Add `compression` (bytes and FLOPs against fp32), `latency` when there is a choice (several
    variants) and, with data, `accuracy` to each report."""
    reference = next((b for b in builds if b.name == "fp32"), None)
    if reference is None and (data is not None or len(builds) > 1 or builds[0].name != "fp32"):
        reference = baseline()
    if len(builds) > 1 and all(b.threads == 1 for b in builds):  # (a threaded build needs its threads' host)
        try:
            measure_latency(builds, reference, log)
        except EdgewasmError as exc:  # e.g. a model whose run() refuses zero inputs: the policy goes without
            log(f"latency not measured: {exc}")
    fp32_outputs = None
    if data is not None:
        if data.labels is None:
            raise CompressionError("--eval data need 'labels'")
        fp32_outputs = run_dataset(load_build(reference), data)
        fp32_accuracy = accuracy(fp32_outputs, data.labels)
    for build in builds:
        report = build.report
        total = len(build.wasm) + len(build.weights)
        if reference is not None:
            fp32_total = len(reference.wasm) + len(reference.weights)
            report["compression"] = {
                "fp32_weight_bytes": len(reference.weights),
                "fp32_flops": reference.report["flops"],
                "weight_bytes_vs_fp32": round(len(build.weights) / max(1, len(reference.weights)), 4),
                "total_bytes": total,
                "total_bytes_vs_fp32": round(total / max(1, fp32_total), 4),
                "flops_vs_fp32": round(report["flops"] / max(1, reference.report["flops"]), 4),
            }
        if data is not None:
            outputs = fp32_outputs if build is reference else run_dataset(load_build(build), data)
            value = accuracy(outputs, data.labels)
            agreement = float((outputs.reshape(data.samples, -1).argmax(1)
                               == fp32_outputs.reshape(data.samples, -1).argmax(1)).mean())
            report["accuracy"] = {"samples": data.samples, "accuracy": value, "fp32_accuracy": fp32_accuracy,
                                  "delta_points": round(100 * (value - fp32_accuracy), 4),
                                  "agreement_with_fp32": agreement}
            log(f"{build.name}: accuracy {value:.4f} (fp32 {fp32_accuracy:.4f}, "
                f"{100 * (value - fp32_accuracy):+.2f} points) on {data.samples} samples")


def summary_table(manifest: dict) -> str:
    """The CLI's table: one row per variant."""
    header = ("variant", "weights", "vs fp32", "module", "FLOPs", "memory", "latency", "accuracy", "methods")
    rows = [header]
    for name, variant in manifest["variants"].items():
        report = variant.get("report", {})
        compression = report.get("compression", {})
        acc = report.get("accuracy")
        rows.append((
            name,
            f"{report.get('weight_bytes', 0):,} B",
            f"{compression['weight_bytes_vs_fp32']:.1%}" if compression else "-",
            f"{report.get('module_bytes', 0):,} B",
            f"{report.get('flops', 0):,}",
            f"{report.get('memory_bytes', 0) / (1 << 20):.1f} MiB",
            f"{report['latency']['vs_fp32']:.2f}x fp32" if "latency" in report else "-",
            f"{acc['accuracy']:.4f} ({acc['delta_points']:+.2f})" if acc else "-",
            ", ".join(report.get("methods", [])),
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    notes = [f"{name}: {len(step['kept_float']['layers'])} layer(s) kept float: {step['kept_float']['reason']}"
             for name, variant in manifest["variants"].items()
             for step in variant.get("report", {}).get("steps", []) if "kept_float" in step]
    return "\n".join(["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows] + notes)

