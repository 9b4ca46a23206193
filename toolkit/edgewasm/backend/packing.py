"""Compile-time weight packing for the f32 GEMM kernels (wasm-kernels/f32_gemm.wat).

The kernels stream W as column panels of NR floats so each k step is NR contiguous floats (two
v128 loads), with the bias at the head of each panel to initialise the accumulators. Packing
once at compile time keeps the hot loop free of strides and edge cases.
"""

from __future__ import annotations

import numpy as np

NR = 8  # columns per panel: the "8" of f32_gemm_4x8 / f32_gemm_1x8
GEMV_COLUMNS = 32  # f32_gemm_1x32 reads four panels per pass
GEMV_MIN_WEIGHTS = 8192  # k x n under which a one-row GEMM takes < ~1 us: not worth 1x32's loops' bytes


def f32_gemm_kernel(rows: int, n: int, k: int) -> str:
    """The f32 GEMM kernel for an [rows, k] x [k, n] product; all of them give the same bits.

    Under 4 rows a 4-row block would compute repeated rows, so the one-row kernels serve: the
    4-panel one when there is at least one full group of 32 columns and enough work for its
    per-engine loops (about 1.4 KB of module) to pay, else the 1-panel one.
    """
    if rows >= 4:
        return "f32_gemm_4x8"
    return "f32_gemm_1x32" if n >= GEMV_COLUMNS and k * n >= GEMV_MIN_WEIGHTS else "f32_gemm_1x8"


def packed_f32_gemm_size(k: int, n: int, nr: int = NR) -> int:
    """Number of float32 values pack_f32_gemm returns for a [k, n] weight."""
    if k < 0 or n < 0 or nr < 1:
        raise ValueError(f"invalid gemm shape k={k}, n={n}, nr={nr}")
    return -(-n // nr) * nr * (k + 1)


def pack_f32_gemm(w: np.ndarray, bias: np.ndarray | None, nr: int = NR) -> np.ndarray:
    """Pack ``y = x @ w + bias`` weights into the panel layout the f32 GEMM kernels read.

    w: float32 [K, N]; bias: float32 [N] or None (zeros). Returns a contiguous float32 1-D array:
    for each panel p of ceil(N / nr): nr bias values, then K rows of nr weights
    w[k, p*nr:(p+1)*nr], zero-padded past column N.
    """
    w = np.asarray(w)
    if w.ndim != 2:
        raise ValueError(f"gemm weight must be 2-D [K, N], got shape {w.shape}")
    _require_f32("weight", w)
    k, n = w.shape
    if bias is None:
        bias = np.zeros(n, np.float32)
    bias = np.asarray(bias)
    _require_f32("bias", bias)
    if bias.shape != (n,):
        raise ValueError(f"gemm bias must have shape ({n},), got {bias.shape}")

    panels = -(-n // nr)
    padded = np.zeros((k + 1, panels * nr), np.float32)
    padded[0, :n] = bias
    padded[1:, :n] = w
    # [k+1, panels, nr] -> [panels, k+1, nr]: each panel's rows become contiguous
    packed = np.ascontiguousarray(padded.reshape(k + 1, panels, nr).transpose(1, 0, 2)).reshape(-1)
    assert packed.size == packed_f32_gemm_size(k, n, nr)
    return packed


def _require_f32(what: str, array: np.ndarray) -> None:
    # Rounding float64 weights here would hide a frontend bug: the frontend decides dtypes.
    if array.dtype != np.float32:
        raise TypeError(f"gemm {what} must be float32, got {array.dtype}")
