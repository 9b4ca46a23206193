;; Reductions, arg-reductions, cumulative sums and top-k in any dtype, over a tensor viewed as
;; x[outer, r, inner] (row-major; the reduced axis, or run of adjacent axes, in the middle): the
;; scalar, descriptor-free kernels behind ReduceX, ArgMax/ArgMin, CumSum and TopK for every dtype
;; the float32 SIMD128 kernels (f32_reduce.wat) do not serve. Each kernel takes the op and the
;; dtype code as arguments and walks o < outer, i < inner, the column x[o, :, i] being r elements
;; inner * size bytes apart. $outer, $r, $inner >= 0 (an empty output writes nothing).
;;
;; Dtype codes as x_elementwise.wat (0 f32, 1 f64, 2 f16, 3 bf16, 4 i8, 5 u8, 6 i16, 7 u16, 8 i32,
;; 9 u32, 10 i64, 11 u64, 12 bool); elements are read and written with its helpers ($x_load_f64,
;; $x_load_i64, $x_store_f64, $x_store_i64, $x_load_raw, $x_store_raw, $x_int_lt).
;; Compute classes: floats (f32, f64, f16, bf16) in f64, every element exact in it, the result
;; rounded once into the dtype (so f16 and bf16 sums do not lose bits to their own short
;; mantissa; f64 is computed in f64); integers and bool in i64 (u64 compared and divided
;; unsigned); how a result that does not fit is stored is said per kernel.
;; exp and log in f64 are the polynomials $f64_exp and $f64_log below (no host math).

