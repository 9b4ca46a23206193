"""x_fill (wasm-kernels/x_fill.wat): count copies of one element of any size, bits kept exactly,
nothing written outside the output, the value read from anywhere in memory."""

from __future__ import annotations

import numpy as np
import pytest

from .harness import KernelRunner

CANARY = 0xA5


def fill(count: int, value: bytes) -> tuple[bytes, bytes, bytes]:
    """(the bytes before y, y, the bytes after y) once x_fill has run over canary-filled memory."""
    runner = KernelRunner("x_fill", pages=8)
    size = len(value)
    value_at = runner.put(np.frombuffer(value, np.uint8), misalign=3)
    total = max(count, 0) * size
    start = runner.put(np.full(total + 64, CANARY, np.uint8), misalign=1)
    y = start + 32
    runner.call("x_fill", y, count, size, value_at)
    return runner.read_bytes(start, 32), runner.read_bytes(y, total), runner.read_bytes(y + total, 32)


@pytest.mark.parametrize("size", [1, 2, 4, 8, 3])
@pytest.mark.parametrize("count", [1, 2, 3, 7, 1000, 4097, 16384 // 4 + 5, 50001])
def test_fill_writes_count_copies_and_nothing_else(size, count):
    rng = np.random.default_rng(size * 1000 + count)
    value = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
    before, y, after = fill(count, value)
    assert y == value * count
    assert before == bytes([CANARY]) * 32 and after == bytes([CANARY]) * 32


def test_fill_keeps_nan_payloads_and_signed_zero():
    for bits in (0x7FC01234, 0xFF800001, 0x80000000):
        value = np.array([bits], np.uint32).tobytes()
        _, y, _ = fill(37, value)
        assert (np.frombuffer(y, np.uint32) == bits).all()


@pytest.mark.parametrize("count", [0, -3])
def test_fill_of_nothing_writes_nothing(count):
    before, y, after = fill(count, b"\x01\x02\x03\x04")
    assert y == b"" and before == after == bytes([CANARY]) * 32
