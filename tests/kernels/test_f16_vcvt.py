"""f16_f32_vcvt: every one of the 65536 halves converts exactly as numpy's float16 -> float32 cast
(NaN payloads included), for any n, without touching a byte past dst[n - 1]."""

import numpy as np
import pytest

from .harness import KernelRunner


def convert(halves: np.ndarray, guard: int = 32) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run the kernel; returns (result bits, bytes before dst, bytes after dst)."""
    runner = KernelRunner("f16_f32_vcvt", pages=8)
    src = runner.put(halves.astype("<u2"), misalign=2)
    sentinel = np.full(halves.size * 4 + 2 * guard, 0xA5, np.uint8)
    region = runner.put(sentinel, misalign=4)
    runner.call("f16_f32_vcvt", halves.size, src, region + guard)
    after = np.frombuffer(runner.read_bytes(region, sentinel.size), np.uint8)
    bits = after[guard:guard + halves.size * 4].view("<u4")
    return bits, after[:guard], after[guard + halves.size * 4:]


def test_all_halves_exactly():
    halves = np.arange(65536, dtype=np.uint16)
    bits, before, after = convert(halves)
    expected = halves.view(np.float16).astype(np.float32).view(np.uint32)
    mismatched = np.flatnonzero(bits != expected)
    assert mismatched.size == 0, [(hex(halves[i]), hex(bits[i]), hex(expected[i])) for i in mismatched[:5]]
    assert (before == 0xA5).all() and (after == 0xA5).all()


@pytest.mark.parametrize("n", [0, 1, 3, 7, 8, 9, 15, 16, 17, 31])
def test_odd_lengths_write_exactly_n_floats(n):
    rng = np.random.default_rng(n)
    halves = rng.integers(0, 65536, n).astype(np.uint16)
    bits, before, after = convert(halves)
    np.testing.assert_array_equal(bits, halves.view(np.float16).astype(np.float32).view(np.uint32))
    assert (before == 0xA5).all() and (after == 0xA5).all()


@pytest.mark.parametrize("n", [1, 5, 8, 13, 64, 67])
def test_widening_in_place(n):
    """src = dst + 2n: the halves sit in the upper half of the f32 array they become."""
    halves = np.random.default_rng(n).integers(0, 65536, n).astype(np.uint16)
    runner = KernelRunner("f16_f32_vcvt")
    dst = runner.put(np.zeros(n, np.float32))
    runner.write(dst + 2 * n, halves.astype("<u2"))
    runner.call("f16_f32_vcvt", n, dst + 2 * n, dst)
    np.testing.assert_array_equal(runner.read(dst, n, np.uint32),
                                  halves.view(np.float16).astype(np.float32).view(np.uint32))
