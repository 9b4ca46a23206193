"""Signal ops: DFT (opsets 17 and 20), STFT (opset 17), HannWindow, HammingWindow, BlackmanWindow
and MelWeightMatrix (opset 17).

DFT and STFT with static lengths are linear maps by constant matrices of twiddles, computed in
float64 (the angle reduced exactly as (k * t mod L) / L, quarter turns exact) and then rounded
once into the tensor's dtype, decomposed at import into existing IR ops: Reshape/Transpose put the
signal axis and its real/imaginary pair last, then float32 multiplies by MatMul (a constant 2-D
right operand: Gemm), float64 by IR MatMulF64 (ops/matmul_f64.py: f64 products added in order).
float16/bfloat16 compute in float32 between casts. Forward, inverse (1/L scaled), onesided
(the first L//2 + 1 bins) and, for inverse onesided, the real signal of a one-sided spectrum
(numpy's irfft, as onnx's reference: DC and Nyquist counted once, the rest twice), on real
([..., 1]) or complex ([..., 2]) input; dft_length pads with zeros or truncates. STFT frames the
signal with a compile-time gather, weights it by the window (folded into the matrix when the
window is a constant, a run-time Mul otherwise) and takes each frame's DFT.

Windows and MelWeightMatrix output a tensor whose shape is an input's value: with constant inputs
the importer folds them (windows by FOLDS below, in float64 then cast; MelWeightMatrix by onnx's
reference evaluator); with a size computed at run time they are refused."""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..errors import Float32OnlyError, ModelFormatError, UnsupportedModelError
from ..frontend.arguments import normalize_axis, optional_input
from . import matmul_f64
from .mean import constant, run_node

IR_OP = None
HALF = ("float16", "bfloat16")


def _scalar(im, node, name: str, what: str) -> int:
    value = np.asarray(im.const(name, node, what))
    if value.size != 1 or value.dtype.kind not in "iu":
        raise ModelFormatError(f"{node.op_type} node {node.name!r}: {what} must be one integer, got shape "
                               f"{value.shape} of {value.dtype}")
    return int(value.reshape(-1)[0])


def _signal_dtype(im, node, x: str) -> str:
    dtype = im.dtype(x)
    if dtype in HALF:
        raise Float32OnlyError(f"{node.op_type} node {node.name!r}: input {x!r} has dtype {dtype}; "
                               f"{node.op_type} is computed in float32 only")
    if dtype not in ("float32", "float64"):
        raise UnsupportedModelError(f"{node.op_type} node {node.name!r}: input {x!r} has dtype {dtype}; "
                                    f"{node.op_type} takes float16, bfloat16, float32 or float64")
    return dtype


