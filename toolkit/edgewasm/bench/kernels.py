"""The GEMM-heavy kernels run standalone, to compare each with the engine's SIMD128 peak.

Each case is a module holding exactly the library kernel codegen splices into models
(`backend.kernels.wat_functions`) and calling it as a model does (`backend.codegen.dispatch_call`:
where engines get different loops, the branch on the loop-variant word, which the bench's Chromium
page and its wasmtime-without-epochs loops set as the runtime's hosts do), its operands in linear memory (filled in wasm by a small LCG, so
both hosts see the same data without shipping it), and `loop(n)` calling the kernel n times. The
shapes are the issue's: square GEMMs where register blocking should approach the peak, the batch-1
GEMV of an MLP's first layer, and a ResNet 3x3 convolution through the indirect GEMM.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..backend.codegen import dispatch_call, loop_variant_kernels
from ..backend.kernels import wat_functions
from .microbench import Microbench

PAGE = 65536
FILL = """
  ;; bench_fill(p, n): n f32 values in [-1, 1) at p, from a fixed LCG (the same bits in every host)
  (func $bench_fill (param $p i32) (param $n i32) (local $s i32)
    (local.set $s (i32.const 12345))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $s (i32.add (i32.mul (local.get $s) (i32.const 1103515245)) (i32.const 12345)))
        (f32.store (local.get $p)
          (f32.mul (f32.convert_i32_s (i32.shr_s (local.get $s) (i32.const 8))) (f32.const 0x1p-23)))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next))))"""


@dataclass(frozen=True)
class KernelCase:
    kernel: str
    label: str
    m: int
    n: int
    k: int  # the reduction length (taps x input channels for a convolution)
    operands: dict = field(default_factory=dict)  # byte offsets in the module's memory (for checks)

    @property
    def flops(self) -> int:
        return 2 * self.m * self.n * self.k


class Layout:
    """A bump allocator over linear memory (16-byte aligned, offset 0 left unused)."""

    def __init__(self):
        self.top = 64

    def take(self, nbytes: int) -> int:
        offset = self.top
        self.top = (offset + nbytes + 15) // 16 * 16
        return offset

    @property
    def pages(self) -> int:
        return -(-self.top // PAGE)


def _module(kernel: str | tuple[str, ...], layout: Layout, fills: list[tuple[int, int]], call: str,
            data: str = "") -> bytes:
    import wasmtime

    kernels = [kernel] if isinstance(kernel, str) else list(kernel)
    kernels += loop_variant_kernels(kernels)  # each engine's loop, as in a model module
    setup = "\n".join(f"    (call $bench_fill (i32.const {p}) (i32.const {n}))" for p, n in fills)
    wat = f"""(module
  (memory (export "memory") {layout.pages})
{data}
{wat_functions(kernels)}
{FILL}
  (func (export "setup")
{setup})
  (func (export "loop") (param $n i32)
    (loop $again
      {call}
      (br_if $again (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
)"""
    return bytes(wasmtime.wat2wasm(wat))


def gemm_case(kernel: str, m: int, k: int, n: int) -> tuple[KernelCase, bytes]:
    """f32_gemm_{4x8,1x32}: C[m, n] = A[m, k] @ W (packed panels of 8, bias first), no clamp."""
    layout = Layout()
    packed = -(-n // 8) * 8 * (k + 1)
    a, w, c = layout.take(4 * m * k), layout.take(4 * packed), layout.take(4 * m * n)
    case = KernelCase(kernel, f"m={m} k={k} n={n}", m, n, k, {"a": a, "w": w, "c": c})
    call = dispatch_call(kernel, f"(i32.const {m}) (i32.const {n}) (i32.const {k}) (i32.const {a}) (i32.const {4 * k})"
                                 f" (i32.const {w}) (i32.const {c}) (i32.const {4 * n}) (f32.const -inf) (f32.const inf)")
    return case, _module(kernel, layout, [(a, m * k), (w, packed)], call)


def conv3x3_indirection(height: int, width: int, channels: int) -> np.ndarray:
    """[pixels, 9] byte offsets of each tap's input pixel (NHWC, stride 1, pad 1); -1 in the padding."""
    oy, ox = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    entries = []
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            iy, ix = oy + dy, ox + dx
            inside = (iy >= 0) & (iy < height) & (ix >= 0) & (ix < width)
            entries.append(np.where(inside, (iy * width + ix) * channels * 4, -1).reshape(-1))
    return np.stack(entries, axis=1).astype("<i4")


def igemm_conv3x3_case(size: int, channels: int) -> tuple[KernelCase, bytes]:
    """f32_igemm_4x8 as a ResNet stage-1 convolution: 3x3, stride 1, pad 1, NHWC."""
    kernel, pixels, taps = "f32_igemm_4x8", size * size, 9
    layout = Layout()
    packed = -(-channels // 8) * 8 * (taps * channels + 1)
    x, w, y = layout.take(4 * pixels * channels), layout.take(4 * packed), layout.take(4 * pixels * channels)
    zero = layout.take(4 * channels)
    table = conv3x3_indirection(size, size, channels).tobytes()
    ind = layout.take(len(table))
    case = KernelCase(kernel, f"conv3x3 {channels}->{channels} {size}x{size}", pixels, channels, taps * channels,
                      {"x": x, "w": w, "y": y})
    data = f'  (data (i32.const {ind}) "' + "".join(f"\\{b:02x}" for b in table) + '")'
    call = dispatch_call(kernel, f"(i32.const {pixels}) (i32.const {channels}) (i32.const {taps}) (i32.const {channels})"
                                 f" (i32.const {ind}) (i32.const {x}) (i32.const {zero}) (i32.const {w}) (i32.const {y})"
                                 f" (i32.const {4 * channels}) (f32.const -inf) (f32.const inf)")
    return case, _module(kernel, layout, [(x, pixels * channels), (w, packed)], call, data)


def winograd_conv3x3_case(size: int, channels: int, block: int = 64) -> tuple[KernelCase, bytes]:
    """The Winograd F(2x2, 3x3) path of the same convolution, as the lowering emits it: per block
    of tiles the input transform, 16 f32_gemm_4x8 calls and the output transform (pad 1, no clamp).
    U is filled like any operand (init() would transform the taps). FLOPs are the direct
    convolution's, so the rate is comparable with f32_igemm_4x8's (it can exceed the peak)."""
    from ..backend.convolution import skewed_plane

    tiles_w = -(-size // 2)
    tiles = tiles_w * tiles_w
    block = min(block, -(-tiles // 4) * 4)
    layout = Layout()
    u_bytes = 4 * -(-channels // 8) * 8 * (channels + 1)
    v_plane = m_plane = skewed_plane(block * 4 * channels)
    x, zero = layout.take(4 * size * size * channels), layout.take(4 * channels)
    u, bias = layout.take(16 * u_bytes), layout.take(4 * channels)
    v, m, y = layout.take(16 * v_plane), layout.take(16 * m_plane), layout.take(4 * size * size * channels)
    case = KernelCase("f32_winograd_2x2_3x3", f"conv3x3 {channels}->{channels} {size}x{size} (direct FLOPs)",
                      size * size, channels, 9 * channels, {"x": x, "u": u, "bias": bias, "y": y})
    calls = []
    for first in range(0, tiles, block):
        count = min(block, tiles - first)
        calls.append(f"(call $f32_winograd_input_2x2_3x3 (i32.const {first}) (i32.const {count}) (i32.const {tiles_w})"
                     f" (i32.const {channels}) (i32.const {x}) (i32.const {size}) (i32.const {size}) (i32.const 1)"
                     f" (i32.const 1) (i32.const {zero}) (i32.const {v}) (i32.const {4 * channels}) (i32.const {v_plane}))")
        calls += [dispatch_call("f32_gemm_4x8", f"(i32.const {count}) (i32.const {channels}) (i32.const {channels})"
                                f" (i32.const {v + xi * v_plane}) (i32.const {4 * channels}) (i32.const {u + xi * u_bytes})"
                                f" (i32.const {m + xi * m_plane}) (i32.const {4 * channels}) (f32.const -inf) (f32.const inf)")
                  for xi in range(16)]
        calls.append(f"(call $f32_winograd_output_2x2_3x3 (i32.const {first}) (i32.const {count}) (i32.const {tiles_w})"
                     f" (i32.const {channels}) (i32.const {m}) (i32.const {4 * channels}) (i32.const {m_plane})"
                     f" (i32.const {bias}) (i32.const {y}) (i32.const {size}) (i32.const {size}) (f32.const -inf)"
                     f" (f32.const inf))")
    kernels = ("f32_winograd_input_2x2_3x3", "f32_gemm_4x8", "f32_winograd_output_2x2_3x3")
    return case, _module(kernels, layout, [(x, size * size * channels), (u, 16 * u_bytes // 4), (bias, channels)],
                         "\n      ".join(calls))


CASES = (  # (kernel, shape, builder)
    ("f32_gemm_4x8", "m=256 k=256 n=256", lambda: gemm_case("f32_gemm_4x8", 256, 256, 256)),
    ("f32_gemm_4x8", "m=512 k=512 n=512", lambda: gemm_case("f32_gemm_4x8", 512, 512, 512)),
    ("f32_gemm_1x32", "m=1 k=784 n=512", lambda: gemm_case("f32_gemm_1x32", 1, 784, 512)),
    ("f32_igemm_4x8", "conv3x3 64->64 56x56", lambda: igemm_conv3x3_case(56, 64)),
    ("f32_winograd_2x2_3x3", "conv3x3 64->64 56x56", lambda: winograd_conv3x3_case(56, 64)),
)


def kernel_benches() -> tuple[list[Microbench], list[dict]]:
    """(microbenchmarks, skipped cases): a kernel the library lacks, or whose signature no
    longer matches, is reported as skipped with the reason instead of stopping the bench."""
    import wasmtime

    benches, skipped = [], []
    for kernel, shape, make in CASES:
        try:
            case, wasm = make()
        except (KeyError, wasmtime.WasmtimeError) as exc:
            reason = str(exc.args[0] if isinstance(exc, KeyError) else exc).splitlines()[0]
            skipped.append({"kernel": kernel, "shape": shape, "status": "skipped", "reason": reason})
            continue
        benches.append(Microbench(f"{case.kernel} {case.label}", wasm, case.flops, "GFLOP/s", has_setup=True,
                                  details={"kernel": case.kernel, "shape": case.label, "m": case.m, "n": case.n,
                                           "k": case.k, "flops": case.flops, "operands": case.operands}))
    return benches, skipped
