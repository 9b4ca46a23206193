;; f32 sum reductions (ReduceSum, ReduceMean) over a contiguous group of axes, viewed as
;; x[outer, r, inner] -> y[outer, inner].

;; $f32_rsum: y[o, i] = (sum_j x[o, j, i]) / $divisor for o < $outer, j < $r, i < $inner
;; ($divisor = r for a mean, 1 for a sum: x / 1 is exact).
;;   $inner == 1 (the reduced axes are the last ones): each row of r is summed with 4 lane partial
;;   sums over j < r - r%4, (s0 + s1) + (s2 + s3), then the tail in ascending j (as f32_softmax);
;;   $inner > 1: acc_i = ((0 + x[o,0,i]) + x[o,1,i]) + ... in ascending j, vectorized over i.
;;   $outer, $r, $inner >= 0; $x, $y byte offsets (4-byte aligned is enough); no overlap.
(func $f32_rsum (param $outer i32) (param $r i32) (param $inner i32) (param $x i32) (param $y i32) (param $divisor f32)
  (local $vdiv v128) (local $acc v128) (local $sum f32) (local $j i32) (local $i i32) (local $p i32)
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
    ;; vector columns: 4 outputs at a time, summing down the r rows
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
