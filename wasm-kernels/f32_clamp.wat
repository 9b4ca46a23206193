;; The clamp of every f32 GEMM/convolution epilogue (fused Relu, Relu6, Clip), exactly as
;; f32x4.min(f32x4.max(v, lo), hi) but in four one-instruction operations: V8 and Cranelift expand
;; f32x4.min and f32x4.max to about 8 x86 instructions each (NaN and signed-zero fix-ups), which cost
;; a quarter of a 3x3 depthwise convolution and up to a fifth of a short-k GEMM tile.

;; $f32x4_clamp: helper, min(max(v, lo), hi) with wasm's min/max bits (any NaN for a NaN v).
;; pmax(v, lo) = v < lo ? lo : v and pmin(x, hi) = hi < x ? hi : x differ from max and min only on
;; signed zeros: max(-0, +0) = +0 comes back by adding $lo_add (+0 when lo is +0; otherwise -0,
;; which leaves every value, -0 included, unchanged), and min(+0, -0) = -0 by or-ing $hi_or (the
;; sign bit when hi is -0, where every result is <= -0; otherwise 0). lo and hi are not NaN.
;;   $lo, $hi: splat bounds; $lo_add = $f32x4_clamp_lo_add(lo), $hi_or = $f32x4_clamp_hi_or(hi).
(func $f32x4_clamp (param $v v128) (param $lo v128) (param $hi v128) (param $lo_add v128) (param $hi_or v128)
  (result v128)
  (v128.or (f32x4.pmin (f32x4.add (f32x4.pmax (local.get $v) (local.get $lo)) (local.get $lo_add)) (local.get $hi))
           (local.get $hi_or)))

;; $f32x4_clamp_lo_add: helper, $f32x4_clamp's lo_add for the bound lo: +0 splat if lo is +0, else -0.
(func $f32x4_clamp_lo_add (param $lo f32) (result v128)
  (i32x4.splat (select (i32.const 0) (i32.const 0x80000000) (i32.eqz (i32.reinterpret_f32 (local.get $lo))))))

;; $f32x4_clamp_hi_or: helper, $f32x4_clamp's hi_or for the bound hi: the sign bit splat if hi is -0,
;; else 0.
(func $f32x4_clamp_hi_or (param $hi f32) (result v128)
  (i32x4.splat (select (i32.const 0x80000000) (i32.const 0)
                       (i32.eq (i32.reinterpret_f32 (local.get $hi)) (i32.const 0x80000000)))))
