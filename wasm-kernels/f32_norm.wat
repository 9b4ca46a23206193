;; f32 row normalizations over rows of n contiguous f32 (InstanceNormalization, GroupNormalization,
;; MeanVarianceNormalization, RMSNormalization, LpNormalization; the importer moves the normalized
;; axes last and flattens them), and the per-row scale and shift of InstanceNormalization and
;; GroupNormalization. Sums of values and of squares reuse $f32_layernorm_sum (f32_layernorm.wat):
;; 4 lane partial sums over the vector part, total (s0 + s1) + (s2 + s3), then the tail in
;; ascending order. Every lane and tail element goes through the same IEEE operations, so an
;; element's bits never depend on its position.
;; Accuracy (measured against float64 on rows of N(5, 10^2) values; tests/kernels/test_rownorm.py):
;; f32_rownorm's outputs (about unit variance) are within 6.5e-7 absolute for rows of 64 to 301
;; values and 2e-6 for rows of 4096 (the f32 sums' rounding); f32_lpnorm's within 6e-7 of the
;; row's largest output. The two-pass variance does not cancel as E[x^2] - E[x]^2 does
;; (onnxruntime's InstanceNormalization leaves up to 2e-4 of noise on a one-element row, where the
;; exact output is the bias).

;; $f32_abs_sum: helper, the sum of |x_i| over $n f32 at $x, in $f32_layernorm_sum's order.
(func $f32_abs_sum (param $n i32) (param $x i32) (result f32)
  (local $end i32) (local $vec_end i32) (local $vsum v128) (local $sum f32)
  (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
  (local.set $vec_end (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
  (local.set $vsum (v128.const f32x4 0 0 0 0))
  (block $vec_done
    (br_if $vec_done (i32.eq (local.get $x) (local.get $vec_end)))
    (loop $vec
      (local.set $vsum (f32x4.add (local.get $vsum) (f32x4.abs (v128.load (local.get $x)))))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (br_if $vec (i32.ne (local.get $x) (local.get $vec_end)))))
  (local.set $sum (f32.add (f32.add (f32x4.extract_lane 0 (local.get $vsum)) (f32x4.extract_lane 1 (local.get $vsum)))
                           (f32.add (f32x4.extract_lane 2 (local.get $vsum)) (f32x4.extract_lane 3 (local.get $vsum)))))
  (block $tail_done
    (br_if $tail_done (i32.eq (local.get $x) (local.get $end)))
    (loop $tail
      (local.set $sum (f32.add (local.get $sum) (f32.abs (f32.load (local.get $x)))))
      (local.set $x (i32.add (local.get $x) (i32.const 4)))
      (br_if $tail (i32.ne (local.get $x) (local.get $end)))))
  (local.get $sum))

;; $f32_abs_max: helper, max_i |x_i| over $n >= 0 f32 at $x (0 for n = 0; NaN if any x_i is NaN).
(func $f32_abs_max (param $n i32) (param $x i32) (result f32)
  (local $end i32) (local $vec_end i32) (local $vmax v128) (local $m f32)
  (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
  (local.set $vec_end (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
  (local.set $vmax (v128.const f32x4 0 0 0 0))
  (block $vec_done
    (br_if $vec_done (i32.eq (local.get $x) (local.get $vec_end)))
    (loop $vec
      (local.set $vmax (f32x4.max (local.get $vmax) (f32x4.abs (v128.load (local.get $x)))))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (br_if $vec (i32.ne (local.get $x) (local.get $vec_end)))))
  (local.set $m (f32.max (f32.max (f32x4.extract_lane 0 (local.get $vmax)) (f32x4.extract_lane 1 (local.get $vmax)))
                         (f32.max (f32x4.extract_lane 2 (local.get $vmax)) (f32x4.extract_lane 3 (local.get $vmax)))))
  (block $tail_done
    (br_if $tail_done (i32.eq (local.get $x) (local.get $end)))
    (loop $tail
      (local.set $m (f32.max (local.get $m) (f32.abs (f32.load (local.get $x)))))
      (local.set $x (i32.add (local.get $x) (i32.const 4)))
      (br_if $tail (i32.ne (local.get $x) (local.get $end)))))
  (local.get $m))

;; $f32_rownorm: for each of $rows rows of $n contiguous f32, with S = $f32_layernorm_sum and true
;; divisions (by f32(n), and per element), by $mode:
;;   0 standardize (Instance-, GroupNormalization):  mean = S(x) / n, var = S((x - mean)^2) / n,
;;     c = mean, d = sqrt(var + eps)
;;   1 mean-variance (MeanVarianceNormalization, eps = 1e-9 there):  c = mean, d = sqrt(var) + eps
;;   2 root mean square (RMSNormalization):  c = 0, d = sqrt(S((x - 0)^2) / n + eps)
;;   any other mode computes mode 0;
;;   then y_i = (x_i - c) / d, times gamma_i when $gamma is not 0 (x - 0 is x, bit for bit).
;;   $rows >= 0, $n >= 1 (else nothing is written); $x, $gamma (n f32, or 0 for none), $y byte
;;   offsets (4-byte alignment is enough); y may alias x exactly; gamma must not overlap y.
(func $f32_rownorm (param $mode i32) (param $rows i32) (param $n i32) (param $x i32) (param $gamma i32) (param $y i32)
  (param $eps f32)
  (local $nf f32) (local $c f32) (local $d f32) (local $i i32) (local $row_bytes i32) (local $vec_bytes i32)
  (local $vc v128) (local $vd v128) (local $v v128) (local $s f32)
  (if (i32.or (i32.le_s (local.get $rows) (i32.const 0)) (i32.le_s (local.get $n) (i32.const 0)))
    (then (return)))
  (local.set $nf (f32.convert_i32_s (local.get $n)))
  (local.set $row_bytes (i32.shl (local.get $n) (i32.const 2)))
  (local.set $vec_bytes (i32.and (local.get $row_bytes) (i32.const -16)))
  (loop $row
    (if (i32.eq (local.get $mode) (i32.const 2))
      (then
        (local.set $c (f32.const 0))
        (local.set $d (f32.sqrt (f32.add (f32.div (call $f32_layernorm_sum (local.get $n) (local.get $x) (f32.const 0) (i32.const 1))
                                                  (local.get $nf))
                                         (local.get $eps)))))
      (else
        (local.set $c (f32.div (call $f32_layernorm_sum (local.get $n) (local.get $x) (f32.const 0) (i32.const 0))
                               (local.get $nf)))
        (local.set $d (f32.div (call $f32_layernorm_sum (local.get $n) (local.get $x) (local.get $c) (i32.const 1))
                               (local.get $nf)))
        (local.set $d (if (result f32) (i32.eq (local.get $mode) (i32.const 1))
                        (then (f32.add (f32.sqrt (local.get $d)) (local.get $eps)))
                        (else (f32.sqrt (f32.add (local.get $d) (local.get $eps))))))))
    (local.set $vc (f32x4.splat (local.get $c)))
    (local.set $vd (f32x4.splat (local.get $d)))
    (local.set $i (i32.const 0))
    (block $vec_done
      (br_if $vec_done (i32.eqz (local.get $vec_bytes)))
      (loop $vec
        (local.set $v (f32x4.div (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $i))) (local.get $vc))
                                 (local.get $vd)))
        (if (local.get $gamma)
          (then (local.set $v (f32x4.mul (local.get $v) (v128.load (i32.add (local.get $gamma) (local.get $i)))))))
        (v128.store (i32.add (local.get $y) (local.get $i)) (local.get $v))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br_if $vec (i32.ne (local.get $i) (local.get $vec_bytes)))))
    (block $tail_done
      (br_if $tail_done (i32.eq (local.get $i) (local.get $row_bytes)))
      (loop $tail
        (local.set $s (f32.div (f32.sub (f32.load (i32.add (local.get $x) (local.get $i))) (local.get $c)) (local.get $d)))
        (if (local.get $gamma)
          (then (local.set $s (f32.mul (local.get $s) (f32.load (i32.add (local.get $gamma) (local.get $i)))))))
        (f32.store (i32.add (local.get $y) (local.get $i)) (local.get $s))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br_if $tail (i32.ne (local.get $i) (local.get $row_bytes)))))
    (local.set $x (i32.add (local.get $x) (local.get $row_bytes)))
    (local.set $y (i32.add (local.get $y) (local.get $row_bytes)))
    (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
    (br_if $row (local.get $rows))))

;; $f32_lpnorm: y = x / ||x||_p per row of $n contiguous f32 ($p = 1 or 2; any other p computes 2),
;; for $rows rows, in onnxruntime's scale-free way (no overflow or underflow while forming the norm):
;;   s = $f32_abs_max(x);  s == 0: y = +0 (the whole row);
;;   else k = s when s is finite, else k = 1 (an inf or NaN row: y = x / ||x||, NaN or 0s);
;;   t_i = x_i / k (stored in y);  m = $f32_abs_sum(t) (p = 1) or sqrt(S(t^2)) (S: $f32_layernorm_sum);
;;   y_i = t_i / m  (true divisions).
;;   $rows >= 0, $n >= 1 (else nothing is written); $x, $y byte offsets (4-byte alignment is
;;   enough); y may alias x exactly.
(func $f32_lpnorm (param $p i32) (param $rows i32) (param $n i32) (param $x i32) (param $y i32)
  (local $s f32) (local $i i32) (local $row_bytes i32) (local $vec_bytes i32) (local $vs v128)
  (if (i32.or (i32.le_s (local.get $rows) (i32.const 0)) (i32.le_s (local.get $n) (i32.const 0)))
    (then (return)))
  (local.set $row_bytes (i32.shl (local.get $n) (i32.const 2)))
  (local.set $vec_bytes (i32.and (local.get $row_bytes) (i32.const -16)))
  (loop $row
    (local.set $s (call $f32_abs_max (local.get $n) (local.get $x)))
    (if (f32.eq (local.get $s) (f32.const 0))
      (then (memory.fill (local.get $y) (i32.const 0) (local.get $row_bytes)))
      (else
        (if (i32.eqz (f32.lt (local.get $s) (f32.const inf)))
          (then (local.set $s (f32.const 1))))
        ;; t = x / k into y
        (local.set $vs (f32x4.splat (local.get $s)))
        (local.set $i (i32.const 0))
        (block $vec_done
          (br_if $vec_done (i32.eqz (local.get $vec_bytes)))
          (loop $vec
            (v128.store (i32.add (local.get $y) (local.get $i))
                        (f32x4.div (v128.load (i32.add (local.get $x) (local.get $i))) (local.get $vs)))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br_if $vec (i32.ne (local.get $i) (local.get $vec_bytes)))))
        (block $tail_done
          (br_if $tail_done (i32.eq (local.get $i) (local.get $row_bytes)))
          (loop $tail
            (f32.store (i32.add (local.get $y) (local.get $i))
                       (f32.div (f32.load (i32.add (local.get $x) (local.get $i))) (local.get $s)))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br_if $tail (i32.ne (local.get $i) (local.get $row_bytes)))))
        ;; the norm of t, then y = t / norm in place
        (local.set $s (if (result f32) (i32.eq (local.get $p) (i32.const 1))
                        (then (call $f32_abs_sum (local.get $n) (local.get $y)))
                        (else (f32.sqrt (call $f32_layernorm_sum (local.get $n) (local.get $y) (f32.const 0) (i32.const 1))))))
        (local.set $vs (f32x4.splat (local.get $s)))
        (local.set $i (i32.const 0))
        (block $vec2_done
          (br_if $vec2_done (i32.eqz (local.get $vec_bytes)))
          (loop $vec2
            (v128.store (i32.add (local.get $y) (local.get $i))
                        (f32x4.div (v128.load (i32.add (local.get $y) (local.get $i))) (local.get $vs)))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br_if $vec2 (i32.ne (local.get $i) (local.get $vec_bytes)))))
        (block $tail2_done
          (br_if $tail2_done (i32.eq (local.get $i) (local.get $row_bytes)))
          (loop $tail2
            (f32.store (i32.add (local.get $y) (local.get $i))
                       (f32.div (f32.load (i32.add (local.get $y) (local.get $i))) (local.get $s)))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br_if $tail2 (i32.ne (local.get $i) (local.get $row_bytes)))))))
    (local.set $x (i32.add (local.get $x) (local.get $row_bytes)))
    (local.set $y (i32.add (local.get $y) (local.get $row_bytes)))
    (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
    (br_if $row (local.get $rows))))

