;; f32 layer normalization over rows (ONNX LayerNormalization with the normalized axes flattened).

;; $f32_layernorm_sum: helper, the sum of $n f32 at $x (4-byte aligned), after subtracting $center
;; and squaring when $square is 1 (else the values as they are):
;;   4 lane partial sums s_l = ((0 + v_l) + v_(4+l)) + ... over i < n - n%4,
;;   total = (s0 + s1) + (s2 + s3), then + v_i for the tail in ascending i.
(func $f32_layernorm_sum (param $n i32) (param $x i32) (param $center f32) (param $square i32) (result f32)
  (local $end i32) (local $vec_end i32) (local $vc v128) (local $v v128) (local $vsum v128)
  (local $sum f32) (local $s f32)
  (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
  (local.set $vec_end (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
  (local.set $vc (f32x4.splat (local.get $center)))
  (local.set $vsum (v128.const f32x4 0 0 0 0))
  (block $vec_done
    (br_if $vec_done (i32.eq (local.get $x) (local.get $vec_end)))
    (loop $vec
      (local.set $v (v128.load (local.get $x)))
      (if (local.get $square)
        (then (local.set $v (f32x4.sub (local.get $v) (local.get $vc)))
              (local.set $v (f32x4.mul (local.get $v) (local.get $v)))))
      (local.set $vsum (f32x4.add (local.get $vsum) (local.get $v)))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (br_if $vec (i32.ne (local.get $x) (local.get $vec_end)))))
  (local.set $sum (f32.add (f32.add (f32x4.extract_lane 0 (local.get $vsum)) (f32x4.extract_lane 1 (local.get $vsum)))
                           (f32.add (f32x4.extract_lane 2 (local.get $vsum)) (f32x4.extract_lane 3 (local.get $vsum)))))
  (block $tail_done
    (br_if $tail_done (i32.eq (local.get $x) (local.get $end)))
    (loop $tail
      (local.set $s (f32.load (local.get $x)))
      (if (local.get $square)
        (then (local.set $s (f32.sub (local.get $s) (local.get $center)))
              (local.set $s (f32.mul (local.get $s) (local.get $s)))))
      (local.set $sum (f32.add (local.get $sum) (local.get $s)))
      (local.set $x (i32.add (local.get $x) (i32.const 4)))
      (br_if $tail (i32.ne (local.get $x) (local.get $end)))))
  (local.get $sum))

;; $f32_layernorm: for each of $rows rows of $n contiguous f32, in this order:
;;   mean = $f32_layernorm_sum(x) / n;  var = $f32_layernorm_sum((x - mean)^2) / n  (two passes,
;;   true divisions by f32(n));  std = f32.sqrt(var + $eps);
;;   y_i = ((x_i - mean) / std) * gamma_i + beta_i     (true division; no beta: without the add)
;;   and, when their pointers are not 0, mean_out[r] = mean and inv_std_out[r] = 1 / std.
;;   $rows >= 0, $n >= 1; $x, $gamma (n f32), $beta (n f32, or 0 for none), $y byte offsets
;;   (4-byte aligned is enough); y may alias x exactly; gamma/beta must not overlap y.
;; Every lane and tail element uses the same IEEE operations, so bits never depend on position.
(func $f32_layernorm
  (param $rows i32) (param $n i32) (param $x i32) (param $gamma i32) (param $beta i32) (param $y i32)
  (param $mean_out i32) (param $inv_std_out i32) (param $eps f32)
  (local $nf f32) (local $mean f32) (local $std f32) (local $i i32) (local $row_bytes i32) (local $vec_bytes i32)
  (local $vmean v128) (local $vstd v128) (local $v v128)
  (if (i32.or (i32.le_s (local.get $rows) (i32.const 0)) (i32.le_s (local.get $n) (i32.const 0)))
    (then (return)))
  (local.set $nf (f32.convert_i32_s (local.get $n)))
  (local.set $row_bytes (i32.shl (local.get $n) (i32.const 2)))
  (local.set $vec_bytes (i32.and (local.get $row_bytes) (i32.const -16)))
  (loop $row
    (local.set $mean (f32.div (call $f32_layernorm_sum (local.get $n) (local.get $x) (f32.const 0) (i32.const 0))
                              (local.get $nf)))
    (local.set $std (f32.sqrt (f32.add (f32.div (call $f32_layernorm_sum (local.get $n) (local.get $x) (local.get $mean)
                                                      (i32.const 1))
                                                (local.get $nf))
                                       (local.get $eps))))
    (if (local.get $mean_out)
      (then (f32.store (local.get $mean_out) (local.get $mean))
            (local.set $mean_out (i32.add (local.get $mean_out) (i32.const 4)))))
    (if (local.get $inv_std_out)
      (then (f32.store (local.get $inv_std_out) (f32.div (f32.const 1) (local.get $std)))
            (local.set $inv_std_out (i32.add (local.get $inv_std_out) (i32.const 4)))))
    (local.set $vmean (f32x4.splat (local.get $mean)))
    (local.set $vstd (f32x4.splat (local.get $std)))
    (local.set $i (i32.const 0))
    (block $vec_done
      (br_if $vec_done (i32.eqz (local.get $vec_bytes)))
      (loop $vec
        (local.set $v (f32x4.mul (f32x4.div (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $i))) (local.get $vmean))
                                            (local.get $vstd))
                                 (v128.load (i32.add (local.get $gamma) (local.get $i)))))
        (if (local.get $beta)
          (then (local.set $v (f32x4.add (local.get $v) (v128.load (i32.add (local.get $beta) (local.get $i)))))))
        (v128.store (i32.add (local.get $y) (local.get $i)) (local.get $v))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br_if $vec (i32.ne (local.get $i) (local.get $vec_bytes)))))
    (block $tail_done
      (br_if $tail_done (i32.eq (local.get $i) (local.get $row_bytes)))
      (loop $tail
        (f32.store (i32.add (local.get $y) (local.get $i))
                   (f32.add (f32.mul (f32.div (f32.sub (f32.load (i32.add (local.get $x) (local.get $i))) (local.get $mean))
                                              (local.get $std))
                                     (f32.load (i32.add (local.get $gamma) (local.get $i))))
                            (if (result f32) (local.get $beta)
                              (then (f32.load (i32.add (local.get $beta) (local.get $i))))
                              (else (f32.const -0)))))  ;; x + -0 = x: no bias, same bits
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br_if $tail (i32.ne (local.get $i) (local.get $row_bytes)))))
    (local.set $x (i32.add (local.get $x) (local.get $row_bytes)))
    (local.set $y (i32.add (local.get $y) (local.get $row_bytes)))
    (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
    (br_if $row (local.get $rows))))
