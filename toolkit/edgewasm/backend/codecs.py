"""Compact weight storage: ship fewer bytes than the kernels read, and expand them once in `init()`.

A codec runs on the lowered program. For each weight it can encode, it moves the encoded bytes
into `program.staged` (shipped, then dead: the arena reuses them), marks the kernel-layout array
`derived` (placed in the weights region but never shipped) and appends the `init()` call that
rebuilds it bit for bit. The kernels that run inference never see the encoding. Expansions go
before the `init()` calls the lowering added (weight transforms, e.g. Winograd's), which read
the weights they rebuild.

  half    float32 weights whose every value is a float16 are shipped as float16 (f16_f32_vcvt)
  sparse  weights that are mostly zeros are shipped as a bitmask of the nonzero elements plus
          those elements, in the weight's dtype (x8/x16/x32_bitmask_expand)
Both together: a sparse float weight with float16 values is expanded into the upper half of its
own f32 array, then widened in place.

Each encoding records how far past its destination's start it may lie for its kernel to expand it
in place (`Program.in_place`), so the planner can ship it inside the bytes it expands into
(backend/plan.py): the kernels run forward and read an element's source before writing it.
"""

from __future__ import annotations

import numpy as np

from .plan import MemoryPlan
from .program import Call, Program, Ptr

EXPAND_KERNELS = {1: "x8_bitmask_expand", 2: "x16_bitmask_expand", 4: "x32_bitmask_expand"}
EXPANSIONS = {"f16_f32_vcvt", *EXPAND_KERNELS.values()}  # the kernels that expand an encoding into its weight


def _is_half_exact(array: np.ndarray) -> bool:
    if array.dtype != np.float32:
        return False
    with np.errstate(over="ignore"):
        back = array.astype(np.float16).astype(np.float32)
    return bool(np.array_equal(back.view(np.uint32), array.view(np.uint32)))


def _nonzero(array: np.ndarray) -> np.ndarray:
    """Elements whose bits are not all zero (-0.0 is kept: expansion must restore every bit)."""
    return array.view(np.dtype(f"u{array.dtype.itemsize}")) != 0


def _candidates(program: Program) -> list[str]:
    return [name for name, array in program.weights.items() if name not in program.derived and array.size]


def store_half(program: Program) -> dict:
    """Ship every float16-exact float32 weight as float16; returns what it did, for the report."""
    converted = before = 0
    transforms, program.init_calls = program.init_calls, []
    for name in _candidates(program):
        array = program.weights[name]
        if not _is_half_exact(array):
            continue
        staged = f"{name}__f16"
        program.staged[staged] = array.astype("<f2")
        program.derived.add(name)
        program.init_calls.append(Call("f16_f32_vcvt", [array.size, Ptr(staged), Ptr(name)], f"{name} (float16)"))
        program.in_place[staged] = (name, 2 * array.size)  # f16_f32_vcvt: 8 halves read before 32 bytes are written
        converted += 1
        before += array.nbytes
    program.init_calls += transforms
    return {"codec": "float16", "weights": converted, "bytes_before": before, "bytes_after": before // 2}


def store_sparse(program: Program, half: bool = False) -> dict:
    """Ship weights as bitmask + nonzero values where that is smaller than the dense bytes.

    With `half`, a float32 weight whose nonzero values are all float16-exact ships them as float16.
    """
    encoded = before = after = 0
    transforms, program.init_calls = program.init_calls, []
    for name in _candidates(program):
        array = program.weights[name]
        if array.dtype.itemsize not in EXPAND_KERNELS:  # 8-byte integers ship dense
            continue
        keep = _nonzero(array)
        values = array[keep]
        as_half = half and _is_half_exact(values)
        if as_half:
            values = values.astype("<f2")
        mask = np.packbits(keep, bitorder="little")
        size = mask.nbytes + values.nbytes
        if size >= array.nbytes * 0.9:  # not worth an init() pass
            continue
        program.staged[f"{name}__mask"] = mask
        program.staged[f"{name}__values"] = values
        program.derived.add(name)
        # the bitmask kernels write element i after reading its value and mask byte i // 8: in place, the values
        # must start at least Z elements (Z: the zeros) and the mask at least e * K - K // 8 bytes (K: the last
        # multiple of 8 below n) past where the e-byte elements are written
        into, size = (2 * array.size, 2) if as_half else (0, array.itemsize)
        last = 8 * ((array.size - 1) // 8)
        program.in_place[f"{name}__values"] = (name, into + size * int(array.size - keep.sum()))
        program.in_place[f"{name}__mask"] = (name, into + size * last - last // 8)
        node = f"{name} (sparse{', float16' if as_half else ''})"
        if as_half:  # expand the halves into the upper half of the f32 array, then widen in place
            upper = Ptr(name, 2 * array.size)
            program.init_calls.append(Call("x16_bitmask_expand", [array.size, Ptr(f"{name}__mask"),
                                                                  Ptr(f"{name}__values"), upper], node))
            program.init_calls.append(Call("f16_f32_vcvt", [array.size, upper, Ptr(name)], node))
        else:
            program.init_calls.append(Call(EXPAND_KERNELS[array.dtype.itemsize],
                                           [array.size, Ptr(f"{name}__mask"), Ptr(f"{name}__values"), Ptr(name)],
                                           node))
        encoded += 1
        before += array.nbytes
        after += size
    program.init_calls += transforms
    return {"codec": "bitmask sparse" + (" + float16" if half else ""), "weights": encoded,
            "bytes_before": before, "bytes_after": after}


def order_init(program: Program) -> None:
    """Order init(): first the expansions of the weights run() reads (the planner packs their
    encodings in this order), then the rest, each expansion of a weight only init() reads (e.g. a
    Winograd tap) just before its first reader, so few expanded ones are alive at once."""
    read_by_run = {arg.tensor for call in program.calls for arg in call.args if isinstance(arg, Ptr)}

    def target(call: Call) -> str | None:
        return call.args[-1].tensor if call.kernel in EXPANSIONS else None

    first = [c for c in program.init_calls if target(c) in read_by_run]
    pending = [c for c in program.init_calls if target(c) and target(c) not in read_by_run]
    rest = []
    for call in program.init_calls:
        if target(call):
            continue
        reads = {arg.tensor for arg in call.args if isinstance(arg, Ptr)}
        rest += [c for c in pending if target(c) in reads] + [call]
        pending = [c for c in pending if target(c) not in reads]
    program.init_calls = first + rest + pending


def shipped_region(program: Program, plan: MemoryPlan) -> tuple[int, bytes]:
    """(offset, bytes) the host writes before `init()`: every non-derived weight, then the staged."""
    shipped = {name: a for name, a in program.weights.items() if name not in program.derived}
    shipped.update(program.staged)
    if not shipped:
        return plan.weights_end, b""
    start = min(plan.offsets[name] for name in shipped)
    end = max(plan.offsets[name] + a.nbytes for name, a in shipped.items())
    region = bytearray(end - start)
    for name, array in shipped.items():
        offset = plan.offsets[name] - start
        region[offset:offset + array.nbytes] = array.tobytes()
    return start, bytes(region)
