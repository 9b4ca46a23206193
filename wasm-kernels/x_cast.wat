;; Casts to and from the low-precision dtypes, scalar and descriptor-free: the float8 types
;; (e4m3fn, e4m3fnuz, e5m2, e5m2fnuz, e8m0fnu), float4_e2m1fn, int4, uint4, int2, uint2. Each is one
;; byte per element in memory (edgewasm.dtypes): the code in the low bits; readers mask it (and
;; sign-extend int4/int2), writers leave the high bits zero.
;;
;; Dtype codes: 0..12 as x_elementwise.wat (f32 f64 f16 bf16 i8 u8 i16 u16 i32 u32 i64 u64 bool),
;; 13 e4m3fn, 14 e4m3fnuz, 15 e5m2, 16 e5m2fnuz, 17 e8m0fnu, 18 float4_e2m1fn, 19 int4, 20 uint4,
;; 21 int2, 22 uint2 (edgewasm.dtypes.CAST_CODES).
;;
;; Conversions (ONNX Cast, opsets 19-25, bit for bit as onnx.reference computes them with ml_dtypes):
;; - to e4m3fn/e4m3fnuz/e5m2/e5m2fnuz/float4_e2m1fn: the source's exact value (f64; integers beyond 2^53
;;   round first) rounded once to nearest, ties to even. Out of range (after rounding) and +-Inf:
;;   saturate=1 gives +-max; saturate=0 gives NaN (e4m3fn: with the sign; fnuz: 0x80) or +-Inf
;;   (e5m2). float4_e2m1fn always saturates (it has no Inf or NaN; a NaN becomes -0 when its sign is
;;   clear and +0 when set, as ml_dtypes does). A NaN keeps its sign where the format has signed
;;   NaNs (read from the source's bits, never from arithmetic). fnuz types have no -0: it is +0.
;; - to e8m0fnu: from the value rounded to float32, as the spec's table says and onnxruntime computes
;;   it (onnx.reference's to_float8e8m0 differs only where the table disagrees with it: Inf, zeros,
;;   negatives, below 2^-127): NaN -> NaN; with saturate, below 2^-127 -> 2^-127 and above 2^127 ->
;;   2^127, without, both NaN; round_mode up (any fraction rounds the exponent up), down (truncate)
;;   or nearest (the guard bit: ties up).
;; - to int4/uint4/int2/uint2: from an integer or bool, the low bits (two's complement wrap, as ONNX
;;   says for fixed point); from a float, truncated toward zero (saturating to i64, NaN -> 0), then the
;;   low bits: ONNX leaves out-of-range values undefined; this is what onnx's own Cast test data and
;;   onnxruntime give (-9.0 -> int4 7), and what x_elementwise does for the wider integers (ml_dtypes,
;;   and so onnx.reference, give 0 instead).
;; - from any low-precision dtype: its exact value (NaN/Inf as coded) into the rules above.

;; $x_cast: y[i] = cast(x[i]) for i < $n, into a low-precision dtype.
;;   $n       element count (<= 0 writes nothing)
;;   $x $tx   byte offset and dtype code (0..22) of the contiguous source
;;   $y $ty   byte offset and dtype code (13..22) of the contiguous destination (one byte each)
;;   $flags   bit 0: saturate; bits 1-2: e8m0 round_mode (0 up, 1 down, 2 nearest)
;;   y may be x only when both are one byte per element.
(func $x_cast (param $n i32) (param $x i32) (param $tx i32) (param $y i32) (param $ty i32) (param $flags i32)
  (local $sx i32) (local $i i32) (local $ints i32) (local $mask i32)
  (if (i32.le_s (local.get $n) (i32.const 0)) (then (return)))
  (local.set $sx (if (result i32) (i32.ge_u (local.get $tx) (i32.const 13))
                   (then (i32.const 1)) (else (call $x_dtype_size (local.get $tx)))))
  ;; integer (or bool, or sub-byte integer) source into a sub-byte integer: wrap
  (local.set $ints (i32.and (i32.ge_u (local.get $ty) (i32.const 19))
                            (i32.or (i32.and (i32.ge_u (local.get $tx) (i32.const 4)) (i32.le_u (local.get $tx) (i32.const 12)))
                                    (i32.ge_u (local.get $tx) (i32.const 19)))))
  (local.set $mask (select (i32.const 0xf) (i32.const 0x3) (i32.le_u (local.get $ty) (i32.const 20))))
  (loop $each
    (i32.store8 (local.get $y)
      (if (result i32) (local.get $ints)
        (then (i32.and (i32.wrap_i64 (call $x_cast_load_i64 (local.get $x) (local.get $tx))) (local.get $mask)))
        (else (if (result i32) (i32.eq (local.get $ty) (i32.const 17))
        (then (call $x_cast_e8m0 (call $x_cast_f32_bits (local.get $x) (local.get $tx)) (local.get $flags)))
        (else (call $x_cast_encode (call $x_cast_load_f64 (local.get $x) (local.get $tx))
                                   (call $x_cast_sign (local.get $x) (local.get $tx)) (local.get $ty) (local.get $flags)))))))
    (local.set $x (i32.add (local.get $x) (local.get $sx)))
    (local.set $y (i32.add (local.get $y) (i32.const 1)))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br_if $each (i32.lt_s (local.get $i) (local.get $n)))))

