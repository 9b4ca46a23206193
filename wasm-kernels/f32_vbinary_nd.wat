;; f32 binary elementwise ops with numpy broadcasting (Add, Sub, Mul, Div, Pow, Max, Min).
;; The compiler collapses any broadcast at compile time (edgewasm.backend.broadcast) into at most
;; two outer loops around one inner run in which a is contiguous and b is contiguous or one value;
;; deeper broadcasts become several calls. Every element goes through the same vector code (tails
;; too: splat, op, lane 0), so an element's bits never depend on its position.

;; $f32x4_pow: helper, lane-wise x^y with C/numpy pow semantics, as exp(y * log|x|):
;;   r = $f32_vexp(y * $f32x4_log(|x|)); then, by select:
;;   x < 0 (or -0) and y an odd integer -> r gets the sign of x; x < 0, x > -inf and y not an
;;   integer -> NaN; y == +-0 or x == 1 -> 1 (even for NaN); |x| == 1 and |y| == inf -> 1.
;;   (y is an integer when nearest(y) == y; odd when also nearest(y/2) != y/2, so +-inf and
;;   |y| >= 2^24 are even.)
;; Accuracy: relative error <= 3e-7 + |y * ln|x|| * 1.2e-7 (the rounding of y * log|x| is scaled by
;; exp), e.g. <= 1.1e-5 for results in [1e-38, 3e38]; results below ~1.66e-38 (y*ln|x| < -86.99)
;; are flushed to +-0, results above FLT_MAX are +-inf. Measured in tests/kernels/test_vbinary_nd.py.
(func $f32x4_pow (param $x v128) (param $y v128) (result v128)
  (local $r v128) (local $ny v128) (local $half v128) (local $int v128) (local $odd v128)
  (local.set $r (call $f32_vexp (f32x4.mul (local.get $y) (call $f32x4_log (f32x4.abs (local.get $x))))))
  (local.set $ny (f32x4.nearest (local.get $y)))
  (local.set $int (f32x4.eq (local.get $ny) (local.get $y)))
  (local.set $half (f32x4.mul (local.get $y) (v128.const f32x4 0.5 0.5 0.5 0.5)))
  (local.set $odd (v128.and (local.get $int) (f32x4.ne (f32x4.nearest (local.get $half)) (local.get $half))))
  ;; odd integer y: the result takes the sign of x
  (local.set $r (v128.or (local.get $r)
                         (v128.and (v128.and (local.get $x) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000))
                                   (local.get $odd))))
  ;; finite negative x with a non-integer y: NaN
  (local.set $r (v128.bitselect (v128.const f32x4 nan nan nan nan) (local.get $r)
                                (v128.andnot (v128.and (f32x4.lt (local.get $x) (v128.const f32x4 0 0 0 0))
                                                       (f32x4.gt (local.get $x) (v128.const f32x4 -inf -inf -inf -inf)))
                                             (local.get $int))))
  ;; |x| == 1 with y == +-inf: 1
  (local.set $r (v128.bitselect (v128.const f32x4 1.0 1.0 1.0 1.0) (local.get $r)
                                (v128.and (f32x4.eq (f32x4.abs (local.get $x)) (v128.const f32x4 1.0 1.0 1.0 1.0))
                                          (f32x4.eq (f32x4.abs (local.get $y)) (v128.const f32x4 inf inf inf inf)))))
  ;; y == 0 or x == 1: exactly 1, whatever the other operand
  (v128.bitselect (v128.const f32x4 1.0 1.0 1.0 1.0) (local.get $r)
                  (v128.or (f32x4.eq (local.get $y) (v128.const f32x4 0 0 0 0))
                           (f32x4.eq (local.get $x) (v128.const f32x4 1.0 1.0 1.0 1.0)))))

;; $f32x4_binary: helper, lane-wise a OP b for op code $op:
;;   0 add, 1 sub (a - b), 2 mul, 3 div (true division), 4 max, 5 min (wasm max/min: NaN
;;   propagates, -0 < +0), 6 rsub (b - a), 7 rdiv (b / a), 8 pow (a^b, $f32x4_pow), 9 rpow (b^a).
;;   Any other op code computes add. The reversed ops let the compiler always make a the
;;   operand that is contiguous along the inner run.
(func $f32x4_binary (param $op i32) (param $a v128) (param $b v128) (result v128)
  (block $rpow (block $pow (block $rdiv (block $rsub (block $min (block $max (block $div (block $mul (block $sub (block $add
    (br_table $add $sub $mul $div $max $min $rsub $rdiv $pow $rpow $add (local.get $op)))
    (return (f32x4.add (local.get $a) (local.get $b))))
    (return (f32x4.sub (local.get $a) (local.get $b))))
    (return (f32x4.mul (local.get $a) (local.get $b))))
    (return (f32x4.div (local.get $a) (local.get $b))))
    (return (f32x4.max (local.get $a) (local.get $b))))
    (return (f32x4.min (local.get $a) (local.get $b))))
    (return (f32x4.sub (local.get $b) (local.get $a))))
    (return (f32x4.div (local.get $b) (local.get $a))))
    (return (call $f32x4_pow (local.get $a) (local.get $b))))
  (call $f32x4_pow (local.get $b) (local.get $a)))

