"""QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, QLinearMatMul, MatMulInteger, ConvInteger
and QLinearConv in the forms onnxruntime's quantizers do not write (run-time scales and zero points,
per-axis on several axes, blocked, every zero-point dtype, int4/uint4/int2/uint2, float8, float16
scales, output_dtype, int8 activations, run-time weights): end to end through edgewasm.compile
against onnxruntime on the original graph, or onnx's reference evaluator where onnxruntime cannot
take the dtype (ml_dtypes feeds and outputs). Integers exactly; ties round half to even; values
out of range saturate. And the typed refusals."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import edgewasm
from edgewasm.errors import ModelFormatError, UnsupportedModelError

T = TensorProto
NP = {T.FLOAT: np.float32, T.FLOAT16: np.float16, T.BFLOAT16: ml_dtypes.bfloat16, T.INT8: np.int8,
      T.UINT8: np.uint8, T.INT16: np.int16, T.UINT16: np.uint16, T.INT32: np.int32, T.INT4: ml_dtypes.int4,
      T.UINT4: ml_dtypes.uint4, T.INT2: ml_dtypes.int2, T.UINT2: ml_dtypes.uint2,
      T.FLOAT8E4M3FN: ml_dtypes.float8_e4m3fn, T.FLOAT8E5M2: ml_dtypes.float8_e5m2,
      T.FLOAT8E4M3FNUZ: ml_dtypes.float8_e4m3fnuz, T.FLOAT8E5M2FNUZ: ml_dtypes.float8_e5m2fnuz,
      T.FLOAT4E2M1: ml_dtypes.float4_e2m1fn, T.FLOAT8E8M0: ml_dtypes.float8_e8m0fnu}
FLOAT8 = (T.FLOAT8E4M3FN, T.FLOAT8E5M2, T.FLOAT8E4M3FNUZ, T.FLOAT8E5M2FNUZ)
CODE = {np.dtype(v): k for k, v in NP.items()}
RANGES = {T.UINT8: (0, 255), T.INT8: (-128, 127), T.UINT16: (0, 65535), T.INT16: (-32768, 32767),
          T.UINT4: (0, 15), T.INT4: (-8, 7), T.UINT2: (0, 3), T.INT2: (-2, 1)}


def build(nodes, feeds: dict, inits: dict, outputs: list[tuple[str, int, tuple]], opset: int):
    inputs = [helper.make_tensor_value_info(k, CODE[v.dtype], list(v.shape)) for k, v in feeds.items()]
    outs = [helper.make_tensor_value_info(name, code, None if shape is None else list(shape))
            for name, code, shape in outputs]
    tensors = [numpy_helper.from_array(v, k) for k, v in inits.items()]
    graph = helper.make_graph(nodes, "g", inputs, outs, tensors)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)


def run_edgewasm(tmp_path, proto, feeds):
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b")
    return edgewasm.load(tmp_path / "b").run(feeds)


def expected(proto, feeds, oracle: str):
    names = [o.name for o in proto.graph.output]
    if oracle == "ort":
        session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
        return dict(zip(names, session.run(None, feeds)))
    return dict(zip(names, ReferenceEvaluator(proto).run(None, feeds)))


def check(tmp_path, nodes, feeds, inits, outputs, opset, oracle="ort"):
    proto = build(nodes, feeds, inits, outputs, opset)
    got, want = run_edgewasm(tmp_path, proto, feeds), expected(proto, feeds, oracle)
    for name, code, shape in outputs:
        g, w = np.asarray(got[name]), np.asarray(want[name])
        assert g.dtype == np.dtype(NP[code]), (name, g.dtype, NP[code])
        assert g.shape == tuple(shape) == w.shape, (name, g.shape, w.shape)
        if code in FLOAT8 + (T.FLOAT4E2M1,):  # every code exactly (NaN codes equal)
            np.testing.assert_array_equal(g.view(np.uint8), w.view(np.uint8), err_msg=name)
        elif np.dtype(NP[code]).kind == "f" or code == T.BFLOAT16:
            np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), rtol=1e-4, atol=1e-5)
        else:
            np.testing.assert_array_equal(g.astype(np.int64), w.astype(np.int64), err_msg=name)
    return got


def values(rng, shape, scale=1.0):
    """Normal values with ties (k + 0.5) and far out-of-range ones mixed in (in units of `scale`)."""
    x = rng.standard_normal(shape).astype(np.float32) * 40
    flat = x.reshape(-1)
    flat[::3] = (rng.integers(-300, 300, flat[::3].size) + 0.5).astype(np.float32)
    flat[1::7] = rng.choice(np.array([1e6, -1e6, 70000, -70000, 0.0, -0.0], np.float32), flat[1::7].size)
    flat[:2] = [1e9, -1e9]
    return (x * np.float32(scale)).astype(np.float32)


def q_node(opset_inputs=("x", "s", "z"), **attrs):
    return helper.make_node("QuantizeLinear", list(opset_inputs), ["y"], **attrs)


# ---------------------------------------------------------------- QuantizeLinear

@pytest.mark.parametrize("code", [T.UINT8, T.INT8, T.UINT16, T.INT16])
@pytest.mark.parametrize("runtime_scale", [False, True])
def test_quantize_per_tensor_every_integer_dtype(tmp_path, code, runtime_scale):
    rng = np.random.default_rng(code)
    x = values(rng, (3, 7), 0.25)
    s, z = np.array(0.25, np.float32), np.array(RANGES[code][0] // 2 + 3, NP[code])
    feeds, inits = ({"x": x, "s": s}, {"z": z}) if runtime_scale else ({"x": x}, {"s": s, "z": z})
    got = check(tmp_path, [q_node()], feeds, inits, [("y", code, x.shape)], 21)
    lo, hi = RANGES[code]
    assert got["y"].min() == lo and got["y"].max() == hi  # out-of-range values saturate


def test_quantize_rounds_half_to_even(tmp_path):
    x = np.array([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5, 254.5, 2.4999998, -127.5], np.float32)
    got = check(tmp_path, [q_node()], {"x": x, "s": np.array(1.0, np.float32)}, {"z": np.array(0, np.int8)},
                [("y", T.INT8, x.shape)], 13)
    assert got["y"].tolist() == [0, 2, 2, 4, 0, -2, -2, 127, 2, -128]


@pytest.mark.parametrize("code, opset", [(T.UINT8, 13), (T.INT8, 13), (T.INT16, 21), (T.UINT16, 21)])
@pytest.mark.parametrize("runtime_scale", [False, True])
def test_quantize_nan_and_infinities(tmp_path, code, opset, runtime_scale):
    """NaN gives the lowest code and infinities saturate, as onnxruntime."""
    x = np.array([[np.nan, np.inf, -np.inf], [-np.nan, 1e30, -0.0]], np.float32)
    s, z = np.array(0.5, np.float32), np.array(3, NP[code])
    feeds, inits = ({"x": x, "s": s}, {"z": z}) if runtime_scale else ({"x": x}, {"s": s, "z": z})
    got = check(tmp_path, [q_node()], feeds, inits, [("y", code, x.shape)], opset)
    lo, hi = RANGES[code]
    assert got["y"].tolist() == [[lo, hi, lo], [lo, hi, 3]]


@pytest.mark.parametrize("axis, shape", [(0, (4, 3, 2)), (1, (2, 5, 3)), (2, (2, 3, 4)), (-1, (3, 6)), (-2, (3, 2, 2))])
def test_quantize_per_axis(tmp_path, axis, shape):
    rng = np.random.default_rng(len(shape) + axis)
    x = values(rng, shape)
    n = shape[axis]
    s = (rng.random(n) * 2 + 0.1).astype(np.float32)
    z = rng.integers(0, 255, n).astype(np.uint8)
    check(tmp_path, [q_node(axis=axis)], {"x": x, "s": s}, {"z": z}, [("y", T.UINT8, shape)], 13)
    check(tmp_path / "const", [q_node(axis=axis)], {"x": x}, {"s": s, "z": z}, [("y", T.UINT8, shape)], 13)


def test_quantize_per_axis_without_zero_point_and_opset10(tmp_path):
    x = values(np.random.default_rng(1), (2, 3))
    check(tmp_path, [q_node(("x", "s"))], {"x": x, "s": np.array(0.5, np.float32)}, {}, [("y", T.UINT8, x.shape)], 10)
    s = np.array([0.5, 1.0, 2.0], np.float32)
    check(tmp_path / "axis", [q_node(("x", "s"), axis=1)], {"x": x, "s": s}, {}, [("y", T.UINT8, x.shape)], 13)


@pytest.mark.parametrize("axis, block, shape", [(0, 2, (4, 3)), (1, 2, (3, 6)), (1, 3, (2, 6, 2)), (-1, 4, (2, 8))])
@pytest.mark.parametrize("code", [T.INT8, T.UINT8, T.INT16])
def test_quantize_blocked(tmp_path, axis, block, shape, code):
    rng = np.random.default_rng(block + len(shape))
    x = values(rng, shape)
    sshape = list(shape)
    sshape[axis] = shape[axis] // block
    s = (rng.random(sshape) * 3 + 0.1).astype(np.float32)
    lo, hi = RANGES[code]
    z = rng.integers(max(lo, -100), min(hi, 100), sshape).astype(NP[code])
    check(tmp_path, [q_node(axis=axis, block_size=block)], {"x": x, "s": s}, {"z": z}, [("y", code, shape)], 21)


def test_quantize_blocked_with_a_remainder_block(tmp_path):
    """block_size not dividing the axis: the last block is short (onnx's reference)."""
    rng = np.random.default_rng(5)
    x = values(rng, (2, 7))
    s = (rng.random((2, 3)) + 0.5).astype(np.float32)
    z = rng.integers(-5, 5, (2, 3)).astype(np.int8)
    check(tmp_path, [q_node(axis=1, block_size=3)], {"x": x, "s": s}, {"z": z}, [("y", T.INT8, x.shape)], 21,
          oracle="reference")


@pytest.mark.parametrize("code", [T.INT8, T.UINT16, T.INT16])
def test_quantize_output_dtype_without_zero_point(tmp_path, code):
    x = values(np.random.default_rng(code), (5, 3))
    check(tmp_path, [q_node(("x", "s"), output_dtype=code)], {"x": x, "s": np.array(0.75, np.float32)}, {},
          [("y", code, x.shape)], 21)


@pytest.mark.parametrize("code", [T.INT4, T.UINT4, T.INT2, T.UINT2])
@pytest.mark.parametrize("form", ["tensor", "axis", "blocked"])
def test_quantize_sub_byte(tmp_path, code, form):
    rng = np.random.default_rng([code, len(form)])
    x = (rng.standard_normal((3, 4)) * 4).astype(np.float32)
    x[0, :] = [0.5, 1.5, -0.5, 100]
    lo, hi = RANGES[code]
    attrs, shape = {}, ()
    if form == "axis":
        attrs, shape = {"axis": 1}, (4,)
    elif form == "blocked":
        attrs, shape = {"axis": 1, "block_size": 2}, (3, 2)
    s = (rng.random(shape) + 0.5).astype(np.float32)
    z = rng.integers(lo, hi + 1, shape).astype(NP[code])
    got = check(tmp_path, [q_node(**attrs)], {"x": x, "s": s}, {"z": z}, [("y", code, x.shape)], 25,
                oracle="reference")
    assert got["y"].astype(int).min() >= lo and got["y"].astype(int).max() == hi


@pytest.mark.parametrize("code", FLOAT8)
@pytest.mark.parametrize("saturate", [1, 0])
@pytest.mark.parametrize("form", ["tensor", "axis"])
def test_quantize_float8(tmp_path, code, saturate, form):
    rng = np.random.default_rng([code, saturate, len(form)])
    x = (rng.standard_normal((3, 4)) * 50).astype(np.float32)
    x[0] = [1e6, -1e6, np.inf, np.nan]
    x[1, :2] = [0.0, -0.0]
    shape, attrs = ((), {}) if form == "tensor" else ((4,), {"axis": 1})
    s = (rng.random(shape) + 0.25).astype(np.float32)
    z = np.zeros(shape, NP[code])
    check(tmp_path, [q_node(saturate=saturate, **attrs)], {"x": x, "s": s}, {"z": z}, [("y", code, x.shape)], 21,
          oracle="reference")


def test_quantize_float4(tmp_path):
    x = np.array([[0.25, 0.75, 1.25, -2.5], [5.0, 7.0, 100.0, -1e9], [0.0, -0.0, 3.5, -4.5]], np.float32)
    for inits in ({"z": np.zeros((), ml_dtypes.float4_e2m1fn)}, {}):
        inputs = ("x", "s", "z") if inits else ("x", "s")
        attrs = {} if inits else {"output_dtype": T.FLOAT4E2M1}
        check(tmp_path / str(len(inits)), [q_node(inputs, **attrs)], {"x": x, "s": np.array(0.5, np.float32)}, inits,
              [("y", T.FLOAT4E2M1, x.shape)], 25, oracle="reference")


def test_quantize_float16_input_and_scale(tmp_path):
    rng = np.random.default_rng(16)
    x = (rng.standard_normal((4, 5)) * 30).astype(np.float16)
    s = (rng.random(5) + 0.25).astype(np.float16)
    z = rng.integers(-20, 20, 5).astype(np.int8)
    check(tmp_path, [q_node(axis=1)], {"x": x, "s": s}, {"z": z}, [("y", T.INT8, x.shape)], 21)


def test_quantize_precision_attribute(tmp_path):
    """precision=float32 on float16 x and scale: the division in float32 (opset 25)."""
    rng = np.random.default_rng(25)
    x = (rng.standard_normal((3, 4)) * 30).astype(np.float16)
    s = np.array(0.3, np.float16)
    check(tmp_path, [q_node(("x", "s", "z"), precision=T.FLOAT)], {"x": x, "s": s}, {"z": np.array(3, np.uint8)},
          [("y", T.UINT8, x.shape)], 25, oracle="reference")


# ---------------------------------------------------------------- DequantizeLinear

def dq_node(inputs=("x", "s", "z"), **attrs):
    return helper.make_node("DequantizeLinear", list(inputs), ["y"], **attrs)


@pytest.mark.parametrize("code", [T.UINT8, T.INT8, T.UINT16, T.INT16, T.INT32])
def test_dequantize_every_integer_dtype(tmp_path, code):
    rng = np.random.default_rng(code)
    info = np.iinfo(NP[code])
    x = rng.integers(max(info.min, -2**20), min(info.max, 2**20), (3, 5), endpoint=True).astype(NP[code])
    x.reshape(-1)[:2] = [info.min, info.max] if code != T.INT32 else [-2**20, 2**20]
    z = np.array(0 if code == T.INT32 else (info.min + info.max) // 3, NP[code])
    check(tmp_path, [dq_node()], {"x": x, "s": np.array(0.125, np.float32)}, {"z": z}, [("y", T.FLOAT, x.shape)],
          21)


@pytest.mark.parametrize("axis, shape", [(0, (3, 4)), (1, (2, 3, 4)), (-1, (2, 5)), (2, (1, 2, 3, 2))])
def test_dequantize_per_axis_run_time(tmp_path, axis, shape):
    rng = np.random.default_rng(axis + 7)
    x = rng.integers(-128, 128, shape).astype(np.int8)
    s = (rng.random(shape[axis]) + 0.01).astype(np.float32)
    z = rng.integers(-10, 10, shape[axis]).astype(np.int8)
    check(tmp_path, [dq_node(axis=axis)], {"x": x, "s": s, "z": z}, {}, [("y", T.FLOAT, shape)], 13)


@pytest.mark.parametrize("axis, block", [(0, 2), (1, 3), (-1, 1)])
def test_dequantize_blocked(tmp_path, axis, block):
    rng = np.random.default_rng(block)
    shape = (4, 6)
    x = rng.integers(0, 256, shape).astype(np.uint8)
    sshape = list(shape)
    sshape[axis] //= block
    s = (rng.random(sshape) + 0.01).astype(np.float32)
    z = rng.integers(0, 256, sshape).astype(np.uint8)
    check(tmp_path, [dq_node(axis=axis, block_size=block)], {"x": x, "s": s}, {"z": z}, [("y", T.FLOAT, shape)], 21)


def test_dequantize_float16_scale_and_output_dtype(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.integers(-128, 128, (3, 4)).astype(np.int8)
    check(tmp_path, [dq_node(axis=1)], {"x": x, "s": (rng.random(4) + 0.1).astype(np.float16)},
          {"z": np.array([1, 2, 3, 4], np.int8)}, [("y", T.FLOAT16, x.shape)], 21)
    check(tmp_path / "out", [dq_node(output_dtype=T.FLOAT16)], {"x": x, "s": np.array(0.5, np.float32)},
          {"z": np.array(-3, np.int8)}, [("y", T.FLOAT16, x.shape)], 23, oracle="reference")


@pytest.mark.parametrize("code", [T.INT4, T.UINT4, T.INT2, T.UINT2])
def test_dequantize_sub_byte(tmp_path, code):
    rng = np.random.default_rng(code)
    lo, hi = RANGES[code]
    x = rng.integers(lo, hi + 1, (3, 4)).astype(NP[code])
    s = (rng.random(4) + 0.5).astype(np.float32)
    z = rng.integers(lo, hi + 1, 4).astype(NP[code])
    check(tmp_path, [dq_node(axis=1)], {"x": x, "s": s}, {"z": z}, [("y", T.FLOAT, x.shape)], 25, oracle="reference")


@pytest.mark.parametrize("code", [T.FLOAT8E4M3FN, T.FLOAT8E5M2])
def test_dequantize_float8(tmp_path, code):
    x = np.array([[0.5, -1.75, 448 if code == T.FLOAT8E4M3FN else 57344, -0.0], [3, 0.015625, -6, 1]],
                 np.float32).astype(NP[code])
    check(tmp_path, [dq_node(("x", "s"))], {"x": x, "s": np.array(0.5, np.float32)}, {}, [("y", T.FLOAT, x.shape)], 21,
          oracle="reference")


# ---------------------------------------------------------------- DynamicQuantizeLinear

@pytest.mark.parametrize("kind", ["mixed", "positive", "negative", "zeros", "ties"])
def test_dynamic_quantize_linear(tmp_path, kind):
    rng = np.random.default_rng(len(kind))
    x = {"mixed": rng.standard_normal((3, 5)) * 3, "positive": rng.random((3, 5)) * 7 + 1,
         "negative": -rng.random((3, 5)) * 7 - 1, "zeros": np.zeros((3, 5)),
         "ties": np.array([[0, 255 / 2, 0.5, 1.5, 2.5] * 3]).reshape(3, 5)}[kind].astype(np.float32)
    node = helper.make_node("DynamicQuantizeLinear", ["x"], ["y", "ys", "yz"])
    check(tmp_path, [node], {"x": x}, {}, [("y", T.UINT8, x.shape), ("ys", T.FLOAT, ()), ("yz", T.UINT8, ())], 11)


# ---------------------------------------------------------------- integer matmuls

def spec_matmul_integer(a, b, za=None, zb=None):
    """The spec: A's zero point per tensor or per row ([M] read as [M, 1]), B's per tensor or per column."""
    a32, b32 = a.astype(np.int32), b.astype(np.int32)
    if za is not None:
        a32 = a32 - (za.astype(np.int32).reshape(-1, 1) if za.ndim == 1 and za.size > 1 else za.astype(np.int32))
    if zb is not None:
        b32 = b32 - zb.astype(np.int32)
    return np.matmul(a32, b32)


def spec_qlinear_matmul(a, a_s, a_z, b, b_s, b_z, y_s, y_z):
    row = (lambda v: v.reshape(-1, 1)) if a_s.ndim == 1 and a_s.size > 1 else (lambda v: v)
    acc = spec_matmul_integer(a, b, a_z, b_z)
    multiplier = (row(a_s) * b_s) / y_s  # in the scales' dtype
    info = np.iinfo(y_z.dtype)
    return np.clip(np.rint(acc * multiplier.astype(np.float64) + y_z), info.min, info.max).astype(y_z.dtype)


def check_spec(tmp_path, nodes, feeds, outputs, opset, want):
    proto = build(nodes, feeds, {}, outputs, opset)
    got = run_edgewasm(tmp_path, proto, feeds)
    for (name, code, shape), w in zip(outputs, want):
        assert got[name].dtype == np.dtype(NP[code]) and got[name].shape == tuple(shape) == w.shape
        np.testing.assert_array_equal(got[name], w)


@pytest.mark.parametrize("a_code, b_code", [(T.UINT8, T.UINT8), (T.INT8, T.INT8), (T.UINT8, T.INT8)])
@pytest.mark.parametrize("shapes", [((3, 4), (4, 5)), ((2, 3, 4), (4, 2)), ((2, 1, 3, 4), (3, 4, 2)), ((4,), (4, 3))])
def test_matmul_integer(tmp_path, a_code, b_code, shapes):
    rng = np.random.default_rng([a_code, b_code, len(shapes[0])])
    a_shape, b_shape = shapes
    a = rng.integers(*RANGES[a_code], a_shape, endpoint=True).astype(NP[a_code])
    b = rng.integers(*RANGES[b_code], b_shape, endpoint=True).astype(NP[b_code])
    out = np.matmul(a.astype(np.int32), b.astype(np.int32)).shape
    za = np.array(RANGES[a_code][0] + 100, NP[a_code])
    zb = rng.integers(-20, 20, b_shape[-1]).astype(NP[b_code]) if b_code == T.INT8 else np.array(7, np.uint8)
    node = helper.make_node("MatMulInteger", ["a", "b", "za", "zb"], ["y"])
    # onnxruntime takes a per-column B zero point only for a 2-D B
    check(tmp_path, [node], {"a": a, "b": b, "za": za, "zb": zb}, {}, [("y", T.INT32, out)], 10,
          oracle="ort" if len(b_shape) == 2 or zb.size == 1 else "reference")
    plain = helper.make_node("MatMulInteger", ["a", "b"], ["y"])
    check(tmp_path / "plain", [plain], {"a": a}, {"b": b}, [("y", T.INT32, out)], 10)


def test_matmul_integer_per_row_a_zero_point(tmp_path):
    """[M] and [D, M, 1] zero points of A are per row (the spec; onnxruntime takes only scalars)."""
    rng = np.random.default_rng(2)
    a = rng.integers(0, 256, (2, 3, 4)).astype(np.uint8)
    b = rng.integers(0, 256, (4, 3)).astype(np.uint8)
    node = helper.make_node("MatMulInteger", ["a", "b", "za"], ["y"])
    for za in (np.array([1, 100, 255], np.uint8), rng.integers(0, 256, (2, 3, 1)).astype(np.uint8)):
        check_spec(tmp_path / str(za.ndim), [node], {"a": a, "b": b, "za": za}, [("y", T.INT32, (2, 3, 3))], 10,
                   [spec_matmul_integer(a, b, za)])


@pytest.mark.parametrize("code", [T.UINT8, T.INT8])
@pytest.mark.parametrize("per_axis", [False, True])
@pytest.mark.parametrize("scale_code", [T.FLOAT, T.FLOAT16])
def test_qlinear_matmul(tmp_path, code, per_axis, scale_code):
    rng = np.random.default_rng([code, per_axis, scale_code])
    lo, hi = RANGES[code]
    a = rng.integers(lo, hi + 1, (2, 3, 4)).astype(NP[code])
    b = rng.integers(lo, hi + 1, (4, 5)).astype(NP[code])
    sdt = NP[scale_code]
    if per_axis:
        a_s, a_z = (rng.random(3) * 0.05 + 0.01).astype(sdt), rng.integers(lo, hi, 3).astype(NP[code])
        b_s, b_z = (rng.random(5) * 0.05 + 0.01).astype(sdt), rng.integers(lo, hi, 5).astype(NP[code])
    else:
        a_s, a_z = np.array(0.02, sdt), np.array(lo + 60, NP[code])
        b_s, b_z = np.array(0.03, sdt), np.array(lo + 130, NP[code])
    y_s, y_z = np.array(0.5, sdt), np.array(lo + 100, NP[code])
    node = helper.make_node("QLinearMatMul", ["a", "as", "az", "b", "bs", "bz", "ys", "yz"], ["y"])
    feeds = {"a": a, "as": a_s, "az": a_z, "b": b, "bs": b_s, "bz": b_z, "ys": y_s, "yz": y_z}
    if per_axis:  # per-row A: the spec (onnx's reference broadcasts [M] against K; onnxruntime refuses it)
        check_spec(tmp_path, [node], feeds, [("y", code, (2, 3, 5))], 21,
                   [spec_qlinear_matmul(a, a_s, a_z, b, b_s, b_z, y_s, y_z)])
    else:
        check(tmp_path, [node], feeds, {}, [("y", code, (2, 3, 5))], 21,
              oracle="ort" if scale_code == T.FLOAT else "reference")


def test_qlinear_matmul_saturates_and_ties(tmp_path):
    a = np.array([[1, 2, 3, 100]], np.uint8)
    b = np.array([[1], [1], [1], [1]], np.uint8)
    node = helper.make_node("QLinearMatMul", ["a", "as", "az", "b", "bs", "bz", "ys", "yz"], ["y"])
    for y_scale, want in ((4.0, [[26]]), (0.1, [[255]]), (1 / 8, [[255]])):
        feeds = {"a": a, "as": np.array(1.0, np.float32), "az": np.array(0, np.uint8), "b": b,
                 "bs": np.array(1.0, np.float32), "bz": np.array(0, np.uint8), "ys": np.array(y_scale, np.float32),
                 "yz": np.array(0, np.uint8)}
        got = check(tmp_path / str(y_scale), [node], feeds, {}, [("y", T.UINT8, (1, 1))], 10)
        assert got["y"].tolist() == want  # 106 / 4 = 26.5 -> 26 (half to even)


# ---------------------------------------------------------------- integer convolutions

CONVS = [
    ({"pads": [1, 1, 1, 1]}, (1, 2, 5, 5), (3, 2, 3, 3)),
    ({"strides": [2, 1], "dilations": [1, 2]}, (2, 2, 6, 7), (4, 2, 2, 3)),
    ({"group": 2, "auto_pad": "SAME_UPPER"}, (1, 4, 5, 4), (6, 2, 3, 3)),
    ({"pads": [0, 2]}, (2, 3, 9), (2, 3, 3)),
]


@pytest.mark.parametrize("attrs, xs, ws", CONVS)
@pytest.mark.parametrize("x_code, w_code", [(T.UINT8, T.UINT8), (T.UINT8, T.INT8), (T.INT8, T.INT8)])
def test_conv_integer(tmp_path, attrs, xs, ws, x_code, w_code):
    rng = np.random.default_rng([len(xs), x_code, w_code])
    x = rng.integers(*RANGES[x_code], xs, endpoint=True).astype(NP[x_code])
    w = rng.integers(*RANGES[w_code], ws, endpoint=True).astype(NP[w_code])
    xz = np.array(RANGES[x_code][0] + 90, NP[x_code])
    wz = np.array(3, NP[w_code])
    node = helper.make_node("ConvInteger", ["x", "w", "xz", "wz"], ["y"], **attrs)
    ref = ReferenceEvaluator(build([node], {"x": x, "w": w, "xz": xz, "wz": wz}, {}, [("y", T.INT32, None)], 10))
    out = ref.run(None, {"x": x, "w": w, "xz": xz, "wz": wz})[0].shape
    oracle = "ort" if x_code == T.UINT8 else "reference"  # onnxruntime's ConvInteger reads uint8 x only
    check(tmp_path, [node], {"x": x, "w": w, "xz": xz}, {"wz": wz}, [("y", T.INT32, out)], 10, oracle=oracle)


@pytest.mark.parametrize("attrs, xs, ws", CONVS[:3])
@pytest.mark.parametrize("code", [T.UINT8, T.INT8])
def test_qlinear_conv(tmp_path, attrs, xs, ws, code):
    rng = np.random.default_rng([len(xs), code, ws[0]])
    lo, hi = RANGES[code]
    x = rng.integers(lo, hi + 1, xs).astype(NP[code])
    w = rng.integers(-128, 128, ws).astype(np.int8)
    m = ws[0]
    feeds = {"x": x, "xs": np.array(0.05, np.float32), "xz": np.array(lo + 120, NP[code]), "w": w,
             "ws": (rng.random(m) * 0.01 + 0.001).astype(np.float32), "wz": np.zeros(m, np.int8),
             "ys": np.array(0.7, np.float32), "yz": np.array(lo + 128, NP[code]),
             "B": rng.integers(-2000, 2000, m).astype(np.int32)}
    node = helper.make_node("QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "B"], ["y"], **attrs)
    ref = ReferenceEvaluator(build([node], feeds, {}, [("y", code, None)], 10))
    out = ref.run(None, feeds)[0].shape
    check(tmp_path, [node], feeds, {}, [("y", code, out)], 10, oracle="reference")


# ---------------------------------------------------------------- refusals

def compile_error(tmp_path, nodes, feeds, inits, outputs, opset):
    proto = build(nodes, feeds, inits, outputs, opset)
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    return lambda: edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b")


def test_refusals(tmp_path):
    x = np.zeros((2, 3), np.float32)
    with pytest.raises(ModelFormatError, match="differs from the zero point"):
        compile_error(tmp_path, [q_node(output_dtype=T.INT8)], {"x": x, "s": np.array(1, np.float32)},
                      {"z": np.array(0, np.uint8)}, [("y", T.INT8, (2, 3))], 21)()
    with pytest.raises(ModelFormatError, match="neither per tensor nor per axis"):
        compile_error(tmp_path, [q_node(axis=0)], {"x": x, "s": np.ones(3, np.float32)},
                      {"z": np.zeros(3, np.uint8)}, [("y", T.UINT8, (2, 3))], 13)()
    with pytest.raises(ModelFormatError, match="does not block"):
        compile_error(tmp_path, [q_node(axis=1, block_size=2)], {"x": x, "s": np.ones((2, 1), np.float32)},
                      {"z": np.zeros((2, 1), np.uint8)}, [("y", T.UINT8, (2, 3))], 21)()
    q = np.zeros((2, 3), np.int8)
    with pytest.raises(ModelFormatError, match="zero point has dtype"):
        compile_error(tmp_path, [dq_node()], {"x": q, "s": np.array(1, np.float32)}, {"z": np.array(0, np.uint8)},
                      [("y", T.FLOAT, (2, 3))], 13)()
    with pytest.raises(ModelFormatError, match="does not multiply"):
        compile_error(tmp_path, [helper.make_node("MatMulInteger", ["a", "b"], ["y"])],
                      {"a": q, "b": np.zeros((2, 3), np.int8)}, {}, [("y", T.INT32, (2, 3))], 10)()
    with pytest.raises(ModelFormatError, match="group"):
        compile_error(tmp_path, [helper.make_node("ConvInteger", ["x", "w"], ["y"], group=2)],
                      {"x": np.zeros((1, 3, 4, 4), np.uint8), "w": np.zeros((2, 3, 1, 1), np.uint8)}, {},
                      [("y", T.INT32, (1, 2, 4, 4))], 10)()


# ---------------------------------------------------------------- more dtypes

def test_quantize_and_dequantize_bfloat16(tmp_path):
    rng = np.random.default_rng(16)
    x = (rng.standard_normal((3, 4)) * 30).astype(ml_dtypes.bfloat16)
    s = (rng.random(4) + 0.25).astype(ml_dtypes.bfloat16)
    z = np.array([0, 1, -1, 5], np.int8)
    # the division in float32, as for float16 (onnxruntime's policy; onnx's reference divides in bfloat16)
    want = np.clip(np.rint(x.astype(np.float32) / s.astype(np.float32)) + z, -128, 127).astype(np.int8)
    check_spec(tmp_path / "q", [q_node(("x", "s", "zc"), axis=1)], {"x": x, "s": s, "zc": z},
               [("y", T.INT8, x.shape)], 21, [want])
    q = rng.integers(-128, 128, (3, 4)).astype(np.int8)
    check(tmp_path / "dq", [dq_node(axis=1)], {"x": q, "s": s}, {"z": np.array([0, 1, -1, 5], np.int8)},
          [("y", T.BFLOAT16, q.shape)], 21, oracle="reference")


@pytest.mark.parametrize("code", FLOAT8)
def test_dequantize_every_float8_with_its_zero_zero_point(tmp_path, code):
    rng = np.random.default_rng(code)
    x = (rng.standard_normal((2, 6)) * 8).astype(NP[code])
    s = (rng.random((2, 3)) + 0.1).astype(np.float32)
    check(tmp_path, [dq_node(axis=1, block_size=2)], {"x": x, "s": s}, {"z": np.zeros((2, 3), NP[code])},
          [("y", T.FLOAT, x.shape)], 21, oracle="reference")


def test_dequantize_int32_with_a_run_time_scale(tmp_path):
    x = np.array([[-2**31, 2**31 - 1, 0], [123456789, -7, 1]], np.int32)
    check(tmp_path, [dq_node(("x", "s"), axis=0)], {"x": x, "s": np.array([1e-6, 3.0], np.float32)}, {},
          [("y", T.FLOAT, x.shape)], 13)


def test_refusals_of_unsupported_dtypes(tmp_path):
    a = np.zeros((2, 3), ml_dtypes.float8_e4m3fn)
    node = helper.make_node("QLinearMatMul", ["a", "as", "az", "b", "bs", "bz", "ys", "yz"], ["y"])
    feeds = {"a": a, "as": np.array(1, np.float32), "az": np.zeros((), ml_dtypes.float8_e4m3fn),
             "b": np.zeros((3, 2), ml_dtypes.float8_e4m3fn), "bs": np.array(1, np.float32),
             "bz": np.zeros((), ml_dtypes.float8_e4m3fn), "ys": np.array(1, np.float32),
             "yz": np.zeros((), ml_dtypes.float8_e4m3fn)}
    with pytest.raises(UnsupportedModelError, match="read int8 or uint8"):
        compile_error(tmp_path, [node], feeds, {}, [("y", T.FLOAT8E4M3FN, (2, 2))], 21)()


@pytest.mark.parametrize("form", ["int4 blocked", "int8 float16 scale per axis", "float8", "uint4 output_dtype"])
def test_dequantize_constant_weights_feed_a_matmul(tmp_path, form):
    """Weight-only quantization: DequantizeLinear of constant weights (folded at import) -> MatMul."""
    rng = np.random.default_rng(len(form))
    out, opset, zp, attrs = T.FLOAT, 21, None, {}
    if form == "int4 blocked":
        w = rng.integers(-8, 8, (4, 6)).astype(ml_dtypes.int4)
        s, zp = (rng.random((2, 6)) + 0.1).astype(np.float32), rng.integers(-8, 8, (2, 6)).astype(ml_dtypes.int4)
        attrs = {"axis": 0, "block_size": 2}
    elif form == "int8 float16 scale per axis":
        w, s, out = rng.integers(-128, 128, (4, 6)).astype(np.int8), (rng.random(6) + 0.1).astype(np.float16), T.FLOAT16
        zp, attrs = rng.integers(-5, 5, 6).astype(np.int8), {"axis": 1}
    elif form == "float8":
        w, s = rng.standard_normal((4, 6)).astype(ml_dtypes.float8_e4m3fn), np.array(0.5, np.float32)
    else:
        w, s, zp = rng.integers(0, 16, (4, 6)).astype(ml_dtypes.uint4), np.array(0.25, np.float32), np.array(8, ml_dtypes.uint4)
        attrs, out, opset = {"output_dtype": T.FLOAT16}, T.FLOAT16, 23
    dq = helper.make_node("DequantizeLinear", ["w", "s"] + (["z"] if zp is not None else []), ["wf"], **attrs)
    x = rng.standard_normal((2, 4)).astype(NP[out])
    inits = {"w": w, "s": s, **({"z": zp} if zp is not None else {})}
    check(tmp_path, [dq, helper.make_node("MatMul", ["x", "wf"], ["y"])], {"x": x}, inits, [("y", out, (2, 6))], opset,
          oracle="reference")


@pytest.mark.parametrize("runtime", [True, False])
def test_float8_e8m0_scales(tmp_path, runtime):
    """Power-of-two scales (float8_e8m0fnu, opset 25) with output_dtype."""
    rng = np.random.default_rng(int(runtime))
    s = np.array([0.25, 2.0, 8.0], ml_dtypes.float8_e8m0fnu)
    q = rng.integers(-128, 128, (2, 3)).astype(np.int8)
    feeds, inits = ({"x": q, "s": s}, {}) if runtime else ({"x": q}, {"s": s})
    check(tmp_path / "dq", [dq_node(("x", "s"), axis=1, output_dtype=T.FLOAT)], feeds, inits,
          [("y", T.FLOAT, q.shape)], 25, oracle="reference")
    x = (rng.standard_normal((2, 3)) * 20).astype(np.float32)
    feeds, inits = ({"x": x, "s": s}, {}) if runtime else ({"x": x}, {"s": s})
    check(tmp_path / "q", [q_node(("x", "s"), axis=1, output_dtype=T.INT8)], feeds, inits,
          [("y", T.INT8, x.shape)], 25, oracle="reference")


@pytest.mark.parametrize("scale, opset", [(np.array(2.0, np.float32), 21), (np.array([2, 4], np.int32), 23)])
def test_quantize_int32_input(tmp_path, scale, opset):
    """int32 x (and an int32 scale, opset 23) divide in float64 as numpy does; ties to even."""
    x = np.array([[-1000, 7, 5, 3, 2**30], [-2**31, 9, 15, -5, -7]], np.int32)
    check(tmp_path, [q_node(axis=0)], {"x": x, "s": scale}, {"z": np.array([1, -1], np.int8)},
          [("y", T.INT8, x.shape)], opset, oracle="reference")