;; $x_cast_f32_bits: helper, the bits of the element at $p of dtype code $t rounded once to float32
;; (integers convert directly, never through f64), as e8m0's rule reads it.
(func $x_cast_f32_bits (param $p i32) (param $t i32) (result i32)
  (if (i32.eq (local.get $t) (i32.const 0)) (then (return (i32.load (local.get $p)))))
  (if (i32.eq (local.get $t) (i32.const 11))
    (then (return (i32.reinterpret_f32 (f32.convert_i64_u (i64.load (local.get $p)))))))
  (if (i32.or (i32.and (i32.ge_u (local.get $t) (i32.const 4)) (i32.le_u (local.get $t) (i32.const 12)))
              (i32.ge_u (local.get $t) (i32.const 19)))
    (then (return (i32.reinterpret_f32 (f32.convert_i64_s (call $x_cast_load_i64 (local.get $p) (local.get $t)))))))
  (i32.reinterpret_f32 (f32.demote_f64 (call $x_cast_load_f64 (local.get $p) (local.get $t)))))

;; $x_cast_load_i64: helper, an integer-like element (codes 4..12, 19..22) as i64 (sub-byte: the low
;; bits of the byte, sign-extended for int4/int2).
(func $x_cast_load_i64 (param $p i32) (param $t i32) (result i64)
  (local $c i32)
  (if (i32.lt_u (local.get $t) (i32.const 13)) (then (return (call $x_load_i64 (local.get $p) (local.get $t)))))
  (local.set $c (i32.load8_u (local.get $p)))
  (i64.extend_i32_s
    (block $done (result i32)
      (block $u2 (block $i2 (block $u4 (block $i4
        (br_table $i4 $u4 $i2 $u2 (i32.sub (local.get $t) (i32.const 19))))
        (br $done (i32.shr_s (i32.shl (local.get $c) (i32.const 28)) (i32.const 28))))
        (br $done (i32.and (local.get $c) (i32.const 0xf))))
        (br $done (i32.shr_s (i32.shl (local.get $c) (i32.const 30)) (i32.const 30))))
      (i32.and (local.get $c) (i32.const 0x3)))))

;; $x_cast_load_f64: helper, the element at $p of dtype code $t (0..22) as f64 (exact but for
;; i64/u64 beyond 2^53; a NaN code gives a NaN whose sign means nothing: see $x_cast_sign).
(func $x_cast_load_f64 (param $p i32) (param $t i32) (result f64)
  (if (i32.lt_u (local.get $t) (i32.const 13)) (then (return (call $x_load_f64 (local.get $p) (local.get $t)))))
  (if (i32.ge_u (local.get $t) (i32.const 19))
    (then (return (f64.convert_i64_s (call $x_cast_load_i64 (local.get $p) (local.get $t))))))
  (call $x_lowp_to_f64 (i32.load8_u (local.get $p)) (local.get $t)))

