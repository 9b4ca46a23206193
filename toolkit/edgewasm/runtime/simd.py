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

from ..errors import BundleError

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
