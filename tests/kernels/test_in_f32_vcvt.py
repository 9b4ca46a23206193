"""in_f32_vcvt.wat: the input conversions to f32 give numpy's (and ml_dtypes') casts bit for bit,
for any n, without touching a byte past dst[n - 1]."""

import ml_dtypes
import numpy as np
import pytest

from .harness import KernelRunner

GUARD = 32


def run(kernel: str, src: np.ndarray, n: int, *lead) -> tuple[np.ndarray, np.ndarray]:
    """Run `kernel(n, *lead, src, dst)`; returns (result bits, the guard bytes around dst)."""
    runner = KernelRunner(kernel, pages=8)
    args = [runner.put(np.ascontiguousarray(a)) for a in lead]
    src_at = runner.put(src, misalign=2)
    sentinel = np.full(n * 4 + 2 * GUARD, 0xA5, np.uint8)
    region = runner.put(sentinel, misalign=4)
    runner.call(kernel, n, *args, src_at, region + GUARD)
    after = np.frombuffer(runner.read_bytes(region, sentinel.size), np.uint8)
    return after[GUARD:GUARD + n * 4].view("<u4"), np.concatenate([after[:GUARD], after[GUARD + n * 4:]])


def f32_bits(values: np.ndarray) -> np.ndarray:
    return values.astype(np.float32).view(np.uint32)


def test_f64_rounds_to_nearest_even_as_numpy():
    rng = np.random.default_rng(0)
    f32 = rng.integers(0, 2**32, 4000, dtype=np.uint64).astype(np.uint32).view(np.float32).astype(np.float64)
    ties = np.nextafter(f32, np.inf)  # every double just above an f32 and the halfway points between them
    halfway = (f32[:-1] + np.nextafter(f32[:-1].astype(np.float32), np.float32(np.inf)).astype(np.float64)) / 2
    special = np.array([0.0, -0.0, np.inf, -np.inf, 3.4028235677973366e38, 3.4028236e38, 1e39, -1e39,
                        1e-46, 7e-46, 1.401298464324817e-45, 5e-324, 2.0**-149 * 1.5, 2.0**-150])
    doubles = np.concatenate([f32, ties, halfway, special, rng.standard_normal(999) * 1e3]).astype("<f8")
    doubles = doubles[np.isfinite(doubles) | np.isinf(doubles)]
    bits, guard = run("f64_f32_vcvt", doubles, doubles.size)
    expected = f32_bits(doubles)
    nan = np.isnan(doubles)
    assert np.array_equal(bits[~nan], expected[~nan])
    assert (guard == 0xA5).all()


def test_f64_nan_stays_nan():
    doubles = np.array([np.nan, 1.0, -np.nan, 2.0, np.nan, -3.0, np.nan], "<f8")
    bits, _ = run("f64_f32_vcvt", doubles, doubles.size)
    assert np.array_equal(np.isnan(bits.view(np.float32)), np.isnan(doubles))


@pytest.mark.parametrize("n", [0, 1, 3, 4, 5, 7, 8, 9, 17])
def test_f64_odd_lengths_write_exactly_n_floats(n):
    doubles = np.random.default_rng(n).standard_normal(n).astype("<f8") * 1e4
    bits, guard = run("f64_f32_vcvt", doubles, n)
    np.testing.assert_array_equal(bits, f32_bits(doubles))
    assert (guard == 0xA5).all()


def test_bf16_every_value_exactly():
    raw = np.arange(65536, dtype=np.uint16)
    bits, guard = run("bf16_f32_vcvt", raw.astype("<u2"), raw.size)
    np.testing.assert_array_equal(bits, raw.view(ml_dtypes.bfloat16).astype(np.float32).view(np.uint32))
    assert (guard == 0xA5).all()


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 15, 16, 17])
def test_bf16_odd_lengths(n):
    raw = np.random.default_rng(n).integers(0, 65536, n).astype("<u2")
    bits, guard = run("bf16_f32_vcvt", raw, n)
    np.testing.assert_array_equal(bits, raw.view(ml_dtypes.bfloat16).astype(np.float32).view(np.uint32))
    assert (guard == 0xA5).all()


@pytest.mark.parametrize("n", [0, 1, 3, 4, 5, 8, 255, 256, 259])
def test_lut_reads_one_entry_per_byte(n):
    rng = np.random.default_rng(n)
    lut = rng.standard_normal(256).astype("<f4")
    codes = rng.integers(0, 256, n).astype(np.uint8)
    codes[: min(n, 2)] = [0, 255][: min(n, 2)]
    bits, guard = run("x8_f32_vlut", codes, n, lut)
    np.testing.assert_array_equal(bits, lut[codes].view(np.uint32))
    assert (guard == 0xA5).all()


@pytest.mark.parametrize("dtype", ["int8", "uint8", "float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz",
                                   "float8_e8m0fnu", "float4_e2m1fn", "int4", "uint4", "int2", "uint2"])
def test_compiled_tables_decode_every_byte_as_ml_dtypes(dtype):
    """ops/cast.py's table through the kernel: every byte, a sub-byte dtype's unused high bits ignored."""
    from edgewasm.ops.cast import SUB_BYTE_MASKS, lookup_table

    codes = np.arange(256, dtype=np.uint8)
    kind = np.dtype(dtype) if dtype in ("int8", "uint8") else np.dtype(getattr(ml_dtypes, dtype))
    expected = (codes & SUB_BYTE_MASKS.get(dtype, 0xFF)).view(kind).astype(np.float32)
    bits, _ = run("x8_f32_vlut", codes, codes.size, lookup_table(dtype))
    nan = np.isnan(expected)
    assert np.array_equal(bits[~nan], expected[~nan].view(np.uint32))
    assert np.isnan(bits.view(np.float32)[nan]).all()
    if dtype in SUB_BYTE_MASKS:  # spot check against the values ONNX defines, not only ml_dtypes
        width = 4 if "4" in dtype else 2
        signed = dtype.startswith("int")
        if dtype != "float4_e2m1fn":
            low = codes & ((1 << width) - 1)
            want = np.where(signed & (low >= 1 << (width - 1)), low.astype(int) - (1 << width), low)
            assert np.array_equal(bits.view(np.float32), want.astype(np.float32))