;; $x_lowp_to_f64: helper, the value of code $c of the float format $t (13..18) as f64 (exact).
(func $x_lowp_to_f64 (param $c i32) (param $t i32) (result f64)
  (local $m i32) (local $bias i32) (local $width i32) (local $mag i32) (local $e i32) (local $frac i32)
  (local $v f64)
  (if (i32.eq (local.get $t) (i32.const 17))
    (then (return (if (result f64) (i32.eq (local.get $c) (i32.const 0xff))
                    (then (f64.const nan))
                    (else (call $f64_pow2 (i32.sub (local.get $c) (i32.const 127))))))))
  (local.set $m (call $x_lowp_mbits (local.get $t)))
  (local.set $bias (call $x_lowp_bias (local.get $t)))
  (local.set $width (select (i32.const 4) (i32.const 8) (i32.eq (local.get $t) (i32.const 18))))
  (local.set $c (i32.and (local.get $c) (i32.sub (i32.shl (i32.const 1) (local.get $width)) (i32.const 1))))
  (local.set $mag (i32.and (local.get $c) (i32.sub (i32.shl (i32.const 1) (i32.sub (local.get $width) (i32.const 1))) (i32.const 1))))
  ;; NaN and Inf codes
  (if (i32.or (i32.and (i32.eq (local.get $t) (i32.const 13)) (i32.eq (local.get $mag) (i32.const 0x7f)))
              (i32.and (i32.or (i32.eq (local.get $t) (i32.const 14)) (i32.eq (local.get $t) (i32.const 16)))
                       (i32.eq (local.get $c) (i32.const 0x80))))
    (then (return (f64.const nan))))
  (if (i32.and (i32.eq (local.get $t) (i32.const 15)) (i32.ge_u (local.get $mag) (i32.const 0x7c)))
    (then (return (if (result f64) (i32.eq (local.get $mag) (i32.const 0x7c))
                    (then (select (f64.const -inf) (f64.const inf) (i32.ge_u (local.get $c) (i32.const 0x80))))
                    (else (f64.const nan))))))
  (local.set $e (i32.shr_u (local.get $mag) (local.get $m)))
  (local.set $frac (i32.and (local.get $mag) (i32.sub (i32.shl (i32.const 1) (local.get $m)) (i32.const 1))))
  (local.set $v
    (if (result f64) (i32.eqz (local.get $e))
      (then (f64.mul (f64.convert_i32_u (local.get $frac))
                     (call $f64_pow2 (i32.sub (i32.sub (i32.const 1) (local.get $bias)) (local.get $m)))))
      (else (f64.mul (f64.convert_i32_u (i32.or (local.get $frac) (i32.shl (i32.const 1) (local.get $m))))
                     (call $f64_pow2 (i32.sub (i32.sub (local.get $e) (local.get $bias)) (local.get $m)))))))
  (if (result f64) (i32.ne (local.get $c) (local.get $mag))
    (then (f64.neg (local.get $v))) (else (local.get $v))))

;; $x_lowp_mbits: helper, mantissa bits of float format $t (13..18).
(func $x_lowp_mbits (param $t i32) (result i32)
  (block $two (block $three (block $one
    (br_table $three $three $two $two $one $one (i32.sub (local.get $t) (i32.const 13))))
    (return (i32.const 1)))
    (return (i32.const 3)))
  (i32.const 2))

;; $x_lowp_bias: helper, exponent bias of float format $t (13..18).
(func $x_lowp_bias (param $t i32) (result i32)
  (block $b1 (block $b16 (block $b15 (block $b8 (block $b7
    (br_table $b7 $b8 $b15 $b16 $b1 $b1 (i32.sub (local.get $t) (i32.const 13))))
    (return (i32.const 7)))
    (return (i32.const 8)))
    (return (i32.const 15)))
    (return (i32.const 16)))
  (i32.const 1))

