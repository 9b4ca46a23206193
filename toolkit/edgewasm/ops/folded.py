"""Ops whose output shape is an input's value (ConstantOfShape, Range): supported when those inputs
are constants, which the importer folds before any unit sees the node (shape computations).
Reaching an importer here means the output shape depends on data computed at run time."""

from __future__ import annotations

from ..errors import UnsupportedModelError

IR_OP = None
FOLD_ONLY = ("ConstantOfShape", "Range")


def run_time_sources(im, names) -> list[str]:
    """The graph inputs whose values the run-time tensors `names` are computed from (traced back
    through the IR nodes imported so far), in graph-input order; a name with no traceable source
    (a loop body's own name) stands for itself."""
    graph_inputs = [vi.name for vi in im.model.graph.input if vi.name not in im.constants]
    producers = {out: n for n in im.nodes for out in n.outputs}
    found, own, seen = set(), [], set()
    stack = [name for name in names if name and name not in im.constants]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in graph_inputs:
            found.add(name)
        elif name in producers:
            stack.extend(i for i in producers[name].inputs if i and i not in im.constants)
        else:
            own.append(name)
    return [name for name in graph_inputs if name in found] + own


def shape_value_refusal(im, node, computed: list[str], what: str = "its output shape") -> str:
    """The one-line refusal for a node whose output shape is the value of run-time tensors: names the
    graph inputs those values come from (what to fix with --shape, or to compile in)."""
    sources = run_time_sources(im, computed)
    via = [name for name in computed if name not in sources]
    return (f"{node.op_type} node {node.name!r}: {what} is the value of {sources}"
            + (f" (through {via})" if via else "")
            + f", which {'is' if len(sources) == 1 else 'are'} computed at run time (shapes must be static; fix "
            "the inputs' shapes with --shape so the shape computation folds)")


def import_fold_only(im, node, at) -> None:
    computed = [name for name in node.input if name and name not in im.constants]
    raise UnsupportedModelError(shape_value_refusal(im, node, computed))


IMPORTS = {op: (import_fold_only, 0, 2**31) for op in FOLD_ONLY}
