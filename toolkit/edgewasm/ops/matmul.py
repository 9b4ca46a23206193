"""MatMul with numpy semantics: batched, broadcast batch dimensions, 1-D operands promoted.

A constant 2-D right operand makes the classic dense layer, imported as IR Gemm (weights packed
at compile time, bias and activation fusable). Everything else (attention's activation x
activation, batched constant weights, a constant left operand) is IR MatMul: the right operand
is packed per batch item (at compile time when constant, at run time by f32_gemm_pack_b
otherwise) and the same f32_gemm micro-kernels run once per batch item, or once for all rows
when the right operand is shared by the whole batch.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ..backend.packing import f32_gemm_kernel, pack_f32_gemm, packed_f32_gemm_size
from ..backend.program import Ptr
from ..errors import ModelFormatError

IR_OP = "MatMul"
INF = math.inf


def _promoted(shape_a: tuple[int, ...], shape_b: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """numpy's 1-D rules: a [K] is [1, K], b [K] is [K, 1]."""
    return (shape_a if len(shape_a) >= 2 else (1, *shape_a)), (shape_b if len(shape_b) >= 2 else (*shape_b, 1))


def output_shape(node_name: str, shape_a: tuple[int, ...], shape_b: tuple[int, ...]) -> tuple[int, ...]:
    if not shape_a or not shape_b:
        raise ModelFormatError(f"MatMul node {node_name!r}: operands must have rank >= 1")
    a, b = _promoted(shape_a, shape_b)
    if a[-1] != b[-2]:
        raise ModelFormatError(f"MatMul node {node_name!r}: inner dimensions differ ({a[-1]} vs {b[-2]})")
    try:
        batch = np.broadcast_shapes(a[:-2], b[:-2])
    except ValueError:
        raise ModelFormatError(f"MatMul node {node_name!r}: batch dimensions {a[:-2]} and {b[:-2]} do not "
                               "broadcast") from None
    out = (*batch, a[-2], b[-1])
    if len(shape_a) == 1:
        out = out[:-2] + out[-1:]
    if len(shape_b) == 1:
        out = out[:-1]
    return tuple(int(d) for d in out)


# dtypes computed exactly in their own arithmetic through Einsum's decomposition (x_elementwise products,
# x_reduce sums: float64 in float64); float16/bfloat16 compute in float32 between casts instead
WIDE_DTYPES = ("float64", "int32", "int64", "uint32", "uint64")


def matmul_equation(rank_a: int, rank_b: int) -> str:
    """The Einsum equation of MatMul for operands of these ranks (numpy's 1-D promotion and batch broadcast)."""
    left = {1: "j"}.get(rank_a, "...ij")
    right = {1: "j"}.get(rank_b, "...jk")
    out = ("..." if max(rank_a, rank_b) > 1 else "") + ("i" if rank_a > 1 else "") + ("k" if rank_b > 1 else "")
    return f"{left},{right}->{out}"


def import_wide(im, node, equation: str, inputs: list[str], output: str) -> None:
    """An Einsum over `inputs` into `output` (the MatMul and Gemm of the WIDE_DTYPES)."""
    from onnx import helper

    from .einsum import import_einsum

    einsum = helper.make_node("Einsum", inputs, [output], node.name, equation=equation)
    import_einsum(im, einsum, {"equation": equation})


def import_matmul(im, node, at) -> None:
    a, b = node.input
    if im.dtype(a) in WIDE_DTYPES and im.dtype(b) == im.dtype(a):
        output_shape(node.name, im.shape(a), im.shape(b))  # refuses shapes that do not multiply
        import_wide(im, node, matmul_equation(len(im.shape(a)), len(im.shape(b))), [a, b], node.output[0])
        return
    im.require_float(node, a)
    im.require_float(node, b)
    shape_a, shape_b = im.shape(a), im.shape(b)
    out = output_shape(node.name, shape_a, shape_b)
    if b in im.constants and len(shape_b) == 2 and a not in im.constants and len(shape_a) >= 2:
        w = im.add_constant(f"{b}_w", im.constants[b])
        im.emit("Gemm", [a, w], node.output[0], out, node.name, min=-INF, max=INF)
        return
    im.emit("MatMul", [a, b], node.output[0], out, node.name)


