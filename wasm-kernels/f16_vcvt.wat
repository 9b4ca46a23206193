;; f16 -> f32 conversion, used by init() to expand weights shipped as IEEE half precision.
;; SIMD128 has no half-precision instructions, so the conversion is done on the bits, exactly
;; (every half is representable in f32): with h the 16 bits, s its sign, e its exponent field and
;; m its mantissa field,
;;   e = 0            subnormal or zero: f32(m) * 2^-24           (both steps exact)
;;   0 < e < 31       normal: bits ((h & 0x7fff) << 13) + (112 << 23)   (rebias 15 -> 127)
;;   e = 31           inf / NaN: bits ((h & 0x7fff) << 13) + (224 << 23) (payload kept)
;; then the sign is or-ed in. NaN payloads are preserved bit for bit (only integer ops touch them),
;; so the result is the same on every engine and equals numpy's float16 -> float32 cast.

;; $f16_f32_vcvt: dst[i] = f32(src[i]) for i < n.
;;   $n    number of halves (>= 0; n <= 0 writes nothing)
;;   $src  byte offset of n little-endian halves (2-byte alignment not required)
;;   $dst  byte offset of n f32 outputs; must not overlap src, except that src = dst + 2n widens in
;;         place (each block of halves is read before the floats written over it)
;; 8 halves per iteration (one v128 load, two v128 stores), then one at a time.
(func $f16_f32_vcvt (param $n i32) (param $src i32) (param $dst i32)
  (local $h v128)
  (if (i32.le_s (local.get $n) (i32.const 0)) (then (return)))
  (block $vectors_done
    (br_if $vectors_done (i32.lt_s (local.get $n) (i32.const 8)))
    (loop $vectors
      (local.set $h (v128.load (local.get $src)))
      (v128.store (local.get $dst) (call $f16_f32_x4 (i32x4.extend_low_i16x8_u (local.get $h))))
      (v128.store offset=16 (local.get $dst) (call $f16_f32_x4 (i32x4.extend_high_i16x8_u (local.get $h))))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
      (local.set $n (i32.sub (local.get $n) (i32.const 8)))
      (br_if $vectors (i32.ge_s (local.get $n) (i32.const 8)))))
  (block $done
    (br_if $done (i32.eqz (local.get $n)))
    (loop $tail
      (f32.store (local.get $dst)
        (f32x4.extract_lane 0 (call $f16_f32_x4 (i32x4.splat (i32.load16_u (local.get $src))))))
      (local.set $src (i32.add (local.get $src) (i32.const 2)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $tail (local.get $n)))))

;; $f16_f32_x4: helper, four halves (zero-extended into the i32 lanes of $h) -> four f32.
(func $f16_f32_x4 (param $h v128) (result v128)
  (local $nonsign v128) (local $exponent v128) (local $shifted v128)
  (local.set $nonsign (v128.and (local.get $h) (i32x4.splat (i32.const 0x7fff))))
  (local.set $exponent (v128.and (local.get $h) (i32x4.splat (i32.const 0x7c00))))
  (local.set $shifted (i32x4.shl (local.get $nonsign) (i32.const 13)))
  (v128.or
    (i32x4.shl (v128.and (local.get $h) (i32x4.splat (i32.const 0x8000))) (i32.const 16))
    (v128.bitselect
      ;; e = 0: the value is m * 2^-24 (nonsign = m here)
      (f32x4.mul (f32x4.convert_i32x4_s (local.get $nonsign)) (f32x4.splat (f32.const 0x1p-24)))
      (v128.bitselect
        (i32x4.add (local.get $shifted) (i32x4.splat (i32.const 0x70000000)))
        (i32x4.add (local.get $shifted) (i32x4.splat (i32.const 0x38000000)))
        (i32x4.eq (local.get $exponent) (i32x4.splat (i32.const 0x7c00))))
      (i32x4.eq (local.get $exponent) (v128.const i32x4 0 0 0 0)))))