;; $f32_affine_rows: y[r, i] = x[r, i] * scale[r % period] + bias[r % period] for r < $rows, i < $n
;; (f32 mul then add, never fused; no bias ($bias = 0): + -0, which leaves every value's bits as
;; they are). InstanceNormalization's and GroupNormalization's scale and shift after $f32_rownorm:
;; rows are (batch item, channel) or (batch item, group), period the channels or groups.
;;   $rows >= 0, $n >= 0, $period >= 1; $x, $y byte offsets of [rows, n] f32 (y may alias x
;;   exactly); $scale, $bias byte offsets of period f32 each (4-byte alignment is enough).
(func $f32_affine_rows (param $rows i32) (param $n i32) (param $period i32) (param $x i32) (param $scale i32)
  (param $bias i32) (param $y i32)
  (local $c i32) (local $i i32) (local $row_bytes i32) (local $vec_bytes i32) (local $s f32) (local $b f32)
  (local $vs v128) (local $vb v128)
  (if (i32.or (i32.le_s (local.get $rows) (i32.const 0)) (i32.le_s (local.get $period) (i32.const 0)))
    (then (return)))
  (local.set $row_bytes (i32.shl (local.get $n) (i32.const 2)))
  (local.set $vec_bytes (i32.and (local.get $row_bytes) (i32.const -16)))
  (local.set $c (i32.const 0))
  (loop $row
    (local.set $s (f32.load (i32.add (local.get $scale) (i32.shl (local.get $c) (i32.const 2)))))
    (local.set $b (if (result f32) (local.get $bias)
                    (then (f32.load (i32.add (local.get $bias) (i32.shl (local.get $c) (i32.const 2)))))
                    (else (f32.const -0))))
    (local.set $vs (f32x4.splat (local.get $s)))
    (local.set $vb (f32x4.splat (local.get $b)))
    (local.set $i (i32.const 0))
    (block $vec_done
      (br_if $vec_done (i32.eqz (local.get $vec_bytes)))
      (loop $vec
        (v128.store (i32.add (local.get $y) (local.get $i))
                    (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $x) (local.get $i))) (local.get $vs)) (local.get $vb)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br_if $vec (i32.ne (local.get $i) (local.get $vec_bytes)))))
    (block $tail_done
      (br_if $tail_done (i32.eq (local.get $i) (local.get $row_bytes)))
      (loop $tail
        (f32.store (i32.add (local.get $y) (local.get $i))
                   (f32.add (f32.mul (f32.load (i32.add (local.get $x) (local.get $i))) (local.get $s)) (local.get $b)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br_if $tail (i32.ne (local.get $i) (local.get $row_bytes)))))
    (local.set $x (i32.add (local.get $x) (local.get $row_bytes)))
    (local.set $y (i32.add (local.get $y) (local.get $row_bytes)))
    (local.set $c (i32.add (local.get $c) (i32.const 1)))
    (if (i32.eq (local.get $c) (local.get $period)) (then (local.set $c (i32.const 0))))
    (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
    (br_if $row (local.get $rows))))
