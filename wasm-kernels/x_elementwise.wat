;; Elementwise ops in any dtype, driven by a descriptor: the one kernel behind integer and boolean
;; arithmetic, comparisons, logical and bitwise ops, Where, Clip and every Cast that has no
;; dedicated kernel. It is scalar: it serves index math, masks and the rare dtypes, while float32
;; hot paths keep their SIMD128 kernels (f32_vbinary_nd.wat, f32_vunary.wat).
;;
;; Dtype codes (edgewasm.dtypes.KERNEL_CODES): 0 f32, 1 f64, 2 f16, 3 bf16, 4 i8, 5 u8, 6 i16,
;; 7 u16, 8 i32, 9 u32, 10 i64, 11 u64, 12 bool (one byte, 0 or 1).
;; Compute classes: 0 integers in i64 (every integer dtype but u64 fits, so signed i64 ops give
;; the right answer and stores wrap to the dtype's width: two's complement, as C and numpy do),
;; 1 u64 (the same with unsigned division, remainder, shifts, comparisons and conversions),
;; 2 floats in f64 (exact for f32/f16/bf16 operands: +, -, *, /, sqrt-free ops round once into the
;; destination dtype, which equals computing in that dtype since f64 has more than 2p + 2 bits),
;; 3 raw bits (copies and Where: bit patterns, NaN payloads included, move untouched).
;; Conversions follow ONNX Cast (numpy where ONNX leaves it open): float -> integer truncates toward
;; zero, saturating to i64 (NaN -> 0), then wraps to the width; anything -> bool is x != 0 (NaN is
;; true); integer -> float and float -> narrower float round to nearest even, each in one rounding
;; (f64 -> f16 and f64 -> bf16 directly, never through f32; a NaN becomes the positive quiet NaN,
;; since wasm leaves the sign and payload of a NaN that went through arithmetic to the engine).
;;
;; Op codes (edgewasm.backend.elementwise.OPS):
;;   0 copy/cast   1 neg   2 abs   3 sign   4 not (logical)   5 bitwise not   6 isnan
;;   7 isinf (both signs)   8 isinf (+inf only)   9 isinf (-inf only)   10 floor   11 ceil
;;   12 round (half to even)   13 reciprocal
;;   20 add   21 sub   22 mul   23 div (integers: truncating; x / 0 = 0)   24 mod (integers: the sign
;;   of the divisor, as Python; x mod 0 = 0)   25 fmod (the sign of the dividend, C's fmod, exact)
;;   26 max   27 min (float NaN propagates)   28 pow (integers: by squaring, wrapping; a negative
;;   exponent gives trunc(x^y): 1 for x = 1, +-1 for x = -1, else 0)
;;   29 clip (min(max(a, b), c))
;;   30 equal   31 less   32 less or equal   33 greater   34 greater or equal (result 0 or 1)
;;   35 and   36 or   37 xor (logical, of bools)   38 bitwise and   39 or   40 xor
;;   41 shift left   42 shift right (logical; amounts count modulo 64)
;;   50 where (raw class: a = condition of any dtype, b where true, c where false)
;; Comparisons and tests give 0 or 1, stored as the destination dtype says (bool: one byte).

;; $x_elementwise: y = op(a, b, c) elementwise over a broadcast described by $desc.
;;   $desc  byte offset of an i32 table: [op, class, dtype a, dtype b, dtype c, dtype y, rank, then
;;          per dimension, outer to inner: count, step a, step b, step c, step y] (steps in bytes;
;;          0 broadcasts). rank >= 1; a count <= 0 writes nothing.
;;   $a $b $c $y  byte offsets of the operands (unused ones: any offset, their steps 0) and of y.
;;   y must not overlap an operand unless it is that operand exactly with the same steps.
(func $x_elementwise (param $desc i32) (param $a i32) (param $b i32) (param $c i32) (param $y i32)
  (call $x_ew_dims (local.get $desc) (i32.add (local.get $desc) (i32.const 28)) (i32.load offset=24 (local.get $desc))
        (local.get $a) (local.get $b) (local.get $c) (local.get $y)))

;; $x_ew_dims: helper of $x_elementwise, walks the $rank dimensions described at $dim (5 i32 each).
(func $x_ew_dims (param $desc i32) (param $dim i32) (param $rank i32)
                 (param $a i32) (param $b i32) (param $c i32) (param $y i32)
  (local $count i32) (local $i i32)
  (local.set $count (i32.load (local.get $dim)))
  (if (i32.le_s (local.get $count) (i32.const 0)) (then (return)))
  (if (i32.eq (local.get $rank) (i32.const 1))
    (then
      (call $x_ew_run (local.get $desc) (local.get $count)
            (local.get $a) (i32.load offset=4 (local.get $dim)) (local.get $b) (i32.load offset=8 (local.get $dim))
            (local.get $c) (i32.load offset=12 (local.get $dim)) (local.get $y) (i32.load offset=16 (local.get $dim)))
      (return)))
  (loop $outer
    (call $x_ew_dims (local.get $desc) (i32.add (local.get $dim) (i32.const 20)) (i32.sub (local.get $rank) (i32.const 1))
          (local.get $a) (local.get $b) (local.get $c) (local.get $y))
    (local.set $a (i32.add (local.get $a) (i32.load offset=4 (local.get $dim))))
    (local.set $b (i32.add (local.get $b) (i32.load offset=8 (local.get $dim))))
    (local.set $c (i32.add (local.get $c) (i32.load offset=12 (local.get $dim))))
    (local.set $y (i32.add (local.get $y) (i32.load offset=16 (local.get $dim))))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br_if $outer (i32.lt_s (local.get $i) (local.get $count)))))

