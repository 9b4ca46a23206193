;; f32 unary elementwise kernels: transcendentals as polynomials in wat (no host math), so every
;; engine computes the same bits, plus the cheap activations.
;;
;; Structure: each `$f32x4_<op>` helper computes one v128 of results; each array kernel
;; `$f32_v<op> (n, x, y, ...)` runs it over n f32 at byte offsets x and y (4-byte alignment is
;; enough; y may alias x exactly; n >= 0). Tail elements (n % 4) go through the same vector code
;; (splat, helper, lane 0), so an element's bits never depend on its position.
;;
;; Accuracy: measured against float64 over dense sweeps (tests/kernels/test_vunary.py repeats the
;; sweeps and checks these bounds); "ulp" is the f32 spacing at the exact result.
;;   log        0.83 ulp over all positive f32 (subnormals included); relative 7.9e-8
;;   sigmoid    2.45 ulp, relative 1.5e-7 for x >= -87 (below, the result is subnormal or 0)
;;   tanh       1.31 ulp, relative 1.4e-7
;;   erf        1.60 ulp, relative 1.2e-7 for normal results
;;   gelu       absolute 1.1e-7 * max(1, |x|) (for x << 0, 1 + erf cancels: relative error grows)
;;   gelu_tanh  absolute 1.2e-7 * max(1, |x|)
;;   sqrt, lrelu, hsigmoid, hswish: one IEEE rounding per instruction (sqrt is exact)
;; Special values follow IEEE/C: log(x < 0) = NaN, log(+-0) = -inf, log(+inf) = +inf; tanh and
;; erf saturate to +-1 and keep the sign of zero; NaN in -> NaN out for every helper.

;; $f32x4_sqrt: helper, lane-wise f32x4.sqrt (correctly rounded; sqrt(-0) = -0, sqrt(x < 0) = NaN).
(func $f32x4_sqrt (param $x v128) (result v128)
  (f32x4.sqrt (local.get $x)))

