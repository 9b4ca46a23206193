"""Weight packing for the f32 GEMM kernels."""

import numpy as np
import pytest

from edgewasm.backend.packing import NR, pack_f32_gemm, packed_f32_gemm_size


def test_layout_is_bias_then_k_rows_per_panel_zero_padded():
    k, n = 3, 11
    w = np.arange(k * n, dtype=np.float32).reshape(k, n) + 1
    bias = -np.arange(n, dtype=np.float32) - 1
    packed = pack_f32_gemm(w, bias)
    assert packed.dtype == np.float32 and packed.ndim == 1 and packed.flags.c_contiguous
    panels = packed.reshape(2, k + 1, NR)
    np.testing.assert_array_equal(panels[0, 0], bias[:8])
    np.testing.assert_array_equal(panels[0, 1:], w[:, :8])
    np.testing.assert_array_equal(panels[1, 0], np.r_[bias[8:], 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(panels[1, 1:, :3], w[:, 8:])
    assert not panels[1, :, 3:].any()


def test_missing_bias_packs_zeros():
    w = np.ones((2, 5), np.float32)
    packed = pack_f32_gemm(w, None).reshape(1, 3, NR)
    assert not packed[0, 0].any()
    np.testing.assert_array_equal(packed[0, 1:, :5], w)


@pytest.mark.parametrize("k, n, nr", [(1, 1, 8), (0, 9, 8), (5, 16, 8), (7, 17, 8), (3, 5, 4)])
def test_size_matches(k, n, nr):
    w = np.zeros((k, n), np.float32)
    size = packed_f32_gemm_size(k, n, nr)
    assert pack_f32_gemm(w, np.zeros(n, np.float32), nr).size == size
    assert size == -(-n // nr) * nr * (k + 1)


def test_rejects_wrong_dtype_and_shapes():
    with pytest.raises(TypeError):
        pack_f32_gemm(np.ones((2, 3)), None)  # float64
    with pytest.raises(TypeError):
        pack_f32_gemm(np.ones((2, 3), np.float32), np.ones(3))
    with pytest.raises(ValueError):
        pack_f32_gemm(np.ones(3, np.float32), None)
    with pytest.raises(ValueError):
        pack_f32_gemm(np.ones((2, 3), np.float32), np.ones(4, np.float32))
