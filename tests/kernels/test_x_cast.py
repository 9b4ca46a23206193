"""x_cast (wasm-kernels/x_cast.wat): every cast into a low-precision dtype (float8 x5, float4_e2m1fn,
int4, uint4, int2, uint2) from every dtype, bit for bit against onnx.reference's Cast (ml_dtypes and
onnx.numpy_helper; e8m0 by ONNX's table as onnxruntime computes it, checked against onnxruntime and, for
normal values, onnx.reference), with saturate on and off and every e8m0 round_mode: all 256/16/4 codes of the
low-precision sources, all 65536 float16/bfloat16 codes, and float32/float64 values at and around every
tie, subnormals, NaN of both signs, +-Inf, +-0 and the range limits."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto
from onnx.reference.ops.op_cast import cast_to

from edgewasm import dtypes
from tests.kernels.harness import KernelRunner

LOW = dtypes.LOW_PRECISION
SUB_BYTE = dtypes.SUB_BYTE_BITS
SUB_BYTE_INTS = ("int4", "uint4", "int2", "uint2")
SOURCES = list(dtypes.CAST_CODES)
ROUND_MODES = {"up": 0, "down": 1, "nearest": 2}


def codes_of(dtype: str) -> np.ndarray:
    bits = SUB_BYTE.get(dtype, 8)
    return np.arange(1 << bits, dtype=np.uint8).view(dtypes.numpy_dtype(dtype))


def probe_values() -> np.ndarray:
    """float64 values around every representable value and midpoint of every low-precision float
    format (ties exactly, and a hair either side at float32 and float64 precision), plus specials."""
    points = []
    for dtype in LOW:
        if dtype in ("int4", "uint4", "int2", "uint2"):
            continue
        v = codes_of(dtype).astype(np.float64)
        v = np.unique(v[np.isfinite(v)])
        mids = (v[1:] + v[:-1]) / 2
        points += [v, mids, v * 2, v * 1.5]
    base = np.concatenate(points + [np.arange(-20, 21, 0.25), [2.0 ** k for k in range(-140, 130)]])
    base = np.concatenate([base, -base])
    with np.errstate(over="ignore"):
        f32 = base.astype(np.float32)
    near32 = np.concatenate([np.nextafter(f32, np.float32(np.inf)), np.nextafter(f32, np.float32(-np.inf))])
    near64 = np.concatenate([np.nextafter(base, np.inf), np.nextafter(base, -np.inf)])
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 1e-45, -1e-45, 3.4e38, -3.4e38,
                         1e300, -1e300, 5e-324, 2.0 ** 127 * 1.5, 2.0 ** 127 * 1.75, 2.0 ** 128, 448, 464, 465,
                         480, 57344, 61440, 61441, 240, 247, 248, 256, 6, 6.5, 7, 100, 1e10, -1e10])
    return np.concatenate([base, near32.astype(np.float64), near64, specials])


def source_values(dtype: str) -> np.ndarray:
    if dtype in LOW:
        return codes_of(dtype)
    if dtype in ("float16", "bfloat16"):
        return np.arange(65536, dtype=np.uint16).view(dtypes.numpy_dtype(dtype))
    if dtype == "float64":
        return probe_values()
    if dtype == "float32":
        with np.errstate(over="ignore"):
            return probe_values().astype(np.float32)
    if dtype == "bool":
        return np.array([False, True, True, False])
    info = np.iinfo(dtype)
    ints = [info.min, info.max, info.min + 1, info.max - 1, 0] + list(range(-300, 300)) + \
        [2 ** k + d for k in range(4, 64) for d in (-1, 0, 1)]
    ints = [i for i in ints if info.min <= i <= info.max]
    return np.array(ints, dtype=object).astype(dtype)


def run_cast(x: np.ndarray, source: str, target: str, flags: int) -> np.ndarray:
    runner = KernelRunner("x_cast", pages=32)
    px = runner.put(x, misalign=3)
    py = runner.alloc(x.size, misalign=1)
    runner.call("x_cast", x.size, px, dtypes.CAST_CODES[source], py, dtypes.CAST_CODES[target], flags)
    return runner.read(py, (x.size,), np.uint8)


def reference(x: np.ndarray, target: str, saturate: int, round_mode: str) -> np.ndarray:
    if target in SUB_BYTE_INTS and dtypes.is_float(x.dtype.name):
        # float -> sub-byte integer: in range, onnx.reference (ml_dtypes) truncates; out of range ONNX
        # leaves it undefined and ml_dtypes gives 0, while onnx's own test data and onnxruntime wrap
        # the truncated value (-9.0 -> int4 7), which x_cast does: checked against both.
        wide = x.astype(np.float64)
        with np.errstate(invalid="ignore"):
            truncated = np.where(np.isnan(wide), 0, np.trunc(wide))
            as_int = np.where(truncated >= 2.0 ** 63, np.iinfo(np.int64).max,  # saturating, as i64.trunc_sat
                              np.where(truncated < -2.0 ** 63, np.iinfo(np.int64).min,
                                       np.clip(truncated, -2.0 ** 63, 2.0 ** 62).astype(np.int64)))
        wrapped = (as_int & ((1 << SUB_BYTE[target]) - 1)).astype(np.uint8)
        info = {"int4": (-8, 7), "uint4": (0, 15), "int2": (-2, 1), "uint2": (0, 3)}[target]
        inside = (truncated >= info[0]) & (truncated <= info[1])
        onnx_ref = _reference(x, target, saturate, round_mode).view(np.uint8) & ((1 << SUB_BYTE[target]) - 1)
        assert np.array_equal(wrapped[inside], onnx_ref[inside])
        return wrapped.view(dtypes.numpy_dtype(target))
    return _reference(x, target, saturate, round_mode)


def e8m0_spec(x: np.ndarray, saturate: int, round_mode: str) -> np.ndarray:
    """ONNX's e8m0 table, as onnxruntime computes it, from the value rounded to float32."""
    with np.errstate(all="ignore"):
        f = x.astype(np.float32)
    b = f.view(np.uint32).astype(np.int64)
    e = b >> 23 & 0xFF
    m = np.where(e == 0, b << 1, b) & 0x7FFFFF
    up = {"up": m != 0, "down": np.zeros(m.shape, bool), "nearest": (m & 0x400000) != 0}[round_mode]
    code = e + up
    low = (b < 0x00400000) | (b >= 0x80000000)
    high = b > 0x7F000000
    code = np.where(low, 0 if saturate else 0xFF, np.where(high, 0xFE if saturate else 0xFF, code))
    return np.where(np.isnan(f), 0xFF, code).astype(np.uint8).view(dtypes.numpy_dtype("float8_e8m0fnu"))