;; $x_reduce: y[o, i] = op over j < $r of x[o, j, i], y of the dtype $t of x.
;;   $op: 0 max, 1 min, 2 sum, 3 mean, 4 prod, 5 L1 (sum |x|), 6 L2 (sqrt of the sum of squares),
;;   7 sum of squares, 8 log of the sum, 9 log-sum-exp.
;;   Floats: the terms are added (multiplied) in ascending j into an f64 accumulator; max/min are
;;   f64.max/f64.min (NaN propagates, max(-0, +0) = +0); mean = sum / r; log-sum-exp =
;;   m + log(sum_j exp(x_j - m)) with m the maximum, or m itself when m is +-inf or NaN.
;;   Integers and bool: max/min compare (signed, or unsigned for u64; bool: false < true); sum,
;;   prod, L1 and the sum of squares are exact in i64 (u64) and saturate to the range of a narrower
;;   dtype (an int32 sum past INT32_MAX gives INT32_MAX, as onnxruntime's reductions do); a column
;;   where a term or partial result leaves the 64-bit range is computed in f64 instead, as
;;   onnxruntime computes integer reductions, and its result saturates to the dtype's range (see
;;   $x_reduce_store); mean = sum / r truncated toward zero; L2 and log of the sum go through f64
;;   (sqrt, log) and log-sum-exp is computed as for floats (as ONNX's function body: in double,
;;   then CastLike); such a float result is stored truncated toward zero and saturated to the
;;   dtype's range, NaN and -inf giving its smallest value (so the log of a sum <= 0 is the
;;   smallest value, as onnxruntime gives on x86).
;;   An empty set ($r = 0): max -inf or the dtype's smallest value (false), min +inf or its
;;   largest (true), sum/L1/L2/sum of squares 0, mean 0 (as onnxruntime), prod 1, log of the sum
;;   and log-sum-exp -inf (an integer dtype: its smallest value).
;;   $x, $y byte offsets (aligned to the element size is enough); no overlap.
(func $x_reduce (param $op i32) (param $t i32) (param $outer i32) (param $r i32) (param $inner i32)
                (param $x i32) (param $y i32)
  (local $size i32) (local $step i32) (local $row i32) (local $i i32) (local $p i32) (local $cls i32)
  (if (i32.or (i32.le_s (local.get $outer) (i32.const 0)) (i32.le_s (local.get $inner) (i32.const 0)))
    (then (return)))
  (local.set $size (call $x_dtype_size (local.get $t)))
  (local.set $step (i32.mul (local.get $inner) (local.get $size)))
  (local.set $row (i32.mul (local.get $r) (local.get $step)))
  (local.set $cls (call $x_reduce_class (local.get $t)))
  (loop $outers
    (local.set $p (local.get $x))
    (local.set $i (i32.const 0))
    (loop $columns
      (if (i32.eq (local.get $cls) (i32.const 2))
        (then (call $x_reduce_float (local.get $op) (local.get $t) (local.get $r) (local.get $p) (local.get $step)
                    (local.get $y)))
        (else (call $x_reduce_int (local.get $op) (local.get $t) (local.get $cls) (local.get $r) (local.get $p)
                    (local.get $step) (local.get $y))))
      (local.set $p (i32.add (local.get $p) (local.get $size)))
      (local.set $y (i32.add (local.get $y) (local.get $size)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $columns (i32.lt_s (local.get $i) (local.get $inner))))
    (local.set $x (i32.add (local.get $x) (local.get $row)))
    (local.set $outer (i32.sub (local.get $outer) (i32.const 1)))
    (br_if $outers (local.get $outer))))

;; $x_reduce_class: helper, the compute class of dtype $t: 2 floats, 1 u64, 0 other integers and bool.
(func $x_reduce_class (param $t i32) (result i32)
  (if (result i32) (i32.le_u (local.get $t) (i32.const 3))
    (then (i32.const 2))
    (else (i32.eq (local.get $t) (i32.const 11)))))

;; $x_reduce_float: helper of $x_reduce, one column of a float dtype (or log-sum-exp of any
;; dtype): reduces the $r elements at $p, $step bytes apart, and stores the result at $y.
(func $x_reduce_float (param $op i32) (param $t i32) (param $r i32) (param $p i32) (param $step i32) (param $y i32)
  (local $acc f64) (local $m f64) (local $j i32)
  (if (i32.eq (local.get $op) (i32.const 9))
    (then
      (local.set $m (call $x_fold_f64 (i32.const 0) (local.get $t) (local.get $r) (local.get $p) (local.get $step)
                          (f64.const 0)))
      (if (i32.or (f64.ne (local.get $m) (local.get $m)) (f64.eq (f64.abs (local.get $m)) (f64.const inf)))
        (then (call $x_reduce_store (local.get $y) (local.get $t) (local.get $m)) (return)))
      ;; fold 10: the sum of exp(x_j - m)
      (local.set $acc (call $x_fold_f64 (i32.const 10) (local.get $t) (local.get $r) (local.get $p) (local.get $step)
                            (local.get $m)))
      (call $x_reduce_store (local.get $y) (local.get $t) (f64.add (call $f64_log (local.get $acc)) (local.get $m)))
      (return)))
  (local.set $acc (call $x_fold_f64 (local.get $op) (local.get $t) (local.get $r) (local.get $p) (local.get $step)
                        (f64.const 0)))
  (if (i32.eq (local.get $op) (i32.const 3))
    (then (local.set $acc (if (result f64) (local.get $r)
                            (then (f64.div (local.get $acc) (f64.convert_i32_u (local.get $r))))
                            (else (f64.const 0))))))
  (if (i32.eq (local.get $op) (i32.const 6)) (then (local.set $acc (f64.sqrt (local.get $acc)))))
  (if (i32.eq (local.get $op) (i32.const 8)) (then (local.set $acc (call $f64_log (local.get $acc)))))
  (call $x_reduce_store (local.get $y) (local.get $t) (local.get $acc)))

;; $x_reduce_store: helper, stores the f64 result $v as dtype $t: floats rounded once
;; ($x_store_f64); integers truncated toward zero and saturated to the dtype's range, NaN and
;; -inf to its smallest value (onnxruntime's answer on x86 for the log of a sum <= 0).
(func $x_reduce_store (param $y i32) (param $t i32) (param $v f64)
  (local $cls i32) (local $lo i64) (local $hi i64)
  (local.set $cls (call $x_reduce_class (local.get $t)))
  (if (i32.eq (local.get $cls) (i32.const 2))
    (then (call $x_store_f64 (local.get $y) (local.get $t) (local.get $v)) (return)))
  (local.set $lo (call $x_int_limit (local.get $t) (i32.const 0)))
  (local.set $hi (call $x_int_limit (local.get $t) (i32.const 1)))
  (call $x_store_i64 (local.get $y) (local.get $t) (local.get $cls)
    (if (result i64) (i32.eqz (f64.gt (local.get $v) (call $x_i64_to_f64 (local.get $lo) (local.get $cls))))
      (then (local.get $lo))
      (else (if (result i64) (f64.ge (local.get $v) (call $x_i64_to_f64 (local.get $hi) (local.get $cls)))
        (then (local.get $hi))
        (else (if (result i64) (local.get $cls)
                (then (i64.trunc_f64_u (local.get $v)))
                (else (i64.trunc_f64_s (local.get $v))))))))))

;; $x_fold_f64: helper, folds the $r elements at $p ($step bytes apart, dtype $t, read as f64) in
;; ascending order: $op 0 max (from -inf), 1 min (from +inf), 4 product (from 1), 5 sum of |x|,
;; 6 and 7 sum of x*x, 10 sum of $f64_exp(x - $m), others the sum (from 0).
(func $x_fold_f64 (param $op i32) (param $t i32) (param $r i32) (param $p i32) (param $step i32) (param $m f64)
                  (result f64)
  (local $acc f64) (local $v f64) (local $j i32)
  (local.set $acc
    (if (result f64) (i32.eqz (local.get $op)) (then (f64.const -inf))
      (else (if (result f64) (i32.eq (local.get $op) (i32.const 1)) (then (f64.const inf))
        (else (if (result f64) (i32.eq (local.get $op) (i32.const 4)) (then (f64.const 1)) (else (f64.const 0))))))))
  (block $done
    (br_if $done (i32.le_s (local.get $r) (i32.const 0)))
    (loop $terms
      (local.set $v (call $x_load_f64 (local.get $p) (local.get $t)))
      (block $next
        (block $exp (block $square (block $abs (block $mul (block $min (block $max (block $add
          (br_table $max $min $add $add $mul $abs $square $square $add $add $exp (local.get $op)))
          (local.set $acc (f64.add (local.get $acc) (local.get $v))) (br $next))
          (local.set $acc (f64.max (local.get $acc) (local.get $v))) (br $next))
          (local.set $acc (f64.min (local.get $acc) (local.get $v))) (br $next))
          (local.set $acc (f64.mul (local.get $acc) (local.get $v))) (br $next))
          (local.set $acc (f64.add (local.get $acc) (f64.abs (local.get $v)))) (br $next))
          (local.set $acc (f64.add (local.get $acc) (f64.mul (local.get $v) (local.get $v)))) (br $next))
        (local.set $acc (f64.add (local.get $acc) (call $f64_exp (f64.sub (local.get $v) (local.get $m))))))
      (local.set $p (i32.add (local.get $p) (local.get $step)))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br_if $terms (i32.lt_s (local.get $j) (local.get $r)))))
  (local.get $acc))

;; $x_reduce_int: helper of $x_reduce, one column of an integer or bool dtype ($cls 0, or 1 for
;; u64): reduces the $r elements at $p, $step bytes apart, and stores the result at $y.
(func $x_reduce_int (param $op i32) (param $t i32) (param $cls i32) (param $r i32) (param $p i32) (param $step i32)
                    (param $y i32)
  (local $acc i64) (local $v i64) (local $sum i64) (local $j i32) (local $u i32) (local $p0 i32) (local $over i32)
  (if (i32.eq (local.get $op) (i32.const 9))
    (then (call $x_reduce_float (local.get $op) (local.get $t) (local.get $r) (local.get $p) (local.get $step) (local.get $y))
          (return)))
  (local.set $u (local.get $cls))
  (if (i32.le_u (local.get $op) (i32.const 1))
    (then
      (if (i32.le_s (local.get $r) (i32.const 0))
        (then (call $x_store_i64 (local.get $y) (local.get $t) (local.get $cls) (call $x_int_limit (local.get $t) (local.get $op)))
              (return)))
      ;; max/min from the first element
      (local.set $acc (call $x_load_i64 (local.get $p) (local.get $t)))
      (local.set $j (i32.const 1))
      (block $done
        (br_if $done (i32.ge_s (local.get $j) (local.get $r)))
        (loop $terms
          (local.set $p (i32.add (local.get $p) (local.get $step)))
          (local.set $v (call $x_load_i64 (local.get $p) (local.get $t)))
          (if (if (result i32) (local.get $op)
                (then (call $x_int_lt (local.get $u) (local.get $v) (local.get $acc)))
                (else (call $x_int_lt (local.get $u) (local.get $acc) (local.get $v))))
            (then (local.set $acc (local.get $v))))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br_if $terms (i32.lt_s (local.get $j) (local.get $r)))))
      (call $x_store_i64 (local.get $y) (local.get $t) (local.get $cls) (local.get $acc))
      (return)))
  ;; sum, mean, prod, L1, L2, sum of squares, log of the sum: exact in i64 unless a term or a
  ;; partial result leaves the 64-bit range; then the column is computed again in f64
  (local.set $p0 (local.get $p))
  (local.set $acc (select (i64.const 1) (i64.const 0) (i32.eq (local.get $op) (i32.const 4))))
  (block $done
    (br_if $done (i32.le_s (local.get $r) (i32.const 0)))
    (loop $terms
      (local.set $v (call $x_load_i64 (local.get $p) (local.get $t)))
      (block $next
        (block $square (block $abs (block $mul (block $add
          (br_table $add $add $add $add $mul $abs $square $square $add (local.get $op)))
          (br $next))
          (local.set $over (i32.or (local.get $over) (call $x_mul_overflows (local.get $acc) (local.get $v) (local.get $u))))
          (local.set $acc (i64.mul (local.get $acc) (local.get $v)))
          (br $next))
          ;; |v| (unsigned values are their own magnitude; |INT64_MIN| does not fit)
          (if (i32.and (i32.eqz (local.get $u)) (i64.lt_s (local.get $v) (i64.const 0)))
            (then (local.set $over (i32.or (local.get $over) (i64.eq (local.get $v) (i64.const 0x8000000000000000))))
                  (local.set $v (i64.sub (i64.const 0) (local.get $v)))))
          (br $next))
        (local.set $over (i32.or (local.get $over) (call $x_mul_overflows (local.get $v) (local.get $v) (local.get $u))))
        (local.set $v (i64.mul (local.get $v) (local.get $v))))
      (if (i32.ne (local.get $op) (i32.const 4))
        (then
          (local.set $sum (i64.add (local.get $acc) (local.get $v)))
          (local.set $over (i32.or (local.get $over)
            (if (result i32) (local.get $u)
              (then (i64.lt_u (local.get $sum) (local.get $acc)))
              (else (i64.lt_s (i64.and (i64.xor (local.get $acc) (local.get $sum)) (i64.xor (local.get $v) (local.get $sum)))
                              (i64.const 0))))))
          (local.set $acc (local.get $sum))))
      (local.set $p (i32.add (local.get $p) (local.get $step)))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br_if $terms (i32.lt_s (local.get $j) (local.get $r)))))
  (if (local.get $over)
    (then (call $x_reduce_float (local.get $op) (local.get $t) (local.get $r) (local.get $p0) (local.get $step) (local.get $y))
          (return)))
  (if (i32.eq (local.get $op) (i32.const 3))
    (then
      (local.set $acc
        (if (result i64) (i32.eqz (local.get $r)) (then (i64.const 0))
          (else (if (result i64) (local.get $u)
                  (then (i64.div_u (local.get $acc) (i64.extend_i32_u (local.get $r))))
                  (else (i64.div_s (local.get $acc) (i64.extend_i32_u (local.get $r))))))))))
  (if (i32.eq (local.get $op) (i32.const 6))
    (then (call $x_reduce_store (local.get $y) (local.get $t) (f64.sqrt (call $x_i64_to_f64 (local.get $acc) (local.get $cls))))
          (return)))
  (if (i32.eq (local.get $op) (i32.const 8))
    (then (call $x_reduce_store (local.get $y) (local.get $t) (call $f64_log (call $x_i64_to_f64 (local.get $acc) (local.get $cls))))
          (return)))
  (call $x_store_i64 (local.get $y) (local.get $t) (local.get $cls) (call $x_saturate (local.get $acc) (local.get $t))))

