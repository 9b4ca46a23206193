;; f32 exp and softmax. exp is a pure polynomial written here (no host math), so every engine
;; computes the same bits.

;; $f32_vexp: lane-wise exp of an f32x4 (helper; takes and returns the vector).
;;   exp(x) = 2^(n-1) * (2 * exp(r)),  n = nearest(x * log2(e)),  r = x - n * ln2
;;   1. x is clamped to [-86.98997 (-0x1.5BF5BAp+6), 89.0]: the bounds keep n in [-125, 128],
;;      so 2^(n-1) = i32x4.shl(n + 126, 23) is always a normal float (the factor 2 is folded into
;;      the polynomial, which lets n reach 128 without a second scale step).
;;   2. r by Cody-Waite reduction without FMA: r = (x - n*ln2_hi) - n*ln2_lo, ln2_hi = 0x1.62E4p-1
;;      (n*ln2_hi is exact for |n| <= 256), ln2_lo = 0x1.7F7D1Cp-20; |r| <= ln2/2 (+ rounding).
;;   3. 2*exp(r) ~ degree-6 polynomial in Horner form, coefficients 2*c_i with c_i a near-minimax
;;      fit of exp on [-ln2/2, ln2/2] rounded to f32 (c1 = 1, c0 = 1).
;; Accuracy (measured against float64 exp over every f32 in [-86.98997, 88.72283]):
;; max error 1.19 ulp, max relative error 9.9e-8 (tests/kernels/test_exp.py checks 1.25 ulp and
;; 1e-7 on a dense sweep).
;; Special values: x < -86.98997 (incl. -inf) -> +0.0 (flushed: results are never subnormal, the
;; smallest nonzero result is ~1.66e-38); x > ln(FLT_MAX) ~ 88.72284 (incl. +inf) -> +inf (the
;; final product overflows); NaN -> NaN. exp(0) = 1 exactly.
(func $f32_vexp (param $x v128) (result v128)
  (local $xc v128) (local $m v128) (local $n v128) (local $r v128) (local $p v128)
  (local.set $xc (f32x4.pmin
                   (f32x4.pmax (local.get $x) (v128.const f32x4 -0x1.5BF5BAp+6 -0x1.5BF5BAp+6 -0x1.5BF5BAp+6 -0x1.5BF5BAp+6))
                   (v128.const f32x4 89.0 89.0 89.0 89.0)))
  (local.set $m (f32x4.add
                  (f32x4.mul (local.get $xc) (v128.const f32x4 0x1.715476p+0 0x1.715476p+0 0x1.715476p+0 0x1.715476p+0))
                  (v128.const f32x4 0x1.8p23 0x1.8p23 0x1.8p23 0x1.8p23)))
  (local.set $n (f32x4.sub (local.get $m) (v128.const f32x4 0x1.8p23 0x1.8p23 0x1.8p23 0x1.8p23)))
  (local.set $r (f32x4.sub
                  (f32x4.sub (local.get $xc)
                             (f32x4.mul (local.get $n) (v128.const f32x4 0x1.62E400p-1 0x1.62E400p-1 0x1.62E400p-1 0x1.62E400p-1)))
                  (f32x4.mul (local.get $n) (v128.const f32x4 0x1.7F7D1Cp-20 0x1.7F7D1Cp-20 0x1.7F7D1Cp-20 0x1.7F7D1Cp-20))))
  ;; p = 2*exp(r) = 2 + r*(2c1 + r*(2c2 + r*(2c3 + r*(2c4 + r*(2c5 + r*2c6)))))
  (local.set $p (f32x4.add
                  (f32x4.mul (local.get $r) (v128.const f32x4 0x1.6C026Ap-9 0x1.6C026Ap-9 0x1.6C026Ap-9 0x1.6C026Ap-9))
                  (v128.const f32x4 0x1.125D80p-6 0x1.125D80p-6 0x1.125D80p-6 0x1.125D80p-6)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r))
                           (v128.const f32x4 0x1.555710p-4 0x1.555710p-4 0x1.555710p-4 0x1.555710p-4)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r))
                           (v128.const f32x4 0x1.555456p-2 0x1.555456p-2 0x1.555456p-2 0x1.555456p-2)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r))
                           (v128.const f32x4 0x1.FFFFFCp-1 0x1.FFFFFCp-1 0x1.FFFFFCp-1 0x1.FFFFFCp-1)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r))
                           (v128.const f32x4 2.0 2.0 2.0 2.0)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r))
                           (v128.const f32x4 2.0 2.0 2.0 2.0)))
  ;; scale by 2^(n-1): m's low mantissa bits hold n + 0x400000, and the shift drops everything above
  ;; n's 9 bits, so (bits(m) + 126) << 23 is the f32 2^(n-1) (a NaN lane gives a NaN product anyway)
  (local.set $p (f32x4.mul (local.get $p)
                  (i32x4.shl (i32x4.add (local.get $m) (v128.const i32x4 126 126 126 126)) (i32.const 23))))
  ;; flush lanes below the cutoff to +0.0 (the compare is false for NaN)
  (v128.andnot (local.get $p)
               (f32x4.lt (local.get $x) (v128.const f32x4 -0x1.5BF5BAp+6 -0x1.5BF5BAp+6 -0x1.5BF5BAp+6 -0x1.5BF5BAp+6))))