;; $x_cast_sign: helper, 1 when the element at $p of dtype code $t has its sign set (floats: the sign
;; bit of the stored bits, so NaNs keep it; integers: negative).
(func $x_cast_sign (param $p i32) (param $t i32) (result i32)
  (block $i (block $unsigned (block $lp (block $half (block $f64 (block $f32
    (br_table $f32 $f64 $half $half $i $unsigned $i $unsigned $i $unsigned $i $unsigned $unsigned
              $lp $lp $lp $lp $lp $lp $i $unsigned $i $unsigned (local.get $t)))
    (return (i32.shr_u (i32.load (local.get $p)) (i32.const 31))))
    (return (i32.wrap_i64 (i64.shr_u (i64.load (local.get $p)) (i64.const 63)))))
    (return (i32.shr_u (i32.load16_u (local.get $p)) (i32.const 15))))
    (return (i32.and (i32.shr_u (i32.load8_u (local.get $p))
                                (select (i32.const 3) (i32.const 7) (i32.eq (local.get $t) (i32.const 18))))
                     (i32.ne (local.get $t) (i32.const 17)))))
    (return (i32.const 0)))
  (i64.lt_s (call $x_cast_load_i64 (local.get $p) (local.get $t)) (i64.const 0)))

;; $x_cast_encode: helper, the code of $v (whose sign bit, NaNs included, is $s) in dtype $t (13..22),
;; by the rules at the top of this file; $flags as $x_cast's.
(func $x_cast_encode (param $v f64) (param $s i32) (param $t i32) (param $flags i32) (result i32)
  (local $a f64) (local $m i32) (local $emin i32) (local $maxcode i32) (local $sign i32) (local $e i32)
  (local $q i32) (local $overflow i32) (local $fnuz i32)
  (if (i32.eq (local.get $t) (i32.const 17))
    (then (return (call $x_cast_e8m0 (i32.reinterpret_f32 (f32.demote_f64 (local.get $v))) (local.get $flags)))))
  (if (i32.ge_u (local.get $t) (i32.const 19))
    (then (return (call $x_cast_float_to_subbyte (local.get $v) (local.get $t)))))
  (local.set $fnuz (i32.or (i32.eq (local.get $t) (i32.const 14)) (i32.eq (local.get $t) (i32.const 16))))
  (local.set $sign (i32.shl (local.get $s) (select (i32.const 3) (i32.const 7) (i32.eq (local.get $t) (i32.const 18)))))
  (local.set $maxcode (block $mx (result i32)
    (block $f4 (block $fnuzb (block $e5 (block $e4
      (br_table $e4 $fnuzb $e5 $fnuzb $f4 $f4 (i32.sub (local.get $t) (i32.const 13))))
      (br $mx (i32.const 0x7e)))
      (br $mx (i32.const 0x7b)))
      (br $mx (i32.const 0x7f)))
    (i32.const 7)))
  ;; what overflow gives: the saturated code, or this format's NaN / Inf
  (local.set $overflow
    (if (result i32) (i32.or (i32.and (local.get $flags) (i32.const 1)) (i32.eq (local.get $t) (i32.const 18)))
      (then (i32.or (local.get $sign) (local.get $maxcode)))
      (else (if (result i32) (local.get $fnuz) (then (i32.const 0x80))
              (else (i32.or (local.get $sign) (select (i32.const 0x7f) (i32.const 0x7c) (i32.eq (local.get $t) (i32.const 13)))))))))
  (local.set $a (f64.abs (local.get $v)))
  (if (f64.ne (local.get $a) (local.get $a))
    (then (return (block $nan (result i32)
      (block $f4 (block $fnuzb (block $e5 (block $e4
        (br_table $e4 $fnuzb $e5 $fnuzb $f4 $f4 (i32.sub (local.get $t) (i32.const 13))))
        (br $nan (i32.or (local.get $sign) (i32.const 0x7f))))
        (br $nan (i32.or (local.get $sign) (i32.const 0x7e))))
        (br $nan (i32.const 0x80)))
      (i32.xor (local.get $sign) (i32.const 8))))))
  (if (f64.eq (local.get $a) (f64.const inf)) (then (return (local.get $overflow))))
  (local.set $m (call $x_lowp_mbits (local.get $t)))
  (local.set $emin (i32.sub (i32.const 1) (call $x_lowp_bias (local.get $t))))
  (if (f64.lt (local.get $a) (call $f64_pow2 (local.get $emin)))
    (then (local.set $q (i32.trunc_f64_u (f64.nearest (f64.mul (local.get $a)
                                                              (call $f64_pow2 (i32.sub (local.get $m) (local.get $emin))))))))
    (else
      (local.set $e (i32.sub (i32.wrap_i64 (i64.shr_u (i64.reinterpret_f64 (local.get $a)) (i64.const 52))) (i32.const 1023)))
      (local.set $q (i32.add (i32.shl (i32.add (i32.sub (local.get $e) (local.get $emin)) (i32.const 1)) (local.get $m))
                             (i32.sub (i32.trunc_f64_u (f64.nearest (f64.mul (local.get $a)
                                                                             (call $f64_pow2 (i32.sub (local.get $m) (local.get $e))))))
                                      (i32.shl (i32.const 1) (local.get $m)))))))
  (if (i32.gt_u (local.get $q) (local.get $maxcode)) (then (return (local.get $overflow))))
  (if (i32.and (local.get $fnuz) (i32.eqz (local.get $q))) (then (return (i32.const 0))))
  (i32.or (local.get $sign) (local.get $q)))

