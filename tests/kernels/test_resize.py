"""f32_resize_axis with the compile-time taps of edgewasm.backend.resize: bit-exact against the
tap-ordered reference, and the taps resample as onnx's reference Resize does."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import helper
from onnx.reference import ReferenceEvaluator

from edgewasm.backend.resize import axis_taps, nearest_indices

from . import reference_movement as ref
from .harness import KernelRunner, assert_same_bits, interesting_f32

f32 = np.float32


def resize_axis(x: np.ndarray, indices: np.ndarray, weights: np.ndarray) -> np.ndarray:
    outer, n_in, inner = x.shape
    n_out, taps = indices.shape
    table = np.concatenate([(indices * inner * 4).astype(np.int32), weights.astype(f32).view(np.int32)], axis=1)
    runner = KernelRunner("f32_resize_axis")
    x_off, t_off = runner.put_at_end(x), runner.put(table)
    y_off = runner.alloc(4 * outer * n_out * inner)
    runner.call("f32_resize_axis", outer, n_out, inner, taps, x_off, 4 * n_in * inner, t_off, y_off)
    return runner.read(y_off, (outer, n_out, inner))


@pytest.mark.parametrize("outer, n_in, inner, n_out, taps", [(1, 4, 1, 8, 2), (2, 5, 3, 3, 4), (3, 7, 9, 2, 6),
                                                              (1, 1, 5, 4, 2), (2, 6, 16, 11, 4)])
def test_matches_reference(outer, n_in, inner, n_out, taps):
    rng = np.random.default_rng([outer, n_in, inner])
    x = interesting_f32(rng, (outer, n_in, inner))
    indices = rng.integers(0, n_in, (n_out, taps))
    weights = rng.standard_normal((n_out, taps))
    assert_same_bits(resize_axis(x, indices, weights), ref.resize_axis(x, indices, weights))


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 3), st.integers(1, 9), st.integers(1, 11), st.integers(1, 9), st.integers(1, 5),
       st.integers(0, 2**32 - 1))
def test_property_any_sizes(outer, n_in, inner, n_out, taps, seed):
    rng = np.random.default_rng(seed)
    x = interesting_f32(rng, (outer, n_in, inner), scale=3.0)
    indices, weights = rng.integers(0, n_in, (n_out, taps)), rng.standard_normal((n_out, taps))
    assert_same_bits(resize_axis(x, indices, weights), ref.resize_axis(x, indices, weights))


def onnx_resize(x: np.ndarray, scale: float, **attrs) -> np.ndarray:
    """onnx's reference Resize along the last axis of x [n, w]."""
    node = helper.make_node("Resize", ["x", "", "scales"], ["y"], **attrs)
    graph = helper.make_graph([node], "r", [helper.make_tensor_value_info("x", 1, list(x.shape))],
                              [helper.make_tensor_value_info("y", 1, None)],
                              [helper.make_tensor("scales", 1, [2], [1.0, scale])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    return ReferenceEvaluator(model).run(None, {"x": x})[0]


@pytest.mark.parametrize("attrs", [
    dict(mode="linear"), dict(mode="linear", coordinate_transformation_mode="align_corners"),
    dict(mode="linear", coordinate_transformation_mode="half_pixel_symmetric"),
    dict(mode="linear", antialias=1), dict(mode="cubic"), dict(mode="cubic", cubic_coeff_a=-0.5, exclude_outside=1),
    dict(mode="cubic", antialias=1), dict(mode="nearest"),
    dict(mode="nearest", nearest_mode="ceil", coordinate_transformation_mode="asymmetric"),
    dict(mode="nearest", nearest_mode="round_prefer_ceil", coordinate_transformation_mode="pytorch_half_pixel"),
])
@pytest.mark.parametrize("n_in, scale", [(7, 2.0), (7, 0.6), (5, 1.7), (9, 0.34), (4, 3.0)])
def test_taps_resample_like_onnx_reference(attrs, n_in, scale):
    x = np.random.default_rng(n_in).standard_normal((3, n_in)).astype(f32)
    want = onnx_resize(x, scale, **attrs)
    n_out = want.shape[1]
    indices, weights = axis_taps(attrs["mode"], attrs.get("coordinate_transformation_mode", "half_pixel"),
                                 attrs.get("nearest_mode", "round_prefer_floor"), attrs.get("cubic_coeff_a", -0.75),
                                 bool(attrs.get("exclude_outside", 0)), bool(attrs.get("antialias", 0)),
                                 n_in, n_out, float(f32(scale)))
    if attrs["mode"] == "nearest":
        got = x[:, nearest_indices(indices, weights)]
    else:
        got = resize_axis(x[:, :, None], indices, weights)[:, :, 0]  # outer 3, inner 1
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("in_hw, out_hw, first", [((7, 9), (56, 72), 3), ((56, 72), (7, 9), 2), ((8, 8), (8, 40), 3)])
def test_resized_axes_run_in_the_order_of_least_kernel_work(tmp_path, in_hw, out_hw, first):
    """The innermost axis runs on scalars (nothing inside it to vectorize over), so a linear
    upsample resizes it first, while the tensor is small, and a downsample last; the compiled
    model still agrees with onnxruntime (its reference graph adds in the same order)."""
    import edgewasm
    from edgewasm.engines import within_contract
    from edgewasm.ops.resize import pass_order
    from onnx import TensorProto

    taps = [(axis, *axis_taps("linear", "half_pixel", "round_prefer_floor", -0.75, False, False, n, m, m / n))
            for axis, n, m in zip((2, 3), in_hw, out_hw) if n != m]
    assert pass_order(taps, (1, 3, *in_hw))[0][0] == first
    graph = helper.make_graph(
        [helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], mode="linear")], "resize",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, *in_hw])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, *out_hw])],
        [helper.make_tensor("sizes", TensorProto.INT64, [4], [1, 3, *out_hw])])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b")
    x = np.random.default_rng(1).standard_normal((1, 3, *in_hw)).astype(f32)
    want = ReferenceEvaluator(proto).run(None, {"x": x})[0]
    assert within_contract(edgewasm.load(tmp_path / "b").run({"x": x})["y"], want)