;; $x_ew_run: helper of $x_elementwise, the innermost run of $n elements (the class is chosen once).
(func $x_ew_run (param $desc i32) (param $n i32) (param $a i32) (param $sa i32) (param $b i32) (param $sb i32)
                (param $c i32) (param $sc i32) (param $y i32) (param $sy i32)
  (local $op i32) (local $cls i32) (local $ta i32) (local $tb i32) (local $tc i32) (local $ty i32)
  (local $size i32) (local $i i32)
  (local.set $op (i32.load (local.get $desc)))
  (local.set $cls (i32.load offset=4 (local.get $desc)))
  (local.set $ta (i32.load offset=8 (local.get $desc)))
  (local.set $tb (i32.load offset=12 (local.get $desc)))
  (local.set $tc (i32.load offset=16 (local.get $desc)))
  (local.set $ty (i32.load offset=20 (local.get $desc)))
  (local.set $i (call $x_ew_simd (local.get $op) (local.get $ta) (local.get $tb) (local.get $ty) (local.get $n)
                      (local.get $a) (local.get $sa) (local.get $b) (local.get $sb) (local.get $c) (local.get $sc)
                      (local.get $y) (local.get $sy)))
  (if (i32.ge_s (local.get $i) (local.get $n)) (then (return)))
  (local.set $a (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $sa))))
  (local.set $b (i32.add (local.get $b) (i32.mul (local.get $i) (local.get $sb))))
  (local.set $c (i32.add (local.get $c) (i32.mul (local.get $i) (local.get $sc))))
  (local.set $y (i32.add (local.get $y) (i32.mul (local.get $i) (local.get $sy))))
  (if (i32.eq (local.get $cls) (i32.const 2))
    (then
      (loop $floats
        (call $x_store_f64 (local.get $y) (local.get $ty)
          (call $x_float_op (local.get $op) (call $x_load_f64 (local.get $a) (local.get $ta))
                (call $x_load_f64 (local.get $b) (local.get $tb)) (call $x_load_f64 (local.get $c) (local.get $tc))))
        (local.set $a (i32.add (local.get $a) (local.get $sa)))
        (local.set $b (i32.add (local.get $b) (local.get $sb)))
        (local.set $c (i32.add (local.get $c) (local.get $sc)))
        (local.set $y (i32.add (local.get $y) (local.get $sy)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $floats (i32.lt_s (local.get $i) (local.get $n))))
      (return)))
  (if (i32.eq (local.get $cls) (i32.const 3))
    (then
      (local.set $size (call $x_dtype_size (local.get $ty)))
      (loop $raw
        (call $x_store_raw (local.get $y) (local.get $size)
          (if (result i64) (i32.eq (local.get $op) (i32.const 50))
            (then (if (result i64) (i64.ne (call $x_load_i64 (local.get $a) (local.get $ta)) (i64.const 0))
                    (then (call $x_load_raw (local.get $b) (local.get $size)))
                    (else (call $x_load_raw (local.get $c) (local.get $size)))))
            (else (call $x_load_raw (local.get $a) (local.get $size)))))
        (local.set $a (i32.add (local.get $a) (local.get $sa)))
        (local.set $b (i32.add (local.get $b) (local.get $sb)))
        (local.set $c (i32.add (local.get $c) (local.get $sc)))
        (local.set $y (i32.add (local.get $y) (local.get $sy)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $raw (i32.lt_s (local.get $i) (local.get $n))))
      (return)))
  (loop $integers
    (call $x_store_i64 (local.get $y) (local.get $ty) (local.get $cls)
      (call $x_int_op (local.get $op) (local.get $cls) (call $x_load_i64 (local.get $a) (local.get $ta))
            (call $x_load_i64 (local.get $b) (local.get $tb)) (call $x_load_i64 (local.get $c) (local.get $tc))))
    (local.set $a (i32.add (local.get $a) (local.get $sa)))
    (local.set $b (i32.add (local.get $b) (local.get $sb)))
    (local.set $c (i32.add (local.get $c) (local.get $sc)))
    (local.set $y (i32.add (local.get $y) (local.get $sy)))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br_if $integers (i32.lt_s (local.get $i) (local.get $n)))))