def _reference(x: np.ndarray, target: str, saturate: int, round_mode: str) -> np.ndarray:
    if target == "float8_e8m0fnu":
        want = e8m0_spec(x, saturate, round_mode)
        with np.errstate(all="ignore"):
            f = x.astype(np.float32)
        normal = (f >= 2.0 ** -126) & (f <= 2.0 ** 126)  # where onnx.reference's to_float8e8m0 agrees
        ref = np.asarray(cast_to(f, TensorProto.FLOAT8E8M0, bool(saturate), round_mode)).view(np.uint8)
        assert np.array_equal(ref[normal], want.view(np.uint8)[normal])
        return want
    with np.errstate(all="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(cast_to(x, dtypes.to_onnx(target), bool(saturate), round_mode)).reshape(-1)


def check(source: str, target: str, saturate: int, round_mode: str = "up") -> None:
    x = source_values(source)
    flags = saturate | ROUND_MODES[round_mode] << 1
    got = run_cast(x, source, target, flags)
    want = reference(x, target, saturate, round_mode).view(np.uint8) & ((1 << SUB_BYTE.get(target, 8)) - 1)
    assert not np.any(got & ~np.uint8((1 << SUB_BYTE.get(target, 8)) - 1)), "high bits must stay zero"
    bad = np.flatnonzero(got != want)
    if bad.size:
        i = bad[0]
        raise AssertionError(f"{source} -> {target} (saturate={saturate}, round_mode={round_mode}): {bad.size} of "
                             f"{x.size} differ; first {x[i]!r} ({x.view(np.uint8).reshape(x.size, -1)[i].tobytes().hex()}):"
                             f" got {got[i]:#04x}, expected {want[i]:#04x}")


@pytest.mark.parametrize("target", [t for t in LOW if t != "float8_e8m0fnu"])
@pytest.mark.parametrize("source", SOURCES)
def test_cast_into_low_precision(source, target):
    if source == target:
        pytest.skip("a cast to the same dtype is a view (ops/cast.py), never this kernel")
    for saturate in (1, 0):
        check(source, target, saturate)


@pytest.mark.parametrize("source", SOURCES)
def test_cast_into_e8m0(source):
    if source == "float8_e8m0fnu":
        pytest.skip("a cast to the same dtype is a view (ops/cast.py), never this kernel")
    for saturate in (1, 0):
        for mode in ROUND_MODES:
            check(source, "float8_e8m0fnu", saturate, mode)


def test_empty_writes_nothing():
    runner = KernelRunner("x_cast")
    py = runner.put(np.full(4, 0xAB, np.uint8))
    runner.call("x_cast", 0, runner.put(np.ones(4, np.float32)), 0, py, 13, 1)
    assert runner.read(py, (4,), np.uint8).tolist() == [0xAB] * 4


@pytest.mark.parametrize("source", ["float32", "float16"])
def test_e8m0_matches_onnxruntime(source):
    """The e8m0 rule is onnxruntime's, on every float16 code and float32 probes (specials, subnormals,
    ties, random bit patterns)."""
    import onnxruntime as ort
    from onnx import helper

    from edgewasm.conformance import _from_ort

    rng = np.random.default_rng(1)
    x = source_values(source)
    if source == "float32":
        x = np.concatenate([x, rng.integers(0, 2 ** 32, 50000, dtype=np.uint64).astype(np.uint32).view(np.float32),
                            np.arange(0, 1 << 23, 997, dtype=np.uint32).view(np.float32)])
    for saturate in (1, 0):
        for mode in ROUND_MODES:
            graph = helper.make_graph(
                [helper.make_node("Cast", ["x"], ["y"], to=TensorProto.FLOAT8E8M0, saturate=saturate, round_mode=mode)],
                "g", [helper.make_tensor_value_info("x", dtypes.to_onnx(source), [x.size])],
                [helper.make_tensor_value_info("y", TensorProto.FLOAT8E8M0, [x.size])])
            proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 25)], ir_version=11)
            session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
            want = _from_ort(session.run_with_ort_values(["y"], {"x": ort.OrtValue.ortvalue_from_numpy(x)})[0])
            got = run_cast(x, source, "float8_e8m0fnu", saturate | ROUND_MODES[mode] << 1)
            bad = np.flatnonzero(got != want.view(np.uint8))
            assert not bad.size, (mode, saturate, x[bad[:5]], got[bad[:5]], want.view(np.uint8)[bad[:5]])
