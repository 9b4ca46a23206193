"""One small unit per op, as onnx's reference evaluator keeps them.

Every module in this package is a unit and is found by discovery (adding an op is adding a file).
A unit defines:
  IMPORTS     {ONNX op type: (importer, fewest inputs, most inputs)}: ONNX node -> IR node(s)
  IR_OP       the IR op it defines, or a tuple of IR ops sharing one lowering (e.g. the binary
              elementwise ops); None for import-only units such as Constant
  lower       (graph, node, program) -> appends kernel calls, weights, views
  export      (exporter, node) -> standard ONNX nodes for the variant's reference.onnx
  flops       (graph, node) -> floating-point operations per inference
and optionally
  FOLDS       {ONNX op type: fold}: fold(importer, node, attrs) -> output arrays of a node whose
              inputs are all constants, for ops onnx's reference evaluator folds wrongly
              (frontend/onnx.py uses the evaluator for every other op)
  COMPUTED    ONNX op types never folded: imported by the unit even when every input is a constant,
              so the module computes them exactly as for activations (float ops whose folded value
              onnx's evaluator gets wrong at some opsets or attributes)
"""

from __future__ import annotations

import importlib
import pkgutil

UNITS = [importlib.import_module(f"{__name__}.{m.name}") for m in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name)]

IMPORTERS = {}
for _unit in UNITS:
    for _op, _spec in _unit.IMPORTS.items():
        if _op in IMPORTERS:
            raise ImportError(f"ONNX op {_op} is imported by two units ({_unit.__name__} and another)")
        IMPORTERS[_op] = _spec
FOLDERS = {op: fold for _unit in UNITS for op, fold in getattr(_unit, "FOLDS", {}).items()}
COMPUTED = {op for _unit in UNITS for op in getattr(_unit, "COMPUTED", ())}
IR_OPS = {op: unit for unit in UNITS if unit.IR_OP
          for op in (unit.IR_OP if isinstance(unit.IR_OP, tuple) else (unit.IR_OP,))}


def flops(graph) -> int:
    """Floating-point operations of one inference (a multiply-add counts as two)."""
    return sum(IR_OPS[node.op].flops(graph, node) for node in graph.nodes)
