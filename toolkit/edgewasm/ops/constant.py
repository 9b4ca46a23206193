"""Constant: its value becomes a compile-time constant (import only)."""

from __future__ import annotations

from onnx import numpy_helper

from ..errors import UnsupportedModelError

IR_OP = None


def import_constant(im, node, at) -> None:
    if "value" not in at:
        raise UnsupportedModelError(f"Constant node {node.name!r}: only the 'value' attribute is supported")
    im.constants[node.output[0]] = numpy_helper.to_array(at["value"])


IMPORTS = {"Constant": (import_constant, 0, 0)}
