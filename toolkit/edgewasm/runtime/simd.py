"""The relaxed-SIMD tier at load time (stdlib only: both hosts share it).

A `--simd relaxed` bundle holds `int8-relaxed` beside `int8`: the same graph with 7-bit weights and
GEMMs on i32x4.relaxed_dot_i8x16_i7x16_add_s, used only where its result is deterministic
(wasm-kernels/qu8_gemm_relaxed.wat). A variant needs relaxed SIMD when it splices a relaxed kernel
(the manifest's `kernels`; an engine without relaxed SIMD would refuse its module anyway). A host
whose engine does not validate relaxed SIMD loads the variant's baseline twin (the name without
`-relaxed`) instead, and says so in `model.choice`; the policy never picks a variant the engine
cannot run.
"""

from __future__ import annotations

import re

from ..errors import BundleError
from .sandbox import _uleb, sections

RELAXED_VARIANT_SUFFIX = "-relaxed"  # edgewasm.variants.RELAXED
RELAXED_KERNEL_SUFFIX = "_relaxed"  # edgewasm.backend.kernels.RELAXED_SUFFIX
# (module (func (param v128 v128 v128) (result v128)
#   (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get 0) (local.get 1) (local.get 2))))
# The one relaxed instruction the tier uses: an engine that validates this runs the tier.
PROBE = (b"\x00asm\x01\x00\x00\x00\x01\x08\x01\x60\x03\x7b\x7b\x7b\x01\x7b\x03\x02\x01\x00"
         b"\x0a\x0d\x01\x0b\x00\x20\x00\x20\x01\x20\x02\xfd\x93\x02\x0b")


def needs_relaxed(variant) -> bool:
    """Whether the variant's module uses relaxed SIMD (one of its kernels is a relaxed-tier kernel)."""
    return any(k.endswith(RELAXED_KERNEL_SUFFIX) for k in variant.kernels)


def baseline_twin(bundle, variant):
    """The bundle's variant of the same recipe without the relaxed tier, or None."""
    if not variant.name.endswith(RELAXED_VARIANT_SUFFIX):
        return None
    twin = bundle.variants.get(variant.name[:-len(RELAXED_VARIANT_SUFFIX)])
    return None if twin is None or needs_relaxed(twin) else twin


def resolve(bundle, name: str, supported: bool, engine: str) -> tuple[str, str | None]:
    """(the variant to load, the reason it is not `name`, or None): `name` itself unless it needs
    relaxed SIMD and the engine (`supported` False; `engine` names it in the reason) lacks it."""
    variant = bundle.variant(name)
    if supported or not needs_relaxed(variant):
        return variant.name, None
    twin = baseline_twin(bundle, variant)
    if twin is None:
        raise BundleError(f"variant {variant.name} needs relaxed SIMD, which {engine} does not validate, and the "
                          "bundle has no baseline twin to fall back to")
    return twin.name, (f"{variant.name} needs relaxed SIMD, which {engine} does not validate: "
                       f"its baseline twin {twin.name} instead")


# Immediates of the instructions a module may hold, for `uses_relaxed_simd`'s decoder.
_BLOCKTYPES = {0x40, 0x7F, 0x7E, 0x7D, 0x7C, 0x7B, 0x70, 0x6F}
_NO_IMMEDIATE = {0x00, 0x01, 0x05, 0x0B, 0x0F, 0x1A, 0x1B, 0xD1} | set(range(0x45, 0xC5))
_ONE_U32 = {0x0C, 0x0D, 0x10, 0x12, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x3F, 0x40, 0xD2}
_TWO_U32 = {0x11, 0x13}
_FC_IMMEDIATES = {8: 2, 9: 1, 10: 2, 11: 1, 12: 2, 13: 1, 14: 2, 15: 1, 16: 1, 17: 1}  # subop: u32 count
_FD_MEMARG = set(range(0, 12)) | {92, 93}
_FD_LANE = set(range(21, 35))
_FD_MEMARG_LANE = set(range(84, 92))
RELAXED_OPCODES = range(0x100, 0x114)  # 0xFD 0x100 .. 0x113: the relaxed-SIMD proposal
_RELAXED_HINT = re.compile(rb"\xfd[\x80-\x93][\x02\x82]")  # 0xFD then LEB128 256..275 (padded too)


def _skip_leb(data: bytes, pos: int) -> int:
    while data[pos] & 0x80:
        pos += 1
    return pos + 1


def _memarg(data: bytes, pos: int) -> int:
    align, pos = _uleb(data, pos)
    if align & 0x40:  # multi-memory: a memory index follows
        pos = _skip_leb(data, pos)
    return _skip_leb(data, pos)


def uses_relaxed_simd(wasm: bytes) -> bool:
    """Whether any function body of the module holds a relaxed-SIMD instruction, read from the code
    section (stdlib only, so the page can refuse one a manifest does not declare). A regular
    expression rules most modules out at once; the others are decoded instruction by instruction."""
    if not _RELAXED_HINT.search(wasm):
        return False
    try:
        for section, body, end in sections(wasm):
            if section != 10:
                continue
            count, pos = _uleb(wasm, body)
            for _ in range(count):
                size, pos = _uleb(wasm, pos)
                if _body_uses_relaxed(wasm, pos, pos + size):
                    return True
                pos += size
    except (IndexError, ValueError) as exc:
        raise BundleError(f"the module's code cannot be audited for relaxed SIMD: {exc or 'truncated'}") from None
    return False


def _body_uses_relaxed(data: bytes, pos: int, end: int) -> bool:
    groups, pos = _uleb(data, pos)
    for _ in range(groups):  # local declarations: (count, valtype)
        pos = _skip_leb(data, pos) + 1
    while pos < end:
        op = data[pos]
        pos += 1
        if op in (0x02, 0x03, 0x04):
            pos = pos + 1 if data[pos] in _BLOCKTYPES else _skip_leb(data, pos)
        elif op in _ONE_U32:
            pos = _skip_leb(data, pos)
        elif op in _TWO_U32:
            pos = _skip_leb(data, _skip_leb(data, pos))
        elif op == 0x0E:  # br_table: a vector of labels and the default
            n, pos = _uleb(data, pos)
            for _ in range(n + 1):
                pos = _skip_leb(data, pos)
        elif op == 0x1C:  # select with types
            n, pos = _uleb(data, pos)
            pos += n
        elif 0x28 <= op <= 0x3E:
            pos = _memarg(data, pos)
        elif op in (0x41, 0x42):
            pos = _skip_leb(data, pos)
        elif op == 0x43:
            pos += 4
        elif op == 0x44:
            pos += 8
        elif op == 0xD0:
            pos += 1
        elif op == 0xFC:
            sub, pos = _uleb(data, pos)
            for _ in range(_FC_IMMEDIATES.get(sub, 0)):
                pos = _skip_leb(data, pos)
        elif op == 0xFD:
            sub, pos = _uleb(data, pos)
            if sub in RELAXED_OPCODES:
                return True
            if sub in _FD_MEMARG:
                pos = _memarg(data, pos)
            elif sub in (12, 13):  # v128.const, i8x16.shuffle
                pos += 16
            elif sub in _FD_LANE:
                pos += 1
            elif sub in _FD_MEMARG_LANE:
                pos = _memarg(data, pos) + 1
        elif op == 0xFE:  # atomics: a memarg, but atomic.fence's one zero byte
            sub, pos = _uleb(data, pos)
            pos = pos + 1 if sub == 0x03 else _memarg(data, pos)
        elif op not in _NO_IMMEDIATE:
            raise ValueError(f"opcode {op:#x} is not one the audit knows")
    return False
