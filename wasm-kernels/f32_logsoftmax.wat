;; f32 log-softmax over rows, with exp ($f32_vexp, f32_softmax.wat) and log ($f32x4_log,
;; f32_vunary.wat) as polynomials in wat.

;; $f32_logsoftmax: y[r, :] = log_softmax(x[r, :]) for $rows rows of $n contiguous f32.
;;   $rows >= 0, $n >= 0; $x, $y byte offsets (4-byte aligned is enough); y == x allowed (exact
;;   aliasing only).
;; Per row, in this order (tests/kernels/reference_norm.py mirrors it):
;;   mx = max_i x_i (f32 max: NaN propagates); d_i = x_i - mx, stored into y;
;;   s = sum_i $f32_vexp(d_i): 4 lane partial sums over the vector part (i < n - n%4),
;;   (s0 + s1) + (s2 + s3), then the tail in ascending i (as f32_softmax sums);
;;   l = $f32x4_log(s) (lane 0 of a splat); y_i = d_i - l.
;; s >= 1 (the maximum contributes exp(0) = 1), so l is finite and never cancels catastrophically:
;; the error is that of exp (1.2 ulp) summed, plus log (0.83 ulp). A row of only -inf, or with
;; NaN or +inf, gives NaN outputs; a -inf element among finite ones gives -inf.
(func $f32_logsoftmax (param $rows i32) (param $n i32) (param $x i32) (param $y i32)
  (local $row_bytes i32) (local $vec_bytes i32) (local $i i32)
  (local $mx f32) (local $sum f32) (local $d f32)
  (local $vmx v128) (local $vsum v128) (local $vd v128) (local $vl v128)
  (local.set $row_bytes (i32.shl (local.get $n) (i32.const 2)))
  (local.set $vec_bytes (i32.and (local.get $row_bytes) (i32.const -16)))
  (block $rows_done
    (br_if $rows_done (i32.le_s (local.get $rows) (i32.const 0)))
    (loop $row
      ;; 1. row maximum
      (local.set $vmx (v128.const f32x4 -inf -inf -inf -inf))
      (local.set $i (i32.const 0))
      (block $max_vec_done
        (br_if $max_vec_done (i32.eqz (local.get $vec_bytes)))
        (loop $max_vec
          (local.set $vmx (f32x4.max (local.get $vmx) (v128.load (i32.add (local.get $x) (local.get $i)))))
          (local.set $i (i32.add (local.get $i) (i32.const 16)))
          (br_if $max_vec (i32.ne (local.get $i) (local.get $vec_bytes)))))
      (local.set $mx (f32.max (f32.max (f32x4.extract_lane 0 (local.get $vmx)) (f32x4.extract_lane 1 (local.get $vmx)))
                              (f32.max (f32x4.extract_lane 2 (local.get $vmx)) (f32x4.extract_lane 3 (local.get $vmx)))))
      (block $max_tail_done
        (br_if $max_tail_done (i32.eq (local.get $i) (local.get $row_bytes)))
        (loop $max_tail
          (local.set $mx (f32.max (local.get $mx) (f32.load (i32.add (local.get $x) (local.get $i)))))
          (local.set $i (i32.add (local.get $i) (i32.const 4)))
          (br_if $max_tail (i32.ne (local.get $i) (local.get $row_bytes)))))
      ;; 2. d_i = x_i - mx into y, and the sum of exp(d_i)
      (local.set $vmx (f32x4.splat (local.get $mx)))
      (local.set $vsum (v128.const f32x4 0 0 0 0))
      (local.set $i (i32.const 0))
      (block $exp_vec_done
        (br_if $exp_vec_done (i32.eqz (local.get $vec_bytes)))
        (loop $exp_vec
          (local.set $vd (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $i))) (local.get $vmx)))
          (v128.store (i32.add (local.get $y) (local.get $i)) (local.get $vd))
          (local.set $vsum (f32x4.add (local.get $vsum) (call $f32_vexp (local.get $vd))))
          (local.set $i (i32.add (local.get $i) (i32.const 16)))
          (br_if $exp_vec (i32.ne (local.get $i) (local.get $vec_bytes)))))
      (local.set $sum (f32.add (f32.add (f32x4.extract_lane 0 (local.get $vsum)) (f32x4.extract_lane 1 (local.get $vsum)))
                               (f32.add (f32x4.extract_lane 2 (local.get $vsum)) (f32x4.extract_lane 3 (local.get $vsum)))))
      (block $exp_tail_done
        (br_if $exp_tail_done (i32.eq (local.get $i) (local.get $row_bytes)))
        (loop $exp_tail
          (local.set $d (f32.sub (f32.load (i32.add (local.get $x) (local.get $i))) (local.get $mx)))
          (f32.store (i32.add (local.get $y) (local.get $i)) (local.get $d))
          (local.set $sum (f32.add (local.get $sum)
                                   (f32x4.extract_lane 0 (call $f32_vexp (f32x4.splat (local.get $d))))))
          (local.set $i (i32.add (local.get $i) (i32.const 4)))
          (br_if $exp_tail (i32.ne (local.get $i) (local.get $row_bytes)))))
      ;; 3. y_i = d_i - log(sum)
      (local.set $vl (f32x4.splat (f32x4.extract_lane 0 (call $f32x4_log (f32x4.splat (local.get $sum))))))
      (local.set $i (i32.const 0))
      (block $sub_vec_done
        (br_if $sub_vec_done (i32.eqz (local.get $vec_bytes)))
        (loop $sub_vec
          (v128.store (i32.add (local.get $y) (local.get $i))
                      (f32x4.sub (v128.load (i32.add (local.get $y) (local.get $i))) (local.get $vl)))
          (local.set $i (i32.add (local.get $i) (i32.const 16)))
          (br_if $sub_vec (i32.ne (local.get $i) (local.get $vec_bytes)))))
      (block $sub_tail_done
        (br_if $sub_tail_done (i32.eq (local.get $i) (local.get $row_bytes)))
        (loop $sub_tail
          (f32.store (i32.add (local.get $y) (local.get $i))
                     (f32.sub (f32.load (i32.add (local.get $y) (local.get $i))) (f32x4.extract_lane 0 (local.get $vl))))
          (local.set $i (i32.add (local.get $i) (i32.const 4)))
          (br_if $sub_tail (i32.ne (local.get $i) (local.get $row_bytes)))))
      (local.set $x (i32.add (local.get $x) (local.get $row_bytes)))
      (local.set $y (i32.add (local.get $y) (local.get $row_bytes)))
      (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
      (br_if $row (local.get $rows)))))
