;; Canonical NaNs at the module's boundary: every NaN a float output holds is rewritten, in place, as
;; the canonical quiet NaN of its dtype (positive sign, top mantissa bit only), so an output's bits do
;; not depend on how the hardware under the engine makes NaNs (the wasm spec leaves a NaN result's
;; sign and payload to it: 0/0 is 0xffc00000 on x86-64, 0x7fc00000 on aarch64).
;; Codegen calls these once per float graph output after the last layer (backend/lower.py); all other
;; bits are left as they are. SIMD128 over 16 bytes at a time (compare, then bitselect the canonical
;; constant where the lane is NaN), a scalar loop for the tail; unaligned offsets are fine.
;; Canonical values: float32 0x7fc00000, float64 0x7ff8000000000000, float16 0x7e00, bfloat16 0x7fc0.
;; (The float8 types are left as x_cast makes them: from the source's bits, sign kept, as ONNX says.)

;; $f32_canonical_nan: x[i] = x[i] != x[i] ? 0x7fc00000 : x[i] for i < $n, f32 at byte offset $x.
(func $f32_canonical_nan (param $x i32) (param $n i32)
  (local $end i32) (local $vend i32) (local $v v128) (local $canon v128)
  (local.set $canon (v128.const i32x4 0x7fc00000 0x7fc00000 0x7fc00000 0x7fc00000))
  (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
  (local.set $vend (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
  (block $vdone
    (br_if $vdone (i32.eq (local.get $x) (local.get $vend)))
    (loop $vec
      (local.set $v (v128.load (local.get $x)))
      (v128.store (local.get $x)
        (v128.bitselect (local.get $canon) (local.get $v) (f32x4.ne (local.get $v) (local.get $v))))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (br_if $vec (i32.ne (local.get $x) (local.get $vend)))))
  (block $done
    (br_if $done (i32.eq (local.get $x) (local.get $end)))
    (loop $each
      (if (f32.ne (f32.load (local.get $x)) (f32.load (local.get $x)))
        (then (i32.store (local.get $x) (i32.const 0x7fc00000))))
      (local.set $x (i32.add (local.get $x) (i32.const 4)))
      (br_if $each (i32.ne (local.get $x) (local.get $end))))))

;; $f64_canonical_nan: x[i] = x[i] != x[i] ? 0x7ff8000000000000 : x[i] for i < $n, f64 at byte offset $x.
(func $f64_canonical_nan (param $x i32) (param $n i32)
  (local $end i32) (local $vend i32) (local $v v128) (local $canon v128)
  (local.set $canon (v128.const i64x2 0x7ff8000000000000 0x7ff8000000000000))
  (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 3))))
  (local.set $vend (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -2)) (i32.const 3))))
  (block $vdone
    (br_if $vdone (i32.eq (local.get $x) (local.get $vend)))
    (loop $vec
      (local.set $v (v128.load (local.get $x)))
      (v128.store (local.get $x)
        (v128.bitselect (local.get $canon) (local.get $v) (f64x2.ne (local.get $v) (local.get $v))))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (br_if $vec (i32.ne (local.get $x) (local.get $vend)))))
  (block $done
    (br_if $done (i32.eq (local.get $x) (local.get $end)))
    (loop $each
      (if (f64.ne (f64.load (local.get $x)) (f64.load (local.get $x)))
        (then (i64.store (local.get $x) (i64.const 0x7ff8000000000000))))
      (local.set $x (i32.add (local.get $x) (i32.const 8)))
      (br_if $each (i32.ne (local.get $x) (local.get $end))))))

;; $x16_canonical_nan: 16-bit floats (float16, bfloat16): x[i] = (x[i] & 0x7fff) > $above ? $canon : x[i]
;;   for i < $n, u16 at byte offset $x. $above: the bits of +infinity (float16 0x7c00, bfloat16 0x7f80);
;;   $canon: the canonical NaN (float16 0x7e00, bfloat16 0x7fc0). The masked bits are below 0x8000, so
;;   the signed lane compare is the unsigned one.
(func $x16_canonical_nan (param $x i32) (param $n i32) (param $above i32) (param $canon i32)
  (local $end i32) (local $vend i32) (local $v v128) (local $vabove v128) (local $vcanon v128) (local $mask v128)
  (local.set $vabove (i16x8.splat (local.get $above)))
  (local.set $vcanon (i16x8.splat (local.get $canon)))
  (local.set $mask (v128.const i16x8 0x7fff 0x7fff 0x7fff 0x7fff 0x7fff 0x7fff 0x7fff 0x7fff))
  (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 1))))
  (local.set $vend (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -8)) (i32.const 1))))
  (block $vdone
    (br_if $vdone (i32.eq (local.get $x) (local.get $vend)))
    (loop $vec
      (local.set $v (v128.load (local.get $x)))
      (v128.store (local.get $x)
        (v128.bitselect (local.get $vcanon) (local.get $v)
          (i16x8.gt_s (v128.and (local.get $v) (local.get $mask)) (local.get $vabove))))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (br_if $vec (i32.ne (local.get $x) (local.get $vend)))))
  (block $done
    (br_if $done (i32.eq (local.get $x) (local.get $end)))
    (loop $each
      (if (i32.gt_u (i32.and (i32.load16_u (local.get $x)) (i32.const 0x7fff)) (local.get $above))
        (then (i32.store16 (local.get $x) (local.get $canon))))
      (local.set $x (i32.add (local.get $x) (i32.const 2)))
      (br_if $each (i32.ne (local.get $x) (local.get $end))))))
