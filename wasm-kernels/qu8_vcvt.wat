;; uint8 <-> f32 conversions with a per-tensor scale and zero point: ONNX QuantizeLinear and
;; DequantizeLinear to and from uint8, with onnxruntime's arithmetic (MLAS):
;;   quantize    q = min(max(nearest(x / scale) + zp, 0), 255)   a true division, round half to even
;;               (a NaN quantizes to 0, as in onnxruntime)
;;   dequantize  y = f32(q - zp) * scale                         an exact integer subtract, one multiply
;; (onnxruntime clamps x / scale to [-zp, 255 - zp] before rounding: with integer bounds, the same.)

;; $f32_qu8_vcvt: q[i] = quantize(x[i]) for i < n.
;;   $n      elements (n <= 0 writes nothing)
;;   $x      byte offset of n f32;  $q: byte offset of n u8 outputs (no alignment needed)
;;   $scale  f32 > 0;  $zp: zero point in [0, 255]
;; MLAS's sequence, which is also the fastest in SIMD128: v = x / scale clamped to
;; [-zp, 255 - zp] with pmax/pmin (one maxps/minps each; a NaN becomes -zp, as _mm_max_ps makes
;; it), rounded half to even by adding 1.5 * 2^23 (exact: |v| <= 255) and reading the integer
;; from the bits, then zp added as an integer. 16 floats per iteration (one 16-byte store), then
;; one at a time; writes exactly n bytes.
(func $f32_qu8_vcvt (param $n i32) (param $x i32) (param $q i32) (param $scale f32) (param $zp i32)
  (local $i i32) (local $vs v128) (local $lo v128) (local $hi v128) (local $vz v128)
  (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
  (if (i32.le_s (local.get $n) (i32.const 0)) (then (return)))
  (local.set $vs (f32x4.splat (local.get $scale)))
  (local.set $lo (f32x4.splat (f32.convert_i32_s (i32.sub (i32.const 0) (local.get $zp)))))
  (local.set $hi (f32x4.splat (f32.convert_i32_s (i32.sub (i32.const 255) (local.get $zp)))))
  (local.set $vz (i32x4.splat (i32.sub (local.get $zp) (i32.const 0x4b400000))))
  (block $vectors_done
    (br_if $vectors_done (i32.lt_s (local.get $n) (i32.const 16)))
    (loop $vectors
      (local.set $v0 (f32x4.div (v128.load (local.get $x)) (local.get $vs)))
      (local.set $v1 (f32x4.div (v128.load offset=16 (local.get $x)) (local.get $vs)))
      (local.set $v2 (f32x4.div (v128.load offset=32 (local.get $x)) (local.get $vs)))
      (local.set $v3 (f32x4.div (v128.load offset=48 (local.get $x)) (local.get $vs)))
      (local.set $v0 (f32x4.pmin (local.get $hi) (f32x4.pmax (local.get $lo) (local.get $v0))))
      (local.set $v1 (f32x4.pmin (local.get $hi) (f32x4.pmax (local.get $lo) (local.get $v1))))
      (local.set $v2 (f32x4.pmin (local.get $hi) (f32x4.pmax (local.get $lo) (local.get $v2))))
      (local.set $v3 (f32x4.pmin (local.get $hi) (f32x4.pmax (local.get $lo) (local.get $v3))))
      (local.set $v0 (i32x4.add (f32x4.add (local.get $v0) (v128.const f32x4 0x1.8p23 0x1.8p23 0x1.8p23 0x1.8p23))
                                (local.get $vz)))
      (local.set $v1 (i32x4.add (f32x4.add (local.get $v1) (v128.const f32x4 0x1.8p23 0x1.8p23 0x1.8p23 0x1.8p23))
                                (local.get $vz)))
      (local.set $v2 (i32x4.add (f32x4.add (local.get $v2) (v128.const f32x4 0x1.8p23 0x1.8p23 0x1.8p23 0x1.8p23))
                                (local.get $vz)))
      (local.set $v3 (i32x4.add (f32x4.add (local.get $v3) (v128.const f32x4 0x1.8p23 0x1.8p23 0x1.8p23 0x1.8p23))
                                (local.get $vz)))
      (v128.store (local.get $q)
        (i8x16.narrow_i16x8_u (i16x8.narrow_i32x4_s (local.get $v0) (local.get $v1))
                              (i16x8.narrow_i32x4_s (local.get $v2) (local.get $v3))))
      (local.set $x (i32.add (local.get $x) (i32.const 64)))
      (local.set $q (i32.add (local.get $q) (i32.const 16)))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br_if $vectors (i32.le_s (i32.add (local.get $i) (i32.const 16)) (local.get $n)))))
  (block $done
    (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
    (loop $tail
      (local.set $v0 (f32x4.div (f32x4.splat (f32.load (local.get $x))) (local.get $vs)))
      (local.set $v0 (f32x4.pmin (local.get $hi) (f32x4.pmax (local.get $lo) (local.get $v0))))
      (i32.store8 (local.get $q)
        (i32x4.extract_lane 0 (i32x4.add (f32x4.add (local.get $v0) (v128.const f32x4 0x1.8p23 0x1.8p23 0x1.8p23 0x1.8p23))
                                         (local.get $vz))))
      (local.set $x (i32.add (local.get $x) (i32.const 4)))
      (local.set $q (i32.add (local.get $q) (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $tail (i32.lt_s (local.get $i) (local.get $n))))))

;; $qu8_f32_vcvt: y[i] = f32(q[i] - zp) * scale for i < n.
;;   $n      elements (n <= 0 writes nothing)
;;   $q      byte offset of n u8;  $y: byte offset of n f32 outputs
;;   $scale  f32;  $zp: zero point in [0, 255]
;; 16 bytes per iteration (widened u8 -> i16 -> i32, zero point subtracted as integers), then one
;; at a time; writes exactly 4n bytes.
(func $qu8_f32_vcvt (param $n i32) (param $q i32) (param $y i32) (param $scale f32) (param $zp i32)
  (local $i i32) (local $vs v128) (local $vz v128) (local $bytes v128) (local $half v128)
  (if (i32.le_s (local.get $n) (i32.const 0)) (then (return)))
  (local.set $vs (f32x4.splat (local.get $scale)))
  (local.set $vz (i32x4.splat (local.get $zp)))
  (block $vectors_done
    (br_if $vectors_done (i32.lt_s (local.get $n) (i32.const 16)))
    (loop $vectors
      (local.set $bytes (v128.load (local.get $q)))
      (local.set $half (i16x8.extend_low_i8x16_u (local.get $bytes)))
      (v128.store (local.get $y) (call $qu8_dequantize_x4 (i32x4.extend_low_i16x8_u (local.get $half))
                                        (local.get $vz) (local.get $vs)))
      (v128.store offset=16 (local.get $y) (call $qu8_dequantize_x4 (i32x4.extend_high_i16x8_u (local.get $half))
                                                  (local.get $vz) (local.get $vs)))
      (local.set $half (i16x8.extend_high_i8x16_u (local.get $bytes)))
      (v128.store offset=32 (local.get $y) (call $qu8_dequantize_x4 (i32x4.extend_low_i16x8_u (local.get $half))
                                                  (local.get $vz) (local.get $vs)))
      (v128.store offset=48 (local.get $y) (call $qu8_dequantize_x4 (i32x4.extend_high_i16x8_u (local.get $half))
                                                  (local.get $vz) (local.get $vs)))
      (local.set $q (i32.add (local.get $q) (i32.const 16)))
      (local.set $y (i32.add (local.get $y) (i32.const 64)))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br_if $vectors (i32.le_s (i32.add (local.get $i) (i32.const 16)) (local.get $n)))))
  (block $done
    (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
    (loop $tail
      (f32.store (local.get $y)
        (f32x4.extract_lane 0 (call $qu8_dequantize_x4 (i32x4.splat (i32.load8_u (local.get $q)))
                                    (local.get $vz) (local.get $vs))))
      (local.set $q (i32.add (local.get $q) (i32.const 1)))
      (local.set $y (i32.add (local.get $y) (i32.const 4)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $tail (i32.lt_s (local.get $i) (local.get $n))))))

;; $qu8_dequantize_x4: helper, four i32 (the bytes) -> f32(q - zp) * scale.
(func $qu8_dequantize_x4 (param $q v128) (param $zp v128) (param $scale v128) (result v128)
  (f32x4.mul (f32x4.convert_i32x4_s (i32x4.sub (local.get $q) (local.get $zp))) (local.get $scale)))
