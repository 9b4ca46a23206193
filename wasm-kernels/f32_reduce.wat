;; f32 reductions over a contiguous group of axes, viewed as x[outer, r, inner] -> y[outer, inner]:
;; sums (ReduceSum, ReduceMean; ReduceLogSum is a sum then f32_vlog), maxima and minima
;; (ReduceMax, ReduceMin), norms (ReduceL1, ReduceL2, ReduceSumSquare) and log-sum-exp
;; (ReduceLogSumExp), SIMD128 over the rows ($inner == 1) or over the columns ($inner > 1). The
;; other dtypes and ReduceProd take the generic kernel (x_reduce.wat).

;; $f32_rsum: y[o, i] = (sum_j x[o, j, i]) / $divisor for o < $outer, j < $r, i < $inner
;; ($divisor = r for a mean, 1 for a sum: x / 1 is exact).
;;   $inner == 1 (the reduced axes are the last ones): each row of r is summed with 4 lane partial
;;   sums over j < r - r%4, (s0 + s1) + (s2 + s3), then the tail in ascending j (as f32_softmax);
;;   $inner > 1: acc_i = ((0 + x[o,0,i]) + x[o,1,i]) + ... in ascending j, vectorized over i
;;   (16 columns at a time, then 4, then one).
;;   $outer, $r, $inner >= 0; $x, $y byte offsets (4-byte aligned is enough); no overlap.
(func $f32_rsum (param $outer i32) (param $r i32) (param $inner i32) (param $x i32) (param $y i32) (param $divisor f32)
  (local $vdiv v128) (local $acc v128) (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $sum f32) (local $j i32) (local $i i32) (local $p i32)
  (local $row_bytes i32) (local $vec_bytes i32) (local $inner_bytes i32) (local $inner_vec i32)
  (if (i32.or (i32.le_s (local.get $outer) (i32.const 0)) (i32.le_s (local.get $inner) (i32.const 0)))
    (then (return)))
  (local.set $vdiv (f32x4.splat (local.get $divisor)))
  (if (i32.eq (local.get $inner) (i32.const 1))
    (then
      (local.set $row_bytes (i32.shl (local.get $r) (i32.const 2)))
      (local.set $vec_bytes (i32.and (local.get $row_bytes) (i32.const -16)))
      (loop $rows
        (local.set $acc (v128.const f32x4 0 0 0 0))
        (local.set $j (i32.const 0))
        (block $vec_done
          (br_if $vec_done (i32.eqz (local.get $vec_bytes)))
          (loop $vec
            (local.set $acc (f32x4.add (local.get $acc) (v128.load (i32.add (local.get $x) (local.get $j)))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br_if $vec (i32.ne (local.get $j) (local.get $vec_bytes)))))
        (local.set $sum (f32.add (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
                                 (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
        (block $tail_done
          (br_if $tail_done (i32.eq (local.get $j) (local.get $row_bytes)))
          (loop $tail
            (local.set $sum (f32.add (local.get $sum) (f32.load (i32.add (local.get $x) (local.get $j)))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br_if $tail (i32.ne (local.get $j) (local.get $row_bytes)))))
        (f32.store (local.get $y) (f32.div (local.get $sum) (local.get $divisor)))
        (local.set $x (i32.add (local.get $x) (local.get $row_bytes)))
        (local.set $y (i32.add (local.get $y) (i32.const 4)))
        (local.set $outer (i32.sub (local.get $outer) (i32.const 1)))
        (br_if $rows (local.get $outer)))
      (return)))
  (local.set $inner_bytes (i32.shl (local.get $inner) (i32.const 2)))
  (local.set $inner_vec (i32.and (local.get $inner_bytes) (i32.const -16)))
  (loop $outers
    ;; 16 columns at a time (four independent sums: a squeeze-excitation's mean over an NHWC map's
    ;; rows is otherwise one dependent chain per 4 columns), then 4; each column's additions are
    ;; the same ascending ones either way
    (local.set $i (i32.const 0))
    (block $cols16_done
      (br_if $cols16_done (i32.lt_s (local.get $inner_vec) (i32.const 64)))
      (loop $cols16
        (local.set $a0 (v128.const f32x4 0 0 0 0))
        (local.set $a1 (v128.const f32x4 0 0 0 0))
        (local.set $a2 (v128.const f32x4 0 0 0 0))
        (local.set $a3 (v128.const f32x4 0 0 0 0))
        (local.set $p (i32.add (local.get $x) (local.get $i)))
        (local.set $j (local.get $r))
        (block $down16_done
          (br_if $down16_done (i32.le_s (local.get $j) (i32.const 0)))
          (loop $down16
            (local.set $a0 (f32x4.add (local.get $a0) (v128.load (local.get $p))))
            (local.set $a1 (f32x4.add (local.get $a1) (v128.load offset=16 (local.get $p))))
            (local.set $a2 (f32x4.add (local.get $a2) (v128.load offset=32 (local.get $p))))
            (local.set $a3 (f32x4.add (local.get $a3) (v128.load offset=48 (local.get $p))))
            (local.set $p (i32.add (local.get $p) (local.get $inner_bytes)))
            (local.set $j (i32.sub (local.get $j) (i32.const 1)))
            (br_if $down16 (local.get $j))))
        (local.set $p (i32.add (local.get $y) (local.get $i)))
        (v128.store (local.get $p) (f32x4.div (local.get $a0) (local.get $vdiv)))
        (v128.store offset=16 (local.get $p) (f32x4.div (local.get $a1) (local.get $vdiv)))
        (v128.store offset=32 (local.get $p) (f32x4.div (local.get $a2) (local.get $vdiv)))
        (v128.store offset=48 (local.get $p) (f32x4.div (local.get $a3) (local.get $vdiv)))
        (local.set $i (i32.add (local.get $i) (i32.const 64)))
        (br_if $cols16 (i32.le_s (i32.add (local.get $i) (i32.const 64)) (local.get $inner_vec)))))
    (block $cols_done
      (br_if $cols_done (i32.eq (local.get $i) (local.get $inner_vec)))
      (br_if $cols_done (i32.eqz (local.get $inner_vec)))
      (loop $cols
        (local.set $acc (v128.const f32x4 0 0 0 0))
        (local.set $p (i32.add (local.get $x) (local.get $i)))
        (local.set $j (local.get $r))
        (block $down_done
          (br_if $down_done (i32.le_s (local.get $j) (i32.const 0)))
          (loop $down
            (local.set $acc (f32x4.add (local.get $acc) (v128.load (local.get $p))))
            (local.set $p (i32.add (local.get $p) (local.get $inner_bytes)))
            (local.set $j (i32.sub (local.get $j) (i32.const 1)))
            (br_if $down (local.get $j))))
        (v128.store (i32.add (local.get $y) (local.get $i)) (f32x4.div (local.get $acc) (local.get $vdiv)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br_if $cols (i32.ne (local.get $i) (local.get $inner_vec)))))
    ;; column tail: one output at a time, same additions
    (block $tail_cols_done
      (br_if $tail_cols_done (i32.eq (local.get $i) (local.get $inner_bytes)))
      (loop $tail_cols
        (local.set $sum (f32.const 0))
        (local.set $p (i32.add (local.get $x) (local.get $i)))
        (local.set $j (local.get $r))
        (block $tail_down_done
          (br_if $tail_down_done (i32.le_s (local.get $j) (i32.const 0)))
          (loop $tail_down
            (local.set $sum (f32.add (local.get $sum) (f32.load (local.get $p))))
            (local.set $p (i32.add (local.get $p) (local.get $inner_bytes)))
            (local.set $j (i32.sub (local.get $j) (i32.const 1)))
            (br_if $tail_down (local.get $j))))
        (f32.store (i32.add (local.get $y) (local.get $i)) (f32.div (local.get $sum) (local.get $divisor)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br_if $tail_cols (i32.ne (local.get $i) (local.get $inner_bytes)))))
    (local.set $x (i32.add (local.get $x) (i32.mul (local.get $r) (local.get $inner_bytes))))
    (local.set $y (i32.add (local.get $y) (local.get $inner_bytes)))
    (local.set $outer (i32.sub (local.get $outer) (i32.const 1)))
    (br_if $outers (local.get $outer))))

;; $f32_rmax: y[o, i] = max_j x[o, j, i] ($min = 0) or min_j x[o, j, i] ($min = 1) for o < $outer,
;; j < $r, i < $inner (ReduceMax, ReduceMin); -inf (max) or +inf (min) when $r = 0.
;;   wasm's f32.max/f32.min: NaN propagates, max(-0, +0) = +0 and min(-0, +0) = -0, so the result
;;   does not depend on the order of the elements (only a NaN's payload may), and the kernel keeps
;;   four independent maxima to hide the latency of f32x4.max.
;;   The minimum is computed as -max(-x) (one body; flipping the sign bit is exact).
;;   $inner == 1: each row of r in blocks of 16 then 4 (four v128 maxima), then the tail;
;;   $inner > 1: vectorized over i, 16 columns at a time, then 4, then one at a time, down the r
;;   rows. $outer, $r, $inner >= 0; $x, $y byte offsets (4-byte aligned is enough); no overlap.
(func $f32_rmax (param $outer i32) (param $r i32) (param $inner i32) (param $x i32) (param $y i32) (param $min i32)
  (local $flip v128) (local $sign i32) (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
  (local $m f32) (local $j i32) (local $i i32) (local $p i32)
  (local $row_bytes i32) (local $vec_bytes i32) (local $blk_bytes i32) (local $inner_bytes i32) (local $inner_vec i32)
  (local $inner_blk i32)
  (if (i32.or (i32.le_s (local.get $outer) (i32.const 0)) (i32.le_s (local.get $inner) (i32.const 0)))
    (then (return)))
  (local.set $sign (select (i32.const 0x80000000) (i32.const 0) (local.get $min)))
  (local.set $flip (i32x4.splat (local.get $sign)))
  (if (i32.eq (local.get $inner) (i32.const 1))
    (then
      (local.set $row_bytes (i32.shl (local.get $r) (i32.const 2)))
      (local.set $vec_bytes (i32.and (local.get $row_bytes) (i32.const -16)))
      (local.set $blk_bytes (i32.and (local.get $row_bytes) (i32.const -64)))
      (loop $rows
        (local.set $a0 (v128.const f32x4 -inf -inf -inf -inf))
        (local.set $a1 (local.get $a0))
        (local.set $a2 (local.get $a0))
        (local.set $a3 (local.get $a0))
        (local.set $j (i32.const 0))
        (block $blk_done
          (br_if $blk_done (i32.eqz (local.get $blk_bytes)))
          (loop $blk
            (local.set $p (i32.add (local.get $x) (local.get $j)))
            (local.set $a0 (f32x4.max (local.get $a0) (v128.xor (v128.load (local.get $p)) (local.get $flip))))
            (local.set $a1 (f32x4.max (local.get $a1) (v128.xor (v128.load offset=16 (local.get $p)) (local.get $flip))))
            (local.set $a2 (f32x4.max (local.get $a2) (v128.xor (v128.load offset=32 (local.get $p)) (local.get $flip))))
            (local.set $a3 (f32x4.max (local.get $a3) (v128.xor (v128.load offset=48 (local.get $p)) (local.get $flip))))
            (local.set $j (i32.add (local.get $j) (i32.const 64)))
            (br_if $blk (i32.ne (local.get $j) (local.get $blk_bytes)))))
        (block $vec_done
          (br_if $vec_done (i32.eq (local.get $j) (local.get $vec_bytes)))
          (loop $vec
            (local.set $a0 (f32x4.max (local.get $a0)
                                      (v128.xor (v128.load (i32.add (local.get $x) (local.get $j))) (local.get $flip))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br_if $vec (i32.ne (local.get $j) (local.get $vec_bytes)))))
        (local.set $a0 (f32x4.max (f32x4.max (local.get $a0) (local.get $a1)) (f32x4.max (local.get $a2) (local.get $a3))))
        (local.set $m (f32.max (f32.max (f32x4.extract_lane 0 (local.get $a0)) (f32x4.extract_lane 1 (local.get $a0)))
                               (f32.max (f32x4.extract_lane 2 (local.get $a0)) (f32x4.extract_lane 3 (local.get $a0)))))
        (block $tail_done
          (br_if $tail_done (i32.eq (local.get $j) (local.get $row_bytes)))
          (loop $tail
            (local.set $m (f32.max (local.get $m)
                                   (f32.reinterpret_i32 (i32.xor (i32.load (i32.add (local.get $x) (local.get $j)))
                                                                 (local.get $sign)))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br_if $tail (i32.ne (local.get $j) (local.get $row_bytes)))))
        (i32.store (local.get $y) (i32.xor (i32.reinterpret_f32 (local.get $m)) (local.get $sign)))
        (local.set $x (i32.add (local.get $x) (local.get $row_bytes)))
        (local.set $y (i32.add (local.get $y) (i32.const 4)))
        (local.set $outer (i32.sub (local.get $outer) (i32.const 1)))
        (br_if $rows (local.get $outer)))
      (return)))
  (local.set $inner_bytes (i32.shl (local.get $inner) (i32.const 2)))
  (local.set $inner_vec (i32.and (local.get $inner_bytes) (i32.const -16)))
  (local.set $inner_blk (i32.and (local.get $inner_bytes) (i32.const -64)))
  (loop $outers
    (local.set $i (i32.const 0))
    ;; 16 columns at a time: four independent maxima, down the r rows
    (block $blk_cols_done
      (br_if $blk_cols_done (i32.eqz (local.get $inner_blk)))
      (loop $blk_cols
        (local.set $a0 (v128.const f32x4 -inf -inf -inf -inf))
        (local.set $a1 (local.get $a0))
        (local.set $a2 (local.get $a0))
        (local.set $a3 (local.get $a0))
        (local.set $p (i32.add (local.get $x) (local.get $i)))
        (local.set $j (local.get $r))
        (block $blk_down_done
          (br_if $blk_down_done (i32.le_s (local.get $j) (i32.const 0)))
          (loop $blk_down
            (local.set $a0 (f32x4.max (local.get $a0) (v128.xor (v128.load (local.get $p)) (local.get $flip))))
            (local.set $a1 (f32x4.max (local.get $a1) (v128.xor (v128.load offset=16 (local.get $p)) (local.get $flip))))
            (local.set $a2 (f32x4.max (local.get $a2) (v128.xor (v128.load offset=32 (local.get $p)) (local.get $flip))))
            (local.set $a3 (f32x4.max (local.get $a3) (v128.xor (v128.load offset=48 (local.get $p)) (local.get $flip))))
            (local.set $p (i32.add (local.get $p) (local.get $inner_bytes)))
            (local.set $j (i32.sub (local.get $j) (i32.const 1)))
            (br_if $blk_down (local.get $j))))
        (local.set $p (i32.add (local.get $y) (local.get $i)))
        (v128.store (local.get $p) (v128.xor (local.get $a0) (local.get $flip)))
        (v128.store offset=16 (local.get $p) (v128.xor (local.get $a1) (local.get $flip)))
        (v128.store offset=32 (local.get $p) (v128.xor (local.get $a2) (local.get $flip)))
        (v128.store offset=48 (local.get $p) (v128.xor (local.get $a3) (local.get $flip)))
        (local.set $i (i32.add (local.get $i) (i32.const 64)))
        (br_if $blk_cols (i32.ne (local.get $i) (local.get $inner_blk)))))
    ;; 4 columns at a time
    (block $cols_done
      (br_if $cols_done (i32.eq (local.get $i) (local.get $inner_vec)))
      (loop $cols
        (local.set $a0 (v128.const f32x4 -inf -inf -inf -inf))
        (local.set $p (i32.add (local.get $x) (local.get $i)))
        (local.set $j (local.get $r))
        (block $down_done
          (br_if $down_done (i32.le_s (local.get $j) (i32.const 0)))
          (loop $down
            (local.set $a0 (f32x4.max (local.get $a0) (v128.xor (v128.load (local.get $p)) (local.get $flip))))
            (local.set $p (i32.add (local.get $p) (local.get $inner_bytes)))
            (local.set $j (i32.sub (local.get $j) (i32.const 1)))
            (br_if $down (local.get $j))))
        (v128.store (i32.add (local.get $y) (local.get $i)) (v128.xor (local.get $a0) (local.get $flip)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br_if $cols (i32.ne (local.get $i) (local.get $inner_vec)))))
    ;; column tail: one output at a time
    (block $tail_cols_done
      (br_if $tail_cols_done (i32.eq (local.get $i) (local.get $inner_bytes)))
      (loop $tail_cols
        (local.set $m (f32.const -inf))
        (local.set $p (i32.add (local.get $x) (local.get $i)))
        (local.set $j (local.get $r))
        (block $tail_down_done
          (br_if $tail_down_done (i32.le_s (local.get $j) (i32.const 0)))
          (loop $tail_down
            (local.set $m (f32.max (local.get $m)
                                   (f32.reinterpret_i32 (i32.xor (i32.load (local.get $p)) (local.get $sign)))))
            (local.set $p (i32.add (local.get $p) (local.get $inner_bytes)))
            (local.set $j (i32.sub (local.get $j) (i32.const 1)))
            (br_if $tail_down (local.get $j))))
        (i32.store (i32.add (local.get $y) (local.get $i)) (i32.xor (i32.reinterpret_f32 (local.get $m)) (local.get $sign)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br_if $tail_cols (i32.ne (local.get $i) (local.get $inner_bytes)))))
    (local.set $x (i32.add (local.get $x) (i32.mul (local.get $r) (local.get $inner_bytes))))
    (local.set $y (i32.add (local.get $y) (local.get $inner_bytes)))
    (local.set $outer (i32.sub (local.get $outer) (i32.const 1)))
    (br_if $outers (local.get $outer))))

;; $f32_rnorm: y[o, i] = sum_j |x[o, j, i]| ($mode 0, ReduceL1), sum_j x[o, j, i]^2 ($mode 1,
;; ReduceSumSquare) or sqrt of that sum ($mode 2, ReduceL2), in f32; 0 when $r = 0.
;;   The terms a_j = |x_j| (mode 0) or |x_j| * |x_j| (modes 1, 2: the square of |x| is the square
;;   of x, bit for bit) are added in f32_rsum's order: $inner == 1: 4 lane partial sums over
;;   j < r - r%4, (s0 + s1) + (s2 + s3), then the tail in ascending j; $inner > 1:
;;   ((0 + a_0) + a_1) + ... per column, vectorized over i. sqrt is f32.sqrt (correctly rounded).
;;   $outer, $r, $inner >= 0; $x, $y byte offsets (4-byte aligned is enough); no overlap.
(func $f32_rnorm (param $outer i32) (param $r i32) (param $inner i32) (param $x i32) (param $y i32) (param $mode i32)
  (local $l1 i32) (local $root i32) (local $acc v128) (local $a v128) (local $sum f32) (local $s f32)
  (local $j i32) (local $i i32) (local $p i32)
  (local $row_bytes i32) (local $vec_bytes i32) (local $inner_bytes i32) (local $inner_vec i32)
  (if (i32.or (i32.le_s (local.get $outer) (i32.const 0)) (i32.le_s (local.get $inner) (i32.const 0)))
    (then (return)))
  (local.set $l1 (i32.eqz (local.get $mode)))
  (local.set $root (i32.eq (local.get $mode) (i32.const 2)))
  (if (i32.eq (local.get $inner) (i32.const 1))
    (then
      (local.set $row_bytes (i32.shl (local.get $r) (i32.const 2)))
      (local.set $vec_bytes (i32.and (local.get $row_bytes) (i32.const -16)))
      (loop $rows
        (local.set $acc (v128.const f32x4 0 0 0 0))
        (local.set $j (i32.const 0))
        (block $vec_done
          (br_if $vec_done (i32.eqz (local.get $vec_bytes)))
          (loop $vec
            (local.set $a (f32x4.abs (v128.load (i32.add (local.get $x) (local.get $j)))))
            (local.set $acc (f32x4.add (local.get $acc)
                                       (select (result v128) (local.get $a) (f32x4.mul (local.get $a) (local.get $a))
                                               (local.get $l1))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br_if $vec (i32.ne (local.get $j) (local.get $vec_bytes)))))
        (local.set $sum (f32.add (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
                                 (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
        (block $tail_done
          (br_if $tail_done (i32.eq (local.get $j) (local.get $row_bytes)))
          (loop $tail
            (local.set $s (f32.abs (f32.load (i32.add (local.get $x) (local.get $j)))))
            (local.set $sum (f32.add (local.get $sum)
                                     (select (local.get $s) (f32.mul (local.get $s) (local.get $s)) (local.get $l1))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br_if $tail (i32.ne (local.get $j) (local.get $row_bytes)))))
        (f32.store (local.get $y) (select (f32.sqrt (local.get $sum)) (local.get $sum) (local.get $root)))
        (local.set $x (i32.add (local.get $x) (local.get $row_bytes)))
        (local.set $y (i32.add (local.get $y) (i32.const 4)))
        (local.set $outer (i32.sub (local.get $outer) (i32.const 1)))
        (br_if $rows (local.get $outer)))
      (return)))
  (local.set $inner_bytes (i32.shl (local.get $inner) (i32.const 2)))
  (local.set $inner_vec (i32.and (local.get $inner_bytes) (i32.const -16)))
  (loop $outers
    (local.set $i (i32.const 0))
    (block $cols_done
      (br_if $cols_done (i32.eqz (local.get $inner_vec)))
      (loop $cols
        (local.set $acc (v128.const f32x4 0 0 0 0))
        (local.set $p (i32.add (local.get $x) (local.get $i)))
        (local.set $j (local.get $r))
        (block $down_done
          (br_if $down_done (i32.le_s (local.get $j) (i32.const 0)))
          (loop $down
            (local.set $a (f32x4.abs (v128.load (local.get $p))))
            (local.set $acc (f32x4.add (local.get $acc)
                                       (select (result v128) (local.get $a) (f32x4.mul (local.get $a) (local.get $a))
                                               (local.get $l1))))
            (local.set $p (i32.add (local.get $p) (local.get $inner_bytes)))
            (local.set $j (i32.sub (local.get $j) (i32.const 1)))
            (br_if $down (local.get $j))))
        (v128.store (i32.add (local.get $y) (local.get $i))
                    (select (result v128) (f32x4.sqrt (local.get $acc)) (local.get $acc) (local.get $root)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br_if $cols (i32.ne (local.get $i) (local.get $inner_vec)))))
    (block $tail_cols_done
      (br_if $tail_cols_done (i32.eq (local.get $i) (local.get $inner_bytes)))
      (loop $tail_cols
        (local.set $sum (f32.const 0))
        (local.set $p (i32.add (local.get $x) (local.get $i)))
        (local.set $j (local.get $r))
        (block $tail_down_done
          (br_if $tail_down_done (i32.le_s (local.get $j) (i32.const 0)))
          (loop $tail_down
            (local.set $s (f32.abs (f32.load (local.get $p))))
            (local.set $sum (f32.add (local.get $sum)
                                     (select (local.get $s) (f32.mul (local.get $s) (local.get $s)) (local.get $l1))))
            (local.set $p (i32.add (local.get $p) (local.get $inner_bytes)))
            (local.set $j (i32.sub (local.get $j) (i32.const 1)))
            (br_if $tail_down (local.get $j))))
        (f32.store (i32.add (local.get $y) (local.get $i)) (select (f32.sqrt (local.get $sum)) (local.get $sum) (local.get $root)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br_if $tail_cols (i32.ne (local.get $i) (local.get $inner_bytes)))))
    (local.set $x (i32.add (local.get $x) (i32.mul (local.get $r) (local.get $inner_bytes))))
    (local.set $y (i32.add (local.get $y) (local.get $inner_bytes)))
    (local.set $outer (i32.sub (local.get $outer) (i32.const 1)))
    (br_if $outers (local.get $outer))))

;; $f32_rlogsumexp: y[o, i] = log(sum_j exp(x[o, j, i])) (ReduceLogSumExp), computed as
;; mx + log(sum_j exp(x_j - mx)) with mx = max_j x_j, exp = $f32_vexp (f32_softmax.wat) and
;; log = $f32x4_log (f32_vunary.wat); y = mx when mx is +-inf (an all -inf or empty set gives
;; -inf, a +inf element +inf), NaN in the set gives NaN.
;;   $inner == 1: per row, mx with 4 lane maxima then the tail (as $f32_rmax); the sum of
;;   exp(x_j - mx) with 4 lane partial sums over j < r - r%4, (s0 + s1) + (s2 + s3), then the tail
;;   in ascending j (as f32_logsoftmax); y = log(sum) + mx.
;;   $inner > 1: per column, mx = max over j in ascending order, sum = ((0 + e_0) + e_1) + ...;
;;   4 columns at a time, the last inner % 4 one at a time through the same vector code (lane 0 of
;;   a splat), so a column's bits do not depend on its position.
;;   $outer, $r, $inner >= 0; $x, $y byte offsets (4-byte aligned is enough); no overlap.
(func $f32_rlogsumexp (param $outer i32) (param $r i32) (param $inner i32) (param $x i32) (param $y i32)
  (local $vmx v128) (local $vsum v128) (local $mx f32) (local $sum f32) (local $j i32) (local $i i32)
  (local $row_bytes i32) (local $vec_bytes i32) (local $inner_bytes i32) (local $inner_vec i32)
  (if (i32.or (i32.le_s (local.get $outer) (i32.const 0)) (i32.le_s (local.get $inner) (i32.const 0)))
    (then (return)))
  (if (i32.eq (local.get $inner) (i32.const 1))
    (then
      (local.set $row_bytes (i32.shl (local.get $r) (i32.const 2)))
      (local.set $vec_bytes (i32.and (local.get $row_bytes) (i32.const -16)))
      (loop $rows
        (block $row_done
          ;; 1. row maximum
          (local.set $vmx (v128.const f32x4 -inf -inf -inf -inf))
          (local.set $j (i32.const 0))
          (block $max_vec_done
            (br_if $max_vec_done (i32.eqz (local.get $vec_bytes)))
            (loop $max_vec
              (local.set $vmx (f32x4.max (local.get $vmx) (v128.load (i32.add (local.get $x) (local.get $j)))))
              (local.set $j (i32.add (local.get $j) (i32.const 16)))
              (br_if $max_vec (i32.ne (local.get $j) (local.get $vec_bytes)))))
          (local.set $mx (f32.max (f32.max (f32x4.extract_lane 0 (local.get $vmx)) (f32x4.extract_lane 1 (local.get $vmx)))
                                  (f32.max (f32x4.extract_lane 2 (local.get $vmx)) (f32x4.extract_lane 3 (local.get $vmx)))))
          (block $max_tail_done
            (br_if $max_tail_done (i32.eq (local.get $j) (local.get $row_bytes)))
            (loop $max_tail
              (local.set $mx (f32.max (local.get $mx) (f32.load (i32.add (local.get $x) (local.get $j)))))
              (local.set $j (i32.add (local.get $j) (i32.const 4)))
              (br_if $max_tail (i32.ne (local.get $j) (local.get $row_bytes)))))
          (f32.store (local.get $y) (local.get $mx))
          (br_if $row_done (f32.eq (f32.abs (local.get $mx)) (f32.const inf)))
          ;; 2. sum of exp(x_j - mx)
          (local.set $vmx (f32x4.splat (local.get $mx)))
          (local.set $vsum (v128.const f32x4 0 0 0 0))
          (local.set $j (i32.const 0))
          (block $exp_vec_done
            (br_if $exp_vec_done (i32.eqz (local.get $vec_bytes)))
            (loop $exp_vec
              (local.set $vsum (f32x4.add (local.get $vsum)
                                          (call $f32_vexp (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $j)))
                                                                     (local.get $vmx)))))
              (local.set $j (i32.add (local.get $j) (i32.const 16)))
              (br_if $exp_vec (i32.ne (local.get $j) (local.get $vec_bytes)))))
          (local.set $sum (f32.add (f32.add (f32x4.extract_lane 0 (local.get $vsum)) (f32x4.extract_lane 1 (local.get $vsum)))
                                   (f32.add (f32x4.extract_lane 2 (local.get $vsum)) (f32x4.extract_lane 3 (local.get $vsum)))))
          (block $exp_tail_done
            (br_if $exp_tail_done (i32.eq (local.get $j) (local.get $row_bytes)))
            (loop $exp_tail
              (local.set $sum (f32.add (local.get $sum)
                                       (f32x4.extract_lane 0
                                         (call $f32_vexp (f32x4.splat (f32.sub (f32.load (i32.add (local.get $x) (local.get $j)))
                                                                               (local.get $mx)))))))
              (local.set $j (i32.add (local.get $j) (i32.const 4)))
              (br_if $exp_tail (i32.ne (local.get $j) (local.get $row_bytes)))))
          ;; 3. log(sum) + mx
          (f32.store (local.get $y) (f32.add (f32x4.extract_lane 0 (call $f32x4_log (f32x4.splat (local.get $sum))))
                                             (local.get $mx))))
        (local.set $x (i32.add (local.get $x) (local.get $row_bytes)))
        (local.set $y (i32.add (local.get $y) (i32.const 4)))
        (local.set $outer (i32.sub (local.get $outer) (i32.const 1)))
        (br_if $rows (local.get $outer)))
      (return)))
  (local.set $inner_bytes (i32.shl (local.get $inner) (i32.const 2)))
  (local.set $inner_vec (i32.and (local.get $inner_bytes) (i32.const -16)))
  (loop $outers
    (local.set $i (i32.const 0))
    (block $cols_done
      (br_if $cols_done (i32.eqz (local.get $inner_vec)))
      (loop $cols
        (v128.store (i32.add (local.get $y) (local.get $i))
                    (call $f32x4_rlogsumexp_cols (i32.add (local.get $x) (local.get $i)) (local.get $r)
                          (local.get $inner_bytes) (i32.const 0)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br_if $cols (i32.ne (local.get $i) (local.get $inner_vec)))))
    (block $tail_cols_done
      (br_if $tail_cols_done (i32.eq (local.get $i) (local.get $inner_bytes)))
      (loop $tail_cols
        (f32.store (i32.add (local.get $y) (local.get $i))
                   (f32x4.extract_lane 0 (call $f32x4_rlogsumexp_cols (i32.add (local.get $x) (local.get $i)) (local.get $r)
                                               (local.get $inner_bytes) (i32.const 1))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br_if $tail_cols (i32.ne (local.get $i) (local.get $inner_bytes)))))
    (local.set $x (i32.add (local.get $x) (i32.mul (local.get $r) (local.get $inner_bytes))))
    (local.set $y (i32.add (local.get $y) (local.get $inner_bytes)))
    (local.set $outer (i32.sub (local.get $outer) (i32.const 1)))
    (br_if $outers (local.get $outer))))

;; $f32x4_rlogsumexp_cols: helper of $f32_rlogsumexp, the log-sum-exp of 4 adjacent columns
;; ($one = 0) or of one column splat to every lane ($one = 1), over $r rows $stride bytes apart
;; starting at $p: mx = max in ascending j, sum = ((0 + exp(x_0 - mx)) + exp(x_1 - mx)) + ...,
;; log(sum) + mx, or mx in lanes where mx is +-inf.
(func $f32x4_rlogsumexp_cols (param $p i32) (param $r i32) (param $stride i32) (param $one i32) (result v128)
  (local $q i32) (local $j i32) (local $vmx v128) (local $vsum v128)
  (local.set $vmx (v128.const f32x4 -inf -inf -inf -inf))
  (local.set $q (local.get $p))
  (local.set $j (local.get $r))
  (block $max_done
    (br_if $max_done (i32.le_s (local.get $j) (i32.const 0)))
    (loop $max
      (local.set $vmx (f32x4.max (local.get $vmx)
                                 (if (result v128) (local.get $one)
                                   (then (v128.load32_splat (local.get $q))) (else (v128.load (local.get $q))))))
      (local.set $q (i32.add (local.get $q) (local.get $stride)))
      (local.set $j (i32.sub (local.get $j) (i32.const 1)))
      (br_if $max (local.get $j))))
  (local.set $vsum (v128.const f32x4 0 0 0 0))
  (local.set $q (local.get $p))
  (local.set $j (local.get $r))
  (block $sum_done
    (br_if $sum_done (i32.le_s (local.get $j) (i32.const 0)))
    (loop $sum
      (local.set $vsum (f32x4.add (local.get $vsum)
                                  (call $f32_vexp (f32x4.sub (if (result v128) (local.get $one)
                                                               (then (v128.load32_splat (local.get $q)))
                                                               (else (v128.load (local.get $q))))
                                                             (local.get $vmx)))))
      (local.set $q (i32.add (local.get $q) (local.get $stride)))
      (local.set $j (i32.sub (local.get $j) (i32.const 1)))
      (br_if $sum (local.get $j))))
  (v128.bitselect (local.get $vmx)
                  (f32x4.add (call $f32x4_log (local.get $vsum)) (local.get $vmx))
                  (f32x4.eq (f32x4.abs (local.get $vmx)) (v128.const f32x4 inf inf inf inf))))