;; $x_mul_overflows: helper, whether a * b leaves the i64 range (or, $u, the u64 range).
(func $x_mul_overflows (param $a i64) (param $b i64) (param $u i32) (result i32)
  (local $r i64)
  (if (i64.eqz (local.get $a)) (then (return (i32.const 0))))
  (local.set $r (i64.mul (local.get $a) (local.get $b)))
  (if (local.get $u) (then (return (i64.ne (i64.div_u (local.get $r) (local.get $a)) (local.get $b)))))
  (if (i64.eq (local.get $a) (i64.const -1)) (then (return (i64.eq (local.get $b) (i64.const 0x8000000000000000)))))
  (i64.ne (i64.div_s (local.get $r) (local.get $a)) (local.get $b)))

;; $x_saturate: helper, the i64 $v clamped to the range of integer dtype $t when it is narrower than
;; 64 bits (int8 .. uint32); int64, uint64 and bool values pass unchanged.
(func $x_saturate (param $v i64) (param $t i32) (result i64)
  (local $lo i64) (local $hi i64)
  (if (i32.or (i32.lt_u (local.get $t) (i32.const 4)) (i32.gt_u (local.get $t) (i32.const 9)))
    (then (return (local.get $v))))
  (local.set $lo (call $x_int_limit (local.get $t) (i32.const 0)))
  (local.set $hi (call $x_int_limit (local.get $t) (i32.const 1)))
  (select (local.get $lo) (select (local.get $hi) (local.get $v) (i64.gt_s (local.get $v) (local.get $hi)))
          (i64.lt_s (local.get $v) (local.get $lo))))

