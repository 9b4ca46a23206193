"""Constant: its value becomes a compile-time constant (import only). Every attribute spelling of
the spec: value (a tensor), sparse_value (densified), value_float(s), value_int(s) (float32, int64);
value_string(s) are refused (edgewasm computes no strings)."""

from __future__ import annotations

import numpy as np
from onnx import numpy_helper

from ..errors import ModelFormatError, UnsupportedModelError

IR_OP = None
FORMS = ("value", "sparse_value", "value_float", "value_floats", "value_int", "value_ints", "value_string",
         "value_strings")


def _dense(sparse) -> np.ndarray:
    """A SparseTensorProto as a dense array: values at their (flat or per-axis) indices, zeros elsewhere."""
    values = numpy_helper.to_array(sparse.values)
    indices = numpy_helper.to_array(sparse.indices).astype(np.int64)
    shape = tuple(int(d) for d in sparse.dims)
    dense = np.zeros(int(np.prod(shape, dtype=np.int64)), values.dtype)
    if indices.ndim == 2:  # [nnz, rank] coordinates
        indices = np.ravel_multi_index(tuple(indices.T), shape) if indices.size else indices.reshape(-1)
    if indices.size and (indices.min() < 0 or indices.max() >= dense.size):
        raise ModelFormatError(f"sparse constant {sparse.values.name!r}: an index is outside shape {list(shape)}")
    dense[indices.reshape(-1)] = values.reshape(-1)
    return dense.reshape(shape)


def import_constant(im, node, at) -> None:
    given = [name for name in FORMS if name in at]
    if len(given) != 1:
        raise ModelFormatError(f"Constant node {node.name!r} must set exactly one of {', '.join(FORMS)}; "
                               f"it sets {', '.join(given) or 'none'}")
    form = given[0]
    value = at[form]
    if form == "value":
        array = numpy_helper.to_array(value)
    elif form == "sparse_value":
        array = _dense(value)
    elif form == "value_float":
        array = np.array(value, np.float32)
    elif form == "value_floats":
        array = np.array(list(value), np.float32)
    elif form == "value_int":
        array = np.array(value, np.int64)
    elif form == "value_ints":
        array = np.array(list(value), np.int64)
    else:
        raise UnsupportedModelError(f"Constant node {node.name!r}: {form} makes a string tensor; edgewasm "
                                    "computes no strings")
    if array.dtype.kind in "OSU":
        raise UnsupportedModelError(f"Constant node {node.name!r}: a string tensor; edgewasm computes no strings")
    im.constants[node.output[0]] = array


IMPORTS = {"Constant": (import_constant, 0, 0)}
