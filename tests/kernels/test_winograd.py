"""f32_winograd_input_2x2_3x3 / f32_winograd_output_2x2_3x3: bit-exact against the numpy
references for odd image sizes, padding, channel tails and tile blocks; nothing written outside
the outputs; and the whole transform-GEMM-transform chain against a float64 convolution."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from . import reference_winograd as wref
from .harness import KernelRunner, assert_same_bits, interesting_f32

INF = float("inf")
GUARD = 64
INPUT, OUTPUT = "f32_winograd_input_2x2_3x3", "f32_winograd_output_2x2_3x3"


def ceil4(n):
    return -(-n // 4) * 4


def run_input(x, pad_top, pad_left, tiles_h, tiles_w, tile, count, x_at_end=True):
    h, w, c = x.shape
    runner = KernelRunner(INPUT, pages=32)
    x_off = runner.put_at_end(x) if x_at_end else runner.put(x)  # an over-read past X traps
    zero = runner.put(np.zeros(ceil4(c), np.float32))
    v_stride = 4 * ceil4(c) + 8  # rows with a gap
    v_plane = count * v_stride + 12
    v_bytes = 15 * v_plane + count * v_stride
    guard = np.random.default_rng(c).integers(0, 256, v_bytes + 2 * GUARD, np.uint8)
    region = runner.put(guard)
    v_off = region + GUARD
    runner.call(INPUT, tile, count, tiles_w, c, x_off, h, w, pad_top, pad_left, zero, v_off, v_stride, v_plane)
    after = np.frombuffer(runner.read_bytes(region, guard.size), np.uint8).copy()
    v = np.empty((16, count, ceil4(c)), np.float32)
    for xi in range(16):
        for n in range(count):
            start = GUARD + xi * v_plane + n * v_stride
            v[xi, n] = after[start:start + 4 * ceil4(c)].view(np.float32)
            after[start:start + 4 * ceil4(c)] = guard[start:start + 4 * ceil4(c)]
    np.testing.assert_array_equal(after, guard, err_msg="wrote outside V's rows")
    return v


@pytest.mark.parametrize("h, w, c, pad", [(4, 4, 4, 0), (5, 7, 3, 1), (6, 6, 8, 1), (7, 5, 13, 2),
                                          (3, 3, 1, 1), (9, 4, 6, 0), (8, 8, 17, 1)])
def test_input_transform_bit_exact(h, w, c, pad):
    rng = np.random.default_rng([h, w, c, pad])
    x = interesting_f32(rng, (h, w, c))
    out_h, out_w = h + 2 * pad - 2, w + 2 * pad - 2
    tiles_h, tiles_w = -(-out_h // 2), -(-out_w // 2)
    tiles = tiles_h * tiles_w
    expected = wref.input_transform(wref.input_tiles(x, pad, pad, tiles_h, tiles_w))
    v = run_input(x, pad, pad, tiles_h, tiles_w, 0, tiles)
    assert_same_bits(v[:, :, :c], expected, "V")
    assert not v[:, :, c:].view(np.uint32).any(), "lanes past c must be +0.0"
    # a block in the middle of the image starts at the right tile
    if tiles > 2:
        v = run_input(x, pad, pad, tiles_h, tiles_w, 1, tiles - 2)
        assert_same_bits(v[:, :, :c], expected[:, 1:tiles - 1], "V block")


def run_output(m, bias, out_h, out_w, tiles_w, tile, lo, hi):
    _, count, k = m.shape
    runner = KernelRunner(OUTPUT, pages=32)
    m_stride = 4 * ceil4(k) + 4
    m_plane = count * m_stride + 20
    buf = np.full((15 * m_plane + count * m_stride) // 4, np.nan, np.float32)  # lanes past k: NaN
    for xi in range(16):
        for n in range(count):
            start = (xi * m_plane + n * m_stride) // 4
            buf[start:start + k] = m[xi, n]
    m_off = runner.put(buf)
    b_off = runner.put(np.concatenate([bias, np.full(ceil4(k) - k, np.nan, np.float32)]))
    guard = np.random.default_rng(k).integers(0, 256, out_h * out_w * k * 4 + 2 * GUARD, np.uint8)
    region = runner.put(guard)
    runner.call(OUTPUT, tile, count, tiles_w, k, m_off, m_stride, m_plane, b_off, region + GUARD, out_h, out_w,
                float(lo), float(hi))
    after = np.frombuffer(runner.read_bytes(region, guard.size), np.uint8)
    np.testing.assert_array_equal(after[:GUARD], guard[:GUARD])
    np.testing.assert_array_equal(after[-GUARD:], guard[-GUARD:])
    return after[GUARD:-GUARD].copy().view(np.float32).reshape(out_h, out_w, k), guard[GUARD:-GUARD].view(np.float32).reshape(out_h, out_w, k)


@pytest.mark.parametrize("out_h, out_w, k", [(2, 2, 4), (3, 5, 3), (4, 4, 8), (5, 3, 13), (1, 1, 1), (6, 7, 9)])
@pytest.mark.parametrize("lo, hi", [(-INF, INF), (0.0, 6.0)])
def test_output_transform_bit_exact(out_h, out_w, k, lo, hi):
    rng = np.random.default_rng([out_h, out_w, k])
    tiles_h, tiles_w = -(-out_h // 2), -(-out_w // 2)
    tiles = tiles_h * tiles_w
    m = interesting_f32(rng, (16, tiles, k))
    bias = rng.standard_normal(k).astype(np.float32)
    full = wref.output_transform(m, bias, lo, hi).reshape(tiles_h, tiles_w, 2, 2, k)
    expected = full.transpose(0, 2, 1, 3, 4).reshape(2 * tiles_h, 2 * tiles_w, k)[:out_h, :out_w]
    y, _ = run_output(m, bias, out_h, out_w, tiles_w, 0, lo, hi)
    assert_same_bits(y, expected, "Y")
    # a block of tiles writes exactly its tiles' pixels
    if tiles > 2:
        y, before = run_output(m[:, 1:tiles - 1], bias, out_h, out_w, tiles_w, 1, lo, hi)
        written = np.zeros((2 * tiles_h, 2 * tiles_w), bool).reshape(tiles_h, 2, tiles_w, 2)
        written = written.transpose(0, 2, 1, 3).reshape(tiles, 2, 2)
        written[1:tiles - 1] = True
        written = written.reshape(tiles_h, tiles_w, 2, 2).transpose(0, 2, 1, 3).reshape(2 * tiles_h, 2 * tiles_w)
        written = written[:out_h, :out_w]
        assert_same_bits(y[written], expected[written], "Y block")
        assert y[~written].tobytes() == before[~written].tobytes(), "wrote another block's pixels"


def winograd_u(w):
    """U [16, c, k] from w [k, c, 3, 3] as init() computes it (f32_winograd_weights_3x3)."""
    from edgewasm.backend.convolution import winograd_weights
    return winograd_weights(w)


@settings(max_examples=25, deadline=None)
@given(h=st.integers(1, 9), w=st.integers(1, 9), c=st.integers(1, 11), k=st.integers(1, 11),
       pads=st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(0, 2), st.integers(0, 2)),
       seed=st.integers(0, 2**32 - 1))
def test_chain_matches_float64_convolution(h, w, c, k, pads, seed):
    """input transform + 16 GEMMs + output transform (the kernels and f32_gemm_4x8) equal the
    reference chain bit for bit and a float64 direct convolution within a few ulps."""
    from edgewasm.backend.packing import pack_f32_gemm
    pt, pl, pb, pr = pads
    out_h, out_w = h + pt + pb - 2, w + pl + pr - 2
    if out_h < 1 or out_w < 1:
        return
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((h, w, c)).astype(np.float32)
    wt = rng.standard_normal((k, c, 3, 3)).astype(np.float32)
    bias = rng.standard_normal(k).astype(np.float32)
    u = winograd_u(wt)
    tiles_h, tiles_w = -(-out_h // 2), -(-out_w // 2)
    tiles = tiles_h * tiles_w
    runner = KernelRunner(INPUT, OUTPUT, "f32_gemm_4x8", pages=32)
    x_off, zero = runner.put(x), runner.put(np.zeros(ceil4(c), np.float32))
    vs, ms = 4 * ceil4(c), 4 * ceil4(k)
    v_off, m_off = runner.alloc(16 * tiles * vs), runner.alloc(16 * tiles * ms)
    packed = [runner.put(pack_f32_gemm(u[xi], np.zeros(k, np.float32))) for xi in range(16)]
    b_off = runner.put(np.concatenate([bias, np.zeros(ceil4(k) - k, np.float32)]))
    y_off = runner.alloc(out_h * out_w * k * 4)
    runner.call(INPUT, 0, tiles, tiles_w, c, x_off, h, w, pt, pl, zero, v_off, vs, tiles * vs)
    for xi in range(16):
        runner.call("f32_gemm_4x8", tiles, k, c, v_off + xi * tiles * vs, vs, packed[xi], m_off + xi * tiles * ms, ms,
                    -INF, INF)
    runner.call(OUTPUT, 0, tiles, tiles_w, k, m_off, ms, tiles * ms, b_off, y_off, out_h, out_w, -INF, INF)
    y = runner.read(y_off, (out_h, out_w, k))
    assert_same_bits(y, wref.conv3x3(x, u, bias, pt, pl, out_h, out_w, -INF, INF), "chain")
    big = np.zeros((h + pt + pb + 2, w + pl + pr + 2, c))
    big[pt:pt + h, pl:pl + w] = x
    exact = np.zeros((out_h, out_w, k)) + bias
    for dy in range(3):
        for dx in range(3):
            exact += big[dy:dy + out_h, dx:dx + out_w] @ wt[:, :, dy, dx].astype(np.float64).T
    scale = np.abs(big[:out_h + 2, :out_w + 2]).max() * np.abs(wt).sum(axis=(1, 2, 3)).max() + 1
    assert np.abs(y - exact).max() <= 1e-5 * scale


@pytest.mark.parametrize("c, k", [(1, 1), (3, 5), (4, 8), (9, 13), (16, 4), (7, 17), (2, 24)])
def test_weight_transform_bit_exact(c, k):
    """init()'s f32_winograd_weights_3x3 writes exactly pack_f32_gemm(U[xi], zeros) for the 16
    matrices, U as winograd_weights computes it (float32, the kernel's order)."""
    from edgewasm.backend.convolution import winograd_taps, winograd_weights
    from edgewasm.backend.packing import pack_f32_gemm
    rng = np.random.default_rng([c, k])
    w = interesting_f32(rng, (k, c, 3, 3))
    u = winograd_weights(w)
    expected = np.concatenate([pack_f32_gemm(u[xi], np.zeros(k, np.float32)) for xi in range(16)])
    runner = KernelRunner("f32_winograd_weights_3x3", pages=32)
    g_off = runner.put_at_end(winograd_taps(w))  # an over-read past the taps traps
    guard = np.zeros(expected.size + 2 * GUARD // 4, np.float32)
    guard[:GUARD // 4] = guard[-GUARD // 4:] = np.float32(7.0)
    region = runner.put(guard)
    runner.call("f32_winograd_weights_3x3", c, k, g_off, region + GUARD)
    after = runner.read(region, guard.shape)
    assert_same_bits(after[GUARD // 4:-GUARD // 4], expected, "U")
    assert (after[-GUARD // 4:] == 7.0).all() and (after[:GUARD // 4] == 7.0).all(), "wrote outside U"


def test_weight_transform_matches_float64():
    """U from the float32 transform is within a few ulps of G g G^T computed in float64."""
    from edgewasm.backend.convolution import winograd_weights
    w = np.random.default_rng(0).standard_normal((8, 6, 3, 3)).astype(np.float32)
    G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
    exact = np.einsum("ia,kcab,jb->ijck", G, w.astype(np.float64), G).reshape(16, 6, 8)
    np.testing.assert_allclose(winograd_weights(w), exact, rtol=0, atol=4 * np.finfo(np.float32).eps * 3)