;; $x_int_limit: helper, the smallest ($op 0: the identity of max) or largest ($op 1: of min)
;; value of integer or bool dtype $t, as the i64 that $x_store_i64 stores as that value.
(func $x_int_limit (param $t i32) (param $op i32) (result i64)
  (local $lo i64) (local $hi i64)
  (block $set
    (block $bool (block $u64 (block $i64 (block $u32 (block $i32 (block $u16 (block $i16 (block $u8 (block $i8
      (br_table $i8 $i8 $i8 $i8 $i8 $u8 $i16 $u16 $i32 $u32 $i64 $u64 $bool (local.get $t)))
      (local.set $lo (i64.const -128)) (local.set $hi (i64.const 127)) (br $set))
      (local.set $hi (i64.const 255)) (br $set))
      (local.set $lo (i64.const -32768)) (local.set $hi (i64.const 32767)) (br $set))
      (local.set $hi (i64.const 65535)) (br $set))
      (local.set $lo (i64.const -2147483648)) (local.set $hi (i64.const 2147483647)) (br $set))
      (local.set $hi (i64.const 4294967295)) (br $set))
      (local.set $lo (i64.const 0x8000000000000000)) (local.set $hi (i64.const 0x7fffffffffffffff)) (br $set))
      (local.set $hi (i64.const -1)) (br $set))
    (local.set $hi (i64.const 1)))
  (select (local.get $hi) (local.get $lo) (local.get $op)))

