"""The SIMD128 peak of an engine: what its kernels are measured against.

Baseline SIMD128 has no fused multiply-add, so the f32 ceiling is one `f32x4.mul` plus one
`f32x4.add` per 4 lanes. The f32 loop runs 12 independent chains `acc = acc * m + c`: twelve keep
two FP ports busy through the mul and add latencies, every product has distinct operands (nothing
to hoist or share), and the values converge to 1 (no overflow, no denormals). The i8 loop is what
quantized kernels do per 16 bytes: load, widen to two i16x8 halves, `i32x4.dot_i16x8_s`, add; on
x86 the widening shuffles, not the multiplies, set that ceiling.

Both loops are one wasm call each, so host call overhead does not enter; the text is here (not a
.wat file) so an installed edgewasm needs no package data for it.
"""

from __future__ import annotations

from .microbench import Microbench

F32_CHAINS = 12
F32_FLOPS_PER_ITERATION = F32_CHAINS * 4 * 2  # 12 chains x 4 lanes x (mul + add)
I8_BLOCK_BYTES = 96  # per inner step: 6 loads of 16 i8 -> 12 dot_i16x8 into 12 accumulators
I8_BUFFER_BLOCKS = 32  # the inner loop sweeps 32 steps of a 3 KiB buffer (stays in L1)
I8_MACS_PER_ITERATION = I8_BUFFER_BLOCKS * 12 * 8  # x 8 MACs per dot_i16x8


def _f32_body() -> str:
    locals_ = " ".join(f"(local $a{i} v128)" for i in range(F32_CHAINS))
    init = "\n".join(f"    (local.set $a{i} (f32x4.splat (f32.const {0.05 + 0.01 * i})))" for i in range(F32_CHAINS))
    step = "\n".join(f"      (local.set $a{i} (f32x4.add (f32x4.mul (local.get $a{i}) (local.get $m)) (local.get $c)))"
                     for i in range(F32_CHAINS))
    total = "(local.get $a0)"
    for i in range(1, F32_CHAINS):
        total = f"(f32x4.add {total} (local.get $a{i}))"
    return f"""
  ;; loop(iterations >= 1) -> a lane of the sum, so no chain is dead code
  (func (export "loop") (param $n i32) (result f32)
    (local $m v128) (local $c v128) {locals_}
    (local.set $m (f32x4.splat (f32.const 0.999)))
    (local.set $c (f32x4.splat (f32.const 0.001)))
{init}
    (loop $iterate
{step}
      (br_if $iterate (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (f32x4.extract_lane 0 {total}))"""


def _i8_body() -> str:
    locals_ = " ".join(f"(local $a{i} v128)" for i in range(12))
    steps = []
    for j in range(6):
        steps.append(f"""        (local.set $v (v128.load offset={16 * j} (local.get $p)))
        (local.set $a{2 * j} (i32x4.add (local.get $a{2 * j})
          (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $v)) (local.get $w0))))
        (local.set $a{2 * j + 1} (i32x4.add (local.get $a{2 * j + 1})
          (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $v)) (local.get $w1))))""")
    total = "(local.get $a0)"
    for i in range(1, 12):
        total = f"(i32x4.add {total} (local.get $a{i}))"
    body = "\n".join(steps)
    return f"""
  ;; loop(iterations >= 1) -> a lane of the sum; each iteration sweeps the 3 KiB buffer at 0
  (func (export "loop") (param $n i32) (result i32)
    (local $p i32) (local $v v128) (local $w0 v128) (local $w1 v128) {locals_}
    (local.set $w0 (i16x8.splat (i32.const 3)))
    (local.set $w1 (i16x8.splat (i32.const -5)))
    (loop $iterate
      (local.set $p (i32.const 0))
      (loop $sweep
{body}
        (br_if $sweep (i32.ne (local.tee $p (i32.add (local.get $p) (i32.const {I8_BLOCK_BYTES})))
                              (i32.const {I8_BLOCK_BYTES * I8_BUFFER_BLOCKS}))))
      (br_if $iterate (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (i32x4.extract_lane 0 {total}))"""


def _assemble(wat: str) -> bytes:
    import wasmtime

    return bytes(wasmtime.wat2wasm(wat))


def f32_peak() -> Microbench:
    return Microbench("simd128-f32-peak", _assemble(f"(module{_f32_body()})\n"), F32_FLOPS_PER_ITERATION, "GFLOP/s",
                      details={"chains": F32_CHAINS, "pattern": "acc = acc * m + c (f32x4.mul, f32x4.add)"})


def i8_peak() -> Microbench:
    """The i8 loop's buffer is a byte ramp in a data segment (any values do: no data-dependent timing)."""
    ramp = "".join(f"\\{(i * 37 + 11) % 256:02x}" for i in range(I8_BLOCK_BYTES * I8_BUFFER_BLOCKS))
    wat = f'(module\n  (memory 1)\n  (data (i32.const 0) "{ramp}"){_i8_body()})\n'
    return Microbench("simd128-i8-peak", _assemble(wat), I8_MACS_PER_ITERATION, "GMAC/s",
                      details={"accumulators": 12, "pattern": "load i8x16, extend low/high, i32x4.dot_i16x8_s, add"})


def peaks() -> list[Microbench]:
    return [f32_peak(), i8_peak()]
