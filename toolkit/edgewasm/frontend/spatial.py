"""ONNX spatial attributes -> Window: auto_pad, pads, strides, dilations, ceil_mode, output_shape.

Output sizes and automatic pads follow onnxruntime (the reference we are checked against):
SAME pads to ceil(in / stride) with the extra pad at the end (SAME_UPPER) or start (SAME_LOWER);
ceil_mode drops a last window that would start in the end padding; a ConvTranspose with an
explicit output_shape pads at the end.
"""

from __future__ import annotations

from ..errors import ModelFormatError, UnsupportedModelError
from ..window import Window

AUTO_PADS = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")


def _ints(node, at: dict, name: str, dims: int, default: int) -> tuple[int, ...]:
    value = at.get(name)
    if value is None:
        return (default,) * dims
    value = tuple(int(v) for v in value)
    if len(value) != dims:
        raise ModelFormatError(f"{node.op_type} node {node.name!r}: attribute {name} has {len(value)} values "
                               f"for {dims} spatial dims")
    return value


def _auto_pad(node, at: dict) -> str:
    value = at.get("auto_pad", "NOTSET")
    value = value.decode() if isinstance(value, bytes) else str(value)
    if value not in AUTO_PADS:
        raise ModelFormatError(f"{node.op_type} node {node.name!r}: auto_pad {value!r} is not one of {AUTO_PADS}")
    return value


def _common(node, at: dict, dims: int):
    strides = _ints(node, at, "strides", dims, 1)
    dilations = _ints(node, at, "dilations", dims, 1)
    if min(strides) < 1 or min(dilations) < 1:
        raise ModelFormatError(f"{node.op_type} node {node.name!r}: strides {strides} and dilations "
                               f"{dilations} must be >= 1")
    return strides, dilations, _auto_pad(node, at)


def _explicit_pads(node, at: dict, dims: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    pads = _ints(node, at, "pads", 2 * dims, 0)
    if min(pads, default=0) < 0:
        raise UnsupportedModelError(f"{node.op_type} node {node.name!r}: negative pads {pads} are not supported")
    return pads[:dims], pads[dims:]


def _same_pads(node, auto_pad, in_spatial, kernel, strides, dilations):
    """onnxruntime's SAME padding: total = (ceil(in / s) - 1) * s + k - in (dilation 1 only)."""
    if any(d != 1 for d in dilations):
        raise UnsupportedModelError(f"{node.op_type} node {node.name!r}: auto_pad {auto_pad} with dilations "
                                    f"{dilations} is not supported (onnxruntime refuses it too)")
    begin, end = [], []
    for size, k, s in zip(in_spatial, kernel, strides):
        total = max(0, (-(-size // s) - 1) * s + k - size)
        head = (total + 1) // 2 if auto_pad == "SAME_LOWER" else total // 2
        begin.append(head)
        end.append(total - head)
    return tuple(begin), tuple(end)


def _out_size(node, size, k, s, d, pb, pe, ceil_mode=False) -> int:
    span = size + pb + pe - d * (k - 1) - 1
    if span < 0:
        raise ModelFormatError(f"{node.op_type} node {node.name!r}: the window ({k} taps, dilation {d}) is larger "
                               f"than the padded input ({size} + {pb} + {pe})")
    out = -(-span // s) + 1 if ceil_mode else span // s + 1
    if ceil_mode and (out - 1) * s >= size + pb:
        out -= 1  # the last window must start inside the input or its leading padding
    return out


def sliding_window(node, at: dict, in_spatial: tuple[int, ...], kernel: tuple[int, ...],
                   ceil_mode: bool = False) -> Window:
    """The window of a Conv, MaxPool or AveragePool node over `in_spatial`."""
    dims = len(in_spatial)
    if len(kernel) != dims or min(kernel, default=1) < 1:
        raise ModelFormatError(f"{node.op_type} node {node.name!r}: kernel {kernel} does not fit {dims} spatial dims")
    strides, dilations, auto_pad = _common(node, at, dims)
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        if ceil_mode:
            raise UnsupportedModelError(f"{node.op_type} node {node.name!r}: ceil_mode with auto_pad {auto_pad} "
                                        "is not supported")
        begin, end = _same_pads(node, auto_pad, in_spatial, kernel, strides, dilations)
    elif auto_pad == "VALID":
        begin, end = (0,) * dims, (0,) * dims
    else:
        begin, end = _explicit_pads(node, at, dims)
    out = tuple(_out_size(node, *args, ceil_mode=ceil_mode)
                for args in zip(in_spatial, kernel, strides, dilations, begin, end))
    return Window(tuple(in_spatial), out, tuple(kernel), strides, dilations, begin, end)


def transposed_window(node, at: dict, in_spatial: tuple[int, ...], kernel: tuple[int, ...]) -> Window:
    """The window of a ConvTranspose: out = s * (in - 1) + output_padding + d * (k - 1) + 1 - pads,
    or the given output_shape (pads then derived as onnxruntime does, never negative in total)."""
    dims = len(in_spatial)
    if len(kernel) != dims:
        raise ModelFormatError(f"{node.op_type} node {node.name!r}: kernel {kernel} does not fit {dims} spatial dims")
    strides, dilations, auto_pad = _common(node, at, dims)
    output_padding = _ints(node, at, "output_padding", dims, 0)
    full = tuple(s * (i - 1) + op + d * (k - 1) + 1
                 for i, s, op, d, k in zip(in_spatial, strides, output_padding, dilations, kernel))
    output_shape = at.get("output_shape")
    if output_shape is not None or auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        if output_shape is not None:
            out = tuple(int(v) for v in output_shape)[-dims:]
            if len(out) != dims:
                raise ModelFormatError(f"{node.op_type} node {node.name!r}: output_shape {tuple(output_shape)} "
                                       f"does not fit {dims} spatial dims")
        else:
            out = tuple(i * s for i, s in zip(in_spatial, strides))
        begin, end = [], []
        for f, o in zip(full, out):
            total = max(0, f - o)
            head = total // 2 if auto_pad == "SAME_UPPER" else total - total // 2
            begin.append(head)
            end.append(f - o - head)  # negative when the output is longer than the full result
        begin, end = tuple(begin), tuple(end)
    else:
        begin, end = _explicit_pads(node, at, dims) if auto_pad == "NOTSET" else ((0,) * dims, (0,) * dims)
        out = tuple(f - b - e for f, b, e in zip(full, begin, end))
    if min(out) < 1:
        raise ModelFormatError(f"{node.op_type} node {node.name!r}: output spatial shape {out} is empty")
    return Window(tuple(in_spatial), out, tuple(kernel), strides, dilations, begin, end)