;; $f32x4_log: helper, lane-wise natural logarithm (Cephes logf's polynomial, rounded to f32).
;;   1. subnormal x is scaled by 2^23 (exact); x = m * 2^e with m in [0.5, 1) read from the bits.
;;   2. if m < sqrt(1/2): e -= 1, f = (m + m) - 1, else f = m - 1 (both exact: Sterbenz).
;;   3. z = f*f; p = Horner(f; c0..c8); r = (p*f)*z; r += e*L2LO; r += -0.5*z; r = f + r;
;;      r += e*L2HI, with ln2 = L2HI + L2LO (L2HI = 0x1.63p-1 has few bits: e*L2HI is exact).
;;   4. specials by select: NaN -> NaN, +-0 -> -inf, +inf -> +inf, x < 0 -> NaN.
(func $f32x4_log (param $x v128) (result v128)
  (local $sub v128) (local $xs v128) (local $e v128) (local $m v128) (local $mask v128)
  (local $f v128) (local $z v128) (local $p v128) (local $ef v128) (local $r v128)
  (local.set $sub (f32x4.lt (local.get $x) (v128.const f32x4 0x1p-126 0x1p-126 0x1p-126 0x1p-126)))
  (local.set $xs (v128.bitselect (f32x4.mul (local.get $x) (v128.const f32x4 0x1p+23 0x1p+23 0x1p+23 0x1p+23))
                                 (local.get $x) (local.get $sub)))
  (local.set $e (i32x4.sub (i32x4.shr_s (local.get $xs) (i32.const 23)) (v128.const i32x4 126 126 126 126)))
  (local.set $e (i32x4.sub (local.get $e) (v128.and (local.get $sub) (v128.const i32x4 23 23 23 23))))
  (local.set $m (v128.or (v128.and (local.get $xs) (v128.const i32x4 0x007FFFFF 0x007FFFFF 0x007FFFFF 0x007FFFFF))
                         (v128.const i32x4 0x3F000000 0x3F000000 0x3F000000 0x3F000000)))
  ;; mask is -1 (all ones) in lanes where m < sqrt(1/2): adding it decrements e
  (local.set $mask (f32x4.lt (local.get $m) (v128.const f32x4 0x1.6a09e6p-1 0x1.6a09e6p-1 0x1.6a09e6p-1 0x1.6a09e6p-1)))
  (local.set $e (i32x4.add (local.get $e) (local.get $mask)))
  (local.set $f (f32x4.sub (v128.bitselect (f32x4.add (local.get $m) (local.get $m)) (local.get $m) (local.get $mask))
                           (v128.const f32x4 1.0 1.0 1.0 1.0)))
  (local.set $ef (f32x4.convert_i32x4_s (local.get $e)))
  (local.set $z (f32x4.mul (local.get $f) (local.get $f)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $f) (v128.const f32x4 0x1.204376p-4 0x1.204376p-4 0x1.204376p-4 0x1.204376p-4))
                           (v128.const f32x4 -0x1.d7a370p-4 -0x1.d7a370p-4 -0x1.d7a370p-4 -0x1.d7a370p-4)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $f))
                           (v128.const f32x4 0x1.de4a34p-4 0x1.de4a34p-4 0x1.de4a34p-4 0x1.de4a34p-4)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $f))
                           (v128.const f32x4 -0x1.fcba9ep-4 -0x1.fcba9ep-4 -0x1.fcba9ep-4 -0x1.fcba9ep-4)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $f))
                           (v128.const f32x4 0x1.23d37ep-3 0x1.23d37ep-3 0x1.23d37ep-3 0x1.23d37ep-3)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $f))
                           (v128.const f32x4 -0x1.555ca0p-3 -0x1.555ca0p-3 -0x1.555ca0p-3 -0x1.555ca0p-3)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $f))
                           (v128.const f32x4 0x1.999d58p-3 0x1.999d58p-3 0x1.999d58p-3 0x1.999d58p-3)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $f))
                           (v128.const f32x4 -0x1.fffff8p-3 -0x1.fffff8p-3 -0x1.fffff8p-3 -0x1.fffff8p-3)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $f))
                           (v128.const f32x4 0x1.555554p-2 0x1.555554p-2 0x1.555554p-2 0x1.555554p-2)))
  (local.set $r (f32x4.mul (f32x4.mul (local.get $p) (local.get $f)) (local.get $z)))
  (local.set $r (f32x4.add (local.get $r)
                           (f32x4.mul (local.get $ef) (v128.const f32x4 -0x1.bd0106p-13 -0x1.bd0106p-13 -0x1.bd0106p-13 -0x1.bd0106p-13))))
  (local.set $r (f32x4.add (local.get $r) (f32x4.mul (local.get $z) (v128.const f32x4 -0.5 -0.5 -0.5 -0.5))))
  (local.set $r (f32x4.add (local.get $f) (local.get $r)))
  (local.set $r (f32x4.add (local.get $r)
                           (f32x4.mul (local.get $ef) (v128.const f32x4 0x1.63p-1 0x1.63p-1 0x1.63p-1 0x1.63p-1))))
  (local.set $r (v128.bitselect (local.get $x) (local.get $r) (f32x4.ne (local.get $x) (local.get $x))))
  (local.set $r (v128.bitselect (v128.const f32x4 -inf -inf -inf -inf) (local.get $r)
                                (f32x4.eq (local.get $x) (v128.const f32x4 0 0 0 0))))
  (local.set $r (v128.bitselect (v128.const f32x4 inf inf inf inf) (local.get $r)
                                (f32x4.eq (local.get $x) (v128.const f32x4 inf inf inf inf))))
  (v128.bitselect (v128.const f32x4 nan nan nan nan) (local.get $r)
                  (f32x4.lt (local.get $x) (v128.const f32x4 0 0 0 0))))

