"""Emit the model module's text: memory, the spliced kernels, and a generated `run`.

`run` is straight-line code, one `call` per kernel invocation with every offset and size as a
constant, so the engine sees exactly what a hand-written driver would give it.

Engines disagree on the fastest inner loop of a few kernels, so those kernels come in several loops
with the same bits and each call branches on the i32 the host may write at LOOP_VARIANT_OFFSET:
0 (memory starts zeroed) = Cranelift with epoch interruption (shuffle splats; for the plain GEMM a
2x16 block unrolled by 4, for the batch-1 GEMV 1x32 unrolled by 4), 1 = V8 (load-splat loops,
written by the browser host; the GEMV's unrolled loop), 2 = Cranelift without epoch checks (written
by the wasmtime host when it has no deadline; the 2x16 block and the 1x32 GEMV unrolled by 1). A host that never writes it gets the same bits, only another engine's speed.
"""

from __future__ import annotations

import math

from ..runtime.sandbox import CLOCK_OFFSET, DEADLINE_OFFSET, DEADLINE_STATUS, LOOP_VARIANT_NO_EPOCH, LOOP_VARIANT_OFFSET
from .kernels import wat_functions
from .program import Program, Ptr
from .plan import MemoryPlan


def f32_literal(value: float) -> str:
    """Exact wat spelling of an f32 constant (hex float, or inf/nan)."""
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return float(value).hex()


LOAD_SPLAT_LOOPS = {  # kernel -> the same kernel with load-splat loops (same signature and bits)
    "f32_gemm_4x8": "f32_gemm_4x8_ldsplat",
    "f32_igemm_4x8": "f32_igemm_4x8_ldsplat",
    "qu8_qc8w_gemm_4x8c2": "qu8_qc8w_gemm_4x8c2_ldsplat",
    "qdu8_f32_qc8w_gemm_4x8c2": "qdu8_f32_qc8w_gemm_4x8c2_ldsplat",
}
CRANELIFT_LOOPS = {  # kernel -> what runs when the word is 0 (and 1 without a load-splat loop), where that is another function
    "f32_gemm_4x8": "f32_gemm_2x16_u4",
    "f32_gemm_1x32": "f32_gemm_1x32_u4",
}
NO_EPOCH_LOOPS = {  # kernel -> what runs when the word is 2 (else the word-0 loop)
    "f32_gemm_4x8": "f32_gemm_2x16",
    "f32_igemm_4x8": "f32_igemm_2x16",
    "f32_gemm_1x32": "f32_gemm_1x32",
}
LOOP_VARIANT_V8 = 1
BRANCH_MARKERS = {  # an If with a run-time condition (ops/control_flow.py): the condition is one bool byte
    "__if": "(if (i32.load8_u {0}) (then",
    "__else": ") (else",
    "__end": "))",
}  # the word's values (0: the default; runtime/sandbox.py)


def loop_variant_kernels(kernels) -> list[str]:
    """The functions a module needs besides `kernels` for the per-engine loops."""
    return [table[k] for table in (LOAD_SPLAT_LOOPS, CRANELIFT_LOOPS, NO_EPOCH_LOOPS) for k in kernels if k in table]


def dispatch_call(kernel: str, args: str) -> str:
    """The wat of one call of `kernel` (args: its wat operands): a plain call, or the branches on
    the loop-variant word between the engines' loops (all with the same signature and bits)."""
    word = f"(i32.load (i32.const {LOOP_VARIANT_OFFSET}))"
    call = f"(call ${CRANELIFT_LOOPS.get(kernel, kernel)} {args})"
    if kernel in NO_EPOCH_LOOPS:
        call = (f"(if (i32.eq {word} (i32.const {LOOP_VARIANT_NO_EPOCH})) (then (call ${NO_EPOCH_LOOPS[kernel]} {args}))"
                f" (else {call}))")
    if kernel in LOAD_SPLAT_LOOPS:
        call = (f"(if (i32.eq {word} (i32.const {LOOP_VARIANT_V8})) (then (call ${LOAD_SPLAT_LOOPS[kernel]} {args}))"
                f" (else {call}))")
    return call


