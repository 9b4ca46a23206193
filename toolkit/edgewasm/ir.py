"""The one graph representation every pass reads and writes.

Shapes are fully static (the batch is fixed at import). Constants live beside the graph as
numpy arrays; every other tensor is an activation that the planner places in linear memory.
IR ops are canonical and few: the frontend rewrites ONNX's many spellings into them. Each IR op
is defined, with its import, lowering and reference export, by one unit in `edgewasm.ops`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .bundle import DTYPES


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        # boundary dtypes include ml_dtypes' names (bfloat16, int4, ...), which numpy alone does not know
        itemsize = DTYPES[self.dtype][1] if self.dtype in DTYPES else np.dtype(self.dtype).itemsize
        return self.size * itemsize


@dataclass
class Node:
    op: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict = field(default_factory=dict)
    name: str = ""


@dataclass
class Graph:
    name: str
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    nodes: list[Node]
    constants: dict[str, np.ndarray]
    tensors: dict[str, TensorInfo]

    def info(self, name: str) -> TensorInfo:
        return self.tensors[name]

    def is_constant(self, name: str) -> bool:
        return name in self.constants

    def shape_of(self, name: str) -> tuple[int, ...]:
        """The shape of a tensor or a constant."""
        return tuple(self.constants[name].shape) if name in self.constants else self.tensors[name].shape

    def dtype_of(self, name: str) -> str:
        """The dtype name of a tensor or a constant (bool, numpy's and ml_dtypes' names)."""
        if name in self.constants:
            value = self.constants[name]
            return "bool" if value.dtype == np.bool_ else value.dtype.name
        return self.tensors[name].dtype

    def consumers(self, name: str) -> list[Node]:
        return [n for n in self.nodes if name in n.inputs]

    def is_graph_output(self, name: str) -> bool:
        return any(o.name == name for o in self.outputs)

    def fresh_name(self, base: str) -> str:
        """`base`, or `base` + the first number that names no tensor or constant yet."""
        name, count = base, 0
        while name in self.tensors or name in self.constants:
            count += 1
            name = f"{base}{count}"
        return name
