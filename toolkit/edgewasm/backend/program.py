"""The lowered program: kernel calls over named tensors, before memory is planned.

Op units (`edgewasm.ops`) append `Call`s; the planner places every tensor a `Ptr` names;
codegen turns each `Call` into a `call` instruction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Ptr:
    """A kernel argument that is the byte offset of a tensor in linear memory, plus `offset`
    bytes into it (a batch item, a channel group: kernels that work on part of a tensor)."""

    tensor: str
    offset: int = 0


@dataclass
class Call:
    kernel: str
    args: list  # Ptr | int (i32) | float (f32), in the kernel's parameter order
    node: str
    failure: str | None = None  # the kernel returns an i32 status; nonzero means this (run() stops)


@dataclass
class Program:
    calls: list[Call] = field(default_factory=list)
    views: dict[str, str] = field(default_factory=dict)  # tensor -> tensor whose bytes it shares
    weights: dict[str, np.ndarray] = field(default_factory=dict)  # in kernel layout, any dtype (1-D)
    temps: dict[str, int] = field(default_factory=dict)  # kernel scratch tensor -> bytes, placed like activations
    # Weights shipped in a compact encoding (fp16, sparse): `init()` runs `init_calls` once to expand the
    # `staged` arrays (shipped; their bytes are reused by the arena afterwards) into the `derived`
    # weights (placed like other weights but never shipped). See backend/codecs.py.
    init_calls: list[Call] = field(default_factory=list)
    staged: dict[str, np.ndarray] = field(default_factory=dict)
    derived: set[str] = field(default_factory=set)
    # staged -> (derived weight, bytes): init()'s kernel may read it from inside that weight's own bytes when it
    # starts at least this far past the weight's start (the planner may then ship it there; backend/plan.py)
    in_place: dict[str, tuple[str, int]] = field(default_factory=dict)

    @property
    def kernels(self) -> list[str]:
        return sorted({c.kernel for c in self.calls + self.init_calls if not c.kernel.startswith("__")})

    def root(self, name: str) -> str:
        while name in self.views:
            name = self.views[name]
        return name

    def call(self, kernel: str, args: list, node: str, failure: str | None = None) -> None:
        """Append a kernel call; `failure` marks a kernel that returns a status and says what a
        nonzero one means (run() returns at once, and the host raises it)."""
        self.calls.append(Call(kernel, args, node, failure))

    @property
    def failures(self) -> list[str]:
        """Status i + 1 of run() means failures[i]."""
        return list(dict.fromkeys(c.failure for c in self.calls if c.failure))

    def weight(self, name: str, value: np.ndarray) -> Ptr:
        """Place a constant (already in the kernel's layout) in the weights region, in its own dtype
        (int8 panels stay int8); float64, numpy's default, is stored as the float32 kernels read."""
        if name not in self.weights:
            value = np.asarray(value)
            dtype = np.float32 if value.dtype == np.float64 else value.dtype.newbyteorder("<")
            self.weights[name] = np.ascontiguousarray(value, dtype=dtype).reshape(-1)
        return Ptr(name)

    def constant(self, name: str, value: np.ndarray) -> Ptr:
        """Place a graph constant in the weights region exactly in its dtype (bool as one byte per
        element), for the kernels that read any dtype (x_elementwise and its family)."""
        if name not in self.weights:
            value = np.asarray(value)
            if value.dtype.byteorder == ">":
                value = value.astype(value.dtype.newbyteorder("<"))
            self.weights[name] = np.ascontiguousarray(value).reshape(-1)
        return Ptr(name)

    def operand(self, graph, name: str) -> Ptr:
        """A kernel operand that is an activation or a graph constant (placed by `constant`)."""
        return self.constant(name, graph.constants[name]) if graph.is_constant(name) else Ptr(name)

    def table(self, name: str, values) -> Ptr:
        """Place a compile-time int32 table (a kernel's descriptor or offsets) in the weights region."""
        if name not in self.weights:
            self.weights[name] = np.ascontiguousarray(values, dtype=np.int32).reshape(-1)
        return Ptr(name)

    def temp(self, name: str, nbytes: int) -> Ptr:
        """A scratch buffer that lives from the first to the last call using it (e.g. a packed
        run-time operand); the planner places it in the arena like an activation."""
        self.temps[name] = max(self.temps.get(name, 0), int(nbytes))
        return Ptr(name)
