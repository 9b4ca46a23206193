"""The opt-in threaded module (`--threads N`): one shared memory imported, work split over output tiles.

The module imports exactly one thing, `env.memory` (shared, minimum = maximum = the plan's pages),
and exports `run() -> i32` (thread 0) and `run_thread(t) -> i32` (threads 1..k-1), plus `init()`
when the variant has one. Every thread executes the same straight-line program:

- a kernel call that is worth splitting (its work, known at compile time, is at least
  MIN_SPLIT_WORK multiply-adds, in a model whose splittable work is at least MIN_MODEL_SPLIT_WORK) is split over its *output* tiles: rows or column panels of a GEMM,
  output pixels of a convolution, tiles of a Winograd transform. Each thread computes its own
  contiguous range of tiles with the same kernel, and every output element is computed by exactly
  the instruction sequence the single-threaded build uses (our kernels fix each element's order of
  operations independently of the tile it falls in; f32_gemm.wat, f32_igemm.wat), so any thread
  count gives the same bits;
- every other call (small layers, data movement, index kernels, anything with a status) runs on
  thread 0 alone, consecutive ones as one group;
- after each group all threads meet at a barrier kept in memory (words below): an atomic
  `i32.atomic.rmw.add` arrival counter and a generation word. The last to arrive resets the counter,
  bumps the generation and `memory.atomic.notify`s; the others spin a little, then workers block in
  `memory.atomic.wait32` (1 ms at a time, so a deadline's epoch check and the abort word are seen).
  Thread 0 blocks only when the host says it may (the browser's main thread may not: it spins).

Before each barrier thread 0 checks the deadline words (runtime/sandbox.py) and stores the deadline's
status, which every thread returns after that barrier: a wasmtime host needs no epoch checks.

The host writes the thread count k (1 <= k <= N) to THREADS_OFFSET before a run; k = 1 needs no
workers at all (every barrier passes at once). A run-time status (an index out of range) is stored
in STATUS_OFFSET by thread 0 and every thread returns it after the next barrier. A host that sees a
thread trap writes ABORT_OFFSET so the others trap at their next barrier instead of waiting forever.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..errors import ThreadsError, UnsupportedModelError
from ..runtime.sandbox import DEADLINE_STATUS
from ..runtime.threads import (ABORT_OFFSET, COUNT_OFFSET, DONE_OFFSET, GENERATION_OFFSET, GO_OFFSET, MAIN_MAY_BLOCK_OFFSET,
                               SERVE_EXPORT, STATUS_OFFSET, THREADS_OFFSET, WORKER_EXPORT)
from .codegen import BRANCH_MARKERS, OVERDUE_FUNCTION, _arg, _function, dispatch_call, loop_variant_kernels
from .kernels import wat_functions
from .plan import MemoryPlan
from .program import Call, Program, Ptr
from ..ops.chain import SCRATCH_BYTES as CHAIN_SCRATCH_BYTES

MAX_THREADS = 64
MIN_SPLIT_WORK = 1 << 16  # multiply-adds below which a call stays on thread 0 (a barrier costs a few us)
# multiply-adds of all splittable calls below which nothing is split: the workers wait inside the
# module and start within a microsecond of a run, so only tiny models stay whole (mlp-b1, 0.5M
# multiply-adds, splits: 0.054 -> 0.026 ms on two threads here; digits-b64, 150K, got slower split:
# 0.017 -> 0.024 ms)
MIN_MODEL_SPLIT_WORK = 1 << 18
SPIN_ROUNDS = 4000  # loads of the generation word before a thread that may block waits
WAIT_NS = 1_000_000  # one wait32 (ns): short, so epoch deadlines and the abort word are noticed
# serve(): loads of the GO word between runs before an idle worker waits (~0.5 ms): back-to-back runs
# start a spinning worker at once, where waking a sleeping one costs ~50 us on a VM's idle core
SERVE_SPIN_ROUNDS = 200_000
IDLE_WAIT_NS = 50_000_000  # one idle wait32 (ns): an abort written without a notify is seen this soon


@dataclass(frozen=True)
class Split:
    """How to give a thread tiles [s, e) of a call: args[count] becomes e - s, and each
    (arg, stride) in `advance` moves args[arg] by s * stride(args); `unit` tiles are kept whole.
    Each (arg, nbytes) in `per_thread` moves args[arg] by t * nbytes(args): thread t's own scratch
    block (reserve_thread_scratch makes the buffer that large)."""

    count: int
    unit: int
    advance: tuple[tuple[int, Callable[[list], int]], ...]
    work: Callable[[list], int]
    per_thread: tuple[tuple[int, Callable[[list], int]], ...] = ()


def _gemm_rows() -> Split:  # [m, n, k, a, a_stride, w, c, c_stride, min, max]
    return Split(0, 4, ((3, lambda a: a[4]), (6, lambda a: a[7])), lambda a: a[0] * a[1] * a[2])


def _gemm_columns() -> Split:  # 32 columns = 4 packed panels of (k + 1) * 8 f32
    return Split(1, 32, ((5, lambda a: 4 * (a[2] + 1)), (6, lambda a: 4)),
                 lambda a: a[0] * a[1] * a[2])


def _qu8_gemm_rows(unit: int, scratch: bool) -> Split:
    """[m, n, k, a, a_stride, a_zp, w, c, c_stride, c_zp, qmin, qmax(, scratch)]: rows; the 4x8c2
    kernel's scratch block is per thread."""
    return Split(0, unit, ((3, lambda a: a[4]), (7, lambda a: a[8])), lambda a: a[0] * a[1] * a[2],
                 ((12, lambda a: 16 * -(-a[2] // 2)),) if scratch else ())


def _qs16_gemm_rows() -> Split:  # [m, n, k, a, a_stride, w, c, c_stride]: the integer Winograd's GEMMs
    return Split(0, 4, ((3, lambda a: a[4]), (6, lambda a: a[7])), lambda a: a[0] * a[1] * a[2])


def _qs16_gemm_columns() -> Split:  # 32 columns = 4 packed panels of 16 * k bytes, 32 bytes of C each
    return Split(1, 32, ((5, lambda a: 2 * a[2]), (6, lambda a: 4)), lambda a: a[0] * a[1] * a[2])


def _elementwise(count: int, pointers: tuple[int, ...], cost: int) -> Split:
    """n f32 elements at `pointers` (4 bytes each), in 16-element units: every split point is a
    multiple of the kernels' 4-lane vectors, so an element takes the vector or the tail path exactly
    as in the single-threaded build. `cost`: multiply-adds one element is worth (a barrier's price)."""
    return Split(count, 16, tuple((i, lambda a: 4) for i in pointers), lambda a, c=count: a[c] * cost)


def _vbinary_nd(args: list) -> Split | None:
    """[op, n, b_run, d0, sa0, sb0, d1, sa1, sb1, a, b, y]: whole outer rows (i1, else i0), or
    16-element units of the run when the broadcast collapsed to one run."""
    d0, d1 = args[3], args[6]
    if not all(isinstance(v, int) for v in args[1:9]):
        return None
    work = lambda a: a[1] * a[3] * a[6]  # noqa: E731
    if d1 >= 2:
        return Split(6, 1, ((9, lambda a: a[7]), (10, lambda a: a[8]), (11, lambda a: 4 * a[1] * a[3])), work)
    if d0 >= 2:
        return Split(3, 1, ((9, lambda a: a[4]), (10, lambda a: a[5]), (11, lambda a: 4 * a[1])), work)
    return Split(1, 16, ((9, lambda a: 4), (10, lambda a: 4 * a[2]), (11, lambda a: 4)), work)


CHEAP, TRANSCENDENTAL = 1, 8  # multiply-adds an element of an elementwise kernel is worth
UNARY = {"f32_vclamp", "f32_vsqrt", "f32_vlrelu", "f32_vhsigmoid", "f32_vhswish"}  # (n, x, y, ...)
TRANSCENDENTAL_UNARY = {"f32_vlog", "f32_vsigmoid", "f32_vtanh", "f32_verf", "f32_vgelu", "f32_vgelu_tanh",
                        "f32_vswish", "f32_vexp_array"}
CHAIN_SCRATCH_ARG = 6  # f32_vchain [desc, n, x, a, b, y, scratch]

GEMMS = {"f32_gemm_4x8", "f32_gemm_1x8", "f32_gemm_1x32"}
QS16_GEMM = "qs16_s32_s16w_gemm_4x8c2"  # the integer Winograd's: split and made independent as the f32 GEMMs
SPLITS = {
    # [m, n, taps, kc, ind, x, zero, w, y, y_stride, min, max]: output pixels
    "f32_igemm_4x8": Split(0, 4, ((4, lambda a: 4 * a[2]), (8, lambda a: a[9])),
                           lambda a: a[0] * a[1] * a[2] * a[3]),
    # [m, c, ind, x, zero, w, y, min, max]: output pixels
    "f32_dwconv_3x3p4c": Split(0, 4, ((2, lambda a: 36), (6, lambda a: 4 * a[1])), lambda a: a[0] * a[1] * 9),
    # [m, c, taps, ind, x, zero, w, y, min, max]
    "f32_dwconv_p4c": Split(0, 4, ((3, lambda a: 4 * a[2]), (7, lambda a: 4 * a[1])),
                            lambda a: a[0] * a[1] * a[2]),
    # [tile, count, tiles_w, c, x, h, w, pad_top, pad_left, zero, v, v_stride, v_plane]: tiles
    "f32_winograd_input_2x2_3x3": Split(1, 1, ((0, lambda a: 1), (10, lambda a: a[11])),
                                        lambda a: a[1] * a[3] * 16),
    # [tile, count, tiles_w, k, m, m_stride, m_plane, bias, y, y_h, y_w, min, max]: tiles
    "f32_winograd_output_2x2_3x3": Split(1, 1, ((0, lambda a: 1), (4, lambda a: a[5])),
                                         lambda a: a[1] * a[3] * 16),
    # row kernels: every row is computed alone, in the same order whatever rows surround it
    # [rows, n, x, y]
    "f32_softmax": Split(0, 1, ((2, lambda a: 4 * a[1]), (3, lambda a: 4 * a[1])),
                         lambda a: a[0] * a[1] * TRANSCENDENTAL),
    # [rows, n, x, gamma, beta, y, mean_out, inv_std_out, eps] (mean_out/inv_std_out 0: not written)
    "f32_layernorm": Split(0, 1, ((2, lambda a: 4 * a[1]), (5, lambda a: 4 * a[1]),
                                  (6, lambda a: 4 if a[6] != 0 else 0), (7, lambda a: 4 if a[7] != 0 else 0)),
                           lambda a: a[0] * a[1] * 4),
    "f32_vadd": _elementwise(0, (1, 2, 3), CHEAP),  # [n, a, b, y]
    # [desc, n, x, a, b, y, scratch]: 16-element units as _elementwise (a chain's steps are lane-wise
    # and its 1024-element blocks only group the work), each thread in its own scratch block
    "f32_vchain": Split(1, 16, tuple((i, lambda a: 4) for i in (2, 3, 4, 5)), lambda a: a[1] * TRANSCENDENTAL,
                        ((CHAIN_SCRATCH_ARG, lambda a: CHAIN_SCRATCH_BYTES),)),
    "f32_vunary_op": _elementwise(1, (2, 3), TRANSCENDENTAL),  # [op, n, x, y, p0, p1]
    # static and dynamic int8: output rows (pixels) or tiles, each computed alone whatever surrounds it
    **{kernel: _qu8_gemm_rows(unit, scratch=kernel.endswith("4x8c2"))
       for kernel, unit in (("qu8_qc8w_gemm_4x8c2", 4), ("qu8_qc8w_gemm_4x4c2", 4), ("qu8_qc8w_gemm_1x4c2", 1))},
    # [m, n, k, a, a_stride, w, c, c_stride, c_zp, qmin, qmax]
    **{kernel: Split(0, unit, ((3, lambda a: a[4]), (6, lambda a: a[7])), lambda a: a[0] * a[1] * a[2])
       for kernel, unit in (("qu8_qc7w_gemm_4x8c4_relaxed", 4), ("qu8_qc7w_gemm_1x8c4_relaxed", 1))},
    # [m, n, k, a, a_stride, a_scale, a_zp, w, c, c_stride, min, max(, scratch)]
    **{kernel: Split(0, unit, ((3, lambda a: a[4]), (8, lambda a: a[9])), lambda a: a[0] * a[1] * a[2],
                     ((12, lambda a: 16 * -(-a[2] // 2)),) if kernel.endswith("4x8c2") else ())
       for kernel, unit in (("qdu8_f32_qc8w_gemm_4x8c2", 4), ("qdu8_f32_qc8w_gemm_4x4c2", 4),
                            ("qdu8_f32_qc8w_gemm_1x4c2", 1))},
    # [m, c, taps, ind, x, pad, w, y, c_zp, qmin, qmax, ptrs]: output pixels, each thread its tap pointers
    "qu8_qc8w_dwconv_c16x2": Split(0, 1, ((3, lambda a: 4 * a[2]), (7, lambda a: a[1])), lambda a: a[0] * a[1] * a[2],
                                   ((11, lambda a: 4 * (a[2] + 1)),)),
    # uint8 elementwise: 16-byte units (the vector step; the tail takes the same elements as on one thread)
    "qu8_vadd": Split(0, 16, tuple((i, lambda a: 1) for i in (1, 2, 3)), lambda a: a[0] * CHEAP),  # [n, a, b, y, ...]
    "x8_lut": Split(0, 16, ((2, lambda a: 1), (3, lambda a: 1)), lambda a: a[0] * CHEAP),  # [n, table, x, y]
    # [pixels, c, x, s, y, ...]: pixels
    "qu8_vmul_channels": Split(0, 1, ((2, lambda a: a[1]), (4, lambda a: a[1])), lambda a: a[0] * a[1] * CHEAP),
    # [pixels, taps, cg, ind, x, zp, rows, row_pad]: pixels (a copy: a byte is worth a multiply-add)
    "u8_im2col": Split(0, 1, ((3, lambda a: 4 * a[1]), (6, lambda a: a[1] * a[2] + a[7])), lambda a: a[0] * a[1] * a[2]),
    # [tile, count, tiles_w, c, x, h, w, pad_top, pad_left, pad, x_zp, v, v_stride, v_plane]: tiles
    "qu8_winograd_input_2x2_3x3": Split(1, 1, ((0, lambda a: 1), (11, lambda a: a[12])), lambda a: a[1] * a[3] * 16),
    # [tile, count, tiles_w, k, m, m_stride, m_plane, heads, y, y_h, y_w, y_zp, qmin, qmax]: tiles
    "qu8_winograd_output_2x2_3x3": Split(1, 1, ((0, lambda a: 1), (4, lambda a: a[5])), lambda a: a[1] * a[3] * 16),
    **{kernel: _elementwise(0, (1, 2), CHEAP) for kernel in UNARY},
    **{kernel: _elementwise(0, (1, 2), TRANSCENDENTAL) for kernel in TRANSCENDENTAL_UNARY},
}


def splits(program: Program) -> list[Split | None]:
    """split_of for every call, or all None when the model is too small to pay for threads."""
    found = [split_of(call) for call in program.calls]
    work = sum(spec.work(call.args) for call, spec in zip(program.calls, found) if spec is not None)
    return found if work >= MIN_MODEL_SPLIT_WORK else [None] * len(found)


def split_of(call: Call) -> Split | None:
    """How `call` is split over threads, or None (it runs on thread 0): decided at compile time."""
    if call.failure or call.kernel.startswith("__"):
        return None
    if call.kernel in GEMMS or call.kernel == QS16_GEMM:
        m, n = call.args[0], call.args[1]
        rows, columns = (_gemm_rows, _gemm_columns) if call.kernel in GEMMS else (_qs16_gemm_rows, _qs16_gemm_columns)
        spec = columns() if n >= 64 and n >= m else rows() if m >= 16 else columns() if n >= 64 else None
    elif call.kernel == "f32_vbinary_nd":
        spec = _vbinary_nd(call.args)
    else:
        spec = SPLITS.get(call.kernel)
    if spec is None or not all(isinstance(call.args[i], int) for i in (spec.count,)):
        return None
    if spec.work(call.args) < MIN_SPLIT_WORK or call.args[spec.count] < 2 * spec.unit:
        return None
    return spec


def barrier_function() -> str:
    return f"""  (func $__barrier (param $t i32) (param $k i32)
    (local $gen i32) (local $spin i32)
    (if (i32.le_u (local.get $k) (i32.const 1)) (then (return)))
    (local.set $gen (i32.atomic.load (i32.const {GENERATION_OFFSET})))
    (if (i32.eq (i32.add (i32.atomic.rmw.add (i32.const {COUNT_OFFSET}) (i32.const 1)) (i32.const 1)) (local.get $k))
      (then
        (i32.atomic.store (i32.const {COUNT_OFFSET}) (i32.const 0))
        (drop (i32.atomic.rmw.add (i32.const {GENERATION_OFFSET}) (i32.const 1)))
        (drop (memory.atomic.notify (i32.const {GENERATION_OFFSET}) (i32.const -1)))
        (return)))
    (loop $wait
      (if (i32.ne (i32.atomic.load (i32.const {GENERATION_OFFSET})) (local.get $gen)) (then (return)))
      (if (i32.atomic.load (i32.const {ABORT_OFFSET})) (then (unreachable)))
      (local.set $spin (i32.add (local.get $spin) (i32.const 1)))
      (if (i32.and (i32.gt_u (local.get $spin) (i32.const {SPIN_ROUNDS}))
                   (i32.or (i32.ne (local.get $t) (i32.const 0))
                           (i32.atomic.load (i32.const {MAIN_MAY_BLOCK_OFFSET}))))
        (then (drop (memory.atomic.wait32 (i32.const {GENERATION_OFFSET}) (local.get $gen) (i64.const {WAIT_NS})))))
      (br $wait)))"""


def _split_call(call: Call, spec: Split, plan: MemoryPlan) -> list[str]:
    """Thread $t's share of `call`: tiles [s, e) of its units, nothing when empty."""
    count = call.args[spec.count]
    units = -(-count // spec.unit)
    lines = [
        f"    (local.set $s (i32.mul (i32.div_u (i32.mul (i32.const {units}) (local.get $t)) (local.get $k)) (i32.const {spec.unit})))",
        f"    (local.set $e (i32.mul (i32.div_u (i32.mul (i32.const {units}) (i32.add (local.get $t) (i32.const 1))) (local.get $k)) (i32.const {spec.unit})))",
        f"    (if (i32.gt_s (local.get $e) (i32.const {count})) (then (local.set $e (i32.const {count}))))",
    ]
    moved = {index: stride(call.args) for index, stride in spec.advance}
    own = {index: nbytes(call.args) for index, nbytes in spec.per_thread}
    args = []
    for index, arg in enumerate(call.args):
        text = _arg(arg, plan)
        if index == spec.count:
            text = "(i32.sub (local.get $e) (local.get $s))"
        elif index in moved:
            text = f"(i32.add {text} (i32.mul (local.get $s) (i32.const {moved[index]})))"
        elif index in own:
            text = f"(i32.add {text} (i32.mul (local.get $t) (i32.const {own[index]})))"
        args.append(text)
    lines.append(f"    (if (i32.gt_s (local.get $e) (local.get $s)) (then {dispatch_call(call.kernel, ' '.join(args))}))")
    return lines


def _body(program: Program, plan: MemoryPlan, statuses: dict[str, int]) -> list[str]:
    lines = ["  (func $__run (param $t i32) (result i32)",
             "    (local $k i32) (local $s i32) (local $e i32)",
             f"    (local.set $k (i32.load (i32.const {THREADS_OFFSET})))",
             "    (if (i32.lt_s (local.get $k) (i32.const 1)) (then (local.set $k (i32.const 1))))",
             "    (if (i32.ge_u (local.get $t) (local.get $k)) (then (return (i32.const 0))))",
             f"    (if (i32.eqz (local.get $t)) (then (i32.store (i32.const {STATUS_OFFSET}) (i32.const 0))))"]
    solo: list[Call] = []
    # The split calls since the last barrier, as (reads, writes) byte ranges; None: a barrier is not
    # pending. A split call whose ranges touch none of theirs (a Winograd block's 16 GEMMs) needs no
    # barrier before it: no thread reads or overwrites what another may still be working on.
    pending: list[tuple[list, list]] | None = None

    def barrier() -> None:
        """Meet; thread 0 first stores the deadline's status if the host's clock has passed it, and
        every thread returns a stored status after the barrier (runtime/sandbox.py's words)."""
        nonlocal pending
        pending = None
        lines.append("    (if (i32.eqz (local.get $t)) (then (if (call $__overdue) (then "
                     f"(i32.store (i32.const {STATUS_OFFSET}) (i32.const {DEADLINE_STATUS}))))))")
        lines.append("    (call $__barrier (local.get $t) (local.get $k))")
        lines.append(f"    (if (i32.load (i32.const {STATUS_OFFSET})) (then (return (i32.load (i32.const {STATUS_OFFSET})))))")

    def settle() -> None:
        if pending is not None:
            barrier()

    def flush() -> None:
        settle()
        if not solo:
            return
        lines.append("    (if (i32.eqz (local.get $t)) (then (block $solo")
        for call in solo:
            args = " ".join(_arg(a, plan) for a in call.args)
            lines.append(f"    ;; {call.node}")
            if call.failure:
                lines.append(f"    (if (call ${call.kernel} {args}) (then (i32.store (i32.const {STATUS_OFFSET}) "
                             f"(i32.const {statuses[call.failure]})) (br $solo)))")
            else:
                lines.append(f"    {dispatch_call(call.kernel, args)}")
        lines.append("    )))")
        solo.clear()
        barrier()  # returns a status thread 0 stored

    for call, spec in zip(program.calls, splits(program)):
        if call.kernel == "__fail":
            flush()
            lines.append(f"    (return (i32.const {statuses[call.failure]}))")
        elif call.kernel in BRANCH_MARKERS:  # every thread reads the same condition byte after a barrier
            flush()
            lines.append("    " + BRANCH_MARKERS[call.kernel].format(*(_arg(a, plan) for a in call.args)))
        elif spec is not None:
            if solo:
                flush()
            ranges = _ranges(call, plan)
            if pending is not None and (ranges is None or not _independent(ranges, pending)):
                barrier()
            lines.append(f"    ;; {call.node} (split)")
            lines += _split_call(call, spec, plan)
            pending = None if ranges is None else (pending or []) + [ranges]
            if ranges is None:  # nothing known about what it touches: meet right after it
                barrier()
        else:
            solo.append(call)
    flush()
    lines.append("    (i32.const 0))")
    return lines


def _ranges(call: Call, plan: MemoryPlan) -> tuple[list, list] | None:
    """([reads], [writes]) as [start, end) byte ranges of a GEMM call, or None for other kernels."""
    if call.kernel not in GEMMS and call.kernel != QS16_GEMM:
        return None
    m, n, k, a, a_stride, w, c, c_stride = call.args[:8]
    if not all(isinstance(v, int) for v in (m, n, k, a_stride, c_stride)):
        return None
    at = [plan.offsets[v.tensor] + v.offset if isinstance(v, Ptr) else v for v in (a, w, c)]
    if not all(isinstance(v, int) for v in at):
        return None
    a, w, c = at
    if call.kernel == QS16_GEMM:  # int16 A and W, int32 C in whole panels of 8 columns
        reads = [(a, a + (m - 1) * a_stride + 2 * k), (w, w + -(-n // 8) * 16 * k)]
        return reads, [(c, c + (m - 1) * c_stride + 32 * -(-n // 8))]
    reads = [(a, a + (m - 1) * a_stride + 4 * k), (w, w + -(-n // 8) * (k + 1) * 32)]
    return reads, [(c, c + (m - 1) * c_stride + 4 * n)]


def _independent(ranges: tuple[list, list], earlier: list[tuple[list, list]]) -> bool:
    """True when a call reading/writing `ranges` may run while the `earlier` calls still run: it
    writes nothing they read or write, and reads nothing they write."""
    reads, writes = ranges

    def overlap(x: list, y: list) -> bool:
        return any(s1 < e2 and s2 < e1 for s1, e1 in x for s2, e2 in y)

    return not any(overlap(writes, r + w) or overlap(reads, w) for r, w in earlier)


def emit_threaded_module(program: Program, plan: MemoryPlan, threads: int, profile: bool = False) -> str:
    """The module text of a `--threads N` build (N >= 2): see the module docstring."""
    if profile:
        raise UnsupportedModelError("--profile and --threads cannot be combined (profile a single-threaded build)")
    if not 2 <= threads <= MAX_THREADS:
        raise ThreadsError(f"--threads must be between 1 and {MAX_THREADS}, got {threads}")
    lines = ["(module", f'  (import "env" "memory" (memory {plan.pages} {plan.pages} shared))']
    lines.append(wat_functions(program.kernels + loop_variant_kernels(program.kernels)))
    lines.append(barrier_function())
    lines.append(OVERDUE_FUNCTION)
    statuses = {message: code for code, message in enumerate(program.failures, start=1)}
    if program.init_calls:  # the host calls init() once, on thread 0, before any run
        lines += _function("init", program.init_calls, plan, statuses)
    lines += _body(program, plan, statuses)
    lines += _entry_points(threads)
    lines.append(")")
    return "\n".join(lines) + "\n"


def _entry_points(threads: int) -> list[str]:
    """run() (thread 0: bumps and notifies the GO word, then its share), run_thread(t) (one run's
    share, for hosts that wake their workers themselves) and serve(t, go) (a worker that waits
    inside the module: every time GO moves past `go` it runs its share and bumps DONE (the host
    starts no run before the last one's workers are done); it returns 0 once it sees
    the abort word while idle, and traps with the others when a run is aborted)."""
    check_t = (f"    (if (i32.or (i32.eqz (local.get $t)) (i32.ge_u (local.get $t) (i32.const {threads}))) "
               "(then (unreachable)))")
    return [
        '  (func (export "run") (result i32)',
        f"    (drop (i32.atomic.rmw.add (i32.const {GO_OFFSET}) (i32.const 1)))",
        f"    (drop (memory.atomic.notify (i32.const {GO_OFFSET}) (i32.const -1)))",
        "    (call $__run (i32.const 0)))",
        f'  (func (export "{WORKER_EXPORT}") (param $t i32) (result i32)',
        check_t,
        "    (call $__run (local.get $t)))",
        f'  (func (export "{SERVE_EXPORT}") (param $t i32) (param $go i32) (result i32)',
        "    (local $spin i32)",
        check_t,
        "    (loop $runs",
        "      (local.set $spin (i32.const 0))",
        "      (block $start",
        "        (loop $idle",
        f"          (br_if $start (i32.ne (i32.atomic.load (i32.const {GO_OFFSET})) (local.get $go)))",
        f"          (if (i32.atomic.load (i32.const {ABORT_OFFSET})) (then (return (i32.const 0))))",
        "          (local.set $spin (i32.add (local.get $spin) (i32.const 1)))",
        f"          (if (i32.gt_u (local.get $spin) (i32.const {SERVE_SPIN_ROUNDS}))",
        f"            (then (drop (memory.atomic.wait32 (i32.const {GO_OFFSET}) (local.get $go) (i64.const {IDLE_WAIT_NS})))))",
        "          (br $idle)))",
        f"      (local.set $go (i32.atomic.load (i32.const {GO_OFFSET})))",
        "      (drop (call $__run (local.get $t)))",
        f"      (drop (i32.atomic.rmw.add (i32.const {DONE_OFFSET}) (i32.const 1)))",
        "      (br $runs))",
        "    (i32.const 0))",
    ]


def reserve_thread_scratch(program: Program, threads: int) -> None:
    """Before the memory plan: a scratch buffer that a split call gives each thread a block of
    (Split.per_thread) holds `threads` blocks."""
    for call in program.calls:
        spec = SPLITS.get(call.kernel)
        for index, nbytes in (spec.per_thread if spec else ()):
            name = call.args[index].tensor
            program.temps[name] = max(program.temps[name], nbytes(call.args) * threads)


def split_summary(program: Program) -> dict:
    """What the threaded build splits: for the manifest's report."""
    split = sum(1 for spec in splits(program) if spec is not None)
    return {"split_calls": split, "thread0_calls": sum(1 for c in program.calls if not c.kernel.startswith("__")) - split}

