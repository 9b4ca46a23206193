"""x_reverse_sequence (wasm-kernels/x_reverse_sequence.wat): the first lens[b] time steps of every
batch item reversed, the rest copied, rows moved bit for bit, either axis order; lengths outside
[0, time] return 1 before anything is written."""

from __future__ import annotations

import numpy as np
import pytest

from .harness import KernelRunner


def reference(x: np.ndarray, lens, time_axis: int) -> np.ndarray:
    """numpy: ONNX ReverseSequence with (time, batch) = axes (0, 1) or (1, 0)."""
    y = x.copy()
    for b, length in enumerate(lens):
        index = (slice(None), b) if time_axis == 0 else (b, slice(None))
        y[index][:length] = x[index][:length][::-1]
    return y


def run(x: np.ndarray, lens, time_axis: int) -> tuple[int, np.ndarray]:
    runner = KernelRunner("x_reverse_sequence")
    time, batch = (x.shape[0], x.shape[1]) if time_axis == 0 else (x.shape[1], x.shape[0])
    row = x.itemsize * int(np.prod(x.shape[2:]))
    steps = (x.shape[1] * row, row)
    t_step, b_step = (steps[0], steps[1]) if time_axis == 0 else (steps[1], steps[0])
    x_off = runner.put_at_end(x)
    y_init = np.full(x.shape, 0x5A, np.uint8) if x.dtype == np.uint8 else np.zeros_like(x)
    y_off = runner.put(y_init)
    lens_off = runner.put(np.asarray(lens, np.int64), misalign=2)
    status = runner.call("x_reverse_sequence", batch, time, b_step, t_step, row, lens_off, x_off, y_off)
    return status, runner.read(y_off, x.shape, x.dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.uint8, np.float16])
@pytest.mark.parametrize("time_axis", [0, 1])
@pytest.mark.parametrize("rest", [(), (1,), (3,), (2, 5)])
def test_reverses_the_first_lens_steps(dtype, time_axis, rest):
    rng = np.random.default_rng(len(rest) + time_axis)
    time, batch = 7, 5
    shape = ((time, batch) if time_axis == 0 else (batch, time)) + rest
    x = rng.integers(0, 2**16, shape).astype(np.uint16).view(np.float16) if dtype == np.float16 else \
        rng.integers(0, 250, shape).astype(dtype)
    lens = [7, 0, 1, 4, 2]
    status, y = run(x, lens, time_axis)
    assert status == 0
    assert y.tobytes() == reference(x, lens, time_axis).tobytes()


def test_float_bits_are_kept():
    x = np.random.default_rng(3).integers(0, 2**32, (4, 3, 2), dtype=np.uint64).astype(np.uint32).view(np.float32)
    status, y = run(x, [4, 3, 2], 0)
    assert status == 0 and y.view(np.uint32).tolist() == reference(x, [4, 3, 2], 0).view(np.uint32).tolist()


@pytest.mark.parametrize("lens", [[8, 1, 1], [1, -1, 1], [1, 1, 2**40]])
def test_a_length_out_of_range_returns_1_before_writing(lens):
    x = np.arange(7 * 3, dtype=np.uint8).reshape(7, 3)
    status, y = run(x, lens, 0)
    assert status == 1
    assert (y == 0x5A).all()