;; $x_ew_simd: helper of $x_ew_run, the SIMD128 prefix of a run for the masks and selections
;; attention graphs compute over whole score tensors: IsNaN and comparisons of f32 (contiguous, or
;; the second operand broadcast) into bools, logical ops of bools, and Where of 4-byte values under
;; a contiguous bool condition (values contiguous or broadcast). Returns how many elements it
;; wrote (a multiple of its width; 0 for any other case); $x_ew_run does the rest, so the results
;; are the scalar loop's. Bools are read as != 0 and written as 0 or 1.
(func $x_ew_simd (param $op i32) (param $ta i32) (param $tb i32) (param $ty i32) (param $n i32)
                 (param $a i32) (param $sa i32) (param $b i32) (param $sb i32) (param $c i32) (param $sc i32)
                 (param $y i32) (param $sy i32) (result i32)
  (local $i i32) (local $end i32) (local $m0 v128) (local $m1 v128) (local $m2 v128) (local $m3 v128)
  (local $va v128) (local $vb v128) (local $vc v128) (local $one v128) (local $cmp i32)
  (local.set $one (i8x16.splat (i32.const 1)))
  ;; f32 -> bool: isnan (6), equal .. greater_equal (30-34); 16 per step
  (if (i32.and (i32.and (i32.eqz (local.get $ta)) (i32.eq (local.get $ty) (i32.const 12)))
               (i32.and (i32.eq (local.get $sa) (i32.const 4)) (i32.eq (local.get $sy) (i32.const 1))))
    (then
      (if (i32.eq (local.get $op) (i32.const 6)) (then (local.set $cmp (i32.const 1))))
      (if (i32.and (i32.and (i32.ge_u (local.get $op) (i32.const 30)) (i32.le_u (local.get $op) (i32.const 34)))
                   (i32.and (i32.eqz (local.get $tb)) (i32.or (i32.eq (local.get $sb) (i32.const 4)) (i32.eqz (local.get $sb)))))
        (then (local.set $cmp (i32.const 2))))
      (if (i32.eqz (local.get $cmp)) (then (return (i32.const 0))))
      (local.set $end (i32.and (local.get $n) (i32.const -16)))
      (if (i32.eqz (local.get $end)) (then (return (i32.const 0))))
      (loop $steps
        (local.set $m0 (call $x_ew_f32_test (local.get $op) (local.get $a) (local.get $b) (local.get $sb)))
        (local.set $m1 (call $x_ew_f32_test (local.get $op) (i32.add (local.get $a) (i32.const 16))
                             (i32.add (local.get $b) (i32.shl (local.get $sb) (i32.const 2))) (local.get $sb)))
        (local.set $m2 (call $x_ew_f32_test (local.get $op) (i32.add (local.get $a) (i32.const 32))
                             (i32.add (local.get $b) (i32.shl (local.get $sb) (i32.const 3))) (local.get $sb)))
        (local.set $m3 (call $x_ew_f32_test (local.get $op) (i32.add (local.get $a) (i32.const 48))
                             (i32.add (local.get $b) (i32.mul (local.get $sb) (i32.const 12))) (local.get $sb)))
        (v128.store (local.get $y)
          (v128.and (local.get $one)
            (i8x16.narrow_i16x8_s (i16x8.narrow_i32x4_s (local.get $m0) (local.get $m1))
                                  (i16x8.narrow_i32x4_s (local.get $m2) (local.get $m3)))))
        (local.set $a (i32.add (local.get $a) (i32.const 64)))
        (local.set $b (i32.add (local.get $b) (i32.shl (local.get $sb) (i32.const 4))))
        (local.set $y (i32.add (local.get $y) (i32.const 16)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br_if $steps (i32.lt_s (local.get $i) (local.get $end))))
      (return (local.get $end))))
  ;; bool and/or/xor (35-37) and not (4), each operand contiguous or broadcast; 16 per step
  (if (i32.and (i32.and (i32.eq (local.get $ta) (i32.const 12)) (i32.eq (local.get $ty) (i32.const 12)))
               (i32.and (i32.le_u (local.get $sa) (i32.const 1)) (i32.eq (local.get $sy) (i32.const 1))))
    (then
      (if (i32.and (i32.and (i32.ge_u (local.get $op) (i32.const 35)) (i32.le_u (local.get $op) (i32.const 37)))
                   (i32.and (i32.eq (local.get $tb) (i32.const 12)) (i32.le_u (local.get $sb) (i32.const 1))))
        (then (local.set $cmp (i32.const 1))))
      (if (i32.eq (local.get $op) (i32.const 4)) (then (local.set $cmp (i32.const 1))))
      (if (i32.eqz (local.get $cmp)) (then (return (i32.const 0))))
      (local.set $end (i32.and (local.get $n) (i32.const -16)))
      (if (i32.eqz (local.get $end)) (then (return (i32.const 0))))
      (local.set $va (i8x16.splat (i32.load8_u (local.get $a))))
      (local.set $vb (i8x16.splat (i32.load8_u (local.get $b))))
      (loop $steps
        (if (local.get $sa) (then (local.set $va (v128.load (local.get $a)))))
        (local.set $m0 (i8x16.ne (local.get $va) (v128.const i32x4 0 0 0 0)))
        (if (i32.eq (local.get $op) (i32.const 4))
          (then (local.set $m0 (v128.not (local.get $m0))))
          (else
            (if (local.get $sb) (then (local.set $vb (v128.load (local.get $b)))))
            (local.set $m1 (i8x16.ne (local.get $vb) (v128.const i32x4 0 0 0 0)))
            (local.set $m0
              (if (result v128) (i32.eq (local.get $op) (i32.const 35))
                (then (v128.and (local.get $m0) (local.get $m1)))
                (else (if (result v128) (i32.eq (local.get $op) (i32.const 36))
                  (then (v128.or (local.get $m0) (local.get $m1)))
                  (else (v128.xor (local.get $m0) (local.get $m1)))))))))
        (v128.store (local.get $y) (v128.and (local.get $m0) (local.get $one)))
        (local.set $a (i32.add (local.get $a) (i32.shl (local.get $sa) (i32.const 4))))
        (local.set $b (i32.add (local.get $b) (i32.shl (local.get $sb) (i32.const 4))))
        (local.set $y (i32.add (local.get $y) (i32.const 16)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br_if $steps (i32.lt_s (local.get $i) (local.get $end))))
      (return (local.get $end))))
  ;; where (50) of 4-byte values under a contiguous bool condition; 4 per step
  (if (i32.and
        (i32.and (i32.and (i32.eq (local.get $op) (i32.const 50)) (i32.eq (local.get $ta) (i32.const 12)))
                 (i32.and (i32.eq (local.get $sa) (i32.const 1)) (i32.eq (local.get $sy) (i32.const 4))))
        (i32.and (i32.eq (call $x_dtype_size (local.get $ty)) (i32.const 4))
                 (i32.and (i32.or (i32.eq (local.get $sb) (i32.const 4)) (i32.eqz (local.get $sb)))
                          (i32.or (i32.eq (local.get $sc) (i32.const 4)) (i32.eqz (local.get $sc))))))
    (then
      (local.set $end (i32.and (local.get $n) (i32.const -4)))
      (if (i32.eqz (local.get $end)) (then (return (i32.const 0))))
      (local.set $vb (v128.load32_splat (local.get $b)))
      (local.set $vc (v128.load32_splat (local.get $c)))
      (loop $steps
        (if (local.get $sb) (then (local.set $vb (v128.load (local.get $b)))))
        (if (local.get $sc) (then (local.set $vc (v128.load (local.get $c)))))
        (local.set $m0 (i32x4.ne (i32x4.extend_low_i16x8_u (i16x8.extend_low_i8x16_u (v128.load32_zero (local.get $a))))
                                 (v128.const i32x4 0 0 0 0)))
        (v128.store (local.get $y) (v128.bitselect (local.get $vb) (local.get $vc) (local.get $m0)))
        (local.set $a (i32.add (local.get $a) (i32.const 4)))
        (local.set $b (i32.add (local.get $b) (i32.shl (local.get $sb) (i32.const 2))))
        (local.set $c (i32.add (local.get $c) (i32.shl (local.get $sc) (i32.const 2))))
        (local.set $y (i32.add (local.get $y) (i32.const 16)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br_if $steps (i32.lt_s (local.get $i) (local.get $end))))
      (return (local.get $end))))
  (i32.const 0))

;; $x_ew_f32_test: helper of $x_ew_simd, 4 lanes of op $op (6 isnan, 30-34 comparisons) on the f32
;; at $a and at $b ($sb 0: one f32 broadcast) as i32 masks (-1 true, 0 false).
(func $x_ew_f32_test (param $op i32) (param $a i32) (param $b i32) (param $sb i32) (result v128)
  (local $va v128) (local $vb v128)
  (local.set $va (v128.load (local.get $a)))
  (if (i32.eq (local.get $op) (i32.const 6)) (then (return (f32x4.ne (local.get $va) (local.get $va)))))
  (local.set $vb (if (result v128) (local.get $sb) (then (v128.load (local.get $b))) (else (v128.load32_splat (local.get $b)))))
  (block $ge (block $gt (block $le (block $lt (block $eq
    (br_table $eq $lt $le $gt $ge (i32.sub (local.get $op) (i32.const 30))))
    (return (f32x4.eq (local.get $va) (local.get $vb))))
    (return (f32x4.lt (local.get $va) (local.get $vb))))
    (return (f32x4.le (local.get $va) (local.get $vb))))
    (return (f32x4.gt (local.get $va) (local.get $vb))))
  (f32x4.ge (local.get $va) (local.get $vb)))

;; $x_dtype_size: helper, bytes per element of dtype code $t.
(func $x_dtype_size (param $t i32) (result i32)
  (block $b8 (block $b4 (block $b2 (block $b1
    (br_table $b4 $b8 $b2 $b2 $b1 $b1 $b2 $b2 $b4 $b4 $b8 $b8 $b1 $b1 (local.get $t)))
    (return (i32.const 1)))
    (return (i32.const 2)))
    (return (i32.const 4)))
  (i32.const 8))

;; $x_load_raw: helper, an element's bits (zero-extended) by its size in bytes.
(func $x_load_raw (param $p i32) (param $size i32) (result i64)
  (block $b8 (block $b4 (block $b2 (block $b1
    (br_table $b1 $b1 $b2 $b4 $b4 $b8 $b8 $b8 $b8 (local.get $size)))
    (return (i64.load8_u (local.get $p))))
    (return (i64.load16_u (local.get $p))))
    (return (i64.load32_u (local.get $p))))
  (i64.load (local.get $p)))

;; $x_store_raw: helper, store the low $size bytes of $v.
(func $x_store_raw (param $p i32) (param $size i32) (param $v i64)
  (block $b8 (block $b4 (block $b2 (block $b1
    (br_table $b1 $b1 $b2 $b4 $b4 $b8 $b8 $b8 $b8 (local.get $size)))
    (i64.store8 (local.get $p) (local.get $v)) (return))
    (i64.store16 (local.get $p) (local.get $v)) (return))
    (i64.store32 (local.get $p) (local.get $v)) (return))
  (i64.store (local.get $p) (local.get $v)))

;; $x_load_i64: helper, the element at $p of dtype $t as i64: integers sign- or zero-extended as
;; their dtype says (u64: its bits), bool 0/1, floats truncated toward zero (saturating, NaN -> 0).
(func $x_load_i64 (param $p i32) (param $t i32) (result i64)
  (block $b64 (block $u32 (block $i32 (block $u16 (block $i16 (block $u8 (block $i8 (block $bf16 (block $f16 (block $f64 (block $f32
    (br_table $f32 $f64 $f16 $bf16 $i8 $u8 $i16 $u16 $i32 $u32 $b64 $b64 $u8 $u8 (local.get $t)))
    (return (i64.trunc_sat_f32_s (f32.load (local.get $p)))))
    (return (i64.trunc_sat_f64_s (f64.load (local.get $p)))))
    (return (i64.trunc_sat_f32_s (call $f16_to_f32 (i32.load16_u (local.get $p))))))
    (return (i64.trunc_sat_f32_s (f32.reinterpret_i32 (i32.shl (i32.load16_u (local.get $p)) (i32.const 16))))))
    (return (i64.load8_s (local.get $p))))
    (return (i64.load8_u (local.get $p))))
    (return (i64.load16_s (local.get $p))))
    (return (i64.load16_u (local.get $p))))
    (return (i64.load32_s (local.get $p))))
    (return (i64.load32_u (local.get $p))))
  (i64.load (local.get $p)))

;; $x_load_f64: helper, the element at $p of dtype $t as f64 (exact for every dtype but i64/u64
;; beyond 2^53, which round to nearest even).
(func $x_load_f64 (param $p i32) (param $t i32) (result f64)
  (block $u64 (block $i64 (block $u32 (block $i32 (block $u16 (block $i16 (block $u8 (block $i8 (block $bf16 (block $f16 (block $f64 (block $f32
    (br_table $f32 $f64 $f16 $bf16 $i8 $u8 $i16 $u16 $i32 $u32 $i64 $u64 $u8 $u8 (local.get $t)))
    (return (f64.promote_f32 (f32.load (local.get $p)))))
    (return (f64.load (local.get $p))))
    (return (f64.promote_f32 (call $f16_to_f32 (i32.load16_u (local.get $p))))))
    (return (f64.promote_f32 (f32.reinterpret_i32 (i32.shl (i32.load16_u (local.get $p)) (i32.const 16))))))
    (return (f64.convert_i32_s (i32.load8_s (local.get $p)))))
    (return (f64.convert_i32_u (i32.load8_u (local.get $p)))))
    (return (f64.convert_i32_s (i32.load16_s (local.get $p)))))
    (return (f64.convert_i32_u (i32.load16_u (local.get $p)))))
    (return (f64.convert_i32_s (i32.load (local.get $p)))))
    (return (f64.convert_i32_u (i32.load (local.get $p)))))
    (return (f64.convert_i64_s (i64.load (local.get $p)))))
  (f64.convert_i64_u (i64.load (local.get $p))))

;; $x_store_i64: helper, store the class-0/1 value $v ($cls 1: $v is a u64) as dtype $t.
(func $x_store_i64 (param $p i32) (param $t i32) (param $cls i32) (param $v i64)
  (block $bool (block $b64 (block $b32 (block $b16 (block $b8 (block $bf16 (block $f16 (block $f64 (block $f32
    (br_table $f32 $f64 $f16 $bf16 $b8 $b8 $b16 $b16 $b32 $b32 $b64 $b64 $bool $bool (local.get $t)))
    (f32.store (local.get $p) (if (result f32) (i32.eq (local.get $cls) (i32.const 1))
                                (then (f32.convert_i64_u (local.get $v))) (else (f32.convert_i64_s (local.get $v)))))
    (return))
    (f64.store (local.get $p) (call $x_i64_to_f64 (local.get $v) (local.get $cls)))
    (return))
    (i32.store16 (local.get $p) (call $f64_to_f16 (call $x_i64_to_f64 (local.get $v) (local.get $cls))))
    (return))
    (i32.store16 (local.get $p) (call $f64_to_bf16 (call $x_i64_to_f64 (local.get $v) (local.get $cls))))
    (return))
    (i64.store8 (local.get $p) (local.get $v)) (return))
    (i64.store16 (local.get $p) (local.get $v)) (return))
    (i64.store32 (local.get $p) (local.get $v)) (return))
    (i64.store (local.get $p) (local.get $v)) (return))
  (i32.store8 (local.get $p) (i64.ne (local.get $v) (i64.const 0))))

;; $x_i64_to_f64: helper, a class-0/1 value as f64 (rounded to nearest even beyond 2^53).
(func $x_i64_to_f64 (param $v i64) (param $cls i32) (result f64)
  (if (result f64) (i32.eq (local.get $cls) (i32.const 1))
    (then (f64.convert_i64_u (local.get $v))) (else (f64.convert_i64_s (local.get $v)))))

;; $x_store_f64: helper, store the class-2 value $v as dtype $t (rounded or truncated, see above).
(func $x_store_f64 (param $p i32) (param $t i32) (param $v f64)
  (block $bool (block $u64 (block $b64 (block $b32 (block $b16 (block $b8 (block $bf16 (block $f16 (block $f64 (block $f32
    (br_table $f32 $f64 $f16 $bf16 $b8 $b8 $b16 $b16 $b32 $b32 $b64 $u64 $bool $bool (local.get $t)))
    (f32.store (local.get $p) (f32.demote_f64 (local.get $v))) (return))
    (f64.store (local.get $p) (local.get $v)) (return))
    (i32.store16 (local.get $p) (call $f64_to_f16 (local.get $v))) (return))
    (i32.store16 (local.get $p) (call $f64_to_bf16 (local.get $v))) (return))
    (i64.store8 (local.get $p) (i64.trunc_sat_f64_s (local.get $v))) (return))
    (i64.store16 (local.get $p) (i64.trunc_sat_f64_s (local.get $v))) (return))
    (i64.store32 (local.get $p) (i64.trunc_sat_f64_s (local.get $v))) (return))
    (i64.store (local.get $p) (i64.trunc_sat_f64_s (local.get $v))) (return))
    (i64.store (local.get $p) (i64.trunc_sat_f64_u (local.get $v))) (return))
  (i32.store8 (local.get $p) (f64.ne (local.get $v) (f64.const 0))))

;; $f16_to_f32: helper, the f32 value of the half with bits $h (exact; NaN payloads kept).
(func $f16_to_f32 (param $h i32) (result f32)
  (local $e i32) (local $sign i32)
  (local.set $sign (i32.shl (i32.and (local.get $h) (i32.const 0x8000)) (i32.const 16)))
  (local.set $e (i32.and (local.get $h) (i32.const 0x7c00)))
  (if (i32.eqz (local.get $e))
    (then (return (f32.copysign (f32.mul (f32.convert_i32_u (i32.and (local.get $h) (i32.const 0x3ff))) (f32.const 0x1p-24))
                                (f32.reinterpret_i32 (i32.or (local.get $sign) (i32.const 0x3f800000)))))))
  (f32.reinterpret_i32
    (i32.or (local.get $sign)
            (i32.add (i32.shl (i32.and (local.get $h) (i32.const 0x7fff)) (i32.const 13))
                     (select (i32.const 0x70000000) (i32.const 0x38000000) (i32.eq (local.get $e) (i32.const 0x7c00)))))))

;; $f64_to_f16: helper, the bits of $v rounded to the nearest half (ties to even), in one rounding.
;;   |v| >= 65520 -> inf; |v| < 2^-14 -> a subnormal, nearest(|v| * 2^24); else the mantissa is
;;   nearest(|v| * 2^(10 - e)) in [1024, 2048] (2048 carries into the exponent, as bits should).
(func $f64_to_f16 (param $v f64) (result i32)
  (local $a f64) (local $sign i32) (local $e i32)
  (local.set $sign (i32.and (i32.wrap_i64 (i64.shr_u (i64.reinterpret_f64 (local.get $v)) (i64.const 48))) (i32.const 0x8000)))
  (local.set $a (f64.abs (local.get $v)))
  (if (f64.ne (local.get $a) (local.get $a)) (then (return (i32.const 0x7e00))))  ;; one NaN: engines differ in a NaN's sign
  (if (f64.ge (local.get $a) (f64.const 65520)) (then (return (i32.or (local.get $sign) (i32.const 0x7c00)))))
  (if (f64.lt (local.get $a) (f64.const 0x1p-14))
    (then (return (i32.or (local.get $sign) (i32.trunc_f64_u (f64.nearest (f64.mul (local.get $a) (f64.const 0x1p24))))))))
  (local.set $e (i32.sub (i32.wrap_i64 (i64.shr_u (i64.reinterpret_f64 (local.get $a)) (i64.const 52))) (i32.const 1023)))
  (i32.or (local.get $sign)
          (i32.add (i32.shl (i32.add (local.get $e) (i32.const 15)) (i32.const 10))
                   (i32.sub (i32.trunc_f64_u (f64.nearest (f64.mul (local.get $a)
                                                                   (call $f64_pow2 (i32.sub (i32.const 10) (local.get $e))))))
                            (i32.const 1024)))))

;; $f64_to_bf16: helper, the bits of $v rounded to the nearest bfloat16 (ties to even), in one rounding.
(func $f64_to_bf16 (param $v f64) (result i32)
  (local $a f64) (local $sign i32) (local $e i32)
  (local.set $sign (i32.and (i32.wrap_i64 (i64.shr_u (i64.reinterpret_f64 (local.get $v)) (i64.const 48))) (i32.const 0x8000)))
  (local.set $a (f64.abs (local.get $v)))
  (if (f64.ne (local.get $a) (local.get $a)) (then (return (i32.const 0x7fc0))))  ;; one NaN: engines differ in a NaN's sign
  (if (f64.ge (local.get $a) (f64.const 0x1.fep127)) (then (return (i32.or (local.get $sign) (i32.const 0x7f80)))))
  (if (f64.lt (local.get $a) (f64.const 0x1p-126))
    (then (return (i32.or (local.get $sign) (i32.trunc_f64_u (f64.nearest (f64.mul (local.get $a) (f64.const 0x1p133))))))))
  (local.set $e (i32.sub (i32.wrap_i64 (i64.shr_u (i64.reinterpret_f64 (local.get $a)) (i64.const 52))) (i32.const 1023)))
  (i32.or (local.get $sign)
          (i32.add (i32.shl (i32.add (local.get $e) (i32.const 127)) (i32.const 7))
                   (i32.sub (i32.trunc_f64_u (f64.nearest (f64.mul (local.get $a)
                                                                   (call $f64_pow2 (i32.sub (i32.const 7) (local.get $e))))))
                            (i32.const 128)))))

;; $f64_pow2: helper, 2^$k for -1022 <= $k <= 1023 (exact).
(func $f64_pow2 (param $k i32) (result f64)
  (f64.reinterpret_i64 (i64.shl (i64.extend_i32_s (i32.add (local.get $k) (i32.const 1023))) (i64.const 52))))

;; $x_int_op: helper, op $op on class-0/1 values ($cls 1: unsigned 64-bit). See the op codes above.
(func $x_int_op (param $op i32) (param $cls i32) (param $a i64) (param $b i64) (param $c i64) (result i64)
  (local $u i32) (local $r i64)
  (local.set $u (i32.eq (local.get $cls) (i32.const 1)))
  (block $shr (block $shl (block $bxor (block $bor (block $band (block $lxor (block $lor (block $land
  (block $ge (block $gt (block $le (block $lt (block $eq (block $clip (block $pow (block $min (block $max (block $fmod
  (block $mod (block $div (block $mul (block $sub (block $add (block $recip (block $copy (block $lnot (block $bnot
  (block $sign (block $abs (block $neg (block $copy0
    (br_table $copy0 $neg $abs $sign $lnot $bnot $copy $copy $copy $copy $copy $copy $copy $recip
              $copy $copy $copy $copy $copy $copy
              $add $sub $mul $div $mod $fmod $max $min $pow $clip
              $eq $lt $le $gt $ge $land $lor $lxor $band $bor $bxor $shl $shr
              $copy (local.get $op)))
    (return (local.get $a)))
    (return (i64.sub (i64.const 0) (local.get $a))))
    (return (select (i64.sub (i64.const 0) (local.get $a)) (local.get $a)
                    (i32.and (i32.eqz (local.get $u)) (i64.lt_s (local.get $a) (i64.const 0))))))
    (if (i32.or (local.get $u) (i64.eqz (local.get $a))) (then (return (i64.extend_i32_u (i64.ne (local.get $a) (i64.const 0))))))
    (return (select (i64.const 1) (i64.const -1) (i64.gt_s (local.get $a) (i64.const 0)))))
    (return (i64.xor (local.get $a) (i64.const -1))))
    (return (i64.extend_i32_u (i64.eqz (local.get $a)))))
    (return (local.get $a)))
    ;; reciprocal of an integer: trunc(1 / a)
    (if (i64.eq (local.get $a) (i64.const 1)) (then (return (i64.const 1))))
    (return (select (i64.const -1) (i64.const 0) (i32.and (i32.eqz (local.get $u)) (i64.eq (local.get $a) (i64.const -1))))))
    (return (i64.add (local.get $a) (local.get $b))))
    (return (i64.sub (local.get $a) (local.get $b))))
    (return (i64.mul (local.get $a) (local.get $b))))
    ;; div
    (if (i64.eqz (local.get $b)) (then (return (i64.const 0))))
    (if (local.get $u) (then (return (i64.div_u (local.get $a) (local.get $b)))))
    (if (i64.eq (local.get $b) (i64.const -1)) (then (return (i64.sub (i64.const 0) (local.get $a)))))
    (return (i64.div_s (local.get $a) (local.get $b))))
    ;; mod: the sign of the divisor
    (if (i64.eqz (local.get $b)) (then (return (i64.const 0))))
    (if (local.get $u) (then (return (i64.rem_u (local.get $a) (local.get $b)))))
    (local.set $r (i64.rem_s (local.get $a) (local.get $b)))
    (if (i32.and (i64.ne (local.get $r) (i64.const 0))
                 (i64.lt_s (i64.xor (local.get $r) (local.get $b)) (i64.const 0)))
      (then (local.set $r (i64.add (local.get $r) (local.get $b)))))
    (return (local.get $r)))
    ;; fmod: the sign of the dividend
    (if (i64.eqz (local.get $b)) (then (return (i64.const 0))))
    (if (local.get $u) (then (return (i64.rem_u (local.get $a) (local.get $b)))))
    (return (i64.rem_s (local.get $a) (local.get $b))))
    (return (select (local.get $a) (local.get $b) (call $x_int_lt (local.get $u) (local.get $b) (local.get $a)))))
    (return (select (local.get $a) (local.get $b) (call $x_int_lt (local.get $u) (local.get $a) (local.get $b)))))
    (return (call $x_int_pow (local.get $a) (local.get $b) (local.get $u))))
    ;; clip: min(max(a, b), c)
    (local.set $r (select (local.get $a) (local.get $b) (call $x_int_lt (local.get $u) (local.get $b) (local.get $a))))
    (return (select (local.get $r) (local.get $c) (call $x_int_lt (local.get $u) (local.get $r) (local.get $c)))))
    (return (i64.extend_i32_u (i64.eq (local.get $a) (local.get $b)))))
    (return (i64.extend_i32_u (call $x_int_lt (local.get $u) (local.get $a) (local.get $b)))))
    (return (i64.extend_i32_u (i32.eqz (call $x_int_lt (local.get $u) (local.get $b) (local.get $a))))))
    (return (i64.extend_i32_u (call $x_int_lt (local.get $u) (local.get $b) (local.get $a)))))
    (return (i64.extend_i32_u (i32.eqz (call $x_int_lt (local.get $u) (local.get $a) (local.get $b))))))
    (return (i64.extend_i32_u (i32.and (i64.ne (local.get $a) (i64.const 0)) (i64.ne (local.get $b) (i64.const 0))))))
    (return (i64.extend_i32_u (i32.or (i64.ne (local.get $a) (i64.const 0)) (i64.ne (local.get $b) (i64.const 0))))))
    (return (i64.extend_i32_u (i32.ne (i64.ne (local.get $a) (i64.const 0)) (i64.ne (local.get $b) (i64.const 0))))))
    (return (i64.and (local.get $a) (local.get $b))))
    (return (i64.or (local.get $a) (local.get $b))))
    (return (i64.xor (local.get $a) (local.get $b))))
    ;; shl: unsigned 64-bit shifts by b mod 64 (wasm's rule); the other classes hold every value
    ;; sign- or zero-extended, and a shift by a negative b or b >= 64 gives 0 (BitShift-28 for signed T)
    (if (i32.and (i32.eqz (local.get $u)) (i64.ge_u (local.get $b) (i64.const 64))) (then (return (i64.const 0))))
    (return (i64.shl (local.get $a) (local.get $b))))
  ;; shr: unsigned 64-bit logical by b mod 64; the others arithmetic (zero-extended values shift in
  ;; zeros), a negative b or b >= 64 shifting by 63: the sign bit's extension alone (0 or -1)
  (if (local.get $u) (then (return (i64.shr_u (local.get $a) (local.get $b)))))
  (i64.shr_s (local.get $a) (select (i64.const 63) (local.get $b) (i64.ge_u (local.get $b) (i64.const 64)))))

;; $x_int_lt: helper, a < b, signed or ($u) unsigned.
(func $x_int_lt (param $u i32) (param $a i64) (param $b i64) (result i32)
  (if (result i32) (local.get $u) (then (i64.lt_u (local.get $a) (local.get $b))) (else (i64.lt_s (local.get $a) (local.get $b)))))

;; $x_int_pow: helper, a^b by squaring (wrapping); b < 0 (signed): trunc(a^b).
(func $x_int_pow (param $a i64) (param $b i64) (param $u i32) (result i64)
  (local $r i64)
  (if (i32.and (i32.eqz (local.get $u)) (i64.lt_s (local.get $b) (i64.const 0)))
    (then
      (if (i64.eq (local.get $a) (i64.const 1)) (then (return (i64.const 1))))
      (if (i64.eq (local.get $a) (i64.const -1))
        (then (return (select (i64.const -1) (i64.const 1) (i32.wrap_i64 (i64.and (local.get $b) (i64.const 1)))))))
      (return (i64.const 0))))
  (local.set $r (i64.const 1))
  (block $done
    (loop $square
      (br_if $done (i64.eqz (local.get $b)))
      (if (i32.wrap_i64 (i64.and (local.get $b) (i64.const 1)))
        (then (local.set $r (i64.mul (local.get $r) (local.get $a)))))
      (local.set $a (i64.mul (local.get $a) (local.get $a)))
      (local.set $b (i64.shr_u (local.get $b) (i64.const 1)))
      (br $square)))
  (local.get $r))

;; $x_float_op: helper, op $op on class-2 values. See the op codes above; logical ops treat a
;; nonzero (or NaN) value as true. Integer-only ops (bitwise, shifts) give NaN; pow is
;; f64_vunary.wat's $f64_pow (used for float64 only: float32 Pow has its own kernel).
(func $x_float_op (param $op i32) (param $a f64) (param $b f64) (param $c f64) (result f64)
  (local $r f64)
  (block $nan (block $lxor (block $lor (block $land
  (block $ge (block $gt (block $le (block $lt (block $eq (block $clip (block $fpow (block $min (block $max (block $fmod
  (block $mod (block $div (block $mul (block $sub (block $add (block $recip (block $round (block $ceil (block $floor
  (block $isninf (block $ispinf (block $isinf (block $isnan (block $lnot
  (block $sign (block $abs (block $neg (block $copy
    (br_table $copy $neg $abs $sign $lnot $nan $isnan $isinf $ispinf $isninf $floor $ceil $round $recip
              $nan $nan $nan $nan $nan $nan
              $add $sub $mul $div $mod $fmod $max $min $fpow $clip
              $eq $lt $le $gt $ge $land $lor $lxor $nan $nan $nan $nan $nan
              $nan (local.get $op)))
    (return (local.get $a)))
    (return (f64.neg (local.get $a))))
    (return (f64.abs (local.get $a))))
    ;; sign: -1, 0 (for either zero) or 1; NaN stays NaN
    (if (f64.gt (local.get $a) (f64.const 0)) (then (return (f64.const 1))))
    (if (f64.lt (local.get $a) (f64.const 0)) (then (return (f64.const -1))))
    (if (f64.eq (local.get $a) (f64.const 0)) (then (return (f64.const 0))))
    (return (local.get $a)))
    (return (f64.convert_i32_u (f64.eq (local.get $a) (f64.const 0)))))
    (return (f64.convert_i32_u (f64.ne (local.get $a) (local.get $a)))))
    (return (f64.convert_i32_u (f64.eq (f64.abs (local.get $a)) (f64.const inf)))))
    (return (f64.convert_i32_u (f64.eq (local.get $a) (f64.const inf)))))
    (return (f64.convert_i32_u (f64.eq (local.get $a) (f64.const -inf)))))
    (return (f64.floor (local.get $a))))
    (return (f64.ceil (local.get $a))))
    (return (f64.nearest (local.get $a))))
    (return (f64.div (f64.const 1) (local.get $a))))
    (return (f64.add (local.get $a) (local.get $b))))
    (return (f64.sub (local.get $a) (local.get $b))))
    (return (f64.mul (local.get $a) (local.get $b))))
    (return (f64.div (local.get $a) (local.get $b))))
    ;; mod: fmod, moved to the sign of the divisor (Python's %)
    (local.set $r (call $f64_fmod (local.get $a) (local.get $b)))
    (if (i32.and (f64.ne (local.get $r) (f64.const 0))
                 (i32.ne (f64.lt (local.get $r) (f64.const 0)) (f64.lt (local.get $b) (f64.const 0))))
      (then (local.set $r (f64.add (local.get $r) (local.get $b)))))
    (return (local.get $r)))
    (return (call $f64_fmod (local.get $a) (local.get $b))))
    (return (f64.max (local.get $a) (local.get $b))))
    (return (f64.min (local.get $a) (local.get $b))))
    (return (call $f64_pow (local.get $a) (local.get $b))))  ;; pow: float64 only (backend/elementwise.supports)
    (return (f64.min (f64.max (local.get $a) (local.get $b)) (local.get $c))))
    (return (f64.convert_i32_u (f64.eq (local.get $a) (local.get $b)))))
    (return (f64.convert_i32_u (f64.lt (local.get $a) (local.get $b)))))
    (return (f64.convert_i32_u (f64.le (local.get $a) (local.get $b)))))
    (return (f64.convert_i32_u (f64.gt (local.get $a) (local.get $b)))))
    (return (f64.convert_i32_u (f64.ge (local.get $a) (local.get $b)))))
    (return (f64.convert_i32_u (i32.and (f64.ne (local.get $a) (f64.const 0)) (f64.ne (local.get $b) (f64.const 0))))))
    (return (f64.convert_i32_u (i32.or (f64.ne (local.get $a) (f64.const 0)) (f64.ne (local.get $b) (f64.const 0))))))
    (return (f64.convert_i32_u (i32.ne (f64.ne (local.get $a) (f64.const 0)) (f64.ne (local.get $b) (f64.const 0))))))
  (f64.const nan))

;; $f64_fmod: helper, C's fmod(a, b) exactly: |a| reduced by |b| * 2^k, largest k first; each
;;   subtraction is exact (Sterbenz: t <= r < 2t). NaN for b = 0, a infinite or a NaN operand.
(func $f64_fmod (param $a f64) (param $b f64) (result f64)
  (local $r f64) (local $m f64) (local $t f64)
  (local.set $r (f64.abs (local.get $a)))
  (local.set $m (f64.abs (local.get $b)))
  (if (i32.or (i32.or (f64.ne (local.get $r) (local.get $r)) (f64.ne (local.get $m) (local.get $m)))
              (i32.or (f64.eq (local.get $m) (f64.const 0)) (f64.eq (local.get $r) (f64.const inf))))
    (then (return (f64.const nan))))
  (if (f64.lt (local.get $r) (local.get $m)) (then (return (local.get $a))))
  (block $done
    (loop $reduce
      (br_if $done (f64.lt (local.get $r) (local.get $m)))
      ;; t = m * 2^k with t <= r < 2t
      (local.set $t (call $f64_scale_below (local.get $m) (local.get $r)))
      (local.set $r (f64.sub (local.get $r) (local.get $t)))
      (br $reduce)))
  (f64.copysign (local.get $r) (local.get $a)))

;; $f64_scale_below: helper, m * 2^k for the largest k with m * 2^k <= r (0 < m <= r, both finite).
(func $f64_scale_below (param $m f64) (param $r f64) (result f64)
  (local $k i32) (local $t f64)
  ;; exponent difference from the raw exponent fields (subnormals have field 0: then k starts low)
  (local.set $k (i32.sub (i32.wrap_i64 (i64.shr_u (i64.reinterpret_f64 (local.get $r)) (i64.const 52)))
                         (i32.wrap_i64 (i64.shr_u (i64.reinterpret_f64 (local.get $m)) (i64.const 52)))))
  (if (i32.lt_s (local.get $k) (i32.const 0)) (then (local.set $k (i32.const 0))))
  (local.set $t (call $f64_scale (local.get $m) (local.get $k)))
  (block $fits
    (loop $shrink
      (br_if $fits (f64.le (local.get $t) (local.get $r)))
      (local.set $k (i32.sub (local.get $k) (i32.const 1)))
      (local.set $t (call $f64_scale (local.get $m) (local.get $k)))
      (br $shrink)))
  (block $largest
    (loop $grow
      (br_if $largest (f64.gt (call $f64_scale (local.get $m) (i32.add (local.get $k) (i32.const 1))) (local.get $r)))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (local.set $t (call $f64_scale (local.get $m) (local.get $k)))
      (br $grow)))
  (local.get $t))

;; $f64_scale: helper, m * 2^k exactly for 0 <= k <= 2100 (in steps that never overflow the factor).
(func $f64_scale (param $m f64) (param $k i32) (result f64)
  (block $done
    (loop $big
      (br_if $done (i32.le_s (local.get $k) (i32.const 1000)))
      (local.set $m (f64.mul (local.get $m) (f64.const 0x1p1000)))
      (local.set $k (i32.sub (local.get $k) (i32.const 1000)))
      (br $big)))
  (f64.mul (local.get $m) (call $f64_pow2 (local.get $k))))
