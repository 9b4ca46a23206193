"""IR -> kernel calls: each node's op unit picks its kernel, packs its weights, records views.

The result is still symbolic (tensor names, not offsets): the planner places the tensors and
codegen turns each `Call` into a `call` instruction.
"""

from __future__ import annotations

from ..bundle import FLOAT_DTYPES
from ..ir import Graph
from ..ops import IR_OPS
from .program import Program


def lower(graph: Graph) -> Program:
    program = Program()
    for node in graph.nodes:
        IR_OPS[node.op].lower(graph, node, program)
    canonicalize_nans(graph, program)
    return program


# dtype -> (kernel, extra i32 args) of wasm-kernels/x_canonical_nan.wat. The float8 types are left as
# x_cast makes them (from the source's bits, the sign kept, as ONNX and onnxruntime define it).
CANONICAL_NAN = {
    "float32": ("f32_canonical_nan", ()), "float64": ("f64_canonical_nan", ()),
    "float16": ("x16_canonical_nan", (0x7C00, 0x7E00)), "bfloat16": ("x16_canonical_nan", (0x7F80, 0x7FC0)),
}
BOUNDARY_KERNELS = ("f32_canonical_nan", "f64_canonical_nan", "x16_canonical_nan")
# IR ops whose float output holds bits of their float inputs, moved without arithmetic (wasm loads,
# stores and copies keep every bit, on every CPU); their index operands are integers.
MOVES = {"BlockRearrange", "Concat", "Copy", "Expand", "Gather", "GatherElements", "GatherND", "LayoutTranspose",
         "Pad", "Reshape", "ReverseSequence", "Slice", "Tile", "Transpose", "Transpose2D"}


def canonicalize_nans(graph: Graph, program: Program) -> None:
    """After the last layer, rewrite every NaN of every float graph output as its dtype's canonical
    quiet NaN (float32 0x7fc00000), so outputs have the same bits on every CPU (the wasm spec leaves
    the sign and payload of a NaN an operation makes to the hardware: 0/0 is 0xffc00000 on x86-64,
    0x7fc00000 on aarch64). Once per distinct tensor; the calls belong to the last layer (a --profile
    build times them with it). An output whose bits were only moved (MOVES, BitCast) from graph inputs,
    constants or integers is left as it is: no CPU computed them, and they are the model's result."""
    node = program.calls[-1].node if program.calls else "__outputs"
    producers = {out: n for n in graph.nodes for out in n.outputs}
    given: dict[str, bool] = {}
    done: set[str] = set()
    for info in graph.outputs:
        root = program.root(info.name)
        if info.dtype not in CANONICAL_NAN or root in done or info.size == 0 or \
                _given_bits(graph, producers, info.name, given):
            continue
        done.add(root)
        kernel, extra = CANONICAL_NAN[info.dtype]
        program.call(kernel, [program.operand(graph, info.name), info.size, *extra], node)


def _given_bits(graph: Graph, producers: dict, name: str, memo: dict[str, bool]) -> bool:
    """Whether tensor `name` holds bits no arithmetic made: a graph input, a constant, an integer, or
    moved (MOVES, BitCast) from such tensors only."""
    if name in memo:
        return memo[name]
    memo[name] = False  # a cycle (none in a valid graph) is not given
    node = producers.get(name)
    if graph.is_constant(name) or any(t.name == name for t in graph.inputs):
        result = True
    elif node is None:
        result = False
    elif node.op == "BitCast":
        result = node.attrs.get("source") not in FLOAT_DTYPES or _given_bits(graph, producers, node.inputs[0], memo)
    elif node.op in MOVES:
        result = all(_given_bits(graph, producers, i, memo) for i in node.inputs
                     if i and graph.dtype_of(i) in FLOAT_DTYPES)
    else:
        result = False
    memo[name] = result
    return result
