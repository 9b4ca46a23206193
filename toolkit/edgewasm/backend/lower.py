"""IR -> kernel calls: each node's op unit picks its kernel, packs its weights, records views.

The result is still symbolic (tensor names, not offsets): the planner places the tensors and
codegen turns each `Call` into a `call` instruction.
"""

from __future__ import annotations

from ..ir import Graph
from ..ops import IR_OPS
from .program import Program


def lower(graph: Graph) -> Program:
    program = Program()
    for node in graph.nodes:
        IR_OPS[node.op].lower(graph, node, program)
    return program
