;; Scans along one axis in any numeric dtype (CumProd), for x viewed as [outer, r, inner]; the
;; running-sum scan is $x_cumsum in x_reduce.wat.

;; $x_cumprod: y[o, j, i] = product of x[o, j', i] over j' <= j (j' < j when $exclusive), or over
;; j' >= j (j' > j) when $reverse (CumProd); the first product of an exclusive scan is 1.
;;   The running product is multiplied in order along the scan: float64 in f64; float32, float16
;;   and bfloat16 in f32 precision (each partial product rounded to f32: the f64 product of two
;;   f32 values is exact, so this is f32 multiplication), every output rounded once into the dtype;
;;   integers in i64, stored wrapped (= the dtype's own wrapping multiplication). A NaN (inf * 0,
;;   or from the input) is stored as the dtype's canonical positive quiet NaN ($x_store_float).
;;   $x, $y byte offsets (element-aligned) of the same dtype $t; no overlap.
(func $x_cumprod (param $t i32) (param $outer i32) (param $r i32) (param $inner i32) (param $x i32) (param $y i32)
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
      (local.set $fd (f64.const 1))
      (local.set $fi (i64.const 1))
      (local.set $j (i32.const 0))
      (loop $scan
        (if (i32.eq (local.get $cls) (i32.const 2))
          (then
            (if (local.get $exclusive) (then (call $x_store_float (local.get $py) (local.get $t) (local.get $fd))))
            (local.set $fd (f64.mul (local.get $fd) (call $x_load_f64 (local.get $px) (local.get $t))))
            (if (i32.ne (local.get $t) (i32.const 1))
              (then (local.set $fd (f64.promote_f32 (f32.demote_f64 (local.get $fd))))))
            (if (i32.eqz (local.get $exclusive)) (then (call $x_store_float (local.get $py) (local.get $t) (local.get $fd)))))
          (else
            (if (local.get $exclusive) (then (call $x_store_i64 (local.get $py) (local.get $t) (local.get $cls) (local.get $fi))))
            (local.set $fi (i64.mul (local.get $fi) (call $x_load_i64 (local.get $px) (local.get $t))))
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
