"""x8_lut (byte -> byte table lookup, the integer form of an elementwise op between statically
quantized tensors): equal to numpy's table[x] for every byte value, odd lengths (the scalar tail),
any alignment and in place; nothing outside y is written and nothing past x or the table is read."""

import numpy as np
import pytest

from .harness import KernelRunner

GUARD = 16


def scalar_lut(table: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The reference, one byte at a time."""
    return np.array([table[int(v)] for v in x], np.uint8)


def run_lut(table: np.ndarray, x: np.ndarray, misalign: int = 4) -> np.ndarray:
    runner = KernelRunner("x8_lut")
    x_off = runner.put(x, misalign=misalign)
    y_off = runner.put(np.full(x.size + 2 * GUARD, 0xA5, np.uint8), misalign=(misalign + 7) % 16)
    table_off = runner.put_at_end(table)  # a read past the table traps
    runner.call("x8_lut", x.size, table_off, x_off, y_off + GUARD)
    got = np.frombuffer(runner.read_bytes(y_off, x.size + 2 * GUARD), np.uint8)
    assert (got[:GUARD] == 0xA5).all() and (got[GUARD + x.size:] == 0xA5).all(), "wrote outside y"
    return got[GUARD:GUARD + x.size]


@pytest.mark.parametrize("n", [0, 1, 15, 16, 17, 31, 256, 300, 1029])
@pytest.mark.parametrize("misalign", [0, 3])
def test_lut_matches_the_scalar_reference(n, misalign):
    rng = np.random.default_rng([n, misalign])
    table = rng.integers(0, 256, 256).astype(np.uint8)
    x = rng.integers(0, 256, n).astype(np.uint8)
    np.testing.assert_array_equal(run_lut(table, x, misalign), scalar_lut(table, x))


def test_every_byte_value_selects_its_own_entry():
    """Each of the 256 indices (all 16 chunks, both halves of each) in vector and tail positions."""
    table = np.random.default_rng(7).permutation(256).astype(np.uint8)
    x = np.concatenate([np.arange(256), np.arange(255, -1, -1), [0, 128, 255]]).astype(np.uint8)
    np.testing.assert_array_equal(run_lut(table, x), scalar_lut(table, x))


def test_in_place():
    runner = KernelRunner("x8_lut")
    rng = np.random.default_rng(3)
    table, x = rng.integers(0, 256, 256).astype(np.uint8), rng.integers(0, 256, 53).astype(np.uint8)
    off = runner.put(x)
    runner.call("x8_lut", x.size, runner.put(table), off, off)
    np.testing.assert_array_equal(np.frombuffer(runner.read_bytes(off, x.size), np.uint8), scalar_lut(table, x))


def test_nonpositive_n_writes_nothing():
    runner = KernelRunner("x8_lut")
    y = runner.put(np.full(32, 0x5A, np.uint8))
    runner.call("x8_lut", -5, runner.put(np.zeros(256, np.uint8)), runner.put(np.zeros(32, np.uint8)), y)
    assert runner.read_bytes(y, 32) == b"\x5a" * 32
