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
    canonicalize_nans(graph, program)
    return program


# dtype -> (kernel, extra i32 args) of wasm-kernels/x_canonical_nan.wat; float dtypes with one NaN
# encoding (float8_e4m3fnuz, float8_e5m2fnuz, float8_e8m0fnu) or none (float4_e2m1fn) need no pass.
CANONICAL_NAN = {
    "float32": ("f32_canonical_nan", ()), "float64": ("f64_canonical_nan", ()),
    "float16": ("x16_canonical_nan", (0x7C00, 0x7E00)), "bfloat16": ("x16_canonical_nan", (0x7F80, 0x7FC0)),
    "float8_e4m3fn": ("x8_canonical_nan", (0x7E, 0x7F)), "float8_e5m2": ("x8_canonical_nan", (0x7C, 0x7E)),
}


def canonicalize_nans(graph: Graph, program: Program) -> None:
    """After the last layer, rewrite every NaN of every float graph output as its dtype's canonical
    quiet NaN (float32 0x7fc00000), so outputs have the same bits on every CPU (the wasm spec leaves
    NaN sign and payload to the hardware). Once per distinct tensor; the calls belong to the last
    layer (a --profile build times them with it). A BitCast's output is left as it is when its bits
    come from integers, a graph input or a constant: there the bits are the result the model asks
    for, and no CPU computed them."""
    node = program.calls[-1].node if program.calls else "__outputs"
    producers = {out: n for n in graph.nodes for out in n.outputs}
    done: set[str] = set()
    for info in graph.outputs:
        root = program.root(info.name)
        if info.dtype not in CANONICAL_NAN or root in done or info.size == 0 or _given_bits(graph, program, producers, info.name):
            continue
        done.add(root)
        kernel, extra = CANONICAL_NAN[info.dtype]
        program.call(kernel, [program.operand(graph, info.name), info.size, *extra], node)


def _given_bits(graph: Graph, program: Program, producers: dict, name: str) -> bool:
    """A BitCast of integer bits, of a graph input or of a constant (through views)."""
    node = producers.get(name)
    if node is None or node.op != "BitCast":
        return False
    source = node.inputs[0]
    root = program.root(source)
    return (node.attrs.get("source") not in CANONICAL_NAN or graph.is_constant(source) or graph.is_constant(root)
            or any(t.name in (source, root) for t in graph.inputs))