;; $x_argreduce: y[o, i] (int64) = the index j < $r of the maximum ($op 0 or 2) or minimum ($op 1
;; or 3) of x[o, j, i], dtype $t; ties give the first index ($op 0, 1) or the last ($op 2, 3).
;;   onnxruntime's rule, NaN included: the best starts at j = 0 and moves to j when x_j > best
;;   (max, first), x_j >= best (max, last), x_j < best (min, first) or x_j <= best (min, last);
;;   a comparison with NaN is false, so a NaN at j = 0 is kept and a later one is passed over.
;;   -0 and +0 are equal. Floats compare as f64 (f32 directly), integers as i64 (u64 unsigned).
;;   $r >= 1; $x byte offset (element-aligned), $y 8-byte elements; no overlap.
(func $x_argreduce (param $op i32) (param $t i32) (param $outer i32) (param $r i32) (param $inner i32)
                   (param $x i32) (param $y i32)
  (local $size i32) (local $step i32) (local $row i32) (local $i i32) (local $p i32)
  (if (i32.or (i32.le_s (local.get $outer) (i32.const 0)) (i32.le_s (local.get $inner) (i32.const 0)))
    (then (return)))
  (local.set $size (call $x_dtype_size (local.get $t)))
  (local.set $step (i32.mul (local.get $inner) (local.get $size)))
  (local.set $row (i32.mul (local.get $r) (local.get $step)))
  (loop $outers
    (local.set $p (local.get $x))
    (local.set $i (i32.const 0))
    (loop $columns
      (i64.store (local.get $y)
                 (i64.extend_i32_u (call $x_arg_column (local.get $op) (local.get $t) (local.get $r) (local.get $p)
                                         (local.get $step))))
      (local.set $p (i32.add (local.get $p) (local.get $size)))
      (local.set $y (i32.add (local.get $y) (i32.const 8)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $columns (i32.lt_s (local.get $i) (local.get $inner))))
    (local.set $x (i32.add (local.get $x) (local.get $row)))
    (local.set $outer (i32.sub (local.get $outer) (i32.const 1)))
    (br_if $outers (local.get $outer))))

;; $x_arg_column: helper of $x_argreduce, the index of the best of the $r elements at $p
;; ($step bytes apart); the rule above, per class.
(func $x_arg_column (param $op i32) (param $t i32) (param $r i32) (param $p i32) (param $step i32) (result i32)
  (local $min i32) (local $last i32) (local $best i32) (local $j i32) (local $u i32)
  (local $bf f32) (local $vf f32) (local $bd f64) (local $vd f64) (local $bi i64) (local $vi i64)
  (local.set $min (i32.and (local.get $op) (i32.const 1)))
  (local.set $last (i32.shr_u (local.get $op) (i32.const 1)))
  (local.set $j (i32.const 1))
  (if (i32.ge_s (local.get $j) (local.get $r)) (then (return (i32.const 0))))
  (if (i32.eqz (local.get $t))
    (then
      (local.set $bf (f32.load (local.get $p)))
      (loop $f32s
        (local.set $p (i32.add (local.get $p) (local.get $step)))
        (local.set $vf (f32.load (local.get $p)))
        (if (i32.or (select (f32.lt (local.get $vf) (local.get $bf)) (f32.gt (local.get $vf) (local.get $bf)) (local.get $min))
                    (i32.and (local.get $last) (f32.eq (local.get $vf) (local.get $bf))))
          (then (local.set $bf (local.get $vf)) (local.set $best (local.get $j))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $f32s (i32.lt_s (local.get $j) (local.get $r))))
      (return (local.get $best))))
  (if (i32.le_u (local.get $t) (i32.const 3))
    (then
      (local.set $bd (call $x_load_f64 (local.get $p) (local.get $t)))
      (loop $floats
        (local.set $p (i32.add (local.get $p) (local.get $step)))
        (local.set $vd (call $x_load_f64 (local.get $p) (local.get $t)))
        (if (i32.or (select (f64.lt (local.get $vd) (local.get $bd)) (f64.gt (local.get $vd) (local.get $bd)) (local.get $min))
                    (i32.and (local.get $last) (f64.eq (local.get $vd) (local.get $bd))))
          (then (local.set $bd (local.get $vd)) (local.set $best (local.get $j))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $floats (i32.lt_s (local.get $j) (local.get $r))))
      (return (local.get $best))))
  (local.set $u (i32.eq (local.get $t) (i32.const 11)))
  (local.set $bi (call $x_load_i64 (local.get $p) (local.get $t)))
  (loop $integers
    (local.set $p (i32.add (local.get $p) (local.get $step)))
    (local.set $vi (call $x_load_i64 (local.get $p) (local.get $t)))
    (if (i32.or (select (call $x_int_lt (local.get $u) (local.get $vi) (local.get $bi))
                        (call $x_int_lt (local.get $u) (local.get $bi) (local.get $vi)) (local.get $min))
                (i32.and (local.get $last) (i64.eq (local.get $vi) (local.get $bi))))
      (then (local.set $bi (local.get $vi)) (local.set $best (local.get $j))))
    (local.set $j (i32.add (local.get $j) (i32.const 1)))
    (br_if $integers (i32.lt_s (local.get $j) (local.get $r))))
  (local.get $best))

;; $x_cumsum: y[o, j, i] = sum of x[o, j', i] over j' <= j (j' < j when $exclusive), or over
;; j' >= j (j' > j) when $reverse (CumSum); the first sum of an exclusive scan is 0.
;;   The running sum is added in order along the scan: float64 in f64; float32, float16 and
;;   bfloat16 in f32 precision (each partial sum rounded to f32, as onnxruntime adds float32, and
;;   float16 through float32), every output rounded once into the dtype; integers in i64, stored
;;   wrapped (= the dtype's own wrapping arithmetic).
;;   $x, $y byte offsets (element-aligned) of the same dtype $t; no overlap.
(func $x_cumsum (param $t i32) (param $outer i32) (param $r i32) (param $inner i32) (param $x i32) (param $y i32)
                (param $exclusive i32) (param $reverse i32)
  (local $size i32) (local $step i32) (local $row i32) (local $start i32) (local $i i32) (local $j i32)
  (local $px i32) (local $py i32) (local $cls i32) (local $fd f64) (local $fi i64)
  (if (i32.or (i32.or (i32.le_s (local.get $outer) (i32.const 0)) (i32.le_s (local.get $inner) (i32.const 0)))
              (i32.le_s (local.get $r) (i32.const 0)))
    (then (return)))
  (local.set $size (call $x_dtype_size (local.get $t)))
  (local.set $step (i32.mul (local.get $inner) (local.get $size)))
  (local.set $row (i32.mul (local.get $r) (local.get $step)))
  (if (local.get $reverse)
    (then (local.set $start (i32.mul (i32.sub (local.get $r) (i32.const 1)) (local.get $step)))
          (local.set $step (i32.sub (i32.const 0) (local.get $step)))))
  (local.set $cls (call $x_reduce_class (local.get $t)))
  (loop $outers
    (local.set $i (i32.const 0))
    (loop $columns
      (local.set $px (i32.add (i32.add (local.get $x) (local.get $start)) (i32.mul (local.get $i) (local.get $size))))
      (local.set $py (i32.add (i32.add (local.get $y) (local.get $start)) (i32.mul (local.get $i) (local.get $size))))
      (local.set $fd (f64.const 0))
      (local.set $fi (i64.const 0))
      (local.set $j (i32.const 0))
      (loop $scan
        (if (i32.eq (local.get $cls) (i32.const 2))
          (then
            (if (local.get $exclusive) (then (call $x_store_f64 (local.get $py) (local.get $t) (local.get $fd))))
            (local.set $fd (f64.add (local.get $fd) (call $x_load_f64 (local.get $px) (local.get $t))))
            (if (i32.ne (local.get $t) (i32.const 1))
              (then (local.set $fd (f64.promote_f32 (f32.demote_f64 (local.get $fd))))))
            (if (i32.eqz (local.get $exclusive)) (then (call $x_store_f64 (local.get $py) (local.get $t) (local.get $fd)))))
          (else
            (if (local.get $exclusive) (then (call $x_store_i64 (local.get $py) (local.get $t) (local.get $cls) (local.get $fi))))
            (local.set $fi (i64.add (local.get $fi) (call $x_load_i64 (local.get $px) (local.get $t))))
            (if (i32.eqz (local.get $exclusive))
              (then (call $x_store_i64 (local.get $py) (local.get $t) (local.get $cls) (local.get $fi))))))
        (local.set $px (i32.add (local.get $px) (local.get $step)))
        (local.set $py (i32.add (local.get $py) (local.get $step)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $scan (i32.lt_s (local.get $j) (local.get $r))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $columns (i32.lt_s (local.get $i) (local.get $inner))))
    (local.set $x (i32.add (local.get $x) (local.get $row)))
    (local.set $y (i32.add (local.get $y) (local.get $row)))
    (local.set $outer (i32.sub (local.get $outer) (i32.const 1)))
    (br_if $outers (local.get $outer))))

;; $x_topk: for each (o, i), the $k largest ($largest = 1) or smallest ($largest = 0) of the $r
;; elements x[o, :, i] of dtype $t, in order (TopK; sorted or not, the output is sorted):
;; values[o, m, i] = x[o, j_m, i] (its bits copied) and indices[o, m, i] = j_m (int64), m < $k.
;;   Order as onnxruntime's: equal values by lower index first; -0 equals +0; NaN ranks above
;;   +inf (first among the largest, last among the smallest), NaNs by index.
;;   Each element gets an i64 key that orders as its value ($x_sort_key; negated bitwise for the
;;   largest), then $k <= 16: insertion into a sorted list of at most k (an element enters only
;;   when its key is below the k-th's), else a stable bottom-up merge sort of all r indices.
;;   1 <= $k <= $r. $scratch: byte offset of 16 * $r bytes, 8-byte aligned (keys, two index lists).
;;   $x, $values (dtype $t), $indices (int64): byte offsets; no overlap.
(func $x_topk (param $t i32) (param $outer i32) (param $r i32) (param $inner i32) (param $k i32) (param $largest i32)
              (param $x i32) (param $values i32) (param $indices i32) (param $scratch i32)
  (local $size i32) (local $step i32) (local $row i32) (local $out_step i32) (local $out_row i32) (local $i i32)
  (local $j i32) (local $m i32) (local $p i32) (local $keys i32) (local $order i32) (local $key i64) (local $flip i64)
  (if (i32.or (i32.or (i32.le_s (local.get $outer) (i32.const 0)) (i32.le_s (local.get $inner) (i32.const 0)))
              (i32.le_s (local.get $k) (i32.const 0)))
    (then (return)))
  (local.set $size (call $x_dtype_size (local.get $t)))
  (local.set $step (i32.mul (local.get $inner) (local.get $size)))
  (local.set $row (i32.mul (local.get $r) (local.get $step)))
  (local.set $out_step (i32.mul (local.get $inner) (local.get $size)))
  (local.set $out_row (i32.mul (local.get $k) (local.get $out_step)))
  (local.set $keys (local.get $scratch))
  (local.set $flip (select (i64.const -1) (i64.const 0) (local.get $largest)))
  (loop $outers
    (local.set $i (i32.const 0))
    (loop $columns
      ;; keys of the column
      (local.set $p (i32.add (local.get $x) (i32.mul (local.get $i) (local.get $size))))
      (local.set $j (i32.const 0))
      (loop $key_loop
        (i64.store (i32.add (local.get $keys) (i32.shl (local.get $j) (i32.const 3)))
                   (i64.xor (call $x_sort_key (local.get $p) (local.get $t)) (local.get $flip)))
        (local.set $p (i32.add (local.get $p) (local.get $step)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $key_loop (i32.lt_s (local.get $j) (local.get $r))))
      (local.set $order
        (if (result i32) (i32.le_s (local.get $k) (i32.const 16))
          (then (call $x_topk_insert (local.get $keys) (local.get $r) (local.get $k)
                      (i32.add (local.get $keys) (i32.shl (local.get $r) (i32.const 3)))))
          (else (call $x_topk_merge (local.get $keys) (local.get $r)
                      (i32.add (local.get $keys) (i32.shl (local.get $r) (i32.const 3)))
                      (i32.add (local.get $keys) (i32.mul (local.get $r) (i32.const 12)))))))
      ;; outputs
      (local.set $m (i32.const 0))
      (loop $emit
        (local.set $j (i32.load (i32.add (local.get $order) (i32.shl (local.get $m) (i32.const 2)))))
        (call $x_store_raw
              (i32.add (i32.add (local.get $values) (i32.mul (local.get $m) (local.get $out_step)))
                       (i32.mul (local.get $i) (local.get $size)))
              (local.get $size)
              (call $x_load_raw (i32.add (i32.add (local.get $x) (i32.mul (local.get $j) (local.get $step)))
                                         (i32.mul (local.get $i) (local.get $size)))
                    (local.get $size)))
        (i64.store (i32.add (local.get $indices)
                            (i32.shl (i32.add (i32.mul (local.get $m) (local.get $inner)) (local.get $i)) (i32.const 3)))
                   (i64.extend_i32_u (local.get $j)))
        (local.set $m (i32.add (local.get $m) (i32.const 1)))
        (br_if $emit (i32.lt_s (local.get $m) (local.get $k))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $columns (i32.lt_s (local.get $i) (local.get $inner))))
    (local.set $x (i32.add (local.get $x) (local.get $row)))
    (local.set $values (i32.add (local.get $values) (local.get $out_row)))
    (local.set $indices (i32.add (local.get $indices) (i32.shl (i32.mul (local.get $k) (local.get $inner)) (i32.const 3))))
    (local.set $outer (i32.sub (local.get $outer) (i32.const 1)))
    (br_if $outers (local.get $outer))))

;; $x_sort_key: helper, an i64 whose signed order is the order of the element at $p (dtype $t):
;; floats: NaN -> the largest key, -0 -> +0, else the f64 bits with the magnitude bits of
;; negatives flipped; u64: the bits with the top bit flipped; other integers and bool: the value.
(func $x_sort_key (param $p i32) (param $t i32) (result i64)
  (local $v f64) (local $b i64)
  (if (i32.le_u (local.get $t) (i32.const 3))
    (then
      (local.set $v (call $x_load_f64 (local.get $p) (local.get $t)))
      (if (f64.ne (local.get $v) (local.get $v)) (then (return (i64.const 0x7fffffffffffffff))))
      (local.set $b (i64.reinterpret_f64 (f64.add (local.get $v) (f64.const 0))))
      (return (select (i64.xor (local.get $b) (i64.const 0x7fffffffffffffff)) (local.get $b)
                      (i64.lt_s (local.get $b) (i64.const 0))))))
  (if (i32.eq (local.get $t) (i32.const 11))
    (then (return (i64.xor (i64.load (local.get $p)) (i64.const 0x8000000000000000)))))
  (call $x_load_i64 (local.get $p) (local.get $t)))

;; $x_topk_insert: helper of $x_topk, the indices (i32, written at $list) of the $k smallest of
;; the $r keys at $keys, ascending, ties by lower index; returns $list.
(func $x_topk_insert (param $keys i32) (param $r i32) (param $k i32) (param $list i32) (result i32)
  (local $n i32) (local $j i32) (local $m i32) (local $key i64) (local $prev i32)
  (loop $elements
    (local.set $key (i64.load (i32.add (local.get $keys) (i32.shl (local.get $j) (i32.const 3)))))
    (block $skip
      ;; a full list takes the element only when its key is below the last one's
      (if (i32.eq (local.get $n) (local.get $k))
        (then
          (br_if $skip (i64.ge_s (local.get $key)
                                 (i64.load (i32.add (local.get $keys)
                                                    (i32.shl (i32.load (i32.add (local.get $list)
                                                                                (i32.shl (i32.sub (local.get $k) (i32.const 1)) (i32.const 2))))
                                                             (i32.const 3))))))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))))
      ;; shift the larger keys up by one and insert
      (local.set $m (local.get $n))
      (block $placed
        (loop $shift
          (br_if $placed (i32.eqz (local.get $m)))
          (local.set $prev (i32.load (i32.add (local.get $list) (i32.shl (i32.sub (local.get $m) (i32.const 1)) (i32.const 2)))))
          (br_if $placed (i64.le_s (i64.load (i32.add (local.get $keys) (i32.shl (local.get $prev) (i32.const 3))))
                                   (local.get $key)))
          (i32.store (i32.add (local.get $list) (i32.shl (local.get $m) (i32.const 2))) (local.get $prev))
          (local.set $m (i32.sub (local.get $m) (i32.const 1)))
          (br $shift)))
      (i32.store (i32.add (local.get $list) (i32.shl (local.get $m) (i32.const 2))) (local.get $j))
      (local.set $n (i32.add (local.get $n) (i32.const 1))))
    (local.set $j (i32.add (local.get $j) (i32.const 1)))
    (br_if $elements (i32.lt_s (local.get $j) (local.get $r))))
  (local.get $list))

;; $x_topk_merge: helper of $x_topk, sorts the indices 0..$r-1 by the keys at $keys (ascending,
;; stable: ties keep index order) with a bottom-up merge sort between the i32 lists $a and $b;
;; returns the one holding the result.
(func $x_topk_merge (param $keys i32) (param $r i32) (param $a i32) (param $b i32) (result i32)
  (local $j i32) (local $width i32) (local $lo i32) (local $mid i32) (local $hi i32) (local $l i32) (local $h i32)
  (local $out i32) (local $swap i32) (local $li i32) (local $hi_i i32)
  (loop $fill
    (i32.store (i32.add (local.get $a) (i32.shl (local.get $j) (i32.const 2))) (local.get $j))
    (local.set $j (i32.add (local.get $j) (i32.const 1)))
    (br_if $fill (i32.lt_s (local.get $j) (local.get $r))))
  (local.set $width (i32.const 1))
  (block $sorted
    (loop $passes
      (br_if $sorted (i32.ge_s (local.get $width) (local.get $r)))
      (local.set $lo (i32.const 0))
      (loop $runs
        (local.set $mid (call $x_min_i32 (i32.add (local.get $lo) (local.get $width)) (local.get $r)))
        (local.set $hi (call $x_min_i32 (i32.add (local.get $mid) (local.get $width)) (local.get $r)))
        (local.set $l (local.get $lo))
        (local.set $h (local.get $mid))
        (local.set $out (local.get $lo))
        (block $merged
          (loop $merge
            (br_if $merged (i32.ge_s (local.get $out) (local.get $hi)))
            (if (i32.lt_s (local.get $l) (local.get $mid))
              (then (local.set $li (i32.load (i32.add (local.get $a) (i32.shl (local.get $l) (i32.const 2)))))))
            (if (i32.lt_s (local.get $h) (local.get $hi))
              (then (local.set $hi_i (i32.load (i32.add (local.get $a) (i32.shl (local.get $h) (i32.const 2)))))))
            ;; take from the right run only when its key is strictly below the left run's
            (if (i32.and (i32.lt_s (local.get $l) (local.get $mid))
                         (i32.or (i32.ge_s (local.get $h) (local.get $hi))
                                 (i64.le_s (i64.load (i32.add (local.get $keys) (i32.shl (local.get $li) (i32.const 3))))
                                           (i64.load (i32.add (local.get $keys) (i32.shl (local.get $hi_i) (i32.const 3)))))))
              (then (i32.store (i32.add (local.get $b) (i32.shl (local.get $out) (i32.const 2))) (local.get $li))
                    (local.set $l (i32.add (local.get $l) (i32.const 1))))
              (else (i32.store (i32.add (local.get $b) (i32.shl (local.get $out) (i32.const 2))) (local.get $hi_i))
                    (local.set $h (i32.add (local.get $h) (i32.const 1)))))
            (local.set $out (i32.add (local.get $out) (i32.const 1)))
            (br $merge)))
        (local.set $lo (local.get $hi))
        (br_if $runs (i32.lt_s (local.get $lo) (local.get $r))))
      (local.set $swap (local.get $a))
      (local.set $a (local.get $b))
      (local.set $b (local.get $swap))
      (local.set $width (i32.shl (local.get $width) (i32.const 1)))
      (br $passes)))
  (local.get $a))

;; $x_min_i32: helper, the smaller of two i32 (signed).
(func $x_min_i32 (param $a i32) (param $b i32) (result i32)
  (select (local.get $a) (local.get $b) (i32.lt_s (local.get $a) (local.get $b))))

;; $f64_exp: helper, e^x in f64 (no host math): n = nearest(x * log2(e)), r = x - n*LN2_HI -
;; n*LN2_LO (Cody-Waite, fdlibm's split: n*LN2_HI is exact), e^r by its Taylor polynomial to degree
;; 13 in Horner form (|r| <= 0.347: truncation below 2^-57), scaled by 2^n in two exact-or-once-
;; rounded steps (subnormal results round once). Within 2 ulp of e^x.
;; x > 709.782712893384 -> +inf, x < -745.2 -> +0, NaN -> NaN, e^0 = 1.
(func $f64_exp (param $x f64) (result f64)
  (local $n f64) (local $r f64) (local $p f64) (local $k i32) (local $h i32)
  (if (f64.ne (local.get $x) (local.get $x)) (then (return (local.get $x))))
  (if (f64.gt (local.get $x) (f64.const 709.782712893384)) (then (return (f64.const inf))))
  (if (f64.lt (local.get $x) (f64.const -745.2)) (then (return (f64.const 0))))
  (local.set $n (f64.nearest (f64.mul (local.get $x) (f64.const 0x1.71547652b82fep+0))))
  (local.set $r (f64.sub (f64.sub (local.get $x) (f64.mul (local.get $n) (f64.const 0x1.62e42feep-1)))
                         (f64.mul (local.get $n) (f64.const 0x1.a39ef35793c76p-33))))
  (local.set $p (f64.const 0x1.6124613a86d09p-33))  ;; 1/13!
  (local.set $p (f64.add (f64.mul (local.get $p) (local.get $r)) (f64.const 0x1.1eed8eff8d898p-29)))  ;; 1/12!
  (local.set $p (f64.add (f64.mul (local.get $p) (local.get $r)) (f64.const 0x1.ae64567f544e4p-26)))  ;; 1/11!
  (local.set $p (f64.add (f64.mul (local.get $p) (local.get $r)) (f64.const 0x1.27e4fb7789f5cp-22)))  ;; 1/10!
  (local.set $p (f64.add (f64.mul (local.get $p) (local.get $r)) (f64.const 0x1.71de3a556c734p-19)))  ;; 1/9!
  (local.set $p (f64.add (f64.mul (local.get $p) (local.get $r)) (f64.const 0x1.a01a01a01a01ap-16)))  ;; 1/8!
  (local.set $p (f64.add (f64.mul (local.get $p) (local.get $r)) (f64.const 0x1.a01a01a01a01ap-13)))  ;; 1/7!
  (local.set $p (f64.add (f64.mul (local.get $p) (local.get $r)) (f64.const 0x1.6c16c16c16c17p-10)))  ;; 1/6!
  (local.set $p (f64.add (f64.mul (local.get $p) (local.get $r)) (f64.const 0x1.1111111111111p-7)))  ;; 1/5!
  (local.set $p (f64.add (f64.mul (local.get $p) (local.get $r)) (f64.const 0x1.5555555555555p-5)))  ;; 1/4!
  (local.set $p (f64.add (f64.mul (local.get $p) (local.get $r)) (f64.const 0x1.5555555555555p-3)))  ;; 1/3!
  (local.set $p (f64.add (f64.mul (local.get $p) (local.get $r)) (f64.const 0x1.0000000000000p-1)))  ;; 1/2!
  (local.set $p (f64.add (f64.mul (local.get $p) (local.get $r)) (f64.const 1)))
  (local.set $p (f64.add (f64.mul (local.get $p) (local.get $r)) (f64.const 1)))
  ;; 2^n = 2^h * 2^(n-h) with h = n / 2 (both factors normal for n in [-1075, 1024])
  (local.set $k (i32.trunc_f64_s (local.get $n)))
  (local.set $h (i32.shr_s (local.get $k) (i32.const 1)))
  (f64.mul (f64.mul (local.get $p) (call $f64_pow2 (local.get $h))) (call $f64_pow2 (i32.sub (local.get $k) (local.get $h)))))

;; $f64_log: helper, the natural logarithm in f64 (no host math): x = m * 2^e with m in
;; [sqrt(1/2), sqrt(2)), f = m - 1 (exact), s = f / (2 + f), log(m) = 2s + 2s * z * P(z) with
;; z = s^2 and P the atanh series 1/3 + z/5 + ... + z^10/23 (|s| <= 0.1716: truncation below
;; 2^-58), then + e * LN2_LO, + e * LN2_HI (exact). Within 2 ulp of log(x).
;; log(x < 0) = NaN, log(+-0) = -inf, log(+inf) = +inf, NaN -> NaN; subnormals are scaled by 2^54.
(func $f64_log (param $x f64) (result f64)
  (local $b i64) (local $e i32) (local $m f64) (local $f f64) (local $s f64) (local $z f64) (local $p f64)
  (local $ef f64)
  (if (f64.ne (local.get $x) (local.get $x)) (then (return (local.get $x))))
  (if (f64.lt (local.get $x) (f64.const 0)) (then (return (f64.const nan))))
  (if (f64.eq (local.get $x) (f64.const 0)) (then (return (f64.const -inf))))
  (if (f64.eq (local.get $x) (f64.const inf)) (then (return (local.get $x))))
  (if (f64.lt (local.get $x) (f64.const 0x1p-1022))
    (then (local.set $x (f64.mul (local.get $x) (f64.const 0x1p54)))
          (local.set $e (i32.const -54))))
  (local.set $b (i64.reinterpret_f64 (local.get $x)))
  (local.set $e (i32.add (local.get $e) (i32.sub (i32.wrap_i64 (i64.shr_u (local.get $b) (i64.const 52))) (i32.const 1023))))
  (local.set $m (f64.reinterpret_i64 (i64.or (i64.and (local.get $b) (i64.const 0x000fffffffffffff))
                                             (i64.const 0x3ff0000000000000))))
  (if (f64.ge (local.get $m) (f64.const 0x1.6a09e667f3bcdp+0))
    (then (local.set $m (f64.mul (local.get $m) (f64.const 0.5)))
          (local.set $e (i32.add (local.get $e) (i32.const 1)))))
  (local.set $f (f64.sub (local.get $m) (f64.const 1)))
  (local.set $s (f64.div (local.get $f) (f64.add (f64.const 2) (local.get $f))))
  (local.set $z (f64.mul (local.get $s) (local.get $s)))
  (local.set $p (f64.const 0x1.642c8590b2164p-5))  ;; 1/23
  (local.set $p (f64.add (f64.mul (local.get $p) (local.get $z)) (f64.const 0x1.8618618618618p-5)))  ;; 1/21
  (local.set $p (f64.add (f64.mul (local.get $p) (local.get $z)) (f64.const 0x1.af286bca1af28p-5)))  ;; 1/19
  (local.set $p (f64.add (f64.mul (local.get $p) (local.get $z)) (f64.const 0x1.e1e1e1e1e1e1ep-5)))  ;; 1/17
  (local.set $p (f64.add (f64.mul (local.get $p) (local.get $z)) (f64.const 0x1.1111111111111p-4)))  ;; 1/15
  (local.set $p (f64.add (f64.mul (local.get $p) (local.get $z)) (f64.const 0x1.3b13b13b13b14p-4)))  ;; 1/13
  (local.set $p (f64.add (f64.mul (local.get $p) (local.get $z)) (f64.const 0x1.745d1745d1746p-4)))  ;; 1/11
  (local.set $p (f64.add (f64.mul (local.get $p) (local.get $z)) (f64.const 0x1.c71c71c71c71cp-4)))  ;; 1/9
  (local.set $p (f64.add (f64.mul (local.get $p) (local.get $z)) (f64.const 0x1.2492492492492p-3)))  ;; 1/7
  (local.set $p (f64.add (f64.mul (local.get $p) (local.get $z)) (f64.const 0x1.999999999999ap-3)))  ;; 1/5
  (local.set $p (f64.add (f64.mul (local.get $p) (local.get $z)) (f64.const 0x1.5555555555555p-2)))  ;; 1/3
  (local.set $ef (f64.convert_i32_s (local.get $e)))
  (local.set $s (f64.add (local.get $s) (local.get $s)))
  (f64.add (f64.mul (local.get $ef) (f64.const 0x1.62e42feep-1))
           (f64.add (local.get $s)
                    (f64.add (f64.mul (f64.mul (local.get $s) (local.get $z)) (local.get $p))
                             (f64.mul (local.get $ef) (f64.const 0x1.a39ef35793c76p-33))))))