def twiddles(k: np.ndarray, t: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin of 2 pi k t / length in float64, the angle reduced exactly; multiples of a
    quarter turn exact."""
    r = np.outer(k, t) % length
    angle = 2 * np.pi * r / length
    cos, sin = np.cos(angle), np.sin(angle)
    quarter = (4 * r) % length == 0
    q = (4 * r // length) % 4
    cos = np.where(quarter, np.array([1.0, 0.0, -1.0, 0.0])[q], cos)
    sin = np.where(quarter, np.array([0.0, 1.0, 0.0, -1.0])[q], sin)
    return cos, sin


def dft_matrix(n: int, c: int, length: int, inverse: bool, onesided: bool) -> tuple[np.ndarray, int, int]:
    """W [n * c, m * c_out] in float64 with y[(k, p)] = sum over (t, q) of x[(t, q)] W[(t, q), (k, p)]
    for a signal of n samples of c components (1 real, 2 complex); returns (W, m, c_out)."""
    if inverse and onesided:  # one-sided spectrum -> real signal of `length` samples
        m, c_out = length, 1
        bins = min(n, length // 2 + 1)
        k = np.arange(bins)
        cos, sin = twiddles(k, np.arange(length), length)  # [bins, length]
        weight = np.where((k == 0) | ((length % 2 == 0) & (k == length // 2)), 1.0, 2.0)[:, None] / length
        w = np.zeros((n, c, m, 1))
        w[:bins, 0, :, 0] = weight * cos
        if c == 2:
            w[:bins, 1, :, 0] = -weight * sin
        return w.reshape(n * c, m), m, c_out
    m, c_out = (length // 2 + 1 if onesided else length), 2
    used = min(n, length)
    cos, sin = twiddles(np.arange(used), np.arange(m), length)  # [t, k]
    w = np.zeros((n, c, m, 2))
    if inverse:
        cos, sin = cos / length, sin / length
        w[:used, 0, :, 0], w[:used, 0, :, 1] = cos, sin
        if c == 2:
            w[:used, 1, :, 0], w[:used, 1, :, 1] = -sin, cos
    else:
        w[:used, 0, :, 0], w[:used, 0, :, 1] = cos, -sin
        if c == 2:
            w[:used, 1, :, 0], w[:used, 1, :, 1] = sin, cos
    return w.reshape(n * c, m * 2), m, c_out


def linear(im, node, x: str, w: np.ndarray, y: str, dtype: str) -> None:
    """y [B, M] = x [B, K] @ w [K, M] (w a float64 constant rounded into dtype)."""
    if dtype == "float32":
        run_node(im, "MatMul", [x, constant(im, f"{y}_w", w.astype(np.float32))], [y], node.name)
        return
    matmul_f64.emit(im, x, w, y, node.name)


def reshape(im, node, x: str, shape, y: str | None = None) -> str:
    y = y or im.fresh(f"{x}_reshaped")
    run_node(im, "Reshape", [x, constant(im, f"{y}_shape", np.array(shape, np.int64))], [y], node.name)
    return y


def transform(im, node, x: str, axis: int, w: np.ndarray, m: int, c_out: int, y: str, dtype: str) -> None:
    """y = the linear map w along `axis` of x [..., n, ..., c] -> [..., m, ..., c_out]."""
    shape = im.shape(x)
    n, c = shape[axis], shape[-1]
    outer, inner = math.prod(shape[:axis]), math.prod(shape[axis + 1:-1])
    final = shape[:axis] + (m,) + shape[axis + 1:-1] + (c_out,)
    if outer * inner * m * c_out == 0 or n * c == 0:
        if math.prod(final) and n * c == 0:
            raise ModelFormatError(f"{node.op_type} node {node.name!r}: the signal axis is empty")
        run_node(im, "ConstantOfShape", [constant(im, f"{y}_empty", np.array(final, np.int64))], [y], node.name)
        return
    if inner == 1:
        rows = reshape(im, node, x, [outer, n * c])
    else:
        moved = im.fresh(f"{y}_moved")
        run_node(im, "Transpose", [reshape(im, node, x, [outer, n, inner, c])], [moved], node.name, perm=[0, 2, 1, 3])
        rows = reshape(im, node, moved, [outer * inner, n * c])
    product = im.fresh(f"{y}_product")
    linear(im, node, rows, w, product, dtype)
    if inner == 1:
        reshape(im, node, product, final, y)
        return
    back = im.fresh(f"{y}_back")
    run_node(im, "Transpose", [reshape(im, node, product, [outer, inner, m, c_out])], [back], node.name,
             perm=[0, 2, 1, 3])
    reshape(im, node, back, final, y)


def import_dft(im, node, at) -> None:
    x, y = node.input[0], node.output[0]
    dtype = _signal_dtype(im, node, x)
    shape = im.shape(x)
    if len(shape) < 2 or shape[-1] not in (1, 2):
        raise ModelFormatError(f"DFT node {node.name!r}: input {x!r} of shape {shape} must end in a real (1) or "
                               "complex (2) component axis after at least one signal axis")
    if im.opset >= 20:
        axis_name = optional_input(node, 2)
        raw_axis = -2 if axis_name is None else _scalar(im, node, axis_name, "axis")
    else:
        raw_axis = int(at.get("axis", 1))
    axis = normalize_axis(node, raw_axis, len(shape))
    if axis == len(shape) - 1:
        raise ModelFormatError(f"DFT node {node.name!r}: axis {raw_axis} is the component axis, not a signal axis")
    inverse, onesided = bool(at.get("inverse", 0)), bool(at.get("onesided", 0))
    length_name = optional_input(node, 1)
    if length_name is not None:
        length = _scalar(im, node, length_name, "dft_length")
    else:
        length = 2 * (shape[axis] - 1) if inverse and onesided else shape[axis]
    if length < 1:
        raise ModelFormatError(f"DFT node {node.name!r}: dft_length {length} must be at least 1")
    w, m, c_out = dft_matrix(shape[axis], shape[-1], length, inverse, onesided)
    transform(im, node, x, axis, w, m, c_out, y, dtype)


def import_stft(im, node, at) -> None:
    x, y = node.input[0], node.output[0]
    dtype = _signal_dtype(im, node, x)
    shape = im.shape(x)
    if len(shape) != 3 or shape[-1] not in (1, 2):
        raise ModelFormatError(f"STFT node {node.name!r}: signal {x!r} of shape {shape} must be [batch, length, 1 "
                               "or 2]")
    batch, samples, c = shape
    step = _scalar(im, node, node.input[1], "frame_step")
    window = optional_input(node, 2)
    length_name = optional_input(node, 3)
    if window is not None and len(im.shape(window)) != 1:
        raise ModelFormatError(f"STFT node {node.name!r}: window must be 1-D, got shape {im.shape(window)}")
    if length_name is not None:
        frame = _scalar(im, node, length_name, "frame_length")
    else:
        frame = im.shape(window)[0] if window is not None else samples
    if window is not None and im.shape(window)[0] != frame:
        raise ModelFormatError(f"STFT node {node.name!r}: window has {im.shape(window)[0]} samples, frame_length "
                               f"is {frame}")
    if step < 1 or frame < 1 or frame > samples:
        raise ModelFormatError(f"STFT node {node.name!r}: frame_step {step} and frame_length {frame} must be at "
                               f"least 1, the frame at most the signal's {samples} samples")
    if window is not None and im.dtype(window) != dtype:
        raise ModelFormatError(f"STFT node {node.name!r}: window has dtype {im.dtype(window)}, the signal {dtype}")
    onesided = bool(at.get("onesided", 1))
    frames = 1 + (samples - frame) // step
    starts = np.arange(frames)[:, None] * step + np.arange(frame)[None, :]
    framed = im.fresh(f"{y}_frames")
    run_node(im, "Gather", [x, constant(im, f"{y}_starts", starts.astype(np.int64))], [framed], node.name, axis=1)
    w, m, _ = dft_matrix(frame, c, frame, False, onesided)
    if window is not None and window in im.constants:
        weights = np.asarray(im.constants[window], np.float64)
        w = (w.reshape(frame, c, -1) * weights[:, None, None]).reshape(frame * c, -1)
    elif window is not None:
        weighted = im.fresh(f"{y}_weighted")
        run_node(im, "Mul", [framed, reshape(im, node, window, [frame, 1])], [weighted], node.name)
        framed = weighted
    rows = reshape(im, node, framed, [batch * frames, frame * c])
    product = im.fresh(f"{y}_product")
    linear(im, node, rows, w, product, dtype)
    reshape(im, node, product, [batch, frames, m, 2], y)


# -- windows and MelWeightMatrix: folded when their inputs are constants -----------------------------

WINDOWS = {"HannWindow": (0.5, 0.5, 0.0), "HammingWindow": (25 / 46, 21 / 46, 0.0),
           "BlackmanWindow": (0.42, 0.5, 0.08)}


def _output_dtype(node, at) -> np.dtype:
    code = int(at.get("output_datatype", 1))
    name = dtypes.from_onnx(code)
    if name is None or name == "bool":
        raise UnsupportedModelError(f"{node.op_type} node {node.name!r}: output_datatype {code} is not a "
                                    "supported numeric dtype")
    return dtypes.numpy_dtype(name)


def window(kind: str, size: int, periodic: bool) -> np.ndarray:
    """The window in float64: a0 - a1 cos(2 pi n / N) + a2 cos(4 pi n / N), N = size if periodic
    else size - 1."""
    a0, a1, a2 = WINDOWS[kind]
    span = size if periodic else size - 1
    n = np.arange(size, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):  # a symmetric window of 1: 0 / 0, NaN as onnxruntime
        turns = n / np.float64(span)
    return a0 - a1 * np.cos(2 * np.pi * turns) + a2 * np.cos(4 * np.pi * turns)


def fold_window(im, node, at) -> list[np.ndarray]:
    size = _scalar(im, node, node.input[0], "size")
    if size < 0:
        raise ModelFormatError(f"{node.op_type} node {node.name!r}: size {size} is negative")
    values = window(node.op_type, size, bool(at.get("periodic", 1)))
    target = _output_dtype(node, at)
    return [values.astype(target) if target.kind == "f" or target == dtypes.numpy_dtype("bfloat16")
            else np.nan_to_num(values).astype(target)]


def import_needs_constant(im, node, at) -> None:
    computed = [name for name in node.input if name and name not in im.constants]
    raise UnsupportedModelError(
        f"{node.op_type} node {node.name!r}: its output shape is the value of {computed}, which "
        f"{'is' if len(computed) == 1 else 'are'} computed at run time ({', '.join(computed)} must be a constant: "
        "shapes are static)")


IMPORTS = {"DFT": (import_dft, 1, 3), "STFT": (import_stft, 2, 4),
           "HannWindow": (import_needs_constant, 1, 1), "HammingWindow": (import_needs_constant, 1, 1),
           "BlackmanWindow": (import_needs_constant, 1, 1), "MelWeightMatrix": (import_needs_constant, 5, 5)}
FOLDS = {kind: fold_window for kind in WINDOWS}
