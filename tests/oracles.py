"""What the end-to-end op tests compare against, in one place: onnxruntime (CPU, one thread) and
onnx's reference evaluator on the original graph, and a compile-run-compare check through the
public API (edgewasm.compile, edgewasm.load(...).run) that also runs the variant's reference.onnx."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import onnx
from onnx import TensorProto
from onnx.reference import ReferenceEvaluator

import edgewasm
from edgewasm.engines import run_onnxruntime, within_contract

ONNX_TYPES = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float16): TensorProto.FLOAT16,
              np.dtype(ml_dtypes.bfloat16): TensorProto.BFLOAT16, np.dtype(np.float64): TensorProto.DOUBLE}


def ort_outputs(proto: onnx.ModelProto | bytes, feeds: dict) -> dict[str, np.ndarray]:
    """onnxruntime on the original graph, every output by name."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    data = proto if isinstance(proto, bytes) else proto.SerializeToString()
    session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds)))


def reference_outputs(proto: onnx.ModelProto, feeds: dict) -> dict[str, np.ndarray]:
    """onnx's reference evaluator, for ops or dtypes onnxruntime has no kernel for."""
    names = [o.name for o in proto.graph.output]
    return dict(zip(names, ReferenceEvaluator(proto).run(None, feeds)))


def compile_and_run(tmp_path, proto: onnx.ModelProto, feeds: dict, **compile_options) -> dict[str, np.ndarray]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "m.onnx"
    path.write_bytes(proto.SerializeToString())
    edgewasm.compile(path, tmp_path / "bundle", **compile_options)
    return edgewasm.load(tmp_path / "bundle").run(feeds)


def check(tmp_path, proto, feeds, want=None, atol=1e-5, rtol=1e-4, variant=True):
    """Compile, run, compare with `want` (onnxruntime on the original graph unless given) in dtype,
    shape and value; also the variant's reference.onnx in onnxruntime. Returns edgewasm's outputs."""
    got = compile_and_run(tmp_path, proto, feeds)
    want = ort_outputs(proto, feeds) if want is None else want
    assert set(got) == set(want)
    for name, w in want.items():
        g = got[name]
        assert g.dtype == w.dtype and g.shape == w.shape, (name, g.dtype, g.shape, w.dtype, w.shape)
        g64, w64 = g.astype(np.float64), w.astype(np.float64)
        assert within_contract(g64, w64, atol=atol, rtol=rtol), (name, np.abs(g64 - w64).max())
    if variant:
        ref = run_onnxruntime(tmp_path / "bundle", feeds)
        for name, w in want.items():
            assert within_contract(ref[name].astype(np.float64), w.astype(np.float64), atol=atol, rtol=rtol), name
    return got