;; $f32x4_sigmoid: helper, 1 / (1 + $f32x4_vexp(-x)) (true division). sigmoid(+inf) = 1,
;; sigmoid(-inf) = +0; results below ~1.2e-38 (x < -87.3) are subnormal, x < -88.73 gives +0.
(func $f32x4_sigmoid (param $x v128) (result v128)
  (f32x4.div (v128.const f32x4 1.0 1.0 1.0 1.0)
             (f32x4.add (v128.const f32x4 1.0 1.0 1.0 1.0) (call $f32_vexp (f32x4.neg (local.get $x))))))

;; $f32x4_tanh: helper, tanh on a = |x| (the sign of x is copied back at the end, so tanh(-0) = -0):
;;   a < 0.625: Cephes tanhf's odd polynomial, z = a*a, p = Horner(z; t0..t4), r = ((p*z)*a) + a
;;   else:      r = 1 - 2 / ($f32_vexp(a + a) + 1)  (exp overflows to +inf for a > 44: r = 1)
(func $f32x4_tanh (param $x v128) (result v128)
  (local $a v128) (local $z v128) (local $p v128) (local $small v128) (local $big v128)
  (local.set $a (f32x4.abs (local.get $x)))
  (local.set $z (f32x4.mul (local.get $a) (local.get $a)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $z) (v128.const f32x4 -0x1.75e1d4p-8 -0x1.75e1d4p-8 -0x1.75e1d4p-8 -0x1.75e1d4p-8))
                           (v128.const f32x4 0x1.52269cp-6 0x1.52269cp-6 0x1.52269cp-6 0x1.52269cp-6)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z))
                           (v128.const f32x4 -0x1.b83c5ap-5 -0x1.b83c5ap-5 -0x1.b83c5ap-5 -0x1.b83c5ap-5)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z))
                           (v128.const f32x4 0x1.110726p-3 0x1.110726p-3 0x1.110726p-3 0x1.110726p-3)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z))
                           (v128.const f32x4 -0x1.555532p-2 -0x1.555532p-2 -0x1.555532p-2 -0x1.555532p-2)))
  (local.set $small (f32x4.add (f32x4.mul (f32x4.mul (local.get $p) (local.get $z)) (local.get $a)) (local.get $a)))
  (local.set $big (f32x4.sub (v128.const f32x4 1.0 1.0 1.0 1.0)
                             (f32x4.div (v128.const f32x4 2.0 2.0 2.0 2.0)
                                        (f32x4.add (call $f32_vexp (f32x4.add (local.get $a) (local.get $a)))
                                                   (v128.const f32x4 1.0 1.0 1.0 1.0)))))
  (v128.or (v128.bitselect (local.get $small) (local.get $big)
                           (f32x4.lt (local.get $a) (v128.const f32x4 0.625 0.625 0.625 0.625)))
           (v128.and (local.get $x) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000))))

