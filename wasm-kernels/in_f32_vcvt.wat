;; Input conversions to f32: a graph input of another dtype, cast straight to FLOAT by the model,
;; is written to memory in its own wire format and converted here, first thing in run(), so the
;; bits are the module's and equal on every engine. (float16 inputs use f16_vcvt.wat's kernel.)
;; Wire formats: float64 and bfloat16 little-endian; every 1-byte and sub-byte dtype one element
;; per byte, the value in the low bits (numpy/ml_dtypes' in-memory layout, not ONNX's packed one).

;; $f64_f32_vcvt: dst[i] = f32(src[i]) for i < n, IEEE round-to-nearest-even (f32.demote_f64),
;; which is numpy's float64 -> float32 cast; overflow gives +-inf. A NaN stays a NaN, but wasm
;; leaves its payload to the engine (the numerics contract treats all NaNs as equal).
;;   $n    number of doubles (n <= 0 writes nothing)
;;   $src  byte offset of n little-endian doubles (alignment not required)
;;   $dst  byte offset of n f32 outputs; must not overlap src
;; 4 doubles per iteration (two f32x4.demote_f64x2_zero, lanes joined by one shuffle), then one at a time.
(func $f64_f32_vcvt (param $n i32) (param $src i32) (param $dst i32)
  (if (i32.le_s (local.get $n) (i32.const 0)) (then (return)))
  (block $vectors_done
    (br_if $vectors_done (i32.lt_s (local.get $n) (i32.const 4)))
    (loop $vectors
      (v128.store (local.get $dst)
        (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
          (f32x4.demote_f64x2_zero (v128.load (local.get $src)))
          (f32x4.demote_f64x2_zero (v128.load offset=16 (local.get $src)))))
      (local.set $src (i32.add (local.get $src) (i32.const 32)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (local.set $n (i32.sub (local.get $n) (i32.const 4)))
      (br_if $vectors (i32.ge_s (local.get $n) (i32.const 4)))))
  (block $done
    (br_if $done (i32.eqz (local.get $n)))
    (loop $tail
      (f32.store (local.get $dst) (f32.demote_f64 (f64.load (local.get $src))))
      (local.set $src (i32.add (local.get $src) (i32.const 8)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $tail (local.get $n)))))

;; $bf16_f32_vcvt: dst[i] = f32(src[i]) for i < n; exact (a bfloat16 is the top half of an f32's
;; bits), NaN payloads kept.
;;   $n    number of bfloat16 values (n <= 0 writes nothing)
;;   $src  byte offset of n little-endian bfloat16 values (alignment not required)
;;   $dst  byte offset of n f32 outputs; must not overlap src
;; 8 values per iteration (one v128 load, two widening shifts, two v128 stores), then one at a time.
(func $bf16_f32_vcvt (param $n i32) (param $src i32) (param $dst i32)
  (local $h v128)
  (if (i32.le_s (local.get $n) (i32.const 0)) (then (return)))
  (block $vectors_done
    (br_if $vectors_done (i32.lt_s (local.get $n) (i32.const 8)))
    (loop $vectors
      (local.set $h (v128.load (local.get $src)))
      (v128.store (local.get $dst) (i32x4.shl (i32x4.extend_low_i16x8_u (local.get $h)) (i32.const 16)))
      (v128.store offset=16 (local.get $dst) (i32x4.shl (i32x4.extend_high_i16x8_u (local.get $h)) (i32.const 16)))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
      (local.set $n (i32.sub (local.get $n) (i32.const 8)))
      (br_if $vectors (i32.ge_s (local.get $n) (i32.const 8)))))
  (block $done
    (br_if $done (i32.eqz (local.get $n)))
    (loop $tail
      (i32.store (local.get $dst) (i32.shl (i32.load16_u (local.get $src)) (i32.const 16)))
      (local.set $src (i32.add (local.get $src) (i32.const 2)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $tail (local.get $n)))))

;; $x8_f32_vlut: dst[i] = lut[src[i]] for i < n: any dtype of at most 8 bits (int8, uint8, the
;; float8 and float4 formats, int4/uint4/int2/uint2) through a 256-entry f32 table the compiler
;; computes (entries for bits a sub-byte dtype does not use repeat the masked value). SIMD128 has
;; no gather, so each table read is scalar; four per iteration from one 32-bit load of the bytes.
;;   $n    number of bytes (n <= 0 writes nothing)
;;   $lut  byte offset of 256 f32 (alignment not required)
;;   $src  byte offset of n bytes
;;   $dst  byte offset of n f32 outputs; must not overlap src or lut
(func $x8_f32_vlut (param $n i32) (param $lut i32) (param $src i32) (param $dst i32)
  (local $w i32)
  (if (i32.le_s (local.get $n) (i32.const 0)) (then (return)))
  (block $quads_done
    (br_if $quads_done (i32.lt_s (local.get $n) (i32.const 4)))
    (loop $quads
      (local.set $w (i32.load (local.get $src)))
      (f32.store (local.get $dst)
        (f32.load (i32.add (local.get $lut) (i32.shl (i32.and (local.get $w) (i32.const 0xff)) (i32.const 2)))))
      (f32.store offset=4 (local.get $dst)
        (f32.load (i32.add (local.get $lut)
          (i32.and (i32.shr_u (local.get $w) (i32.const 6)) (i32.const 0x3fc)))))
      (f32.store offset=8 (local.get $dst)
        (f32.load (i32.add (local.get $lut)
          (i32.and (i32.shr_u (local.get $w) (i32.const 14)) (i32.const 0x3fc)))))
      (f32.store offset=12 (local.get $dst)
        (f32.load (i32.add (local.get $lut)
          (i32.and (i32.shr_u (local.get $w) (i32.const 22)) (i32.const 0x3fc)))))
      (local.set $src (i32.add (local.get $src) (i32.const 4)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (local.set $n (i32.sub (local.get $n) (i32.const 4)))
      (br_if $quads (i32.ge_s (local.get $n) (i32.const 4)))))
  (block $done
    (br_if $done (i32.eqz (local.get $n)))
    (loop $tail
      (f32.store (local.get $dst)
        (f32.load (i32.add (local.get $lut) (i32.shl (i32.load8_u (local.get $src)) (i32.const 2)))))
      (local.set $src (i32.add (local.get $src) (i32.const 1)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $tail (local.get $n)))))
