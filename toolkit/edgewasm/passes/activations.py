"""Evaluate an IR graph on data at compile time, for the passes that learn from data (distillation
fits to the teacher's activations, static quantization calibrates ranges).

The graph is exported with the same `reference.onnx` exporter every variant ships, with the
requested tensors added as outputs, and run by onnxruntime when it is installed (onnx's reference
evaluator otherwise). Shapes are static, so data run in slices of the graph's batch; a short last
slice is padded with zeros and its padding dropped (from tensors whose first dimension is the batch;
others come back flattened, one row per slice).
"""

from __future__ import annotations

import copy

import numpy as np

from ..backend.reference import export_reference
from ..errors import CompressionError
from ..ir import Graph


def activations(graph: Graph, data: dict[str, np.ndarray], names: list[str],
                optimize: bool = True) -> dict[str, np.ndarray]:
    """{name: values over all samples, batch first} for each named tensor of the graph.

    optimize=False runs onnxruntime without graph optimizations, as its quantize_static calibrates
    (its fused and NCHWc convolutions round differently, and a range's last bit is a scale's)."""
    missing = [t.name for t in graph.inputs if t.name not in data]
    if missing:
        raise CompressionError(f"the data lack the model's input(s) {missing}; they have {sorted(data)}")
    batch = graph.inputs[0].shape[0]
    samples = len(data[graph.inputs[0].name])
    for t in graph.inputs:
        if len(data[t.name]) != samples or tuple(data[t.name].shape[1:]) != t.shape[1:]:
            raise CompressionError(f"data {t.name!r} have shape {data[t.name].shape}; the model takes "
                                   f"[{samples}, {', '.join(map(str, t.shape[1:]))}]")
        if t.shape[0] != batch:
            raise CompressionError("inputs with different batch sizes cannot be sliced together")
    probe = copy.copy(graph)
    known = {t.name for t in graph.outputs}
    probe.outputs = list(graph.outputs) + [graph.info(n) for n in dict.fromkeys(names) if n not in known]
    run = _runner(export_reference(probe), optimize)
    chunks: dict[str, list[np.ndarray]] = {n: [] for n in names}
    for start in range(0, samples, batch):
        count = min(batch, samples - start)
        feed = {}
        for t in graph.inputs:
            chunk = np.zeros(t.shape, np.float32)
            chunk[:count] = data[t.name][start:start + count]
            feed[t.name] = chunk
        values = run(feed)
        for n in names:
            per_sample = graph.info(n).shape[:1] == (batch,)  # else the zero padding stays in (within any range)
            chunks[n].append(values[n][:count] if per_sample else values[n].reshape(1, -1))
    return {n: np.concatenate(v) for n, v in chunks.items()}


def _runner(model_bytes: bytes, optimize: bool = True):
    try:
        import onnxruntime as ort
    except ImportError:
        from onnx.reference import ReferenceEvaluator

        evaluator = ReferenceEvaluator(model_bytes)
        outputs = list(evaluator.output_names)
        return lambda feed: dict(zip(outputs, evaluator.run(None, feed)))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    if not optimize:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
    outputs = [o.name for o in session.get_outputs()]
    return lambda feed: dict(zip(outputs, session.run(outputs, feed)))