def profile_layers(program: Program) -> list[tuple[str, str, list]]:
    """A --profile build's entry points: (export, IR node, its calls), one per node, in run order.

    The module cannot read a clock (it imports nothing), so the host times each entry point.
    """
    groups: list[tuple[str, list]] = []
    depth = 0  # inside an If's branches: the whole If is one layer
    for call in program.calls:
        if depth or (groups and groups[-1][0] == call.node):
            groups[-1][1].append(call)
        else:
            groups.append((call.node, [call]))
        depth += {"__if": 1, "__end": -1}.get(call.kernel, 0)
    return [(f"layer_{i}", node, calls) for i, (node, calls) in enumerate(groups)]


# Nonzero once the host's clock word has reached its nonzero deadline word (runtime/sandbox.py);
# the difference is compared as signed so the tick counter may wrap.
OVERDUE_FUNCTION = f"""  (func $__overdue (result i32) (local $deadline i32)
    (local.set $deadline (i32.load (i32.const {DEADLINE_OFFSET})))
    (i32.and (i32.ne (local.get $deadline) (i32.const 0))
             (i32.ge_s (i32.sub (i32.load (i32.const {CLOCK_OFFSET})) (local.get $deadline)) (i32.const 0))))"""


def emit_module(program: Program, plan: MemoryPlan, profile: bool = False) -> str:
    """The default (single-threaded) module; `run` and the profile entries check the deadline
    before each layer, so a wasmtime host bounds them without epoch checks in every loop."""
    lines = ["(module", f'  (memory (export "memory") {plan.pages} {plan.pages})']
    lines.append(wat_functions(program.kernels + loop_variant_kernels(program.kernels)))
    lines.append(OVERDUE_FUNCTION)
    statuses = {message: code for code, message in enumerate(program.failures, start=1)}
    if program.init_calls:  # expands compactly shipped weights once, after the host wrote them
        lines += _function("init", program.init_calls, plan, statuses)
    lines += _function("run", program.calls, plan, statuses, deadline_checks=True)
    if profile:
        for export, _, calls in profile_layers(program):
            lines += _function(export, calls, plan, statuses, deadline_checks=True)
    lines.append(")")
    return "\n".join(lines) + "\n"


def _function(export: str, calls, plan: MemoryPlan, statuses: dict[str, int],
              deadline_checks: bool = False) -> list[str]:
    lines = [f'  (func (export "{export}") (result i32)']
    node = None
    for call in calls:
        args = " ".join(_arg(a, plan) for a in call.args)
        lines.append(f"    ;; {call.node}")
        if deadline_checks and call.node != node and call.kernel not in BRANCH_MARKERS:
            lines.append(f"    (if (call $__overdue) (then (return (i32.const {DEADLINE_STATUS}))))")
            node = call.node
        if call.kernel == "__fail":  # a branch that cannot run with the static shapes: stop with its reason
            lines.append(f"    (return (i32.const {statuses[call.failure]}))")
        elif call.kernel in BRANCH_MARKERS:
            lines.append("    " + BRANCH_MARKERS[call.kernel].format(*(_arg(a, plan) for a in call.args)))
        elif call.failure:  # a kernel that checks its run-time indices: stop with the status naming it
            lines.append(f"    (if (call ${call.kernel} {args}) (then (return (i32.const {statuses[call.failure]}))))")
        else:
            lines.append(f"    {dispatch_call(call.kernel, args)}")
    lines.append("    (i32.const 0))")
    return lines


def _arg(arg, plan: MemoryPlan) -> str:
    if isinstance(arg, Ptr):
        return f"(i32.const {plan.offsets[arg.tensor] + arg.offset})"
    if isinstance(arg, int):
        return f"(i32.const {arg})"
    return f"(f32.const {f32_literal(arg)})"