IMPORTS = {"MatMul": (import_matmul, 2, 2)}


def _shape(graph, name: str) -> tuple[int, ...]:
    return tuple(graph.constants[name].shape) if graph.is_constant(name) else graph.info(name).shape


def _batch_steps(batch_shape: tuple[int, ...], out_batch: tuple[int, ...], matrix_bytes: int) -> list[int]:
    """Byte step of each output batch dimension through an operand's batch (0 where it broadcasts)."""
    padded = (1,) * (len(out_batch) - len(batch_shape)) + tuple(batch_shape)
    steps, step = [], matrix_bytes
    for d in reversed(padded):
        steps.append(step if d != 1 else 0)
        step *= d
    return steps[::-1]


def lower(graph, node, program) -> None:
    a, b, y = node.inputs[0], node.inputs[1], node.outputs[0]
    shape_a, shape_b = _promoted(_shape(graph, a), _shape(graph, b))
    (m, k), n = shape_a[-2:], shape_b[-1]
    out_batch = tuple(np.broadcast_shapes(shape_a[:-2], shape_b[:-2]))
    if m * n == 0 or math.prod(out_batch) == 0:
        return
    pa = program.weight(a, graph.constants[a]) if graph.is_constant(a) else Ptr(a)
    steps_a = _batch_steps(shape_a[:-2], out_batch, 4 * m * k)
    steps_b = _batch_steps(shape_b[:-2], out_batch, 4 * k * n)
    b_shared = not any(steps_b)
    if b_shared and all(sa or d == 1 for sa, d in zip(steps_a, out_batch)):
        # one right operand for a contiguous batch: all batch rows in one GEMM call
        _gemm(program, node, math.prod(out_batch) * m, n, k, pa, _packed_b(graph, program, node, 0, k, n), Ptr(y))
        return
    packed_at = None
    for index, offset_y in zip(itertools.product(*(range(d) for d in out_batch)), itertools.count(0, 4 * m * n)):
        offset_a = sum(i * s for i, s in zip(index, steps_a))
        offset_b = sum(i * s for i, s in zip(index, steps_b))
        if packed_at != offset_b or graph.is_constant(b):
            packed = _packed_b(graph, program, node, offset_b, k, n)
            packed_at = offset_b
        _gemm(program, node, m, n, k, Ptr(pa.tensor, pa.offset + offset_a), packed, Ptr(y, offset_y))


def _packed_b(graph, program, node, offset_b: int, k: int, n: int) -> Ptr:
    """The right operand's matrix at byte offset_b in gemm panels: a packed constant, or a
    run-time pack into a scratch buffer (reused by every batch item, one after the other)."""
    b, y = node.inputs[1], node.outputs[0]
    if graph.is_constant(b):
        matrix = np.asarray(graph.constants[b], np.float32).reshape(-1)[offset_b // 4: offset_b // 4 + k * n]
        return program.weight(f"{y}__packed{offset_b}", pack_f32_gemm(matrix.reshape(k, n), None))
    scratch = program.temp(f"{y}__packed_b", 4 * packed_f32_gemm_size(k, n))
    program.call("f32_gemm_pack_b", [k, n, Ptr(b, offset_b), 4 * n, scratch], node.name)
    return scratch


def _gemm(program, node, rows: int, n: int, k: int, a: Ptr, packed: Ptr, c: Ptr) -> None:
    kernel = f32_gemm_kernel(rows, n, k)
    program.call(kernel, [rows, n, k, a, 4 * k, packed, c, 4 * n, -INF, INF], node.name)


def export(ex, node) -> None:
    ex.add("MatMul", [ex.graph_const(i) if ex.graph.is_constant(i) else i for i in node.inputs], node.outputs[0])


def flops(graph, node) -> int:
    k = _promoted(_shape(graph, node.inputs[0]), _shape(graph, node.inputs[1]))[0][-1]
    return 2 * graph.info(node.outputs[0]).size * k
