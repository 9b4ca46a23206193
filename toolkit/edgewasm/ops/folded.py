"""Ops that exporters emit in shape computations (ConstantOfShape, Range, comparisons, Where, ...):
supported when all their inputs are constants, which the importer folds before any unit sees the
node. Reaching an importer here means an input is computed at run time: a clear error."""

from __future__ import annotations

from ..errors import UnsupportedModelError

IR_OP = None
FOLD_ONLY = ("ConstantOfShape", "Range", "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual",
             "Where", "Not", "And", "Or", "Floor", "Ceil", "Round", "Mod", "Neg", "Abs", "Reciprocal")


def import_fold_only(im, node, at) -> None:
    computed = [name for name in node.input if name and name not in im.constants]
    raise UnsupportedModelError(
        f"{node.op_type} node {node.name!r}: supported only on constants (shape computations folded at "
        f"compile time), but {computed} {'is' if len(computed) == 1 else 'are'} computed at run time")


IMPORTS = {op: (import_fold_only, 0, 2**31) for op in FOLD_ONLY}
