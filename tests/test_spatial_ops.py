"""The spatial ops decomposed at import (GridSample, AffineGrid, Col2Im, DeformConv, LpPool, GlobalLpPool,
LRN, MaxUnpool, Upsample, RoiAlign) through the public API: compile, run in wasmtime, and compare
with onnxruntime on the original graph (float32 within atol 1e-5 + rtol 1e-4, float64 tighter),
plus the variant's reference.onnx; and the typed errors for what is refused."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import edgewasm
from edgewasm.engines import run_onnxruntime
from edgewasm.errors import ModelFormatError, UnsupportedModelError

ONNX_TYPES = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE,
              np.dtype(np.float16): TensorProto.FLOAT16, np.dtype(np.int64): TensorProto.INT64}


def model(node, feeds: dict, inits: dict | None = None, opset: int = 17, outputs=("y",), out_shape=None):
    """One node; `feeds` are run-time inputs, `inits` initializers (name -> array); the outputs' types
    are inferred (or float32 of `out_shape` for a model inference rejects)."""
    inits = inits or {}
    inputs = [helper.make_tensor_value_info(k, ONNX_TYPES[v.dtype], v.shape) for k, v in feeds.items()]
    outs = [helper.make_empty_tensor_value_info(o) if out_shape is None else
            helper.make_tensor_value_info(o, TensorProto.FLOAT, out_shape) for o in outputs]
    graph = helper.make_graph([node], "g", inputs, outs,
                              [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)
    if out_shape is not None:
        return proto
    inferred = onnx.shape_inference.infer_shapes(proto)
    known = {v.name: v for v in list(inferred.graph.value_info) + list(inferred.graph.output)}
    for out in proto.graph.output:
        if out.name in known and known[out.name].type.HasField("tensor_type"):
            out.CopyFrom(known[out.name])
    return proto


def ort_run(proto, feeds):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds)))


def check(tmp_path, proto, feeds, want=None, atol=1e-5, rtol=1e-4, reference=True):
    path = tmp_path / "m.onnx"
    path.write_bytes(proto.SerializeToString())
    edgewasm.compile(path, tmp_path / "bundle")
    got = edgewasm.load(tmp_path / "bundle").run(feeds)
    want = want if want is not None else ort_run(proto, feeds)
    if reference:
        ref = run_onnxruntime(tmp_path / "bundle", feeds)
    for name, value in want.items():
        assert got[name].dtype == value.dtype, (name, got[name].dtype, value.dtype)
        assert got[name].shape == value.shape, (name, got[name].shape, value.shape)
        np.testing.assert_allclose(got[name].astype(np.float64), value.astype(np.float64), atol=atol, rtol=rtol,
                                   err_msg=name)
        if reference:
            np.testing.assert_allclose(ref[name].astype(np.float64), value.astype(np.float64), atol=atol, rtol=rtol)
    return got


def refuse(tmp_path, proto, error, match):
    path = tmp_path / "bad.onnx"
    path.write_bytes(proto.SerializeToString())
    with pytest.raises(error, match=match):
        edgewasm.compile(path, tmp_path / "bad_bundle")


def rand(*shape, seed=0, lo=-1.0, hi=1.0, dtype=np.float32):
    return np.random.default_rng(seed).uniform(lo, hi, shape).astype(dtype)


# -- GridSample ----------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("padding", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align", [0, 1])
def test_grid_sample_2d_opset16(tmp_path, mode, padding, align):
    x = rand(2, 3, 5, 7, seed=1)
    grid = rand(2, 4, 6, 2, seed=2, lo=-1.4, hi=1.4)
    node = helper.make_node("GridSample", ["x", "grid"], ["y"], mode=mode, padding_mode=padding, align_corners=align)
    check(tmp_path, model(node, {"x": x, "grid": grid}, opset=16), {"x": x, "grid": grid})


@pytest.mark.parametrize("mode", ["linear", "nearest", "cubic"])
@pytest.mark.parametrize("padding", ["zeros", "border", "reflection"])
def test_grid_sample_opset20_2d(tmp_path, mode, padding):
    x = rand(1, 2, 6, 4, seed=3)
    grid = rand(1, 3, 5, 2, seed=4, lo=-2.5, hi=2.5)
    node = helper.make_node("GridSample", ["x", "grid"], ["y"], mode=mode, padding_mode=padding, align_corners=1)
    check(tmp_path, model(node, {"x": x, "grid": grid}, opset=20), {"x": x, "grid": grid})


@pytest.mark.parametrize("mode", ["linear", "nearest"])
@pytest.mark.parametrize("padding", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align", [0, 1])
def test_grid_sample_volumetric(tmp_path, mode, padding, align):
    x = rand(2, 2, 3, 4, 5, seed=5)
    grid = rand(2, 2, 3, 4, 3, seed=6, lo=-1.3, hi=1.3)
    node = helper.make_node("GridSample", ["x", "grid"], ["y"], mode=mode, padding_mode=padding, align_corners=align)
    check(tmp_path, model(node, {"x": x, "grid": grid}, opset=20), {"x": x, "grid": grid})


def test_grid_sample_float64_computes_in_float64(tmp_path):
    x = rand(1, 2, 5, 6, seed=7, dtype=np.float64)
    grid = rand(1, 3, 4, 2, seed=8, lo=-1.2, hi=1.2, dtype=np.float64)
    node = helper.make_node("GridSample", ["x", "grid"], ["y"], mode="linear", padding_mode="reflection")
    check(tmp_path, model(node, {"x": x, "grid": grid}, opset=20), {"x": x, "grid": grid}, atol=1e-12, rtol=1e-11,
          reference=False)


def test_grid_sample_float16_computes_in_float32(tmp_path):
    x = rand(1, 2, 5, 6, seed=9, dtype=np.float16)
    grid = rand(1, 3, 4, 2, seed=10, lo=-1.2, hi=1.2, dtype=np.float16)
    node = helper.make_node("GridSample", ["x", "grid"], ["y"], mode="bilinear")
    check(tmp_path, model(node, {"x": x, "grid": grid}, opset=16), {"x": x, "grid": grid}, atol=2e-3, rtol=2e-3,
          reference=False)


def test_grid_sample_refuses_bad_grid_and_mode(tmp_path):
    x, grid = rand(1, 2, 5, 6), rand(1, 3, 4, 3)
    node = helper.make_node("GridSample", ["x", "grid"], ["y"])
    refuse(tmp_path, model(node, {"x": x, "grid": grid}, opset=16, out_shape=[1, 2, 3, 4]), ModelFormatError,
           "does not fit")
    node = helper.make_node("GridSample", ["x", "grid"], ["y"], mode="linear")
    refuse(tmp_path, model(node, {"x": x, "grid": rand(1, 3, 4, 2)}, opset=16, out_shape=[1, 2, 3, 4]),
           ModelFormatError, "unknown mode")
