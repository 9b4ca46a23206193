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
"""

from __future__ import annotations

import numpy as np

from .plan import MemoryPlan
from .program import Call, Program, Ptr

EXPAND_KERNELS = {1: "x8_bitmask_expand", 2: "x16_bitmask_expand", 4: "x32_bitmask_expand"}


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
        converted += 1
        before += array.nbytes
    program.init_calls += transforms
    _derived_first(program)
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
    _derived_first(program)
    return {"codec": "bitmask sparse" + (" + float16" if half else ""), "weights": encoded,
            "bytes_before": before, "bytes_after": after}


def stage_init_inputs(program: Program) -> None:
    """Ship the weights that only `init()` reads (e.g. Winograd's 3x3 taps, which init() turns
    into the GEMM operand) as staged bytes: after init() the arena reuses them. Run after the codecs:
    a weight a codec encoded is derived and stays."""
    read_by_run = {arg.tensor for call in program.calls for arg in call.args if isinstance(arg, Ptr)}
    read_by_init = {arg.tensor for call in program.init_calls for arg in call.args if isinstance(arg, Ptr)}
    for name in list(program.weights):
        if name in read_by_init and name not in read_by_run and name not in program.derived:
            program.staged[name] = program.weights.pop(name)


def _derived_first(program: Program) -> None:
    """Derived weights go first, so the shipped bytes (the rest, then the staged) are contiguous."""
    program.weights = dict(sorted(program.weights.items(), key=lambda item: item[0] not in program.derived))


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
