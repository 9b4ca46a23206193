"""wasm-kernels/x_canonical_nan.wat: every NaN becomes its dtype's canonical quiet NaN, every other
bit pattern (infinities, zeros, subnormals, numbers) stays, for each dtype and tail length, at
unaligned offsets and at the very end of memory, against a scalar numpy reference on the raw bits."""

from __future__ import annotations

import numpy as np
import pytest

from tests.kernels.harness import KernelRunner

# dtype: (kernel, extra args, unsigned view, (exponent/all-ones threshold above which |bits| is NaN), canonical)
CASES = {
    "float32": ("f32_canonical_nan", (), np.uint32, 0x7F800000, 0x7FC00000),
    "float64": ("f64_canonical_nan", (), np.uint64, 0x7FF0000000000000, 0x7FF8000000000000),
    "float16": ("x16_canonical_nan", (0x7C00, 0x7E00), np.uint16, 0x7C00, 0x7E00),
    "bfloat16": ("x16_canonical_nan", (0x7F80, 0x7FC0), np.uint16, 0x7F80, 0x7FC0),
}


def reference(bits: np.ndarray, above: int, canon: int) -> np.ndarray:
    """Scalar reference: one element at a time, on the unsigned bits."""
    width = bits.dtype.itemsize * 8
    magnitude_mask = (1 << (width - 1)) - 1
    out = bits.copy()
    for i in range(bits.size):
        if int(bits[i]) & magnitude_mask > above:
            out[i] = canon
    return out


def special_bits(view, above: int, canon: int, rng, n: int) -> np.ndarray:
    """n elements mixing NaNs of both signs and many payloads with infinities, zeros, extremes, randoms."""
    width = np.dtype(view).itemsize * 8
    sign = 1 << (width - 1)
    top = (1 << width) - 1
    specials = [0, sign, above, above | sign, above + 1, (above + 1) | sign, canon, canon | sign, top,
                sign - 1, 1, sign | 1, above - 1, (above - 1) | sign]
    values = rng.integers(0, top, size=n, dtype=np.uint64, endpoint=True).astype(view)
    picks = rng.integers(0, len(specials), size=n)
    use = rng.random(n) < 0.5
    values[use] = np.array(specials, dtype=np.uint64).astype(view)[picks[use]]
    return values


@pytest.mark.parametrize("dtype", list(CASES))
@pytest.mark.parametrize("n", [0, 1, 3, 7, 8, 15, 16, 17, 33, 1000, 1031])
def test_canonical_nan_matches_scalar_reference(dtype, n):
    kernel, extra, view, above, canon = CASES[dtype]
    rng = np.random.default_rng(n * 7 + len(dtype))
    bits = special_bits(view, above, canon, rng, n)
    runner = KernelRunner(kernel)
    offset = runner.put(bits, misalign=4 if np.dtype(view).itemsize >= 4 else 1)
    guard = runner.put(np.full(16, 0xA5, np.uint8), misalign=0)
    runner.call(kernel, offset, n, *extra)
    np.testing.assert_array_equal(runner.read(offset, (n,), view), reference(bits, above, canon))
    assert runner.read_bytes(guard, 16) == bytes([0xA5]) * 16


@pytest.mark.parametrize("dtype", list(CASES))
def test_canonical_nan_at_end_of_memory(dtype):
    kernel, extra, view, above, canon = CASES[dtype]
    bits = special_bits(view, above, canon, np.random.default_rng(3), 45)
    runner = KernelRunner(kernel)
    offset = runner.put_at_end(bits)
    runner.call(kernel, offset, bits.size, *extra)
    np.testing.assert_array_equal(runner.read(offset, (bits.size,), view), reference(bits, above, canon))


def test_canonical_nan_uses_the_dtype_meaning_of_nan():
    """The thresholds are the dtypes' own: ml_dtypes agrees on which bit patterns are NaN."""
    import ml_dtypes

    for dtype, (kernel, extra, view, above, canon) in CASES.items():
        np_dtype = np.dtype(getattr(ml_dtypes, dtype, None) or dtype)
        width = np.dtype(view).itemsize * 8
        patterns = (np.arange(1 << 16, dtype=np.uint64) if width <= 16 else
                    np.array([above - 1, above, above + 1, canon, (1 << width) - 1], dtype=np.uint64))
        patterns = patterns[patterns < (1 << width)].astype(view)
        is_nan = np.isnan(patterns.view(np_dtype).astype(np.float64))
        np.testing.assert_array_equal(reference(patterns, above, canon) != patterns, is_nan & (patterns != canon))
        assert np.isnan(np.array([canon], view).view(np_dtype).astype(np.float64))[0]
        assert canon >> (width - 1) == 0  # positive sign