;; $f32_vexp_array: y[i] = exp(x[i]) for i < $n, with $f32_vexp.
;;   $n >= 0 elements; $x, $y byte offsets of n f32 (4-byte aligned is enough); y == x allowed.
;; Tail elements (n % 4) go through the same vector code (splat, exp, lane 0), so every element
;; gets the same bits whatever its position.
(func $f32_vexp_array (param $n i32) (param $x i32) (param $y i32)
  (local $vec_end i32) (local $end i32)
  (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
  (local.set $vec_end (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
  (block $vec_done
    (br_if $vec_done (i32.eq (local.get $x) (local.get $vec_end)))
    (loop $vec
      (v128.store (local.get $y) (call $f32_vexp (v128.load (local.get $x))))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (br_if $vec (i32.ne (local.get $x) (local.get $vec_end)))))
  (block $tail_done
    (br_if $tail_done (i32.eq (local.get $x) (local.get $end)))
    (loop $tail
      (f32.store (local.get $y)
                 (f32x4.extract_lane 0 (call $f32_vexp (v128.load32_splat (local.get $x)))))
      (local.set $x (i32.add (local.get $x) (i32.const 4)))
      (local.set $y (i32.add (local.get $y) (i32.const 4)))
      (br_if $tail (i32.ne (local.get $x) (local.get $end))))))

;; $f32_softmax: y[r, :] = softmax(x[r, :]) for $rows rows of $n contiguous f32 (rows contiguous).
;;   $rows >= 0, $n >= 0; $x, $y byte offsets (4-byte aligned is enough); y == x allowed (exact
;;   aliasing only: no partial overlap).
;; Per row, in this order (the numpy reference in tests/kernels/reference.py mirrors it):
;;   mx = max_i x_i (see step 1 for NaN); e_i = $f32_vexp(x_i - mx), stored into y;
;;   sum: 4 lane partial sums s_l = ((0 + e_l) + e_(4+l)) + ... over the vector part
;;   i < n - n%4, total = (s0 + s1) + (s2 + s3), then + e_i for the tail in ascending i;
;;   y_i = e_i / total (true division).
;; A row of only -inf (or containing NaN or +inf) gives NaN outputs; a -inf element gives 0.
(func $f32_softmax (param $rows i32) (param $n i32) (param $x i32) (param $y i32)
  (local $row_bytes i32) (local $vec_bytes i32) (local $i i32)
  (local $mx f32) (local $sum f32) (local $e f32)
  (local $vmx v128) (local $vsum v128) (local $ve v128) (local $vm1 v128) (local $vm2 v128) (local $vm3 v128)
  (local $vec64_bytes i32)
  (local.set $row_bytes (i32.shl (local.get $n) (i32.const 2)))
  (local.set $vec_bytes (i32.and (local.get $row_bytes) (i32.const -16)))
  (local.set $vec64_bytes (i32.and (local.get $row_bytes) (i32.const -64)))
  (block $rows_done
    (br_if $rows_done (i32.le_s (local.get $rows) (i32.const 0)))
    (loop $row
      ;; 1. row maximum: four independent f32x4.pmax chains over 64-byte groups, then one over the
      ;; remaining vectors (pmax is one maxps where f32x4.max is ~8 instructions, and the chains
      ;; overlap). The order does not change the maximum; pmax skips a NaN element (x < NaN and
      ;; NaN < x are false) where max would return NaN, but a NaN element makes the row's sum NaN
      ;; either way, so every output of that row is NaN as documented.
      (local.set $vmx (v128.const f32x4 -inf -inf -inf -inf))
      (local.set $vm1 (local.get $vmx))
      (local.set $vm2 (local.get $vmx))
      (local.set $vm3 (local.get $vmx))
      (local.set $i (i32.const 0))
      (block $max4_done
        (br_if $max4_done (i32.eqz (local.get $vec64_bytes)))
        (loop $max4
          (local.set $vmx (f32x4.pmax (local.get $vmx) (v128.load offset=0 (i32.add (local.get $x) (local.get $i)))))
          (local.set $vm1 (f32x4.pmax (local.get $vm1) (v128.load offset=16 (i32.add (local.get $x) (local.get $i)))))
          (local.set $vm2 (f32x4.pmax (local.get $vm2) (v128.load offset=32 (i32.add (local.get $x) (local.get $i)))))
          (local.set $vm3 (f32x4.pmax (local.get $vm3) (v128.load offset=48 (i32.add (local.get $x) (local.get $i)))))
          (local.set $i (i32.add (local.get $i) (i32.const 64)))
          (br_if $max4 (i32.ne (local.get $i) (local.get $vec64_bytes)))))
      (local.set $vmx (f32x4.pmax (f32x4.pmax (local.get $vmx) (local.get $vm1))
                                  (f32x4.pmax (local.get $vm2) (local.get $vm3))))
      (block $max_vec_done
        (br_if $max_vec_done (i32.eq (local.get $i) (local.get $vec_bytes)))
        (loop $max_vec
          (local.set $vmx (f32x4.pmax (local.get $vmx) (v128.load (i32.add (local.get $x) (local.get $i)))))
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
      ;; 2. e_i = exp(x_i - mx) into y, and their sum
      (local.set $vmx (f32x4.splat (local.get $mx)))
      (local.set $vsum (v128.const f32x4 0 0 0 0))
      (local.set $i (i32.const 0))
      (block $exp_vec_done
        (br_if $exp_vec_done (i32.eqz (local.get $vec_bytes)))
        (loop $exp_vec
          (local.set $ve (call $f32_vexp (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $i)))
                                                    (local.get $vmx))))
          (v128.store (i32.add (local.get $y) (local.get $i)) (local.get $ve))
          (local.set $vsum (f32x4.add (local.get $vsum) (local.get $ve)))
          (local.set $i (i32.add (local.get $i) (i32.const 16)))
          (br_if $exp_vec (i32.ne (local.get $i) (local.get $vec_bytes)))))
      (local.set $sum (f32.add (f32.add (f32x4.extract_lane 0 (local.get $vsum)) (f32x4.extract_lane 1 (local.get $vsum)))
                               (f32.add (f32x4.extract_lane 2 (local.get $vsum)) (f32x4.extract_lane 3 (local.get $vsum)))))
      (block $exp_tail_done
        (br_if $exp_tail_done (i32.eq (local.get $i) (local.get $row_bytes)))
        (loop $exp_tail
          (local.set $e (f32x4.extract_lane 0
                          (call $f32_vexp (f32x4.splat (f32.sub (f32.load (i32.add (local.get $x) (local.get $i)))
                                                                (local.get $mx))))))
          (f32.store (i32.add (local.get $y) (local.get $i)) (local.get $e))
          (local.set $sum (f32.add (local.get $sum) (local.get $e)))
          (local.set $i (i32.add (local.get $i) (i32.const 4)))
          (br_if $exp_tail (i32.ne (local.get $i) (local.get $row_bytes)))))
      ;; 3. normalize in place in y
      (local.set $vsum (f32x4.splat (local.get $sum)))
      (local.set $i (i32.const 0))
      (block $div_vec_done
        (br_if $div_vec_done (i32.eqz (local.get $vec_bytes)))
        (loop $div_vec
          (v128.store (i32.add (local.get $y) (local.get $i))
                      (f32x4.div (v128.load (i32.add (local.get $y) (local.get $i))) (local.get $vsum)))
          (local.set $i (i32.add (local.get $i) (i32.const 16)))
          (br_if $div_vec (i32.ne (local.get $i) (local.get $vec_bytes)))))
      (block $div_tail_done
        (br_if $div_tail_done (i32.eq (local.get $i) (local.get $row_bytes)))
        (loop $div_tail
          (f32.store (i32.add (local.get $y) (local.get $i))
                     (f32.div (f32.load (i32.add (local.get $y) (local.get $i))) (local.get $sum)))
          (local.set $i (i32.add (local.get $i) (i32.const 4)))
          (br_if $div_tail (i32.ne (local.get $i) (local.get $row_bytes)))))
      (local.set $x (i32.add (local.get $x) (local.get $row_bytes)))
      (local.set $y (i32.add (local.get $y) (local.get $row_bytes)))
      (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
      (br_if $row (local.get $rows)))))
