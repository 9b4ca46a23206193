;; Linear algebra on small matrices in any float dtype (Det).

;; $x_det: y[b] = det(x[b]) for $batch square matrices of order $n, dtype $t (float32, float64,
;; float16 or bfloat16), by LU factorisation with partial pivoting computed in f64 for every
;; dtype (float32 rounded once at the end): for each column k the pivot is the first row i >= k
;; of largest |a[i, k]|; a row swap negates the determinant; det = +-prod of the pivots. A zero
;; pivot (a singular matrix) gives +0 (the rest of the elimination is skipped, as no NaN may come
;; from dividing by it); NaN inputs propagate through the products and are stored as the
;; canonical positive quiet NaN ($x_store_float). $n = 0 gives 1.
;;   $x: byte offset of batch * n * n elements of dtype $t; $y: batch elements of dtype $t;
;;   $scratch: byte offset of 8 * n * n bytes (the f64 working matrix).
(func $x_det (param $t i32) (param $batch i32) (param $n i32) (param $x i32) (param $y i32) (param $scratch i32)
  (local $size i32) (local $i i32) (local $j i32) (local $k i32) (local $p i32) (local $count i32)
  (local $row_k i32) (local $row_i i32) (local $det f64) (local $best f64) (local $v f64) (local $pivot f64)
  (local $f f64) (local $tmp f64)
  (if (i32.le_s (local.get $batch) (i32.const 0)) (then (return)))
  (local.set $size (call $x_dtype_size (local.get $t)))
  (local.set $count (i32.mul (local.get $n) (local.get $n)))
  (loop $matrices
    ;; the working copy in f64
    (local.set $i (i32.const 0))
    (block $copied
      (br_if $copied (i32.eqz (local.get $count)))
      (loop $copy
        (f64.store (i32.add (local.get $scratch) (i32.shl (local.get $i) (i32.const 3)))
                   (call $x_load_f64 (i32.add (local.get $x) (i32.mul (local.get $i) (local.get $size))) (local.get $t)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $copy (i32.lt_s (local.get $i) (local.get $count)))))
    (local.set $det (f64.const 1))
    (local.set $k (i32.const 0))
    (block $done
      (br_if $done (i32.eqz (local.get $n)))
      (loop $columns
        ;; pivot: the first row of largest magnitude in column k, rows k..n-1
        (local.set $p (local.get $k))
        (local.set $best (f64.abs (f64.load (i32.add (local.get $scratch)
                                                     (i32.shl (i32.add (i32.mul (local.get $k) (local.get $n)) (local.get $k))
                                                              (i32.const 3))))))
        (local.set $i (i32.add (local.get $k) (i32.const 1)))
        (block $searched
          (br_if $searched (i32.ge_s (local.get $i) (local.get $n)))
          (loop $search
            (local.set $v (f64.abs (f64.load (i32.add (local.get $scratch)
                                                      (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $k))
                                                               (i32.const 3))))))
            (if (f64.gt (local.get $v) (local.get $best))
              (then (local.set $best (local.get $v)) (local.set $p (local.get $i))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $search (i32.lt_s (local.get $i) (local.get $n)))))
        (local.set $row_k (i32.add (local.get $scratch) (i32.shl (i32.mul (local.get $k) (local.get $n)) (i32.const 3))))
        ;; swap rows p and k (columns k..n-1 suffice: the columns before are no longer read)
        (if (i32.ne (local.get $p) (local.get $k))
          (then
            (local.set $row_i (i32.add (local.get $scratch) (i32.shl (i32.mul (local.get $p) (local.get $n)) (i32.const 3))))
            (local.set $j (local.get $k))
            (loop $swap
              (local.set $tmp (f64.load (i32.add (local.get $row_k) (i32.shl (local.get $j) (i32.const 3)))))
              (f64.store (i32.add (local.get $row_k) (i32.shl (local.get $j) (i32.const 3)))
                         (f64.load (i32.add (local.get $row_i) (i32.shl (local.get $j) (i32.const 3)))))
              (f64.store (i32.add (local.get $row_i) (i32.shl (local.get $j) (i32.const 3))) (local.get $tmp))
              (local.set $j (i32.add (local.get $j) (i32.const 1)))
              (br_if $swap (i32.lt_s (local.get $j) (local.get $n))))
            (local.set $det (f64.neg (local.get $det)))))
        (local.set $pivot (f64.load (i32.add (local.get $row_k) (i32.shl (local.get $k) (i32.const 3)))))
        (if (f64.eq (local.get $pivot) (f64.const 0))
          (then (local.set $det (f64.const 0)) (br $done)))
        (local.set $det (f64.mul (local.get $det) (local.get $pivot)))
        ;; eliminate below the pivot
        (local.set $i (i32.add (local.get $k) (i32.const 1)))
        (block $eliminated
          (br_if $eliminated (i32.ge_s (local.get $i) (local.get $n)))
          (loop $rows
            (local.set $row_i (i32.add (local.get $scratch) (i32.shl (i32.mul (local.get $i) (local.get $n)) (i32.const 3))))
            (local.set $f (f64.div (f64.load (i32.add (local.get $row_i) (i32.shl (local.get $k) (i32.const 3))))
                                   (local.get $pivot)))
            (local.set $j (i32.add (local.get $k) (i32.const 1)))
            (block $row_done
              (br_if $row_done (i32.ge_s (local.get $j) (local.get $n)))
              (loop $cols
                (f64.store (i32.add (local.get $row_i) (i32.shl (local.get $j) (i32.const 3)))
                           (f64.sub (f64.load (i32.add (local.get $row_i) (i32.shl (local.get $j) (i32.const 3))))
                                    (f64.mul (local.get $f)
                                             (f64.load (i32.add (local.get $row_k) (i32.shl (local.get $j) (i32.const 3)))))))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br_if $cols (i32.lt_s (local.get $j) (local.get $n)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $rows (i32.lt_s (local.get $i) (local.get $n)))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br_if $columns (i32.lt_s (local.get $k) (local.get $n)))))
    (call $x_store_float (local.get $y) (local.get $t) (local.get $det))
    (local.set $x (i32.add (local.get $x) (i32.mul (local.get $count) (local.get $size))))
    (local.set $y (i32.add (local.get $y) (local.get $size)))
    (local.set $batch (i32.sub (local.get $batch) (i32.const 1)))
    (br_if $matrices (local.get $batch))))

;; $f64_matmul: y[r, j] = sum over t of x[r, t] * w[t, j] for r < $rows, j < $m, t < $k, all float64
;; (MatMulF64: float64 products by a constant matrix, the DFT's twiddles). Each output adds its
;; products in order of t (no fused multiply-add: f64x2 mul then add, two columns at a time, the
;; same bits as the scalar loop). A NaN result is stored as the canonical positive quiet NaN
;; (engines differ in a computed NaN's sign). $k = 0 gives zeros. $x [rows, k], $w [k, m], $y [rows, m]:
;; byte offsets, no overlap of y with x or w.
(func $f64_matmul (param $rows i32) (param $k i32) (param $m i32) (param $x i32) (param $w i32) (param $y i32)
  (local $r i32) (local $t i32) (local $j i32) (local $yrow i32) (local $wrow i32) (local $pairs i32)
  (local $a f64) (local $av v128) (local $p i32)
  (if (i32.or (i32.le_s (local.get $rows) (i32.const 0)) (i32.le_s (local.get $m) (i32.const 0))) (then (return)))
  (local.set $pairs (i32.and (local.get $m) (i32.const -2)))
  (loop $rows_loop
    (local.set $yrow (i32.add (local.get $y) (i32.shl (i32.mul (local.get $r) (local.get $m)) (i32.const 3))))
    (memory.fill (local.get $yrow) (i32.const 0) (i32.shl (local.get $m) (i32.const 3)))
    (local.set $t (i32.const 0))
    (block $ts_done
      (br_if $ts_done (i32.le_s (local.get $k) (i32.const 0)))
      (loop $ts
        (local.set $a (f64.load (i32.add (local.get $x)
                                         (i32.shl (i32.add (i32.mul (local.get $r) (local.get $k)) (local.get $t)) (i32.const 3)))))
        (local.set $av (f64x2.splat (local.get $a)))
        (local.set $wrow (i32.add (local.get $w) (i32.shl (i32.mul (local.get $t) (local.get $m)) (i32.const 3))))
        (local.set $j (i32.const 0))
        (block $pairs_done
          (br_if $pairs_done (i32.eqz (local.get $pairs)))
          (loop $pair
            (local.set $p (i32.shl (local.get $j) (i32.const 3)))
            (v128.store (i32.add (local.get $yrow) (local.get $p))
                        (f64x2.add (v128.load (i32.add (local.get $yrow) (local.get $p)))
                                   (f64x2.mul (local.get $av) (v128.load (i32.add (local.get $wrow) (local.get $p))))))
            (local.set $j (i32.add (local.get $j) (i32.const 2)))
            (br_if $pair (i32.lt_s (local.get $j) (local.get $pairs)))))
        (if (i32.lt_s (local.get $j) (local.get $m))
          (then
            (local.set $p (i32.shl (local.get $j) (i32.const 3)))
            (f64.store (i32.add (local.get $yrow) (local.get $p))
                       (f64.add (f64.load (i32.add (local.get $yrow) (local.get $p)))
                                (f64.mul (local.get $a) (f64.load (i32.add (local.get $wrow) (local.get $p))))))))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br_if $ts (i32.lt_s (local.get $t) (local.get $k)))))
    (local.set $j (i32.const 0))
    (loop $canonical
      (local.set $p (i32.add (local.get $yrow) (i32.shl (local.get $j) (i32.const 3))))
      (if (f64.ne (f64.load (local.get $p)) (f64.load (local.get $p)))
        (then (i64.store (local.get $p) (i64.const 0x7ff8000000000000))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br_if $canonical (i32.lt_s (local.get $j) (local.get $m))))
    (local.set $r (i32.add (local.get $r) (i32.const 1)))
    (br_if $rows_loop (i32.lt_s (local.get $r) (local.get $rows)))))

;; $x_store_float: helper, $x_store_f64 for a float dtype $t with any NaN stored as the canonical
;; positive quiet NaN of the dtype (engines differ in the sign of a computed NaN, and in what
;; f32.demote_f64 makes of one).
(func $x_store_float (param $p i32) (param $t i32) (param $v f64)
  (if (f64.eq (local.get $v) (local.get $v))
    (then (call $x_store_f64 (local.get $p) (local.get $t) (local.get $v)) (return)))
  (if (i32.eqz (local.get $t)) (then (i32.store (local.get $p) (i32.const 0x7fc00000)) (return)))
  (if (i32.eq (local.get $t) (i32.const 1)) (then (i64.store (local.get $p) (i64.const 0x7ff8000000000000)) (return)))
  (call $x_store_f64 (local.get $p) (local.get $t) (local.get $v)))
