"""Compile-time weight packing for the integer GEMM kernels (wasm-kernels/qdu8_gemm.wat: float
output; qu8_gemm.wat: requantized uint8 output; qs16_gemm.wat: int16 weights, float output).

The kernels stream int8 weights as panels of 4 columns with k in pairs ("c2"), so one 8-byte load
widened to i16x8 holds the pair (W[2t, c], W[2t+1, c]) of each of the 4 columns: exactly the operand
i32x4.dot_i16x8_s wants next to a broadcast pair of activations. Each panel starts with the float
epilogue's per-column constants (bias, weight scale), so a panel is all the kernel reads for its
4 outputs. int16 weights use the same layout with 16-byte groups (v128.load, no widening).
"""

from __future__ import annotations

import numpy as np

NR = 4  # columns per panel: the "4" of qdu8_f32_qc8w_gemm_4x4c2
KR = 2  # k values per column in one dot: the "c2"
NEUTRAL_BIAS = np.float32(-0.0)  # x + -0.0 == x for every x, -0.0 included


def packed_qc8w_gemm_size(k: int, n: int) -> int:
    """Bytes pack_qc8w_gemm returns for a [k, n] weight."""
    return -(-n // NR) * (12 * NR + NR * KR * -(-k // KR))


def split_weight_offsets(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer weights [K, N] whose columns each span at most 256 values (uint8 weights minus any
    zero point, int8 ones) as int8 w8 [K, N] plus an int32 offset per column, w = w8 + offset: the
    offset is 0 where the column fits int8, else its minimum + 128. The qdu8 GEMMs add
    offset[j] * sum_k (A[i, k] - a_zp) to their exact int32 dot product with w8."""
    w = np.asarray(w, np.int32)
    if w.size == 0:
        return w.astype(np.int8), np.zeros(w.shape[1], np.int32)
    lo, hi = w.min(axis=0), w.max(axis=0)
    if (hi - lo > 255).any():
        raise ValueError("a weight column spans more than 256 values: not 8-bit weights minus a zero point")
    offset = np.where((lo >= -128) & (hi <= 127), 0, lo + 128).astype(np.int32)
    return (w - offset[None, :]).astype(np.int8), offset


def pack_qc8w_gemm(w: np.ndarray, scale: np.ndarray, bias: np.ndarray | None,
                   offset: np.ndarray | None = None) -> np.ndarray:
    """Panels for qdu8_f32_qc8w_gemm (float output): heads are the f32 bias (None: -0.0), the f32
    weight scale and the int32 weight offset (None: 0; see split_weight_offsets) per column."""
    n = np.asarray(w).shape[1]
    bias = np.full(n, NEUTRAL_BIAS, np.float32) if bias is None else bias
    offset = np.zeros(n, np.int32) if offset is None else offset
    return _pack(w, [("bias", bias, np.float32), ("scale", scale, np.float32), ("offset", offset, np.int32)])


def pack_qc16w_gemm(w: np.ndarray, scale: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """Panels for qds16_f32_qc16w_gemm (int16 weights, float output): heads as pack_qc8w_gemm's,
    then ceil(k/2) groups of 8 int16 (little-endian) per panel."""
    n = np.asarray(w).shape[1]
    bias = np.full(n, NEUTRAL_BIAS, np.float32) if bias is None else bias
    return _pack(w, [("bias", bias, np.float32), ("scale", scale, np.float32)])


def pack_qu8_qc8w_gemm(w: np.ndarray, bias: np.ndarray, multiplier: np.ndarray) -> np.ndarray:
    """Panels for qu8_qc8w_gemm (requantized uint8 output): heads are the int32 bias (already in
    the accumulator's scale) and the f32 requantization multiplier per column."""
    return _pack(w, [("bias", bias, np.int32), ("multiplier", multiplier, np.float32)])


def qu8_gemm_kernel(rows: int, n: int, relaxed: bool = False, w: np.ndarray | None = None):
    """The requantizing GEMM for rows x n outputs and its packing: 4x8c2 (A's loads and shuffles
    shared by 8 columns) unless there are under 4 rows (1x4c2) or at most 4 columns (4x4c2).
    relaxed (a `--simd relaxed` layer) with every weight in QC7W_RANGE: the relaxed-dot 4x8c4, or its
    1x8c4 under 4 rows (not the 4x4c2 case); their pack takes the zero point (qu8_gemm_call)."""
    if relaxed and w is not None and fits_qc7w(w) and (rows < 4 or n > NR):
        return QC7W_KERNELS[rows < 4], pack_qu8_qc7w_gemm_nr8c4
    if rows < 4:
        return "qu8_qc8w_gemm_1x4c2", pack_qu8_qc8w_gemm
    if n <= NR:
        return "qu8_qc8w_gemm_4x4c2", pack_qu8_qc8w_gemm
    return "qu8_qc8w_gemm_4x8c2", pack_qu8_qc8w_gemm_nr8


QC7W_KERNEL = "qu8_qc7w_gemm_4x8c4_relaxed"
QC7W_KERNELS = (QC7W_KERNEL, "qu8_qc7w_gemm_1x8c4_relaxed")  # [rows < 4]
QC7W_RANGE = (-64, 63)  # w + 64 in [0, 127]: the second operand of a deterministic relaxed dot


def fits_qc7w(w: np.ndarray) -> bool:
    w = np.asarray(w)
    return w.size == 0 or (int(w.min()) >= QC7W_RANGE[0] and int(w.max()) <= QC7W_RANGE[1])


QU8_SCRATCH_KERNEL = "qu8_qc8w_gemm_4x8c2"  # widens each block of 4 rows into a scratch block first


def qu8_gemm_scratch_bytes(kernel: str, k: int) -> int:
    """Scratch bytes a requantizing GEMM call needs (a temp of the layer), 0 for none."""
    return 16 * -(-k // 2) if kernel == QU8_SCRATCH_KERNEL else 0


def qu8_gemm_call(kernel: str, m, n, k, a, a_stride, a_zp: int, w, c, c_stride, c_zp: int, qmin=0, qmax=255,
                  scratch=None) -> list:
    """The arguments of a requantizing GEMM call: the relaxed kernel has a_zp folded into its
    packed heads, so it takes none; the 4x8c2 one takes its scratch block last."""
    if kernel in QC7W_KERNELS:
        return [m, n, k, a, a_stride, w, c, c_stride, c_zp, qmin, qmax]
    if kernel == QU8_SCRATCH_KERNEL:
        if scratch is None:
            raise ValueError(f"{kernel} needs a scratch block of qu8_gemm_scratch_bytes(kernel, k) bytes")
        return [m, n, k, a, a_stride, a_zp, w, c, c_stride, c_zp, qmin, qmax, scratch]
    return [m, n, k, a, a_stride, a_zp, w, c, c_stride, c_zp, qmin, qmax]


def pack_qu8_qc7w_gemm_nr8c4(w: np.ndarray, bias: np.ndarray, multiplier: np.ndarray, a_zp: int) -> np.ndarray:
    """Panels of 8 columns for qu8_qc7w_gemm_{4x8,1x8}c4_relaxed (wasm-kernels/qu8_gemm_relaxed.wat):
    8 int32 C = bias + (128 - a_zp) * sum_k w + 8192 * 4 * ceil(K/4) (wrapping), 8 f32 multipliers,
    then for t < ceil(K/4) the bytes w[4t..4t+3, c] + 64 of columns c = 8p..8p+3 (column after
    column), then of 8p+4..8p+7; w = 0 (byte 64) past K and past N. w int8 [K, N] in QC7W_RANGE."""
    w = np.asarray(w)
    if w.ndim != 2 or w.dtype != np.int8 or not fits_qc7w(w):
        raise TypeError(f"qc7w weights must be int8 [K, N] in {QC7W_RANGE}, got {w.dtype} of shape {w.shape}")
    k, n = w.shape
    panels, groups = -(-n // 8), -(-k // 4)
    padded = np.zeros((groups * 4, panels * 8), np.int16)
    padded[:k, :n] = w
    # [groups, 4 k, panels, 2 halves, 4 columns] -> [panels, groups, halves, 4 columns, 4 k]
    body = (padded + 64).astype(np.uint8).reshape(groups, 4, panels, 2, 4).transpose(2, 0, 3, 4, 1).reshape(panels, -1)
    sums = w.astype(np.int64).sum(axis=0)
    c = np.asarray(bias).astype(np.int64) + (128 - int(a_zp)) * sums + 8192 * 4 * groups
    heads = []
    for values, dtype in ((((c + 2**31) % 2**32 - 2**31), "<i4"), (multiplier, "<f4")):
        values = np.asarray(values)
        if values.shape != (n,):
            raise TypeError(f"qc7w heads must have shape ({n},), got {values.shape}")
        row = np.zeros(panels * 8, dtype)
        row[:n] = values
        heads.append(row.reshape(panels, 8).view(np.uint8))
    return np.ascontiguousarray(np.concatenate(heads + [body], axis=1).reshape(-1))


def pack_qu8_qc8w_gemm_nr8(w: np.ndarray, bias: np.ndarray, multiplier: np.ndarray) -> np.ndarray:
    """Panels of 8 columns for qu8_qc8w_gemm_4x8c2: 8 int32 bias, 8 f32 multipliers, then the
    _pack_nr8 body."""
    return _pack_nr8(w, [(bias, "<i4"), (multiplier, "<f4")])


def pack_qc8w_gemm_nr8(w: np.ndarray, scale: np.ndarray, bias: np.ndarray | None,
                       offset: np.ndarray | None = None) -> np.ndarray:
    """Panels of 8 columns for qdu8_f32_qc8w_gemm_4x8c2 (float output): 8 f32 bias (None: -0.0),
    8 f32 weight scales, 8 int32 weight offsets (None: 0), then the _pack_nr8 body."""
    n = np.asarray(w).shape[1]
    bias = np.full(n, NEUTRAL_BIAS, np.float32) if bias is None else bias
    offset = np.zeros(n, np.int32) if offset is None else offset
    return _pack_nr8(w, [(bias, "<f4"), (scale, "<f4"), (offset, "<i4")])


def _pack_nr8(w: np.ndarray, heads: list[tuple[np.ndarray, str]]) -> np.ndarray:
    """Per panel of 8 columns: each head row (8 values of its dtype), then for t < ceil(K/2) the
    pairs (w[2t, c], w[2t+1, c]) of columns c = 8p..8p+3, then of 8p+4..8p+7; zero past K and N."""
    w = np.asarray(w)
    if w.ndim != 2 or w.dtype != np.int8:
        raise TypeError(f"qc8w weights must be int8 [K, N], got {w.dtype} of shape {w.shape}")
    k, n = w.shape
    panels, pairs = -(-n // 8), -(-k // KR)
    padded = np.zeros((pairs * KR, panels * 8), np.int8)
    padded[:k, :n] = w
    # [pairs, 2, panels, 2 halves, 4] -> [panels, pairs, halves, 4 columns, 2]
    body = padded.reshape(pairs, KR, panels, 2, 4).transpose(2, 0, 3, 4, 1).reshape(panels, -1)
    rows = []
    for values, dtype in heads:
        values = np.asarray(values)
        if values.shape != (n,):
            raise TypeError(f"qc8w heads must have shape ({n},), got {values.shape}")
        row = np.zeros(panels * 8, dtype)
        row[:n] = values
        rows.append(row.reshape(panels, 8).view(np.uint8))
    return np.ascontiguousarray(np.concatenate(rows + [body.view(np.uint8)], axis=1).reshape(-1))


def _pack(w: np.ndarray, heads: list[tuple[str, np.ndarray, type]]) -> np.ndarray:
    """Pack int8 (or int16) w [K, N] and 4-byte per-column head rows into uint8 panels.

    Panel p (columns 4p..4p+3): 4 values of each head row, then for t < ceil(K/2) the 8 values
    w[2t, c], w[2t+1, c] for c = 4p..4p+3; zero past K and past N.
    """
    w = np.asarray(w)
    if w.ndim != 2 or w.dtype not in (np.int8, np.dtype("<i2")):
        raise TypeError(f"qc8w/qc16w weights must be int8 or int16 [K, N], got {w.dtype} of shape {w.shape}")
    k, n = w.shape
    panels, pairs = -(-n // NR), -(-k // KR)
    padded = np.zeros((pairs * KR, panels * NR), w.dtype)
    padded[:k, :n] = w
    # [pairs, 2, panels, 4] -> [panels, pairs, 4, 2]: per panel, per pair, column-major pairs
    body = padded.reshape(pairs, KR, panels, NR).transpose(2, 0, 3, 1).reshape(panels, -1)
    head_bytes = []
    for what, values, dtype in heads:
        values = np.asarray(values)
        if values.dtype != dtype or values.shape != (n,):
            raise TypeError(f"qc8w {what} must be {np.dtype(dtype)} of shape ({n},), got {values.dtype} {values.shape}")
        row = np.zeros(panels * NR, dtype)
        row[:n] = values
        head_bytes.append(row.reshape(panels, NR).view(np.uint8))
    packed = np.concatenate(head_bytes + [body.view(np.uint8)], axis=1).reshape(-1)
    assert packed.size == panels * (4 * NR * len(heads) + w.itemsize * NR * KR * pairs)
    return np.ascontiguousarray(packed)


QS16_WINOGRAD_GEMM = "qs16_s32_s16w_gemm_4x8c2"
# The integer Winograd is exact while the direct sum fits in 2^29 (the output transform gives 4x it
# in int32): 9 * C * 255 * 128 < 2^29
QU8_WINOGRAD_MAX_CHANNELS = (1 << 29) // (9 * 255 * 128)


def qs8_winograd_taps(w: np.ndarray) -> np.ndarray:
    """What an integer Winograd layer ships: int8 Conv weights w [K, C, 3, 3] as [C][9][ceil8(K)]
    (tap 3 * row + column, zero columns past K), the input of qs8_winograd_weights_3x3."""
    k, c = w.shape[:2]
    taps = np.zeros((c, 9, -(-k // 8) * 8), np.int8)
    taps[:, :, :k] = np.asarray(w, np.int8).reshape(k, c, 9).transpose(1, 2, 0)
    return taps


def qs16_winograd_plane_bytes(c: int, k: int) -> int:
    """Bytes of one of the 16 packed U matrices qs8_winograd_weights_3x3 writes (int16, channels and
    columns padded to 8)."""
    return 2 * (-(-c // 8) * 8) * (-(-k // 8) * 8)


def qu8_winograd_heads(bias: np.ndarray, multiplier: np.ndarray) -> np.ndarray:
    """qu8_winograd_output_2x2_3x3's heads: ceil4(K) int32 biases, then as many f32 multipliers."""
    k = len(bias)
    k4 = -(-k // 4) * 4
    heads = np.zeros((2, k4), "<u4")
    heads[0, :k] = np.asarray(bias).astype("<i4").view("<u4")
    heads[1, :k] = np.asarray(multiplier).astype("<f4").view("<u4")
    return heads.reshape(-1).view(np.uint8)
