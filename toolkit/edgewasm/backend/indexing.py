"""Descriptors for the run-time index kernels of wasm-kernels/x_gather.wat (GatherElements,
ScatterElements, GatherND, ScatterND, OneHot) and the helpers their units share.

Every descriptor is an int32 table the kernel reads; its layout is documented beside the kernel.
Steps are in bytes. Size-1 dimensions are dropped and neighbours that continue every walk merge,
so a GatherElements over [1, S, 1] is one flat loop.
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..errors import ModelFormatError, UnsupportedModelError
from .gather import Dim, emit_gather, row_major_steps
from .program import Ptr

# reduction attribute of ScatterElements / ScatterND -> x_elementwise op code (0: replace)
REDUCTIONS = {"none": 0, "add": 20, "mul": 22, "max": 26, "min": 27}
# the opset that introduced each reduction (ScatterElements and ScatterND alike)
REDUCTION_OPSET = {"none": 11, "add": 16, "mul": 16, "max": 18, "min": 18}
INDEX_DTYPES = ("int32", "int64")


def _table(values: list[int], what: str) -> np.ndarray:
    array = np.array(values, np.int64)
    if np.abs(array).max(initial=0) >= 2**31:
        raise UnsupportedModelError(f"{what} spans more than 2 GiB; wasm32 memory cannot hold it")
    return array.astype(np.int32)


def element_code(dtype: str) -> int:
    """The x_elementwise dtype code of the elements (what a reduction computes in)."""
    return dtypes.kernel_code(dtype)


def reduction_of(node, at: dict, opset: int) -> str:
    """The reduction attribute of a scatter node, checked against the spec's values and opset."""
    raw = at.get("reduction", b"none")
    reduction = raw.decode() if isinstance(raw, bytes) else str(raw)
    if reduction not in REDUCTIONS:
        raise ModelFormatError(f"{node.op_type} node {node.name!r}: reduction must be one of "
                               f"{', '.join(REDUCTIONS)}, got {reduction!r}")
    if opset < REDUCTION_OPSET[reduction]:
        raise ModelFormatError(f"{node.op_type} node {node.name!r}: reduction {reduction!r} needs opset "
                               f">= {REDUCTION_OPSET[reduction]} (the model imports opset {opset})")
    return reduction


def check_index_dtype(im, node, name: str, allowed: tuple[str, ...] = INDEX_DTYPES) -> str:
    dtype = im.dtype(name)
    if dtype not in allowed:
        raise ModelFormatError(f"{node.op_type} node {node.name!r}: indices have dtype {dtype}, not "
                               f"{' or '.join(allowed)}")
    return dtype


def check_value_dtype(im, node, name: str) -> str:
    dtype = im.dtype(name)
    if dtype not in dtypes.COMPUTED:
        raise UnsupportedModelError(f"{node.op_type} node {node.name!r}: input {name!r} has dtype {dtype}; "
                                    f"{node.op_type} moves {dtypes.describe(dtypes.COMPUTED)}")
    return dtype


def check_constant_indices(im, node, name: str, bounds: np.ndarray) -> None:
    """Constant indices are checked at compile time: ModelFormatError for one outside [-dim, dim)
    (`bounds` broadcasts against the indices: the dimension each index selects in)."""
    if name not in im.constants:
        return
    indices = im.constants[name].astype(np.int64)
    if ((indices < -bounds) | (indices >= bounds)).any():
        raise ModelFormatError(f"{node.op_type} node {node.name!r}: a constant index is out of range")


def _simplify(dims: list[list[int]]) -> list[list[int]]:
    """Drop count-1 dims, merge neighbours whose every step continues the inner walk (inner first)."""
    kept = [d for d in dims if d[0] != 1]
    merged: list[list[int]] = []
    for d in reversed(kept):
        if merged:
            inner = merged[-1]
            if all(o == i * inner[0] for o, i in zip(d[1:], inner[1:])):
                merged[-1] = [inner[0] * d[0], *inner[1:]]
                continue
        merged.append(d)
    return merged[::-1] or [[1, 0, 0, 0]]


def elements_descriptor(data_shape: tuple[int, ...], indices_shape: tuple[int, ...], axis: int, dtype: str,
                        index_dtype: str, reduction: str = "none") -> np.ndarray:
    """x_gather_elements / x_scatter_elements: walk the indices' shape; the indexed tensor (x of a
    gather, y of a scatter) has `data_shape`; the sequential one (y / updates) the indices' shape."""
    esize = dtypes.itemsize(dtype)
    t_steps = row_major_steps(tuple(data_shape), esize)
    i_steps = row_major_steps(tuple(indices_shape), dtypes.itemsize(index_dtype))
    s_steps = row_major_steps(tuple(indices_shape), esize)
    dims = [[c, 0 if a == axis else t_steps[a], i_steps[a], s_steps[a]] for a, c in enumerate(indices_shape)]
    dims = _simplify(dims)
    header = [len(dims), esize, dtypes.kernel_code(index_dtype), data_shape[axis], t_steps[axis],
              REDUCTIONS[reduction], element_code(dtype)]
    return _table(header + [v for d in dims for v in d], "an element gather or scatter")


def nd_descriptor(data_shape: tuple[int, ...], indices_shape: tuple[int, ...], batch_dims: int, dtype: str,
                  index_dtype: str, reduction: str = "none") -> np.ndarray:
    """x_gather_nd / x_scatter_nd: indices [batch..., n..., k] into data [batch..., k axes, slice...]."""
    esize = dtypes.itemsize(dtype)
    b, k = batch_dims, indices_shape[-1]
    steps = row_major_steps(tuple(data_shape), esize)
    header = [math.prod(data_shape[:b]), math.prod(indices_shape[b:-1]), k, esize * math.prod(data_shape[b + k:]),
              dtypes.kernel_code(index_dtype), esize * math.prod(data_shape[b:]), REDUCTIONS[reduction],
              element_code(dtype), esize]
    pairs = [v for d in range(k) for v in (data_shape[b + d], steps[b + d])]
    return _table(header + pairs, "a GatherND or ScatterND")


def onehot_descriptor(indices_shape: tuple[int, ...], axis: int, depth: int, dtype: str,
                      index_dtype: str) -> np.ndarray:
    """x_onehot: y [outer, depth, inner] where the indices are [outer, inner] split at `axis`."""
    return _table([math.prod(indices_shape[:axis]), depth, math.prod(indices_shape[axis:]),
                   dtypes.kernel_code(index_dtype), dtypes.itemsize(dtype)], "a OneHot")


def copy_into(program, node: str, source: Ptr, y: Ptr, size: int, dtype: str) -> None:
    """y = source, `size` elements of `dtype` (a scatter starts from a copy of its data)."""
    esize = dtypes.itemsize(dtype)
    emit_gather(program, node, source, y, [Dim(size, esize, esize)], tag="_data", esize=esize)
