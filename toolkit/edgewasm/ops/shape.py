"""Shape and Size: shapes are static, so Shape and Size of an activation are compile-time constants
and the shape computations that follow fold away in the importer."""

from __future__ import annotations

import math

import numpy as np

IR_OP = None


def import_shape(im, node, at) -> None:
    shape = im.shape(node.input[0])
    start, end = int(at.get("start", 0)), at.get("end")
    im.constants[node.output[0]] = np.array(shape[slice(start, None if end is None else int(end))], np.int64)


def import_size(im, node, at) -> None:
    im.constants[node.output[0]] = np.array(math.prod(im.shape(node.input[0])), np.int64)


IMPORTS = {"Shape": (import_shape, 1, 1), "Size": (import_size, 1, 1)}
