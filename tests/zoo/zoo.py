"""The edgewasm model zoo: ONNX graphs written by real exporters, stored small.

Each model is `models/<name>.onnx` (the exporter's graph with every floating-point tensor of more
than 64 elements taken out) plus `models/<name>.json` (what it is, the shapes to compile it with,
how to make its inputs, and a (shape, dtype, mean, std, min, max) description of every tensor
that was taken out). `load(name)` puts those tensors back as seeded normal fills, so the graph
that comes back is the exported one with weights of the same shape, dtype and scale.

Needs numpy and onnx only (no torch): the tests and report use it in the project's venv.
`generate.py` beside this file rebuilds every model from its exporter.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

HERE = Path(__file__).resolve().parent
MODELS = HERE / "models"

FLOAT_DTYPES = {"float16": np.float16, "float32": np.float32, "float64": np.float64}


def names() -> list[str]:
    """Every model in the zoo, sorted."""
    return sorted(p.stem for p in MODELS.glob("*.json"))


def meta(name: str) -> dict:
    """The model's sidecar: name, task, exporter, source, licence, shapes, inputs, fills."""
    return json.loads((MODELS / f"{name}.json").read_text())


def _seed(*parts: str) -> int:
    return zlib.crc32("/".join(parts).encode())


def fill(model: str, key: str, spec: dict, std_scale: float = 1.0) -> np.ndarray:
    """The seeded stand-in for one stored-out tensor: normal(mean, std) clipped to [min, max]."""
    rng = np.random.default_rng(_seed(model, key))
    shape = tuple(int(d) for d in spec["shape"])
    values = rng.normal(float(spec["mean"]), float(spec["std"]) * std_scale, size=shape)
    values = np.clip(values, float(spec["min"]), float(spec["max"]))
    return values.astype(FLOAT_DTYPES[spec["dtype"]])


def _graphs(graph: onnx.GraphProto, path: str = ""):
    """(path, graph) for the graph and every subgraph (If/Loop/Scan bodies), depth first."""
    yield path, graph
    for i, node in enumerate(graph.node):
        for attr in node.attribute:
            subs = [attr.g] if attr.type == onnx.AttributeProto.GRAPH else list(attr.graphs)
            for j, sub in enumerate(subs):
                label = f"{node.name or f'#{i}'}.{attr.name}"
                if attr.type != onnx.AttributeProto.GRAPH:
                    label += f"[{j}]"
                yield from _graphs(sub, f"{path}/{label}" if path else label)


def load(name: str) -> onnx.ModelProto:
    """The zoo model with every fill restored (deterministic: seeded by model and tensor name)."""
    info = meta(name)
    model = onnx.load(str(MODELS / f"{name}.onnx"))
    scale = float(info.get("fill_std_scale", 1.0))
    fills = info.get("fills", {})
    graphs = dict(_graphs(model.graph))
    by_graph: dict[str, list[tuple[int, onnx.TensorProto]]] = {}
    constants: dict[tuple[str, str], tuple[str, np.ndarray]] = {}
    for key, spec in fills.items():
        values = fill(name, key, spec, scale)
        tensor_name = spec.get("tensor", key)
        if spec.get("constant"):
            constants[(spec.get("graph", ""), tensor_name)] = (key, values)
        else:
            by_graph.setdefault(spec.get("graph", ""), []).append(
                (int(spec["index"]), numpy_helper.from_array(values, tensor_name)))
    for gpath, graph in graphs.items():
        for node in graph.node:
            if node.op_type != "Constant" or not node.output:
                continue
            hit = constants.pop((gpath, node.output[0]), None)
            if hit is not None:
                for attr in node.attribute:
                    if attr.name == "value":
                        attr.t.CopyFrom(numpy_helper.from_array(hit[1], attr.t.name))
        restored = dict(by_graph.pop(gpath, []))
        if restored:
            kept = iter(list(graph.initializer))
            total = len(graph.initializer) + len(restored)
            merged = [restored[i] if i in restored else next(kept) for i in range(total)]
            del graph.initializer[:]
            graph.initializer.extend(merged)
    if by_graph or constants:
        raise ValueError(f"{name}: fills for tensors the graph does not have: "
                         f"{sorted(by_graph) + [c[1] for c in constants]}")
    return model


