"""Measure what compression cost: bytes, FLOPs and accuracy of every variant against fp32.

Accuracy is measured by running each compiled module itself (wasmtime, straight from its
VariantBuild, before the bundle is written) over `--eval DATA.npz`: one array per model input,
batch first, plus `labels` (class ids). The prediction is the argmax over the last axis of the
model's first output. Data are run in slices of the compiled batch; a short last slice is padded
with zeros (which can shift a dynamically quantized slice's scale: compile with --batch 1 to
measure every sample on its own).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .bundle import FileSpec, VariantBuild, VariantSpec, sha256
from .errors import CompressionError, ExecutionError

LABELS = "labels"


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

    spec = VariantSpec(build.name, FileSpec(f"{build.name}/model.wasm", sha256(build.wasm), len(build.wasm)),
                       build.pages, build.inputs, build.outputs, has_init=build.has_init)

    def setup(instance) -> None:
        instance.write(build.weights_offset, build.weights)
        if build.has_init and instance.call("init") != 0:
            raise ExecutionError("model init returned a non-zero status")

    return WasmtimeModel(spec, WasmtimeInstance(build.wasm, RuntimeConfig(deadline=None), setup))


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


def accuracy(outputs: np.ndarray, labels: np.ndarray) -> float:
    predicted = outputs.reshape(len(labels), -1).argmax(axis=1)
    return float((predicted == labels).mean())


def compare_variants(builds: list[VariantBuild], baseline: Callable[[], VariantBuild], data: Dataset | None,
                     log: Callable[[str], None] = lambda message: None) -> None:
    """Add `compression` (bytes and FLOPs against fp32) and, with data, `accuracy` to each report."""
    reference = next((b for b in builds if b.name == "fp32"), None)
    if reference is None and (data is not None or len(builds) > 1 or builds[0].name != "fp32"):
        reference = baseline()
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
    header = ("variant", "weights", "vs fp32", "module", "FLOPs", "accuracy", "methods")
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
            f"{acc['accuracy']:.4f} ({acc['delta_points']:+.2f})" if acc else "-",
            ", ".join(report.get("methods", [])),
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    notes = [f"{name}: {len(step['kept_float']['layers'])} layer(s) kept float: {step['kept_float']['reason']}"
             for name, variant in manifest["variants"].items()
             for step in variant.get("report", {}).get("steps", []) if "kept_float" in step]
    return "\n".join(["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows] + notes)