;; $x_cast_e8m0: helper, the e8m0 code of the float32 with bits $b, as ONNX's table says and onnxruntime
;; computes it: NaN -> 0xFF; below 2^-127 (zeros, negatives, tiny) -> 0x00 when saturating, else 0xFF;
;; above 2^127 (+Inf) -> 0xFE when saturating, else 0xFF; otherwise the exponent, plus one when the
;; fraction (a subnormal's normalized) rounds up: `up` any fraction, `down` never, `nearest` the guard
;; bit (ties up).
(func $x_cast_e8m0 (param $b i32) (param $flags i32) (result i32)
  (local $e i32) (local $m i32) (local $mode i32) (local $sat i32)
  (local.set $sat (i32.and (local.get $flags) (i32.const 1)))
  (if (i32.gt_u (i32.and (local.get $b) (i32.const 0x7fffffff)) (i32.const 0x7f800000))
    (then (return (i32.const 0xff))))
  (if (i32.or (i32.lt_u (local.get $b) (i32.const 0x00400000)) (i32.ge_u (local.get $b) (i32.const 0x80000000)))
    (then (return (select (i32.const 0x00) (i32.const 0xff) (local.get $sat)))))
  (if (i32.gt_u (local.get $b) (i32.const 0x7f000000))
    (then (return (select (i32.const 0xfe) (i32.const 0xff) (local.get $sat)))))
  (local.set $e (i32.shr_u (local.get $b) (i32.const 23)))
  (local.set $m (i32.and (select (i32.shl (local.get $b) (i32.const 1)) (local.get $b) (i32.eqz (local.get $e)))
                         (i32.const 0x7fffff)))
  (local.set $mode (i32.and (i32.shr_u (local.get $flags) (i32.const 1)) (i32.const 3)))
  (i32.add (local.get $e)
           (if (result i32) (i32.eqz (local.get $mode))
             (then (i32.ne (local.get $m) (i32.const 0)))
             (else (if (result i32) (i32.eq (local.get $mode) (i32.const 2))
                     (then (i32.ne (i32.and (local.get $m) (i32.const 0x400000)) (i32.const 0)))
                     (else (i32.const 0)))))))

;; $x_cast_float_to_subbyte: helper, the code of float $v in int4/uint4/int2/uint2 ($t 19..22):
;; truncated toward zero (saturating to i64, NaN -> 0), then its low bits, as x_elementwise casts
;; floats to the wider integers.
(func $x_cast_float_to_subbyte (param $v f64) (param $t i32) (result i32)
  (i32.and (i32.wrap_i64 (i64.trunc_sat_f64_s (local.get $v)))
           (select (i32.const 0xf) (i32.const 0x3) (i32.le_u (local.get $t) (i32.const 20)))))
