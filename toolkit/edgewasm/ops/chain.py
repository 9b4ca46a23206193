"""Chain: float32 elementwise ops fused into one pass over memory (passes/chains.py builds it).

The node keeps the IR nodes it replaced (`attrs["steps"]`, in order; x = inputs[0] feeds the first,
inputs[1:] are at most two operand tensors of the output's shape; `attrs["keep"]`: the steps whose
value later steps read again, each the operand x from there on). It lowers to one f32_vchain call
(wasm-kernels/f32_vchain.wat) whose descriptor lists the steps; each step runs the instructions of
its standalone kernel, so the result has the unfused graph's bits. The reference export spells every
step out again with its own unit's export.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ..backend.program import Ptr
from . import unary

IR_OP = "Chain"
IMPORTS: dict = {}

BINARY_KINDS = {"Add": 0, "Sub": 1, "Mul": 2, "Div": 3, "Max": 4, "Min": 5}
REVERSED_KINDS = {0: 0, 1: 6, 2: 2, 3: 7, 4: 4, 5: 5}  # the kind once the running value is the right operand
UNARY_KINDS = {"Clamp": 8, "Sigmoid": 9, "Tanh": 10, "Erf": 11, "LeakyRelu": 14, "HardSigmoid": 15,
               "HardSwish": 16, "Sqrt": 17, "Exp": 18, "Log": 19, "Swish": 21}
GELU_KINDS = {"none": 12, "tanh": 13}
UNARY_OP_KIND = 20
OPERAND_CONSTANT, OPERAND_X, OPERAND_TENSORS, OPERAND_SELF = 0, 1, 2, 4  # tensors: 2 = a, 3 = b
STEP_WORDS, HEADER_WORDS = 8, 4
KEEP = 0x100  # the step's value is kept: the operand x of the steps after it
SCRATCH_BYTES = 2 * 4096 + 64
MAX_OPERANDS = 2


def is_unary_step(node) -> bool:
    """A float32 unary node that a chain step computes."""
    if node.op == "Clamp":
        return True
    if node.attrs.get("dtype", "float32") != "float32":
        return False
    return node.op in UNARY_KINDS or node.op == "Gelu" or node.op in unary.OP_CODED


def _f32_bits(value: float) -> int:
    return int(np.array(value, np.float32).view(np.int32))


def _step_words(graph, step, t: str, x: str, operands: list[str]) -> list[int]:
    """The descriptor words of one step whose running value is the tensor t."""
    p0 = p1 = 0.0
    which, constant = 0, 0.0
    if step.op in BINARY_KINDS:
        left, right = step.inputs
        kind = BINARY_KINDS[step.op]
        other = right
        if left != t:
            kind, other = REVERSED_KINDS[kind], left
        if other == t:
            which = OPERAND_SELF
        elif other == x:
            which = OPERAND_X
        elif other in operands:
            which = OPERAND_TENSORS + operands.index(other)
        else:
            constant = float(graph.constants[other].reshape(()))
    elif step.op == "Gelu":
        kind = GELU_KINDS[step.attrs["approximate"]]
    elif step.op in unary.OP_CODED and step.op not in UNARY_KINDS:
        code, params = unary.OP_CODED[step.op]
        kind, which = UNARY_OP_KIND, code
        p0, p1 = ([float(step.attrs[name]) for name, _ in params] + [0.0, 0.0])[:2]
    else:
        kind = UNARY_KINDS[step.op]
        if step.op == "Clamp":
            p0, p1 = float(step.attrs["min"]), float(step.attrs["max"])
        elif step.op in ("LeakyRelu", "HardSigmoid", "Swish"):
            p0 = float(step.attrs["alpha"])
            p1 = float(step.attrs.get("beta", 0.0))
    return [kind, which, _f32_bits(p0), _f32_bits(p1), *[_f32_bits(constant)] * 4]


def descriptor(graph, node) -> np.ndarray:
    x, operands = node.inputs[0], node.inputs[1:]
    words = [len(node.attrs["steps"]), 0, 0, 0]
    t = x
    for i, step in enumerate(node.attrs["steps"]):
        words += _step_words(graph, step, t, x, operands)
        t = step.outputs[0]
        if i in node.attrs.get("keep", ()):
            words[-STEP_WORDS] |= KEEP
            x = t
    return np.array(words, np.int64).astype(np.int32)


def lower(graph, node, program) -> None:
    y = node.outputs[0]
    x = node.inputs[0]
    pointers = [program.weight(name, graph.constants[name]) if graph.is_constant(name) else Ptr(name)
                for name in node.inputs[1:]]
    pointers += [Ptr(x)] * (MAX_OPERANDS - len(pointers))
    table = descriptor(graph, node)  # named by content: an unrolled recurrence's chains share one
    desc = program.table(f"__chain_{hashlib.sha1(table.tobytes()).hexdigest()[:16]}", table)
    scratch = program.temp(f"{y}__chain_scratch", SCRATCH_BYTES)
    program.call("f32_vchain", [desc, graph.info(y).size, Ptr(x), *pointers, Ptr(y), scratch], node.name)


def export(ex, node) -> None:
    from . import IR_OPS

    for step in node.attrs["steps"]:
        IR_OPS[step.op].export(ex, step)


def flops(graph, node) -> int:
    from . import IR_OPS

    return sum(IR_OPS[step.op].flops(graph, step) for step in node.attrs["steps"])