;; $f32x4_erf: helper, erf on a = min(|x|, 4) (erf(4) rounds to 1), sign of x copied back:
;;   a < 1: z = a*a, r = a + a * Horner(z; s0..s6)       (erf(a)/a - 1 as a polynomial in z)
;;   else:  r = 1 - $f32_vexp(-z) * Horner(1/a; b0..b9)  (erfc(a) * exp(a^2) in 1/a)
;; Coefficients: Lawson minimax fits (relative error) rounded to f32.
(func $f32x4_erf (param $x v128) (result v128)
  (local $a v128) (local $z v128) (local $p v128) (local $u v128) (local $q v128) (local $small v128) (local $big v128)
  (local.set $a (f32x4.min (f32x4.abs (local.get $x)) (v128.const f32x4 4.0 4.0 4.0 4.0)))
  (local.set $z (f32x4.mul (local.get $a) (local.get $a)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $z) (v128.const f32x4 0x1.496bf6p-14 0x1.496bf6p-14 0x1.496bf6p-14 0x1.496bf6p-14))
                           (v128.const f32x4 -0x1.a3f7bap-11 -0x1.a3f7bap-11 -0x1.a3f7bap-11 -0x1.a3f7bap-11)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z))
                           (v128.const f32x4 0x1.5405cep-8 0x1.5405cep-8 0x1.5405cep-8 0x1.5405cep-8)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z))
                           (v128.const f32x4 -0x1.b7f912p-6 -0x1.b7f912p-6 -0x1.b7f912p-6 -0x1.b7f912p-6)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z))
                           (v128.const f32x4 0x1.ce2cf8p-4 0x1.ce2cf8p-4 0x1.ce2cf8p-4 0x1.ce2cf8p-4)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z))
                           (v128.const f32x4 -0x1.81273ep-2 -0x1.81273ep-2 -0x1.81273ep-2 -0x1.81273ep-2)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z))
                           (v128.const f32x4 0x1.06eba8p-3 0x1.06eba8p-3 0x1.06eba8p-3 0x1.06eba8p-3)))
  (local.set $small (f32x4.add (local.get $a) (f32x4.mul (local.get $a) (local.get $p))))
  (local.set $u (f32x4.div (v128.const f32x4 1.0 1.0 1.0 1.0) (local.get $a)))
  (local.set $q (f32x4.add (f32x4.mul (local.get $u) (v128.const f32x4 0x1.f73826p-6 0x1.f73826p-6 0x1.f73826p-6 0x1.f73826p-6))
                           (v128.const f32x4 -0x1.700d7ep-3 -0x1.700d7ep-3 -0x1.700d7ep-3 -0x1.700d7ep-3)))
  (local.set $q (f32x4.add (f32x4.mul (local.get $q) (local.get $u))
                           (v128.const f32x4 0x1.c0c23ep-2 0x1.c0c23ep-2 0x1.c0c23ep-2 0x1.c0c23ep-2)))
  (local.set $q (f32x4.add (f32x4.mul (local.get $q) (local.get $u))
                           (v128.const f32x4 -0x1.12eb06p-1 -0x1.12eb06p-1 -0x1.12eb06p-1 -0x1.12eb06p-1)))
  (local.set $q (f32x4.add (f32x4.mul (local.get $q) (local.get $u))
                           (v128.const f32x4 0x1.e81bc2p-3 0x1.e81bc2p-3 0x1.e81bc2p-3 0x1.e81bc2p-3)))
  (local.set $q (f32x4.add (f32x4.mul (local.get $q) (local.get $u))
                           (v128.const f32x4 0x1.d7d962p-3 0x1.d7d962p-3 0x1.d7d962p-3 0x1.d7d962p-3)))
  (local.set $q (f32x4.add (f32x4.mul (local.get $q) (local.get $u))
                           (v128.const f32x4 -0x1.80e242p-2 -0x1.80e242p-2 -0x1.80e242p-2 -0x1.80e242p-2)))
  (local.set $q (f32x4.add (f32x4.mul (local.get $q) (local.get $u))
                           (v128.const f32x4 0x1.507596p-6 0x1.507596p-6 0x1.507596p-6 0x1.507596p-6)))
  (local.set $q (f32x4.add (f32x4.mul (local.get $q) (local.get $u))
                           (v128.const f32x4 0x1.1fa00cp-1 0x1.1fa00cp-1 0x1.1fa00cp-1 0x1.1fa00cp-1)))
  (local.set $q (f32x4.add (f32x4.mul (local.get $q) (local.get $u))
                           (v128.const f32x4 0x1.fbd6ccp-14 0x1.fbd6ccp-14 0x1.fbd6ccp-14 0x1.fbd6ccp-14)))
  (local.set $big (f32x4.sub (v128.const f32x4 1.0 1.0 1.0 1.0)
                             (f32x4.mul (call $f32_vexp (f32x4.neg (local.get $z))) (local.get $q))))
  (v128.or (v128.bitselect (local.get $small) (local.get $big)
                           (f32x4.lt (local.get $a) (v128.const f32x4 1.0 1.0 1.0 1.0)))
           (v128.and (local.get $x) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000))))

