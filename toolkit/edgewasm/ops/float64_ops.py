"""float64 versions of float32-kernel ops, decomposed at import into IR ops that compute float64 in
float64: x_elementwise (arithmetic, comparisons, Where), x_reduce (max, sum, mean in an f64
accumulator) and f64_vunary_op (Exp, Log, Sqrt). Used by Softmax/LogSoftmax (softmax.py), PRelu
(prelu.py), BatchNormalization (batchnorm.py) and LayerNormalization (layernorm.py) on float64
inputs; their float32 kernels serve float32 (and float16/bfloat16 between casts). No IR op of its
own (an import helper: IMPORTS is empty)."""

from __future__ import annotations

import numpy as np

from . import elementwise

IR_OP = None
IMPORTS: dict = {}
F64 = "float64"


def const(im, base: str, value, dtype: str = F64) -> str:
    from .. import dtypes

    name = im.fresh(base)
    im.constants[name] = np.asarray(value, dtypes.numpy_dtype(dtype))
    return name


def binary(im, node, op: str, a: str, b: str, output: str | None = None, dtype: str = F64) -> str:
    output = output or im.fresh(f"{node.output[0]}_{op}")
    elementwise.emit(im, node, op, [a, b], dtype, output)
    return output


def unary(im, node, op_type: str, x: str, output: str | None = None) -> str:
    """Exp, Log or Sqrt of a float64 (f64_vunary_op) or float32 tensor (unary.py's kernels)."""
    output = output or im.fresh(f"{node.output[0]}_{op_type.lower()}")
    im.emit(op_type, [x], output, im.shape(x), node.name, dtype=im.dtype(x))
    return output


def reduce(im, node, kind: str, x: str, axes: list[int]) -> str:
    """x_reduce over `axes`, keeping them (size 1) so the result broadcasts back against x."""
    shape = im.shape(x)
    out = im.fresh(f"{node.output[0]}_{kind}")
    im.emit("Reduce", [x], out, tuple(1 if i in axes else d for i, d in enumerate(shape)), node.name, dtype=F64,
            kind=kind, axes=tuple(sorted(axes)), keepdims=True)
    return out


def reshape(im, node, x: str, shape: tuple[int, ...]) -> str:
    if x in im.constants:
        return const(im, f"{x}_reshaped", im.constants[x].reshape(shape))
    out = im.fresh(f"{x}_reshaped")
    im.emit("Reshape", [x], out, shape, node.name, dtype=im.dtype(x))
    return out


def softmax(im, node, x: str, axes: list[int], log: bool) -> None:
    """Softmax: e / sum(e) with e = exp(x - max); LogSoftmax: (x - max) - log(sum(e)); over `axes`."""
    shifted = binary(im, node, "sub", x, reduce(im, node, "max", x, axes))
    e = unary(im, node, "Exp", shifted)
    total = reduce(im, node, "sum", e, axes)
    if log:
        binary(im, node, "sub", shifted, unary(im, node, "Log", total), node.output[0])
    else:
        binary(im, node, "div", e, total, node.output[0])


def prelu(im, node, x: str, slope: str) -> None:
    """x < 0 ? x * slope : x (slope broadcast to x), in x's dtype (float64, or an integer one)."""
    from .. import dtypes

    dtype = im.dtype(x)
    zero = im.fresh(f"{node.output[0]}_zero")
    im.constants[zero] = np.zeros((), dtypes.numpy_dtype(dtype))
    negative = binary(im, node, "less", x, zero, dtype="bool")
    scaled = binary(im, node, "mul", x, slope, dtype=dtype)
    elementwise.emit(im, node, "where", [negative, scaled, x], dtype, node.output[0])