;; $f32_vbinary_nd: y = a OP b ($f32x4_binary op code $op) over a collapsed broadcast:
;;   for i1 < $d1, i0 < $d0, j < $n:
;;     y[(i1*d0 + i0)*n + j] = a[i1*sa1 + i0*sa0 + j] OP b[i1*sb1 + i0*sb0 + j*b_run]
;;   $n, $d0, $d1 >= 1 (any <= 0: nothing is written); strides $sa*, $sb* in bytes (0 broadcasts);
;;   $b_run = 1: b is contiguous along the run, 0: b is one value per run (splatted).
;;   $a, $b, $y byte offsets of f32 (4-byte alignment is enough); y is contiguous; y may alias a
;;   or b exactly when that operand is not broadcast (same shape as y); no other overlap.
(func $f32_vbinary_nd
  (param $op i32) (param $n i32) (param $b_run i32)
  (param $d0 i32) (param $sa0 i32) (param $sb0 i32)
  (param $d1 i32) (param $sa1 i32) (param $sb1 i32)
  (param $a i32) (param $b i32) (param $y i32)
  (local $i0 i32) (local $i1 i32) (local $a0 i32) (local $b0 i32)
  (local $pa i32) (local $pb i32) (local $vec_end i32) (local $end i32) (local $b_step i32)
  (local $vb v128)
  (if (i32.or (i32.le_s (local.get $n) (i32.const 0))
              (i32.or (i32.le_s (local.get $d0) (i32.const 0)) (i32.le_s (local.get $d1) (i32.const 0))))
    (then (return)))
  (local.set $b_step (i32.shl (local.get $b_run) (i32.const 4)))
  (local.set $i1 (local.get $d1))
  (loop $outer1
    (local.set $a0 (local.get $a))
    (local.set $b0 (local.get $b))
    (local.set $i0 (local.get $d0))
    (loop $outer0
      ;; one run of n elements: y[0..n) = a0[0..n) OP (b0[0..n) or b0[0])
      (local.set $pa (local.get $a0))
      (local.set $pb (local.get $b0))
      (local.set $vb (v128.load32_splat (local.get $b0)))
      (local.set $end (i32.add (local.get $y) (i32.shl (local.get $n) (i32.const 2))))
      (local.set $vec_end (i32.add (local.get $y) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
      (block $vec_done
        (br_if $vec_done (i32.eq (local.get $y) (local.get $vec_end)))
        (loop $vec
          (v128.store (local.get $y)
                      (call $f32x4_binary (local.get $op) (v128.load (local.get $pa))
                            (if (result v128) (local.get $b_run)
                              (then (v128.load (local.get $pb))) (else (local.get $vb)))))
          (local.set $pa (i32.add (local.get $pa) (i32.const 16)))
          (local.set $pb (i32.add (local.get $pb) (local.get $b_step)))
          (local.set $y (i32.add (local.get $y) (i32.const 16)))
          (br_if $vec (i32.ne (local.get $y) (local.get $vec_end)))))
      (block $tail_done
        (br_if $tail_done (i32.eq (local.get $y) (local.get $end)))
        (loop $tail
          (f32.store (local.get $y)
                     (f32x4.extract_lane 0
                       (call $f32x4_binary (local.get $op) (v128.load32_splat (local.get $pa))
                             (v128.load32_splat (local.get $pb)))))
          (local.set $pa (i32.add (local.get $pa) (i32.const 4)))
          (local.set $pb (i32.add (local.get $pb) (i32.shl (local.get $b_run) (i32.const 2))))
          (local.set $y (i32.add (local.get $y) (i32.const 4)))
          (br_if $tail (i32.ne (local.get $y) (local.get $end)))))
      (local.set $a0 (i32.add (local.get $a0) (local.get $sa0)))
      (local.set $b0 (i32.add (local.get $b0) (local.get $sb0)))
      (local.set $i0 (i32.sub (local.get $i0) (i32.const 1)))
      (br_if $outer0 (local.get $i0)))
    (local.set $a (i32.add (local.get $a) (local.get $sa1)))
    (local.set $b (i32.add (local.get $b) (local.get $sb1)))
    (local.set $i1 (i32.sub (local.get $i1) (i32.const 1)))
    (br_if $outer1 (local.get $i1))))