;; $f32x4_gelu: helper, ONNX Gelu (approximate = "none"): (x * 0.5) * ($f32x4_erf(x * sqrt(1/2)) + 1).
(func $f32x4_gelu (param $x v128) (result v128)
  (f32x4.mul (f32x4.mul (local.get $x) (v128.const f32x4 0.5 0.5 0.5 0.5))
             (f32x4.add (call $f32x4_erf (f32x4.mul (local.get $x)
                                                    (v128.const f32x4 0x1.6a09e6p-1 0x1.6a09e6p-1 0x1.6a09e6p-1 0x1.6a09e6p-1)))
                        (v128.const f32x4 1.0 1.0 1.0 1.0))))

;; $f32x4_gelu_tanh: helper, ONNX Gelu (approximate = "tanh"):
;;   (x * 0.5) * ($f32x4_tanh((((x * x) * x) * 0.044715 + x) * sqrt(2/pi)) + 1)
(func $f32x4_gelu_tanh (param $x v128) (result v128)
  (local $inner v128)
  (local.set $inner (f32x4.mul (f32x4.add (f32x4.mul (f32x4.mul (f32x4.mul (local.get $x) (local.get $x)) (local.get $x))
                                                     (v128.const f32x4 0x1.6e4e26p-5 0x1.6e4e26p-5 0x1.6e4e26p-5 0x1.6e4e26p-5))
                                          (local.get $x))
                               (v128.const f32x4 0x1.988454p-1 0x1.988454p-1 0x1.988454p-1 0x1.988454p-1)))
  (f32x4.mul (f32x4.mul (local.get $x) (v128.const f32x4 0.5 0.5 0.5 0.5))
             (f32x4.add (call $f32x4_tanh (local.get $inner)) (v128.const f32x4 1.0 1.0 1.0 1.0))))

;; $f32x4_lrelu: helper, x < 0 ? x * alpha : x (alpha splat in $alpha). NaN stays NaN; -0 -> -0 * alpha.
(func $f32x4_lrelu (param $x v128) (param $alpha v128) (result v128)
  (v128.bitselect (f32x4.mul (local.get $x) (local.get $alpha)) (local.get $x)
                  (f32x4.lt (local.get $x) (v128.const f32x4 0 0 0 0))))

;; $f32x4_hsigmoid: helper, min(max(x * alpha + beta, 0), 1) with wasm max/min (NaN propagates).
(func $f32x4_hsigmoid (param $x v128) (param $alpha v128) (param $beta v128) (result v128)
  (f32x4.min (f32x4.max (f32x4.add (f32x4.mul (local.get $x) (local.get $alpha)) (local.get $beta))
                        (v128.const f32x4 0 0 0 0))
             (v128.const f32x4 1.0 1.0 1.0 1.0)))

;; $f32x4_hswish: helper, x * min(max(x * (1/6) + 0.5, 0), 1) (ONNX HardSwish; 1/6 rounded to f32).
(func $f32x4_hswish (param $x v128) (result v128)
  (f32x4.mul (local.get $x)
             (call $f32x4_hsigmoid (local.get $x) (v128.const f32x4 0x1.555556p-3 0x1.555556p-3 0x1.555556p-3 0x1.555556p-3)
                                   (v128.const f32x4 0.5 0.5 0.5 0.5))))

