"""The spatial ops decomposed at import (GridSample, AffineGrid, Col2Im, DeformConv, LpPool, GlobalLpPool,
LRN, MaxUnpool, Upsample, RoiAlign) through the public API: compile, run in wasmtime, and compare
with onnxruntime on the original graph (float32 within atol 1e-5 + rtol 1e-4, float64 tighter),
plus the variant's reference.onnx; and the typed errors for what is refused."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import edgewasm
from edgewasm.engines import run_onnxruntime
from edgewasm.errors import ModelFormatError, UnsupportedModelError
from oracles import ort_outputs

ONNX_TYPES = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE,
              np.dtype(np.float16): TensorProto.FLOAT16, np.dtype(np.int64): TensorProto.INT64,
              np.dtype(np.int8): TensorProto.INT8, np.dtype(np.uint8): TensorProto.UINT8,
              np.dtype(np.int32): TensorProto.INT32}


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


def reference_run(proto, feeds):
    from onnx.reference import ReferenceEvaluator
    return ReferenceEvaluator(proto).run(None, feeds)[0]


def check(tmp_path, proto, feeds, want=None, atol=1e-5, rtol=1e-4, reference=True):
    path = tmp_path / "m.onnx"
    path.write_bytes(proto.SerializeToString())
    edgewasm.compile(path, tmp_path / "bundle")
    got = edgewasm.load(tmp_path / "bundle").run(feeds)
    want = want if want is not None else ort_outputs(proto, feeds)
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


# -- LpPool, GlobalLpPool, LRN --------------------------------------------------------------------

LP_CASES = [
    ({"kernel_shape": [3]}, (1, 2, 9)),
    ({"kernel_shape": [2, 3], "strides": [2, 1]}, (2, 3, 7, 6)),
    ({"kernel_shape": [3, 3], "pads": [1, 0, 2, 1]}, (1, 2, 6, 5)),
    ({"kernel_shape": [3, 2], "auto_pad": "SAME_UPPER", "strides": [2, 2]}, (1, 2, 7, 5)),
    ({"kernel_shape": [2, 3], "auto_pad": "SAME_LOWER"}, (1, 3, 5, 6)),
    ({"kernel_shape": [2, 2], "auto_pad": "VALID", "strides": [3, 2]}, (1, 1, 8, 7)),
    ({"kernel_shape": [2, 2, 2]}, (1, 2, 4, 3, 5)),
    ({"kernel_shape": [2, 2], "dilations": [2, 1], "strides": [1, 2]}, (1, 2, 7, 7)),
    ({"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}, (1, 2, 8, 6)),
    ({"kernel_shape": [3, 2], "strides": [2, 2], "pads": [1, 1, 1, 0], "ceil_mode": 1}, (2, 1, 7, 6)),
]


@pytest.mark.parametrize("p", [1, 2, 3])
@pytest.mark.parametrize("attrs, shape", LP_CASES)
def test_lp_pool(tmp_path, p, attrs, shape):
    x = rand(*shape, seed=11)
    node = helper.make_node("LpPool", ["x"], ["y"], p=p, **attrs)
    check(tmp_path, model(node, {"x": x}, opset=18), {"x": x})


def test_lp_pool_opset11_default_p(tmp_path):
    x = rand(1, 3, 6, 6, seed=12)
    node = helper.make_node("LpPool", ["x"], ["y"], kernel_shape=[2, 2], pads=[1, 1, 1, 1])
    check(tmp_path, model(node, {"x": x}, opset=11), {"x": x})


@pytest.mark.parametrize("p", [1, 2, 3])
@pytest.mark.parametrize("shape", [(1, 3, 5), (2, 3, 4, 5), (1, 2, 2, 3, 4)])
def test_global_lp_pool(tmp_path, p, shape):
    x = rand(*shape, seed=13)
    node = helper.make_node("GlobalLpPool", ["x"], ["y"], p=p)
    check(tmp_path, model(node, {"x": x}, opset=17), {"x": x})


def test_lp_pool_float16_computes_in_float32(tmp_path):
    x16 = rand(1, 2, 5, 5, seed=14, dtype=np.float16)
    node = helper.make_node("LpPool", ["x"], ["y"], kernel_shape=[2, 2], p=2)
    got = check(tmp_path, model(node, {"x": x16}, opset=18), {"x": x16}, reference=False, atol=3e-3, rtol=3e-3,
                want={"y": np.sqrt(_window_sum(x16.astype(np.float32) ** 2, 2)).astype(np.float16)})
    assert got["y"].dtype == np.float16


def _window_sum(x, k):
    n, c, h, w = x.shape
    return sum(x[:, :, i:h - k + 1 + i, j:w - k + 1 + j] for i in range(k) for j in range(k))


@pytest.mark.parametrize("size", [1, 2, 3, 5])
@pytest.mark.parametrize("shape", [(2, 7, 3, 4), (1, 4, 5), (1, 6, 2, 2, 3)])
def test_lrn(tmp_path, size, shape):
    x = rand(*shape, seed=16, lo=-3, hi=3)
    node = helper.make_node("LRN", ["x"], ["y"], size=size, alpha=0.02, beta=0.6, bias=1.5)
    proto = model(node, {"x": x}, opset=13)
    if size % 2 and len(shape) == 4:
        check(tmp_path, proto, {"x": x})
    else:  # onnxruntime takes odd sizes and 4-D inputs only: the definition in numpy (float64)
        check(tmp_path, proto, {"x": x}, want={"y": _lrn(x, size, 0.02, 0.6, 1.5)}, reference=False)


def _lrn(x, size, alpha, beta, bias):
    x64, c = x.astype(np.float64), x.shape[1]
    lo, hi = (size - 1) // 2, size - 1 - (size - 1) // 2
    sums = np.stack([(x64[:, max(0, i - lo):min(c, i + hi + 1)] ** 2).sum(axis=1) for i in range(c)], axis=1)
    return (x64 / (bias + alpha / size * sums) ** beta).astype(np.float32)


def test_lrn_defaults_opset1(tmp_path):
    x = rand(1, 5, 4, 4, seed=17, lo=-10, hi=10)
    node = helper.make_node("LRN", ["x"], ["y"], size=3)
    check(tmp_path, model(node, {"x": x}, opset=7), {"x": x})


# -- Col2Im, AffineGrid ----------------------------------------------------------------------------

COL2IM_CASES = [
    ([5, 5], [2, 2], {}),
    ([6, 5], [3, 2], {"strides": [2, 1]}),
    ([7, 6], [2, 3], {"dilations": [2, 1], "pads": [1, 0, 1, 2]}),
    ([6, 7], [3, 3], {"strides": [2, 2], "pads": [1, 1, 1, 1], "dilations": [1, 2]}),
    ([9], [3], {"strides": [2], "pads": [1, 2]}),
    ([3, 4, 5], [2, 2, 2], {"strides": [1, 2, 1]}),
]


def _col2im_columns(image, block, attrs):
    dims = len(image)
    pads = attrs.get("pads", [0] * 2 * dims)
    strides, dilations = attrs.get("strides", [1] * dims), attrs.get("dilations", [1] * dims)
    return int(np.prod([(image[d] + pads[d] + pads[d + dims] - (dilations[d] * (block[d] - 1) + 1)) // strides[d] + 1
                        for d in range(dims)]))


@pytest.mark.parametrize("image, block, attrs", COL2IM_CASES)
def test_col2im(tmp_path, image, block, attrs):
    columns = _col2im_columns(image, block, attrs)
    x = rand(2, 3 * int(np.prod(block)), columns, seed=18)
    node = helper.make_node("Col2Im", ["x", "image", "block"], ["y"], **attrs)
    inits = {"image": np.array(image, np.int64), "block": np.array(block, np.int64)}
    proto = model(node, {"x": x}, inits, opset=18)
    if len(image) == 2:
        check(tmp_path, proto, {"x": x})
    else:  # onnxruntime runs 2-D images only: onnx's reference
        check(tmp_path, proto, {"x": x}, want={"y": reference_run(proto, {"x": x})}, reference=False)


def test_col2im_float64_and_int(tmp_path):
    x = rand(1, 4, 16, seed=19, dtype=np.float64)
    node = helper.make_node("Col2Im", ["x", "image", "block"], ["y"])
    inits = {"image": np.array([5, 5], np.int64), "block": np.array([2, 2], np.int64)}
    proto = model(node, {"x": x}, inits, opset=18)  # onnxruntime runs float32 only: onnx's reference
    check(tmp_path, proto, {"x": x}, want={"y": reference_run(proto, {"x": x})}, atol=1e-12, rtol=1e-12,
          reference=False)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int32, np.int64, np.float16])
def test_col2im_other_dtypes(tmp_path, dtype):
    x = np.random.default_rng(67).integers(0, 100, (1, 8, 9)).astype(dtype)  # int8 sums wrap around
    node = helper.make_node("Col2Im", ["x", "image", "block"], ["y"], strides=[1, 2])
    inits = {"image": np.array([4, 7], np.int64), "block": np.array([2, 2], np.int64)}
    proto = model(node, {"x": x}, inits, opset=18)
    with np.errstate(over="ignore"):
        want = reference_run(proto, {"x": x})
    check(tmp_path, proto, {"x": x}, want={"y": want}, atol=0, rtol=0, reference=False)


def test_col2im_refuses(tmp_path):
    x = rand(1, 4, 15)
    node = helper.make_node("Col2Im", ["x", "image", "block"], ["y"])
    inits = {"image": np.array([5, 5], np.int64), "block": np.array([2, 2], np.int64)}
    refuse(tmp_path, model(node, {"x": x}, inits, opset=18, out_shape=[1, 1, 5, 5]), ModelFormatError,
           "does not hold")
    feeds = {"x": rand(1, 4, 16), "image": np.array([5, 5], np.int64)}
    refuse(tmp_path, model(node, feeds, {"block": np.array([2, 2], np.int64)}, opset=18, out_shape=[1, 1, 5, 5]),
           UnsupportedModelError, "image_shape must be a constant")


@pytest.mark.parametrize("size", [[2, 3, 4, 5], [1, 1, 3, 1], [2, 2, 3, 4, 5], [1, 1, 1, 2, 3]])
@pytest.mark.parametrize("align", [0, 1])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_affine_grid(tmp_path, size, align, dtype):
    rank = len(size) - 2
    theta = rand(size[0], rank, rank + 1, seed=20, lo=-2, hi=2, dtype=dtype)
    node = helper.make_node("AffineGrid", ["theta", "size"], ["y"], align_corners=align)
    proto = model(node, {"theta": theta}, {"size": np.array(size, np.int64)}, opset=20)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    check(tmp_path, proto, {"theta": theta}, atol=tol, rtol=tol, reference=dtype == np.float32)


def test_affine_grid_refuses_mismatched_theta(tmp_path):
    node = helper.make_node("AffineGrid", ["theta", "size"], ["y"])
    proto = model(node, {"theta": rand(1, 2, 3)}, {"size": np.array([1, 1, 2, 3, 4], np.int64)}, opset=20,
                  out_shape=[1, 2, 3, 4, 3])
    refuse(tmp_path, proto, ModelFormatError, "does not fit")


# -- Upsample, MaxUnpool ---------------------------------------------------------------------------

UPSAMPLE_CASES = [("nearest", (1, 2, 3, 4), [1.0, 1.0, 2.0, 3.0]), ("nearest", (2, 3, 5), [1.0, 2.0, 1.5]),
                  ("nearest", (1, 1, 3, 3), [1.0, 1.0, 2.5, 1.7]), ("linear", (1, 2, 3, 4), [1.0, 1.0, 2.0, 2.0]),
                  ("linear", (2, 1, 4, 3), [1.0, 1.0, 1.5, 3.0]), ("linear", (3, 4), [2.0, 1.5])]


@pytest.mark.parametrize("mode, shape, scales", UPSAMPLE_CASES)
@pytest.mark.parametrize("opset", [7, 9])
def test_upsample(tmp_path, mode, shape, scales, opset):
    x = rand(*shape, seed=21)
    if opset == 7:
        node = helper.make_node("Upsample", ["x"], ["y"], mode=mode, scales=scales)
        proto = model(node, {"x": x}, opset=7)
    else:
        node = helper.make_node("Upsample", ["x", "scales"], ["y"], mode=mode)
        proto = model(node, {"x": x}, {"scales": np.array(scales, np.float32)}, opset=9)
    check(tmp_path, proto, {"x": x})


def test_upsample_refuses_runtime_scales_and_bad_mode(tmp_path):
    node = helper.make_node("Upsample", ["x", "scales"], ["y"])
    feeds = {"x": rand(1, 1, 2, 2), "scales": np.ones(4, np.float32)}
    refuse(tmp_path, model(node, feeds, opset=9, out_shape=[1, 1, 2, 2]), UnsupportedModelError,
           "scales must be a constant")
    node = helper.make_node("Upsample", ["x"], ["y"], mode="cubic", scales=[1.0, 1.0, 2.0, 2.0])
    refuse(tmp_path, model(node, {"x": rand(1, 1, 2, 2)}, opset=7, out_shape=[1, 1, 4, 4]), ModelFormatError,
           "unknown mode")


def _pool_indices(shape, kernel, strides, out_spatial, seed):
    """Flat indices into [N, C, *out_spatial] that a max pooling over `kernel` windows could produce."""
    rng = np.random.default_rng(seed)
    n, c, *spatial = shape
    indices = np.zeros(shape, np.int64)
    for idx in np.ndindex(*shape):
        pos = [idx[2 + d] * strides[d] + rng.integers(kernel[d]) for d in range(len(spatial))]
        pos = [min(p, o - 1) for p, o in zip(pos, out_spatial)]
        indices[idx] = np.ravel_multi_index((idx[0], idx[1], *pos), (n, c, *out_spatial))
    return indices


@pytest.mark.parametrize("shape, kernel, strides, pads", [((1, 2, 3, 3), [2, 2], [2, 2], [0, 0, 0, 0]),
                                                          ((2, 3, 2, 4), [3, 2], [2, 2], [1, 0, 0, 0]),
                                                          ((1, 2, 5), [2], [1], [0, 0]),
                                                          ((1, 1, 2, 2, 3), [2, 2, 2], [2, 2, 2], [0] * 6)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_unpool(tmp_path, shape, kernel, strides, pads, dtype):
    dims = len(kernel)
    out = [(shape[2 + d] - 1) * strides[d] - pads[d] - pads[d + dims] + kernel[d] for d in range(dims)]
    x = rand(*shape, seed=22, dtype=dtype)
    indices = _pool_indices(shape, kernel, strides, out, 23)
    node = helper.make_node("MaxUnpool", ["x", "i"], ["y"], kernel_shape=kernel, strides=strides, pads=pads)
    want = None
    if dtype == np.float64:  # onnxruntime runs float32 only: the scatter in numpy
        want = np.zeros(int(np.prod(shape[:2] + tuple(out))), dtype)
        want[indices.reshape(-1)] = x.reshape(-1)
        want = {"y": want.reshape(shape[:2] + tuple(out))}
    check(tmp_path, model(node, {"x": x, "i": indices}, opset=11), {"x": x, "i": indices}, want=want, atol=0,
          rtol=0, reference=want is None)


def test_max_unpool_output_shape_pads_the_unpooled_image(tmp_path):
    x = rand(1, 2, 2, 2, seed=24)
    indices = _pool_indices(x.shape, [2, 2], [2, 2], [4, 4], 25)
    node = helper.make_node("MaxUnpool", ["x", "i", "shape"], ["y"], kernel_shape=[2, 2], strides=[2, 2])
    proto = model(node, {"x": x, "i": indices}, {"shape": np.array([1, 2, 5, 6], np.int64)}, opset=11,
                  out_shape=[1, 2, 5, 6])
    want = np.zeros((1, 2, 5, 6), np.float32)
    unpooled = np.zeros(32, np.float32)
    unpooled[indices.reshape(-1)] = x.reshape(-1)
    want[:, :, :4, :4] = unpooled.reshape(1, 2, 4, 4)
    check(tmp_path, proto, {"x": x, "i": indices}, want={"y": want}, reference=False, atol=0, rtol=0)


def test_max_unpool_index_out_of_range_stops_run(tmp_path):
    from edgewasm.errors import IndexOutOfRangeError
    x = rand(1, 1, 2, 2)
    indices = np.array([0, 1, 2, 99], np.int64).reshape(1, 1, 2, 2)
    node = helper.make_node("MaxUnpool", ["x", "i"], ["y"], kernel_shape=[2, 2], strides=[2, 2])
    path = tmp_path / "m.onnx"
    path.write_bytes(model(node, {"x": x, "i": indices}, opset=11).SerializeToString())
    edgewasm.compile(path, tmp_path / "bundle")
    with pytest.raises(IndexOutOfRangeError):
        edgewasm.load(tmp_path / "bundle").run({"x": x, "i": indices})


# -- DeformConv ------------------------------------------------------------------------------------

DEFORM_CASES = [
    ((1, 2, 5, 5), (3, 2, 2, 2), {}, 1, False, False),
    ((2, 4, 6, 5), (4, 2, 3, 3), {"pads": [1, 1, 1, 1], "group": 2}, 2, True, True),
    ((1, 4, 7, 6), (2, 4, 3, 2), {"strides": [2, 1], "dilations": [1, 2], "pads": [1, 0, 2, 1]}, 4, True, False),
    ((1, 3, 5, 6), (6, 1, 2, 3), {"group": 3, "strides": [1, 2]}, 3, False, True),
]


@pytest.mark.parametrize("x_shape, w_shape, attrs, offset_group, with_mask, with_bias", DEFORM_CASES)
@pytest.mark.parametrize("constant_weights", [False, True])
def test_deform_conv(tmp_path, x_shape, w_shape, attrs, offset_group, with_mask, with_bias, constant_weights):
    n, c, h, w = x_shape
    m, _, kh, kw = w_shape
    s, d, p = attrs.get("strides", [1, 1]), attrs.get("dilations", [1, 1]), attrs.get("pads", [0, 0, 0, 0])
    oh = (h + p[0] + p[2] - d[0] * (kh - 1) - 1) // s[0] + 1
    ow = (w + p[1] + p[3] - d[1] * (kw - 1) - 1) // s[1] + 1
    x, weights = rand(*x_shape, seed=30), rand(*w_shape, seed=31)
    offset = rand(n, offset_group * kh * kw * 2, oh, ow, seed=32, lo=-2.5, hi=2.5)
    feeds, inits, inputs = {"x": x, "offset": offset}, {}, ["x", "w", "offset"]
    (inits if constant_weights else feeds)["w"] = weights
    if with_bias:
        inits["b"] = rand(m, seed=33)
    if with_mask:
        feeds["mask"] = rand(n, offset_group * kh * kw, oh, ow, seed=34, lo=0, hi=1)
    inputs += ["b" if with_bias else "", "mask"] if with_mask else (["b"] if with_bias else [])
    node = helper.make_node("DeformConv", inputs, ["y"], kernel_shape=[kh, kw], offset_group=offset_group, **attrs)
    check(tmp_path, model(node, feeds, inits, opset=19), feeds)


def test_deform_conv_float64(tmp_path):
    x, weights = rand(1, 2, 4, 5, seed=35, dtype=np.float64), rand(2, 2, 2, 2, seed=36, dtype=np.float64)
    offset = rand(1, 8, 3, 4, seed=37, lo=-1.5, hi=1.5, dtype=np.float64)
    node = helper.make_node("DeformConv", ["x", "w", "offset"], ["y"])
    feeds = {"x": x, "w": weights, "offset": offset}
    proto = model(node, feeds, opset=19)  # onnx's reference rounds through float32: the definition in float64
    check(tmp_path, proto, feeds, want={"y": _deform_conv(x, weights, offset)}, atol=1e-12, rtol=1e-12,
          reference=False)


def _deform_conv(x, w, offset):
    """Stride 1, no padding, one group and offset group, no mask: the definition in float64."""
    n, c, h, wd = x.shape
    m, _, kh, kw = w.shape
    oh, ow = offset.shape[2:]
    y = np.zeros((n, m, oh, ow))

    def at(img, i, j):
        return img[:, i, j] if 0 <= i < h and 0 <= j < wd else np.zeros(c)

    for b_, i, j, ki, kj in np.ndindex(n, oh, ow, kh, kw):
        k = ki * kw + kj
        py, px = i + ki + offset[b_, 2 * k, i, j], j + kj + offset[b_, 2 * k + 1, i, j]
        y0, x0 = int(np.floor(py)), int(np.floor(px))
        ty, tx = py - y0, px - x0
        v = ((1 - ty) * ((1 - tx) * at(x[b_], y0, x0) + tx * at(x[b_], y0, x0 + 1)) +
             ty * ((1 - tx) * at(x[b_], y0 + 1, x0) + tx * at(x[b_], y0 + 1, x0 + 1)))
        y[b_, :, i, j] += w[:, :, ki, kj] @ v
    return y


def test_deform_conv_refuses_3d_and_bad_offsets(tmp_path):
    node = helper.make_node("DeformConv", ["x", "w", "offset"], ["y"])
    feeds = {"x": rand(1, 1, 3, 3, 3), "w": rand(1, 1, 2, 2, 2), "offset": rand(1, 24, 2, 2, 2)}
    refuse(tmp_path, model(node, feeds, opset=19, out_shape=[1, 1, 2, 2, 2]), UnsupportedModelError, "2-D")
    feeds = {"x": rand(1, 1, 3, 3), "w": rand(1, 1, 2, 2), "offset": rand(1, 6, 2, 2)}
    refuse(tmp_path, model(node, feeds, opset=19, out_shape=[1, 1, 2, 2]), ModelFormatError, "offset of shape")


# -- RoiAlign --------------------------------------------------------------------------------------

def _rois(count, h, w, scale, seed):
    rng = np.random.default_rng(seed)
    x1, y1 = rng.uniform(-2, w / scale, count), rng.uniform(-2, h / scale, count)
    return np.stack([x1, y1, x1 + rng.uniform(0.3, w / scale, count), y1 + rng.uniform(0.3, h / scale, count)],
                    axis=1).astype(np.float32)


@pytest.mark.parametrize("mode", ["avg", "max"])
@pytest.mark.parametrize("transform", ["half_pixel", "output_half_pixel"])
@pytest.mark.parametrize("ratio, constant_rois", [(2, False), (1, False), (3, True), (0, True)])
def test_roi_align(tmp_path, mode, transform, ratio, constant_rois):
    x = rand(2, 3, 8, 7, seed=40)
    rois = _rois(5, 8, 7, 0.5, seed=41)
    batch = np.array([0, 1, 1, 0, 1], np.int64)
    node = helper.make_node("RoiAlign", ["x", "rois", "b"], ["y"], mode=mode, output_height=3, output_width=2,
                            sampling_ratio=ratio, spatial_scale=0.5, coordinate_transformation_mode=transform)
    feeds, inits = {"x": x, "b": batch}, {}
    (inits if constant_rois else feeds)["rois"] = rois
    check(tmp_path, model(node, feeds, inits, opset=16), feeds)


def test_roi_align_opset10_defaults(tmp_path):
    x = rand(1, 2, 6, 6, seed=42)
    rois = _rois(3, 6, 6, 1.0, seed=43)
    node = helper.make_node("RoiAlign", ["x", "rois", "b"], ["y"], output_height=2, output_width=3, sampling_ratio=2)
    feeds = {"x": x, "rois": rois, "b": np.zeros(3, np.int64)}
    check(tmp_path, model(node, feeds, opset=10), feeds)


def test_roi_align_float64(tmp_path):
    x = rand(1, 2, 6, 5, seed=44, dtype=np.float64)
    rois = _rois(3, 6, 5, 1.0, seed=45).astype(np.float64)
    node = helper.make_node("RoiAlign", ["x", "rois", "b"], ["y"], output_height=2, output_width=2, sampling_ratio=2)
    feeds = {"x": x, "rois": rois, "b": np.zeros(3, np.int64)}
    check(tmp_path, model(node, feeds, opset=16), feeds, atol=1e-12, rtol=1e-12, reference=False)


def test_roi_align_refuses_adaptive_sampling_of_runtime_rois(tmp_path):
    node = helper.make_node("RoiAlign", ["x", "rois", "b"], ["y"], output_height=2, output_width=2)
    feeds = {"x": rand(1, 1, 4, 4), "rois": _rois(2, 4, 4, 1.0, 0), "b": np.zeros(2, np.int64)}
    refuse(tmp_path, model(node, feeds, opset=16), UnsupportedModelError, "sampling_ratio 0")


# -- MaxPool's Indices output ----------------------------------------------------------------------

MAXPOOL_CASES = [
    ((1, 2, 5, 5), {"kernel_shape": [2, 2]}),
    ((2, 3, 6, 7), {"kernel_shape": [3, 2], "strides": [2, 2], "pads": [1, 0, 1, 1]}),
    ((1, 2, 7, 6), {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}),
    ((1, 1, 7, 7), {"kernel_shape": [2, 2], "dilations": [2, 2], "pads": [1, 1, 0, 1]}),
    ((1, 2, 6, 5), {"kernel_shape": [3, 2], "auto_pad": "SAME_LOWER"}),
    ((1, 2, 9), {"kernel_shape": [3], "strides": [2], "pads": [1, 1]}),
    ((1, 2, 3, 4, 5), {"kernel_shape": [2, 2, 2], "strides": [1, 2, 2]}),
]


@pytest.mark.parametrize("shape, attrs", MAXPOOL_CASES)
@pytest.mark.parametrize("storage_order", [0, 1])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool_indices(tmp_path, shape, attrs, storage_order, dtype):
    if storage_order and len(shape) != 4:
        pytest.skip("onnxruntime takes storage_order 1 on 2-D pooling only")
    x = rand(*shape, seed=50, dtype=dtype)
    node = helper.make_node("MaxPool", ["x"], ["y", "i"], storage_order=storage_order, **attrs)
    check(tmp_path, model(node, {"x": x}, opset=12, outputs=("y", "i")), {"x": x}, atol=0, rtol=0)


def test_max_pool_indices_int8_and_ties(tmp_path):
    x = np.random.default_rng(51).integers(-3, 3, (1, 2, 6, 6)).astype(np.int8)  # many ties: the first wins
    node = helper.make_node("MaxPool", ["x"], ["y", "i"], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1])
    proto = model(node, {"x": x}, opset=12, outputs=("y", "i"))
    check(tmp_path, proto, {"x": x}, atol=0, rtol=0)


def test_max_pool_storage_order_without_indices(tmp_path):
    x = rand(1, 2, 5, 6, seed=52)
    node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 3], storage_order=1)
    check(tmp_path, model(node, {"x": x}, opset=12), {"x": x}, atol=0, rtol=0)


# -- MaxRoiPool ------------------------------------------------------------------------------------

@pytest.mark.parametrize("pooled, scale", [([2, 2], 1.0), ([3, 2], 0.5), ([1, 4], 0.25)])
def test_max_roi_pool(tmp_path, pooled, scale):
    x = rand(2, 3, 9, 8, seed=60)
    rng = np.random.default_rng(61)
    boxes = _rois(6, 9, 8, scale, seed=62)
    boxes[-1] = [9 / scale, 1, 12 / scale, 3]  # outside the image on the right: empty bins read 0
    boxes[0] = [-1, 1, 5, 7]  # halves when scaled by 0.5: rounded away from zero
    rois = np.concatenate([rng.integers(0, 2, (6, 1)).astype(np.float32), boxes], axis=1)
    node = helper.make_node("MaxRoiPool", ["x", "rois"], ["y"], pooled_shape=pooled, spatial_scale=scale)
    check(tmp_path, model(node, {"x": x, "rois": rois}, opset=17), {"x": x, "rois": rois})


def test_max_roi_pool_image_index_out_of_range_stops_run(tmp_path):
    from edgewasm.errors import IndexOutOfRangeError
    x, rois = rand(1, 1, 4, 4), np.array([[3, 0, 0, 2, 2]], np.float32)
    node = helper.make_node("MaxRoiPool", ["x", "rois"], ["y"], pooled_shape=[2, 2])
    path = tmp_path / "m.onnx"
    path.write_bytes(model(node, {"x": x, "rois": rois}, opset=17).SerializeToString())
    edgewasm.compile(path, tmp_path / "bundle")
    with pytest.raises(IndexOutOfRangeError):
        edgewasm.load(tmp_path / "bundle").run({"x": x, "rois": rois})


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.float16])
def test_upsample_nearest_moves_any_dtype(tmp_path, dtype):
    x = np.random.default_rng(63).integers(0, 100, (1, 2, 3, 4)).astype(dtype)
    node = helper.make_node("Upsample", ["x", "scales"], ["y"], mode="nearest")
    proto = model(node, {"x": x}, {"scales": np.array([1.0, 2.0, 1.5, 2.5], np.float32)}, opset=9)
    check(tmp_path, proto, {"x": x}, atol=0, rtol=0)


def test_upsample_linear_float16_computes_in_float32(tmp_path):
    x = rand(1, 2, 3, 4, seed=64, dtype=np.float16)
    node = helper.make_node("Upsample", ["x"], ["y"], mode="linear", scales=[1.0, 1.0, 2.0, 2.0])
    want = ort_outputs(model(node, {"x": x.astype(np.float32)}, opset=7), {"x": x.astype(np.float32)})
    check(tmp_path, model(node, {"x": x}, opset=7), {"x": x}, want={"y": want["y"].astype(np.float16)},
          atol=1e-3, rtol=1e-3, reference=False)


@pytest.mark.parametrize("mode", ["linear", "nearest"])
@pytest.mark.parametrize("padding", ["zeros", "border", "reflection"])
def test_grid_sample_1d_against_onnx_reference(tmp_path, mode, padding):
    x = rand(2, 3, 7, seed=65)  # onnxruntime samples 4-D and 5-D inputs only
    grid = rand(2, 5, 1, seed=66, lo=-1.6, hi=1.6)
    node = helper.make_node("GridSample", ["x", "grid"], ["y"], mode=mode, padding_mode=padding)
    proto = model(node, {"x": x, "grid": grid}, opset=20)
    check(tmp_path, proto, {"x": x, "grid": grid}, want={"y": reference_run(proto, {"x": x, "grid": grid})},
          reference=False)


def test_roi_align_batch_index_out_of_range_stops_run(tmp_path):
    from edgewasm.errors import IndexOutOfRangeError
    node = helper.make_node("RoiAlign", ["x", "rois", "b"], ["y"], output_height=2, output_width=2, sampling_ratio=1)
    feeds = {"x": rand(2, 1, 4, 4), "rois": _rois(2, 4, 4, 1.0, 0), "b": np.array([1, 2], np.int64)}
    path = tmp_path / "m.onnx"
    path.write_bytes(model(node, feeds, opset=16).SerializeToString())
    edgewasm.compile(path, tmp_path / "bundle")
    with pytest.raises(IndexOutOfRangeError):
        edgewasm.load(tmp_path / "bundle").run(feeds)


def _lp_pool_2d(x, k, s, p):
    n, c, h, w = x.shape
    oh, ow = (h - k[0]) // s[0] + 1, (w - k[1]) // s[1] + 1
    y = np.zeros((n, c, oh, ow))
    for i, j in np.ndindex(oh, ow):
        y[:, :, i, j] = (np.abs(x[:, :, i * s[0]:i * s[0] + k[0], j * s[1]:j * s[1] + k[1]]) ** p).sum(axis=(2, 3))
    return y ** (1.0 / p)


@pytest.mark.parametrize("p", [1, 2, 3])
def test_lp_pool_float64_computes_in_float64(tmp_path, p):
    x = rand(2, 3, 7, 6, seed=70, dtype=np.float64)
    node = helper.make_node("LpPool", ["x"], ["y"], kernel_shape=[3, 2], strides=[2, 1], p=p)
    check(tmp_path, model(node, {"x": x}, opset=18), {"x": x}, want={"y": _lp_pool_2d(x, [3, 2], [2, 1], p)},
          atol=1e-12, rtol=1e-11, reference=False)
    node = helper.make_node("GlobalLpPool", ["x"], ["y"], p=p)
    want = ((np.abs(x) ** p).sum(axis=(2, 3), keepdims=True)) ** (1.0 / p)
    (tmp_path / "g").mkdir()
    check(tmp_path / "g", model(node, {"x": x}, opset=17), {"x": x}, want={"y": want}, atol=1e-12, rtol=1e-11,
          reference=False)


@pytest.mark.parametrize("size", [2, 3])
def test_lrn_float64_computes_in_float64(tmp_path, size):
    x = rand(1, 5, 3, 4, seed=71, lo=-3, hi=3, dtype=np.float64)
    node = helper.make_node("LRN", ["x"], ["y"], size=size, alpha=0.02, beta=0.6, bias=1.5)
    x64 = x.astype(np.float64)
    lo, hi = (size - 1) // 2, size - 1 - (size - 1) // 2
    sums = np.stack([(x64[:, max(0, i - lo):min(5, i + hi + 1)] ** 2).sum(axis=1) for i in range(5)], axis=1)
    alpha, beta = float(np.float32(0.02)), float(np.float32(0.6))  # attributes are float32
    want = x64 / (1.5 + alpha / size * sums) ** beta
    check(tmp_path, model(node, {"x": x}, opset=13), {"x": x}, want={"y": want}, atol=1e-12, rtol=1e-11,
          reference=False)


@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
def test_grid_sample_zeros_padding_never_reads_infinities_outside(tmp_path, mode):
    x = rand(1, 1, 4, 4, seed=68)
    x[0, 0, 0, :] = np.inf  # the top row: taps clamped onto it would give 0 * inf
    grid = np.array([[[[0.0, -3.0], [0.5, -2.5], [0.0, 0.5]]]], np.float32)
    node = helper.make_node("GridSample", ["x", "grid"], ["y"], mode=mode, padding_mode="zeros")
    got = check(tmp_path, model(node, {"x": x, "grid": grid}, opset=16), {"x": x, "grid": grid})
    assert (got["y"][0, 0, 0, :2] == 0).all()


@pytest.mark.parametrize("dtype", [np.float64, np.int8])
def test_max_pool_other_dtypes_without_indices(tmp_path, dtype):
    x = (rand(1, 3, 7, 6, seed=53) * 100).astype(dtype)
    node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 2], strides=[2, 1], pads=[1, 1, 1, 0],
                            ceil_mode=1)
    check(tmp_path, model(node, {"x": x}, opset=12), {"x": x}, atol=0, rtol=0)


@pytest.mark.parametrize("attrs", [{"kernel_shape": [3, 3], "auto_pad": "SAME_LOWER", "strides": [2, 2]},
                                   {"kernel_shape": [2, 2], "storage_order": 1},
                                   {"kernel_shape": [3, 2], "strides": [2, 2], "ceil_mode": 1}])
def test_max_pool_of_a_constant_folds_like_onnxruntime(tmp_path, attrs):
    x = rand(1, 2, 7, 6, seed=54)
    node = helper.make_node("MaxPool", ["x"], ["y", "i"], **attrs)
    proto = model(node, {}, {"x": x}, opset=12, outputs=("y", "i"))
    check(tmp_path, proto, {}, atol=0, rtol=0, reference=False)
