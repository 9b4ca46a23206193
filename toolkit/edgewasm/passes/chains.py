"""Chains: maximal runs of float32 elementwise nodes become one Chain node (ops/chain.py), one pass
over memory instead of one per op, with the same bits.

A chain starts at any fusible node and follows its output while that output is not a graph output
and its readers are fusible steps: one reader is the next step; an intermediate with several
readers is kept (in the kernel's second scratch block) when they all join the chain, as in
hard-swish after an affine step, x -> Mul(s) -> Add(b) -> (t + 3 -> Clip -> t * . -> / 6).
A step is a float32 unary op (Clamp, Sigmoid, Erf, Gelu, HardSwish, the op-coded ones, ...) of
the running value t, or Add/Sub/Mul/Div/Max/Min of t with a scalar constant, with t itself, with
the chain's input x (x * f(x)) or kept value, or with a tensor of t's shape (a residual; at most
two distinct ones per chain). Operand order is kept (c - t is not t - c). Runs after compression: quantized nodes are not float32 and stay as they are; and after
fuse_gates, whose Swish / HardSwish become single steps. A threaded build splits a chain over
16-element units, each thread in its own scratch block (backend/threads.py).
"""

from __future__ import annotations

from ..ir import Graph, Node
from ..ops.chain import BINARY_KINDS, MAX_OPERANDS, is_unary_step
from .fuse import readers_by_tensor


def fuse_chains(graph: Graph) -> tuple[Graph, list[str]]:
    """Return the graph with every chain of >= 2 steps fused, and one report line per chain."""
    fused: list[str] = []
    readers = readers_by_tensor(graph)
    taken: set[int] = set()
    chains: list[tuple[str, list[Node], list[str], tuple[int, ...]]] = []
    for node in graph.nodes:
        if id(node) in taken:
            continue
        x = _chain_input(graph, node)
        operands: list[str] = []
        if x is None or not _admit(graph, node, x, x, operands):
            continue
        steps, keeps, start = _follow(graph, node, x, operands, readers, taken)
        if len(steps) < 2:
            continue
        taken.update(id(s) for s in steps)
        chains.append((start, steps, operands, keeps))
    replaced: dict[int, Node | None] = {}  # a chain takes its last step's place: every input exists by then
    for x, steps, operands, keeps in chains:
        last = steps[-1]
        replaced.update((id(s), None) for s in steps[:-1])
        name = "..".join(dict.fromkeys(s.name for s in (steps[0], last) if s.name))  # a profile's layer: first..last
        replaced[id(last)] = Node("Chain", [x, *operands], [last.outputs[0]], {"steps": tuple(steps), "keep": keeps}, name)
        fused.append(" + ".join(s.name or s.op for s in steps) + f" ({len(steps)} ops in one pass)")
    # the intermediates keep their TensorInfo: the reference export names them
    graph.nodes = [replaced.get(id(n), n) for n in graph.nodes if replaced.get(id(n), n) is not None]
    return graph, fused


def _follow(graph: Graph, first: Node, x: str, operands: list[str], readers, taken) -> tuple[list[Node], tuple[int, ...], str]:
    """Grow a chain from `first` while the running value's readers can all be steps: one reader is
    the next step; an intermediate read by several becomes the kept value (the chain's operand x
    from there on) when every reader joins the chain before the next one is kept. Returns the
    longest valid prefix: (steps, indices of the steps whose value is kept, the chain input)."""
    start = x
    steps, keeps = [first], []
    valid = (1, 0, len(operands))  # steps, keeps, operands of the longest prefix that leaves nothing behind
    pending: set[int] = set()  # readers of the kept value not in the chain yet
    t = first.outputs[0]
    while not graph.is_graph_output(t):
        users = readers.get(t, [])
        if len(users) > 1:
            if pending:
                break
            pending = {id(u) for u in users}
            keeps.append(len(steps) - 1)
            x = t
        follower = next((u for u in users if id(u) not in taken and id(u) not in {id(s) for s in steps}
                         and t in u.inputs), None)
        if follower is None or not _admit(graph, follower, t, x, operands):
            break
        steps.append(follower)
        pending.discard(id(follower))
        t = follower.outputs[0]
        if not pending:
            valid = (len(steps), len(keeps), len(operands))
    count, kept, n_operands = valid
    del operands[n_operands:]
    return steps[:count], tuple(keeps[:kept]), start


def _chain_input(graph: Graph, node: Node) -> str | None:
    """The running value a node would start a chain from: the unary input, or a binary node's first
    non-constant input."""
    if node.op in BINARY_KINDS:
        candidates = [name for name in node.inputs if not graph.is_constant(name)]
        return candidates[0] if candidates else None
    return node.inputs[0] if node.inputs and not graph.is_constant(node.inputs[0]) else None


def _admit(graph: Graph, node: Node, t: str, x: str, operands: list[str]) -> bool:
    """Whether `node` can be the next step on the running value t (operands grows if it takes one)."""
    if len(node.outputs) != 1 or graph.info(node.outputs[0]).dtype != "float32":
        return False
    if graph.info(t).dtype != "float32" or graph.info(node.outputs[0]).shape != graph.info(t).shape:
        return False
    if node.op not in BINARY_KINDS:
        return len(node.inputs) == 1 and node.inputs[0] == t and is_unary_step(node)
    if len(node.inputs) != 2 or t not in node.inputs:
        return False
    other = node.inputs[1] if node.inputs[0] == t else node.inputs[0]
    if other in (t, x):
        return True
    if graph.is_constant(other):
        value = graph.constants[other]
        if value.size == 1:
            return value.dtype.name == "float32"
        if value.dtype.name != "float32" or tuple(value.shape) != graph.info(t).shape:
            return False
    elif graph.info(other).dtype != "float32" or graph.info(other).shape != graph.info(t).shape:
        return False
    if other not in operands:
        if len(operands) == MAX_OPERANDS:
            return False
        operands.append(other)
    return True