;; $f32_vsqrt: y[i] = sqrt(x[i]) (f32x4.sqrt: correctly rounded, exact).
;;   (n, x, y): n >= 0 f32 at byte offsets x, y (y may alias x).
(func $f32_vsqrt (param $n i32) (param $x i32) (param $y i32)
  (local $vec_end i32) (local $end i32)
  (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
  (local.set $vec_end (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
  (block $vec_done
    (br_if $vec_done (i32.eq (local.get $x) (local.get $vec_end)))
    (loop $vec
      (v128.store (local.get $y) (call $f32x4_sqrt (v128.load (local.get $x))))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (br_if $vec (i32.ne (local.get $x) (local.get $vec_end)))))
  (block $tail_done
    (br_if $tail_done (i32.eq (local.get $x) (local.get $end)))
    (loop $tail
      (f32.store (local.get $y)
                 (f32x4.extract_lane 0 (call $f32x4_sqrt (v128.load32_splat (local.get $x)))))
      (local.set $x (i32.add (local.get $x) (i32.const 4)))
      (local.set $y (i32.add (local.get $y) (i32.const 4)))
      (br_if $tail (i32.ne (local.get $x) (local.get $end))))))

;; $f32_vlog: y[i] = ln(x[i]) ($f32x4_log).
;;   (n, x, y): n >= 0 f32 at byte offsets x, y (y may alias x).
(func $f32_vlog (param $n i32) (param $x i32) (param $y i32)
  (local $vec_end i32) (local $end i32)
  (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
  (local.set $vec_end (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
  (block $vec_done
    (br_if $vec_done (i32.eq (local.get $x) (local.get $vec_end)))
    (loop $vec
      (v128.store (local.get $y) (call $f32x4_log (v128.load (local.get $x))))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (br_if $vec (i32.ne (local.get $x) (local.get $vec_end)))))
  (block $tail_done
    (br_if $tail_done (i32.eq (local.get $x) (local.get $end)))
    (loop $tail
      (f32.store (local.get $y)
                 (f32x4.extract_lane 0 (call $f32x4_log (v128.load32_splat (local.get $x)))))
      (local.set $x (i32.add (local.get $x) (i32.const 4)))
      (local.set $y (i32.add (local.get $y) (i32.const 4)))
      (br_if $tail (i32.ne (local.get $x) (local.get $end))))))

;; $f32_vsigmoid: y[i] = 1 / (1 + exp(-x[i])) ($f32x4_sigmoid).
;;   (n, x, y): n >= 0 f32 at byte offsets x, y (y may alias x).
(func $f32_vsigmoid (param $n i32) (param $x i32) (param $y i32)
  (local $vec_end i32) (local $end i32)
  (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
  (local.set $vec_end (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
  (block $vec_done
    (br_if $vec_done (i32.eq (local.get $x) (local.get $vec_end)))
    (loop $vec
      (v128.store (local.get $y) (call $f32x4_sigmoid (v128.load (local.get $x))))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (br_if $vec (i32.ne (local.get $x) (local.get $vec_end)))))
  (block $tail_done
    (br_if $tail_done (i32.eq (local.get $x) (local.get $end)))
    (loop $tail
      (f32.store (local.get $y)
                 (f32x4.extract_lane 0 (call $f32x4_sigmoid (v128.load32_splat (local.get $x)))))
      (local.set $x (i32.add (local.get $x) (i32.const 4)))
      (local.set $y (i32.add (local.get $y) (i32.const 4)))
      (br_if $tail (i32.ne (local.get $x) (local.get $end))))))

;; $f32_vtanh: y[i] = tanh(x[i]) ($f32x4_tanh).
;;   (n, x, y): n >= 0 f32 at byte offsets x, y (y may alias x).
(func $f32_vtanh (param $n i32) (param $x i32) (param $y i32)
  (local $vec_end i32) (local $end i32)
  (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
  (local.set $vec_end (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
  (block $vec_done
    (br_if $vec_done (i32.eq (local.get $x) (local.get $vec_end)))
    (loop $vec
      (v128.store (local.get $y) (call $f32x4_tanh (v128.load (local.get $x))))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (br_if $vec (i32.ne (local.get $x) (local.get $vec_end)))))
  (block $tail_done
    (br_if $tail_done (i32.eq (local.get $x) (local.get $end)))
    (loop $tail
      (f32.store (local.get $y)
                 (f32x4.extract_lane 0 (call $f32x4_tanh (v128.load32_splat (local.get $x)))))
      (local.set $x (i32.add (local.get $x) (i32.const 4)))
      (local.set $y (i32.add (local.get $y) (i32.const 4)))
      (br_if $tail (i32.ne (local.get $x) (local.get $end))))))

;; $f32_verf: y[i] = erf(x[i]) ($f32x4_erf).
;;   (n, x, y): n >= 0 f32 at byte offsets x, y (y may alias x).
(func $f32_verf (param $n i32) (param $x i32) (param $y i32)
  (local $vec_end i32) (local $end i32)
  (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
  (local.set $vec_end (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
  (block $vec_done
    (br_if $vec_done (i32.eq (local.get $x) (local.get $vec_end)))
    (loop $vec
      (v128.store (local.get $y) (call $f32x4_erf (v128.load (local.get $x))))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (br_if $vec (i32.ne (local.get $x) (local.get $vec_end)))))
  (block $tail_done
    (br_if $tail_done (i32.eq (local.get $x) (local.get $end)))
    (loop $tail
      (f32.store (local.get $y)
                 (f32x4.extract_lane 0 (call $f32x4_erf (v128.load32_splat (local.get $x)))))
      (local.set $x (i32.add (local.get $x) (i32.const 4)))
      (local.set $y (i32.add (local.get $y) (i32.const 4)))
      (br_if $tail (i32.ne (local.get $x) (local.get $end))))))

;; $f32_vgelu: y[i] = gelu(x[i]) with erf ($f32x4_gelu).
;;   (n, x, y): n >= 0 f32 at byte offsets x, y (y may alias x).
(func $f32_vgelu (param $n i32) (param $x i32) (param $y i32)
  (local $vec_end i32) (local $end i32)
  (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
  (local.set $vec_end (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
  (block $vec_done
    (br_if $vec_done (i32.eq (local.get $x) (local.get $vec_end)))
    (loop $vec
      (v128.store (local.get $y) (call $f32x4_gelu (v128.load (local.get $x))))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (br_if $vec (i32.ne (local.get $x) (local.get $vec_end)))))
  (block $tail_done
    (br_if $tail_done (i32.eq (local.get $x) (local.get $end)))
    (loop $tail
      (f32.store (local.get $y)
                 (f32x4.extract_lane 0 (call $f32x4_gelu (v128.load32_splat (local.get $x)))))
      (local.set $x (i32.add (local.get $x) (i32.const 4)))
      (local.set $y (i32.add (local.get $y) (i32.const 4)))
      (br_if $tail (i32.ne (local.get $x) (local.get $end))))))

;; $f32_vgelu_tanh: y[i] = gelu(x[i]) with the tanh approximation ($f32x4_gelu_tanh).
;;   (n, x, y): n >= 0 f32 at byte offsets x, y (y may alias x).
(func $f32_vgelu_tanh (param $n i32) (param $x i32) (param $y i32)
  (local $vec_end i32) (local $end i32)
  (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
  (local.set $vec_end (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
  (block $vec_done
    (br_if $vec_done (i32.eq (local.get $x) (local.get $vec_end)))
    (loop $vec
      (v128.store (local.get $y) (call $f32x4_gelu_tanh (v128.load (local.get $x))))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (br_if $vec (i32.ne (local.get $x) (local.get $vec_end)))))
  (block $tail_done
    (br_if $tail_done (i32.eq (local.get $x) (local.get $end)))
    (loop $tail
      (f32.store (local.get $y)
                 (f32x4.extract_lane 0 (call $f32x4_gelu_tanh (v128.load32_splat (local.get $x)))))
      (local.set $x (i32.add (local.get $x) (i32.const 4)))
      (local.set $y (i32.add (local.get $y) (i32.const 4)))
      (br_if $tail (i32.ne (local.get $x) (local.get $end))))))

;; $f32_vlrelu: y[i] = x[i] < 0 ? x[i] * $alpha : x[i] ($f32x4_lrelu).
;;   (n, x, y, $alpha): n >= 0 f32 at byte offsets x, y (y may alias x).
(func $f32_vlrelu (param $n i32) (param $x i32) (param $y i32) (param $alpha f32)
  (local $vec_end i32) (local $end i32) (local $valpha v128)
  (local.set $valpha (f32x4.splat (local.get $alpha)))
  (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
  (local.set $vec_end (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
  (block $vec_done
    (br_if $vec_done (i32.eq (local.get $x) (local.get $vec_end)))
    (loop $vec
      (v128.store (local.get $y) (call $f32x4_lrelu (v128.load (local.get $x)) (local.get $valpha)))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (br_if $vec (i32.ne (local.get $x) (local.get $vec_end)))))
  (block $tail_done
    (br_if $tail_done (i32.eq (local.get $x) (local.get $end)))
    (loop $tail
      (f32.store (local.get $y)
                 (f32x4.extract_lane 0 (call $f32x4_lrelu (v128.load32_splat (local.get $x)) (local.get $valpha))))
      (local.set $x (i32.add (local.get $x) (i32.const 4)))
      (local.set $y (i32.add (local.get $y) (i32.const 4)))
      (br_if $tail (i32.ne (local.get $x) (local.get $end))))))

;; $f32_vhsigmoid: y[i] = min(max(x[i] * $alpha + $beta, 0), 1) ($f32x4_hsigmoid).
;;   (n, x, y, $alpha, $beta): n >= 0 f32 at byte offsets x, y (y may alias x).
(func $f32_vhsigmoid (param $n i32) (param $x i32) (param $y i32) (param $alpha f32) (param $beta f32)
  (local $vec_end i32) (local $end i32) (local $valpha v128) (local $vbeta v128)
  (local.set $valpha (f32x4.splat (local.get $alpha)))
  (local.set $vbeta (f32x4.splat (local.get $beta)))
  (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
  (local.set $vec_end (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
  (block $vec_done
    (br_if $vec_done (i32.eq (local.get $x) (local.get $vec_end)))
    (loop $vec
      (v128.store (local.get $y) (call $f32x4_hsigmoid (v128.load (local.get $x)) (local.get $valpha) (local.get $vbeta)))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (br_if $vec (i32.ne (local.get $x) (local.get $vec_end)))))
  (block $tail_done
    (br_if $tail_done (i32.eq (local.get $x) (local.get $end)))
    (loop $tail
      (f32.store (local.get $y)
                 (f32x4.extract_lane 0 (call $f32x4_hsigmoid (v128.load32_splat (local.get $x)) (local.get $valpha) (local.get $vbeta))))
      (local.set $x (i32.add (local.get $x) (i32.const 4)))
      (local.set $y (i32.add (local.get $y) (i32.const 4)))
      (br_if $tail (i32.ne (local.get $x) (local.get $end))))))

;; $f32_vhswish: y[i] = x[i] * min(max(x[i] * (1/6) + 0.5, 0), 1) ($f32x4_hswish).
;;   (n, x, y): n >= 0 f32 at byte offsets x, y (y may alias x).
(func $f32_vhswish (param $n i32) (param $x i32) (param $y i32)
  (local $vec_end i32) (local $end i32)
  (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
  (local.set $vec_end (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
  (block $vec_done
    (br_if $vec_done (i32.eq (local.get $x) (local.get $vec_end)))
    (loop $vec
      (v128.store (local.get $y) (call $f32x4_hswish (v128.load (local.get $x))))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (br_if $vec (i32.ne (local.get $x) (local.get $vec_end)))))
  (block $tail_done
    (br_if $tail_done (i32.eq (local.get $x) (local.get $end)))
    (loop $tail
      (f32.store (local.get $y)
                 (f32x4.extract_lane 0 (call $f32x4_hswish (v128.load32_splat (local.get $x)))))
      (local.set $x (i32.add (local.get $x) (i32.const 4)))
      (local.set $y (i32.add (local.get $y) (i32.const 4)))
      (br_if $tail (i32.ne (local.get $x) (local.get $end))))))
