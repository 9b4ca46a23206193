"""qs16_f32_gemm_expand rebuilds exactly pack_f32_gemm(f32(q) * scale, bias): every panel, odd n
and k, nothing written past the last panel."""

import numpy as np
import pytest

from edgewasm.backend.packing import NR, pack_f32_gemm

from .harness import KernelRunner, assert_same_bits


@pytest.mark.parametrize("k, n", [(0, 3), (1, 1), (5, 8), (7, 9), (16, 17), (33, 40)])
def test_expands_to_the_f32_panels(k, n):
    rng = np.random.default_rng([k, n])
    q = rng.integers(-32767, 32768, (k, n)).astype(np.int16)
    scale = (rng.random(n) * 1e-4 + 1e-7).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    panels = -(-n // NR)
    rows = pack_f32_gemm(q.astype(np.float32), None).reshape(panels, k + 1, NR)[:, 1:].astype(np.int16)
    padded = [np.zeros(panels * NR, np.float32) for _ in range(2)]
    padded[0][:n], padded[1][:n] = scale, bias
    runner = KernelRunner("qs16_f32_gemm_expand")
    q_off = runner.put(rows.reshape(-1), misalign=2)
    s_off, b_off = runner.put(padded[0]), runner.put(padded[1], misalign=8)
    expected = pack_f32_gemm(q.astype(np.float32) * scale[None, :], bias)
    out = runner.put(np.full(expected.size + 8, 7.0, np.float32))
    runner.call("qs16_f32_gemm_expand", panels, k, q_off, s_off, b_off, out)
    got = runner.read(out, expected.size + 8)
    assert_same_bits(got[:expected.size], expected)
    assert (got[expected.size:] == 7.0).all()