def batch_norm(im, node, x: str, params: list[str], epsilon: float) -> None:
    """Inference: (x - mean) / sqrt(var + epsilon) * scale + B per channel (axis 1), in x's dtype
    (float64; float32 when the parameters are computed at run time). Constant parameters fold into
    one multiply-add (factor, shift computed in float64 at compile time)."""
    channels, rank = im.shape(x)[1], len(im.shape(x))
    dtype = im.dtype(x)
    per_channel = (channels,) + (1,) * (rank - 2)
    if all(p in im.constants for p in params):
        gamma, beta, mean, var = (np.asarray(im.constants[p], np.float64).reshape(-1) for p in params)
        factor = gamma / np.sqrt(var + epsilon)
        scaled = binary(im, node, "mul", x, const(im, f"{node.output[0]}_factor", factor.reshape(per_channel), dtype),
                        dtype=dtype)
        binary(im, node, "add", scaled, const(im, f"{node.output[0]}_shift", (beta - mean * factor).reshape(per_channel),
                                              dtype), node.output[0], dtype=dtype)
        return
    gamma, beta, mean, var = (reshape(im, node, p, per_channel) for p in params)
    std = unary(im, node, "Sqrt", binary(im, node, "add", var, const(im, f"{node.output[0]}_eps", epsilon, dtype),
                                         dtype=dtype))
    normalized = binary(im, node, "div", binary(im, node, "sub", x, mean, dtype=dtype), std, dtype=dtype)
    binary(im, node, "add", binary(im, node, "mul", normalized, gamma, dtype=dtype), beta, node.output[0], dtype=dtype)


def layer_norm(im, node, x: str, axis: int, scale: str, bias: str | None, epsilon: float,
               mean_out: str | None, inv_std_out: str | None, stash: str) -> None:
    """(x - mean) / sqrt(var + epsilon) * scale (+ bias) over the axes from `axis` on, the variance
    the mean of squared deviations; the optional Mean and InvStdDev outputs in the stash dtype."""
    from .cast import emit_cast

    axes = list(range(axis, len(im.shape(x))))
    mean = reduce(im, node, "mean", x, axes)
    deviation = binary(im, node, "sub", x, mean)
    var = reduce(im, node, "mean", binary(im, node, "mul", deviation, deviation), axes)
    std = unary(im, node, "Sqrt", binary(im, node, "add", var, const(im, f"{node.output[0]}_eps", epsilon)))
    inv_std = binary(im, node, "div", const(im, f"{node.output[0]}_one", 1.0), std)
    scaled = binary(im, node, "mul", binary(im, node, "mul", deviation, inv_std), scale,
                    None if bias else node.output[0])
    if bias:
        binary(im, node, "add", scaled, bias, node.output[0])
    for value, output in ((mean, mean_out), (inv_std, inv_std_out)):
        if output:
            emit_cast(im, node, value, output, stash)


def standardize(im, node, x: str, axes: list[int], epsilon: float, mode: str = "var", output: str | None = None) -> str:
    """Over `axes`: "var" (x - mean) / sqrt(var + eps), "std" (x - mean) / (sqrt(var) + eps)
    (MeanVarianceNormalization), "rms" x / sqrt(mean(x^2) + eps); the variance is the mean of
    squared deviations (two passes)."""
    eps = const(im, f"{node.output[0]}_eps", epsilon)
    if mode == "rms":
        centered = x
        var = reduce(im, node, "mean", binary(im, node, "mul", x, x), axes)
    else:
        centered = binary(im, node, "sub", x, reduce(im, node, "mean", x, axes))
        var = reduce(im, node, "mean", binary(im, node, "mul", centered, centered), axes)
    if mode == "std":
        denominator = binary(im, node, "add", unary(im, node, "Sqrt", var), eps)
    else:
        denominator = unary(im, node, "Sqrt", binary(im, node, "add", var, eps))
    return binary(im, node, "div", centered, denominator, output)


def affine(im, node, x: str, scale: str, bias: str | None, shape: tuple[int, ...], output: str) -> None:
    """x * scale (+ bias), the parameters reshaped to `shape` (broadcasting against x)."""
    scaled = binary(im, node, "mul", x, reshape(im, node, scale, shape), None if bias else output)
    if bias:
        binary(im, node, "add", scaled, reshape(im, node, bias, shape), output)


def lp_norm(im, node, x: str, axis: int, p: int) -> None:
    """x / ||x||_p along `axis` (p 1 or 2); a zero norm leaves the (zero) row as it is, as onnxruntime."""
    norm = reduce(im, node, "l1" if p == 1 else "l2", x, [axis])
    zero = binary(im, node, "equal", norm, const(im, f"{node.output[0]}_zero", 0.0), dtype="bool")
    safe = im.fresh(f"{node.output[0]}_norm")
    elementwise.emit(im, node, "where", [zero, const(im, f"{node.output[0]}_one", 1.0), norm], F64, safe)
    binary(im, node, "div", x, safe, node.output[0])
