"""Ops whose output shape is an input's value (ConstantOfShape, Range): supported when those inputs
are constants, which the importer folds before any unit sees the node (shape computations).
Reaching an importer here means the output shape depends on data computed at run time."""

from __future__ import annotations

from ..errors import UnsupportedModelError

IR_OP = None
FOLD_ONLY = ("ConstantOfShape", "Range")


def import_fold_only(im, node, at) -> None:
    computed = [name for name in node.input if name and name not in im.constants]
    raise UnsupportedModelError(
        f"{node.op_type} node {node.name!r}: its output shape is the value of {computed}, which "
        f"{'is' if len(computed) == 1 else 'are'} computed at run time (shapes must be static; fix the inputs' "
        "shapes with --shape so the shape computation folds)")


IMPORTS = {op: (import_fold_only, 0, 2**31) for op in FOLD_ONLY}