def _mask(shape: tuple[int, ...], dtype) -> np.ndarray:
    """Ones with the last quarter of the last axis zero (padding)."""
    mask = np.ones(shape, dtype=np.float64)
    n = shape[-1] if shape else 0
    if n:
        mask[..., n - max(1, n // 4):] = 0
    return mask.astype(dtype)


def inputs(name: str, seed: int = 0, shapes: dict[str, list[int]] | None = None) -> dict[str, np.ndarray]:
    """Inputs for every graph input, made from the sidecar's generators at its fixed shapes (or at `shapes`)."""
    info = meta(name)
    out = {}
    for input_name, gen in info["inputs"].items():
        shape = tuple(int(d) for d in (shapes or info["shapes"])[input_name])
        dtype = np.dtype(gen["dtype"])
        rng = np.random.default_rng([seed, _seed(name, input_name)])
        kind = gen["kind"]
        if kind == "normal":
            value = rng.normal(float(gen.get("mean", 0.0)), float(gen["std"]), size=shape)
        elif kind == "uniform":
            value = rng.uniform(float(gen["low"]), float(gen["high"]), size=shape)
        elif kind == "integers":
            value = rng.integers(int(gen["low"]), int(gen["high"]), size=shape)
        elif kind == "mask":
            value = _mask(shape, dtype)
        elif kind == "constant":
            value = np.full(shape, gen["value"])
        else:
            raise ValueError(f"{name}: unknown input generator {kind!r} for {input_name!r}")
        out[input_name] = np.asarray(value).astype(dtype)
    return out


def compare(got: dict, want: dict, atol: float = 1e-4, rtol: float = 1e-3) -> tuple[list[str], float]:
    """Compare outputs (name -> array) with the expected ones (onnxruntime's).

    Floats must agree within atol + rtol * |want|, integer and bool outputs exactly; dtypes and
    shapes must be equal. Returns (one line per disagreement, max abs difference over floats).
    """
    problems = []
    max_diff = 0.0
    missing = sorted(set(want) - set(got))
    if missing:
        problems.append(f"outputs missing: {missing}")
    for key in want:
        if key not in got:
            continue
        a, b = np.asarray(got[key]), np.asarray(want[key])
        if a.dtype != b.dtype:
            problems.append(f"{key}: dtype {a.dtype} != {b.dtype}")
        if a.shape != b.shape:
            problems.append(f"{key}: shape {a.shape} != {b.shape}")
            continue
        if b.dtype.kind in "fc":
            a64, b64 = a.astype(np.float64), b.astype(np.float64)
            diff = np.abs(a64 - b64)
            same_nonfinite = (a64 == b64) | (np.isnan(a64) & np.isnan(b64))
            diff = np.where(same_nonfinite, 0.0, diff)
            bad = ~(diff <= atol + rtol * np.abs(b64))
            if diff.size:
                worst_value = float(np.nanmax(np.where(np.isnan(diff), np.inf, diff)))
                max_diff = max(max_diff, worst_value)
            if bad.any():
                worst = np.unravel_index(int(np.argmax(np.where(np.isnan(diff), np.inf, diff))), diff.shape)
                problems.append(f"{key}: {int(bad.sum())} of {b.size} elements off (atol {atol}, rtol {rtol}), "
                                f"max abs difference {worst_value:.3g} at {tuple(int(i) for i in worst)}")
        elif not np.array_equal(a, b):
            problems.append(f"{key}: {int((a != b).sum())} of {b.size} {b.dtype} elements differ")
    return problems, max_diff


def op_types(model: onnx.ModelProto) -> dict[str, int]:
    """Node count per op type (domain-qualified outside the default domain), subgraphs included."""
    counts: dict[str, int] = {}
    for _, graph in _graphs(model.graph):
        for node in graph.node:
            op = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}::{node.op_type}"
            counts[op] = counts.get(op, 0) + 1
    return dict(sorted(counts.items()))
