"""One small unit per op, as onnx's reference evaluator keeps them.

Each module in `UNITS` owns one IR op end to end:
  IMPORTS     {ONNX op type: (importer, fewest inputs, most inputs)}: ONNX node -> IR node(s)
  IR_OP       the IR op it defines (None for import-only units such as Constant)
  lower       (graph, node, program) -> appends kernel calls, weights, views
  export      (exporter, node) -> standard ONNX nodes for the variant's reference.onnx
  flops       (graph, node) -> floating-point operations per inference
"""

from __future__ import annotations

from . import add, clamp, constant, gemm, softmax, transpose, views

UNITS = [gemm, add, clamp, softmax, views, transpose, constant]

IMPORTERS = {op: spec for unit in UNITS for op, spec in unit.IMPORTS.items()}
IR_OPS = {unit.IR_OP: unit for unit in UNITS if unit.IR_OP}


def flops(graph) -> int:
    """Floating-point operations of one inference (a multiply-add counts as two)."""
    return sum(IR_OPS[node.op].flops(graph, node) for node in graph.nodes)
