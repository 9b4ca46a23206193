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
  (local.set $a (f32x4.pmin (f32x4.abs (local.get $x)) (v128.const f32x4 4.0 4.0 4.0 4.0)))
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
  ;; every lane below 1 (and none NaN): the final select would take $small in all four, so $big is
  ;; not computed (same bits, about half the work for activations near 0)
  (if (result v128) (v128.any_true (v128.not (f32x4.lt (local.get $a) (v128.const f32x4 1.0 1.0 1.0 1.0))))
    (then
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
    (else
      (v128.or (local.get $small)
               (v128.and (local.get $x) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000))))))

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

;; $f32x4_swish: helper, x * $f32x4_sigmoid(alpha * x) (ONNX Swish; SiLU with alpha = 1).
(func $f32x4_swish (param $x v128) (param $alpha v128) (result v128)
  (f32x4.mul (local.get $x) (call $f32x4_sigmoid (f32x4.mul (local.get $alpha) (local.get $x)))))

;; $f32x4_hsigmoid: helper, min(max(x * alpha + beta, 0), 1) with wasm max/min's bits (NaN
;; propagates, max(-0, 0) = +0), in three instructions where max and min expand to ~16 on x86:
;; pmax(v, 0) keeps v for NaN and for -0, and the + 0 that follows turns -0 into +0 and leaves every
;; other value alone; pmin(w, 1) keeps a NaN w, and w >= +0 has no zero to order.
(func $f32x4_hsigmoid (param $x v128) (param $alpha v128) (param $beta v128) (result v128)
  (f32x4.pmin (f32x4.add (f32x4.pmax (f32x4.add (f32x4.mul (local.get $x) (local.get $alpha)) (local.get $beta))
                                     (v128.const f32x4 0 0 0 0))
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

;; $f32_vswish: y[i] = x[i] * sigmoid($alpha * x[i]) ($f32x4_swish; SiLU: $alpha = 1). Its own
;;   loop, not f32_vunary_op's dispatch per vector: EfficientNet-class models spend a quarter of their
;;   time in SiLU.
;;   (n, x, y, $alpha): n >= 0 f32 at byte offsets x, y (y may alias x).
(func $f32_vswish (param $n i32) (param $x i32) (param $y i32) (param $alpha f32)
  (local $vec_end i32) (local $end i32) (local $valpha v128)
  (local.set $valpha (f32x4.splat (local.get $alpha)))
  (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
  (local.set $vec_end (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
  (block $vec_done
    (br_if $vec_done (i32.eq (local.get $x) (local.get $vec_end)))
    (loop $vec
      (v128.store (local.get $y) (call $f32x4_swish (v128.load (local.get $x)) (local.get $valpha)))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (br_if $vec (i32.ne (local.get $x) (local.get $vec_end)))))
  (block $tail_done
    (br_if $tail_done (i32.eq (local.get $x) (local.get $end)))
    (loop $tail
      (f32.store (local.get $y)
                 (f32x4.extract_lane 0 (call $f32x4_swish (v128.load32_splat (local.get $x)) (local.get $valpha))))
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

;; ---- op-coded kernels: trigonometric and hyperbolic functions, their inverses, exp activations ----
;; One array kernel, $f32_vunary_op, runs any of these by op code (a br_table per vector picks the
;; helper; the ops are rare enough that one loop beats 20 copies of it). Every helper is a polynomial
;; or a composition of $f32_vexp and $f32x4_log, so every engine computes the same bits. The
;; polynomials are Cephes' single-precision ones (sinf, cosf, asinf, atanf, sinhf, asinhf, acoshf,
;; atanhf), coefficients rounded to f32.
;;
;; Accuracy: measured against float64 over dense sweeps plus random bit patterns in each range
;; (tests/kernels/test_vunary_op.py repeats the sweeps and checks these bounds); "ulp" is the f32
;; spacing at the exact result, "abs" the absolute error.
;;   sin, cos    |x| <= 1e5: abs 7.7e-8; |x| <= 1.05e6: abs 1.6e-7 (1.5 ulp for |x| <= 10).
;;               Beyond 1.05e6 (quadrant n > 671088) the products n*P1 of the reduction are no
;;               longer exact: sin, cos and tan return NaN there rather than a wrong number.
;;   tan         3.1 ulp (relative 2e-7) for |x| <= 100; relative error at most 1e-4 up to
;;               |x| = 1.5e4 even at the floats nearest a pole; beyond, those floats nearest a pole
;;               lose accuracy (relative 2.4e-3 at |x| <= 1e5): the 42-bit pi/2 sets the limit.
;;   asin 2.3 ulp, acos 1.3 ulp, atan 2.8 ulp (any x), atanh 1.3 ulp
;;   sinh 3.9 ulp, cosh 3.2 ulp (relative 2.7e-7; overflow to inf only where the result does)
;;   asinh 3.3 ulp, acosh 2.3 ulp (any x)
;;   softplus    abs 4.8e-7 (relative 2.1e-7 for normal results); exp flushes below x = -87: 0
;;   softsign 1.5 ulp; elu, celu (Kahan's expm1) 2.4 ulp, selu 3.2 ulp; mish 3.9 ulp; swish 2.7 ulp
;;               (alpha = 1, x >= -80: below, sigmoid's result is subnormal or flushed)
;;   thresholded_relu, shrink: one IEEE rounding per instruction
;; So every op is within the fp32 contract (atol 1e-5 + rtol 1e-4) of the exact result, and of
;; onnxruntime, wherever its result is finite, except tan at the floats nearest a pole past 1.5e4
;; and sin, cos, tan past 1.05e6 (NaN).
;; Special values: NaN in -> NaN out (thresholded_relu and shrink give 0, as onnxruntime);
;; softsign(+-inf) and mish(-inf) are NaN (inf / inf, -inf * 0), as in onnxruntime;
;; sin, tan, asin, atan, sinh, asinh, atanh keep the sign of zero; sin, cos, tan of +-inf = NaN;
;; asin, acos outside [-1, 1], acosh below 1 and atanh outside [-1, 1] = NaN; atanh(+-1) = +-inf.

;; $f32x4_pio2_rem: helper, r = a - n * pi/2 (Cody-Waite, no FMA) for a >= 0 and n = nearest(a * 2/pi):
;;   r = (((a - n*P1) - n*P2) - n*P3) - n*P4 with pi/2 = P1 + P2 + P3 + P4 (42 bits),
;;   P1 = 0x1.9p+0 and P2 = 0x1.1p-7 (5 significant bits each), P3 = -0x1.28p-18, P4 = -0x1.777a5cp-25.
;;   n*P1 and n*P2 are exact for n <= 671088 (a <= 1.05e6); |r| <= pi/4 plus rounding.
(func $f32x4_pio2_rem (param $a v128) (param $n v128) (result v128)
  (f32x4.sub
    (f32x4.sub
      (f32x4.sub (f32x4.sub (local.get $a) (f32x4.mul (local.get $n) (v128.const f32x4 0x1.9p+0 0x1.9p+0 0x1.9p+0 0x1.9p+0)))
                 (f32x4.mul (local.get $n) (v128.const f32x4 0x1.1p-7 0x1.1p-7 0x1.1p-7 0x1.1p-7)))
      (f32x4.mul (local.get $n) (v128.const f32x4 -0x1.28p-18 -0x1.28p-18 -0x1.28p-18 -0x1.28p-18)))
    (f32x4.mul (local.get $n) (v128.const f32x4 -0x1.777a5cp-25 -0x1.777a5cp-25 -0x1.777a5cp-25 -0x1.777a5cp-25))))

;; $f32x4_sin_poly: helper, sin(r) for |r| <= pi/4 given z = r*r: ((p(z) * z) * r) + r, p in Horner form.
(func $f32x4_sin_poly (param $r v128) (param $z v128) (result v128)
  (local $p v128)
  (local.set $p (f32x4.add (f32x4.mul (v128.const f32x4 -0x1.9943f2p-13 -0x1.9943f2p-13 -0x1.9943f2p-13 -0x1.9943f2p-13) (local.get $z)) (v128.const f32x4 0x1.11073cp-7 0x1.11073cp-7 0x1.11073cp-7 0x1.11073cp-7)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (v128.const f32x4 -0x1.555546p-3 -0x1.555546p-3 -0x1.555546p-3 -0x1.555546p-3)))
  (f32x4.add (f32x4.mul (f32x4.mul (local.get $p) (local.get $z)) (local.get $r)) (local.get $r)))

;; $f32x4_cos_poly: helper, cos(r) for |r| <= pi/4 given z = r*r: (((p(z) * z) * z) - z * 0.5) + 1.
(func $f32x4_cos_poly (param $z v128) (result v128)
  (local $p v128)
  (local.set $p (f32x4.add (f32x4.mul (v128.const f32x4 0x1.99eb9cp-16 0x1.99eb9cp-16 0x1.99eb9cp-16 0x1.99eb9cp-16) (local.get $z)) (v128.const f32x4 -0x1.6c0c34p-10 -0x1.6c0c34p-10 -0x1.6c0c34p-10 -0x1.6c0c34p-10)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (v128.const f32x4 0x1.55554ap-5 0x1.55554ap-5 0x1.55554ap-5 0x1.55554ap-5)))
  (f32x4.add (f32x4.sub (f32x4.mul (f32x4.mul (local.get $p) (local.get $z)) (local.get $z))
                        (f32x4.mul (local.get $z) (v128.const f32x4 0.5 0.5 0.5 0.5)))
             (v128.const f32x4 1.0 1.0 1.0 1.0)))

;; $f32x4_sincos: helper, sin(x) ($cos = 0) or cos(x) ($cos = 1) on a = |x|:
;;   n = nearest(a * 2/pi), r = $f32x4_pio2_rem(a, n), q = trunc_sat(n) + $cos;
;;   v = q odd ? cos_poly(r) : sin_poly(r), negated when bit 1 of q is set (and, for sin, when x
;;   is negative: sin is odd, cos even); NaN where n > 671088 (|x| > 1.05e6: the reduction is no
;;   longer exact and the result would be meaningless).
(func $f32x4_sincos (param $x v128) (param $cos i32) (result v128)
  (local $a v128) (local $n v128) (local $r v128) (local $z v128) (local $q v128) (local $sign v128) (local $v v128)
  (local.set $a (f32x4.abs (local.get $x)))
  (local.set $n (f32x4.nearest (f32x4.mul (local.get $a) (v128.const f32x4 0x1.45f306p-1 0x1.45f306p-1 0x1.45f306p-1 0x1.45f306p-1))))
  (local.set $r (call $f32x4_pio2_rem (local.get $a) (local.get $n)))
  (local.set $z (f32x4.mul (local.get $r) (local.get $r)))
  (local.set $q (i32x4.add (i32x4.trunc_sat_f32x4_s (local.get $n)) (i32x4.splat (local.get $cos))))
  (local.set $sign (v128.and (i32x4.shl (local.get $q) (i32.const 30)) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000)))
  (if (i32.eqz (local.get $cos))
    (then (local.set $sign (v128.xor (local.get $sign) (v128.and (local.get $x) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000))))))
  (local.set $v (v128.bitselect (call $f32x4_cos_poly (local.get $z)) (call $f32x4_sin_poly (local.get $r) (local.get $z))
                                (i32x4.shr_s (i32x4.shl (local.get $q) (i32.const 31)) (i32.const 31))))
  (v128.bitselect (v128.const f32x4 nan nan nan nan) (v128.xor (local.get $v) (local.get $sign))
                  (f32x4.gt (local.get $n) (v128.const f32x4 671088.0 671088.0 671088.0 671088.0))))

;; $f32x4_tan: helper, tan on a = |x| with the sign of x copied back: n, r as in $f32x4_sincos,
;;   s = sin_poly(r), c = cos_poly(r); n even: s / c, n odd: -(c / s); NaN where n > 671088.
(func $f32x4_tan (param $x v128) (result v128)
  (local $a v128) (local $n v128) (local $r v128) (local $z v128) (local $s v128) (local $c v128)
  (local.set $a (f32x4.abs (local.get $x)))
  (local.set $n (f32x4.nearest (f32x4.mul (local.get $a) (v128.const f32x4 0x1.45f306p-1 0x1.45f306p-1 0x1.45f306p-1 0x1.45f306p-1))))
  (local.set $r (call $f32x4_pio2_rem (local.get $a) (local.get $n)))
  (local.set $z (f32x4.mul (local.get $r) (local.get $r)))
  (local.set $s (call $f32x4_sin_poly (local.get $r) (local.get $z)))
  (local.set $c (call $f32x4_cos_poly (local.get $z)))
  (v128.bitselect (v128.const f32x4 nan nan nan nan)
                  (v128.xor (v128.bitselect (f32x4.neg (f32x4.div (local.get $c) (local.get $s))) (f32x4.div (local.get $s) (local.get $c))
                                            (i32x4.shr_s (i32x4.shl (i32x4.trunc_sat_f32x4_s (local.get $n)) (i32.const 31)) (i32.const 31)))
                            (v128.and (local.get $x) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000)))
                  (f32x4.gt (local.get $n) (v128.const f32x4 671088.0 671088.0 671088.0 671088.0))))

;; $f32x4_asin_core: helper, for a = |x|: t = asin(a) when a <= 0.5, else t = asin(sqrt((1 - a) * 0.5))
;;   (so asin(a) = pi/2 - 2t; NaN for a > 1):  z = a > 0.5 ? (1 - a) * 0.5 : a * a,
;;   w = a > 0.5 ? sqrt(z) : a,  t = ((p(z) * z) * w) + w.
(func $f32x4_asin_core (param $a v128) (result v128)
  (local $big v128) (local $z v128) (local $w v128) (local $p v128)
  (local.set $big (f32x4.gt (local.get $a) (v128.const f32x4 0.5 0.5 0.5 0.5)))
  (local.set $z (v128.bitselect (f32x4.mul (f32x4.sub (v128.const f32x4 1.0 1.0 1.0 1.0) (local.get $a)) (v128.const f32x4 0.5 0.5 0.5 0.5))
                                (f32x4.mul (local.get $a) (local.get $a)) (local.get $big)))
  (local.set $w (v128.bitselect (f32x4.sqrt (local.get $z)) (local.get $a) (local.get $big)))
  (local.set $p (f32x4.add (f32x4.mul (v128.const f32x4 0x1.5966a4p-5 0x1.5966a4p-5 0x1.5966a4p-5 0x1.5966a4p-5) (local.get $z)) (v128.const f32x4 0x1.8c2fc6p-6 0x1.8c2fc6p-6 0x1.8c2fc6p-6 0x1.8c2fc6p-6)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (v128.const f32x4 0x1.747d8ep-5 0x1.747d8ep-5 0x1.747d8ep-5 0x1.747d8ep-5)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (v128.const f32x4 0x1.3301ecp-4 0x1.3301ecp-4 0x1.3301ecp-4 0x1.3301ecp-4)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (v128.const f32x4 0x1.5555c8p-3 0x1.5555c8p-3 0x1.5555c8p-3 0x1.5555c8p-3)))
  (f32x4.add (f32x4.mul (f32x4.mul (local.get $p) (local.get $z)) (local.get $w)) (local.get $w)))

;; $f32x4_asin: helper, t = $f32x4_asin_core(|x|); |x| > 0.5: pi/2 - (t + t), else t; sign of x copied back.
(func $f32x4_asin (param $x v128) (result v128)
  (local $a v128) (local $t v128)
  (local.set $a (f32x4.abs (local.get $x)))
  (local.set $t (call $f32x4_asin_core (local.get $a)))
  (v128.or (v128.bitselect (f32x4.sub (v128.const f32x4 0x1.921fb6p+0 0x1.921fb6p+0 0x1.921fb6p+0 0x1.921fb6p+0) (f32x4.add (local.get $t) (local.get $t))) (local.get $t)
                           (f32x4.gt (local.get $a) (v128.const f32x4 0.5 0.5 0.5 0.5)))
           (v128.and (local.get $x) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000))))

;; $f32x4_acos: helper, t = $f32x4_asin_core(|x|): x > 0.5: t + t; x < -0.5: pi - (t + t);
;;   else pi/2 - t (t with the sign of x).
(func $f32x4_acos (param $x v128) (result v128)
  (local $t v128) (local $two_t v128) (local $r v128)
  (local.set $t (call $f32x4_asin_core (f32x4.abs (local.get $x))))
  (local.set $two_t (f32x4.add (local.get $t) (local.get $t)))
  (local.set $r (f32x4.sub (v128.const f32x4 0x1.921fb6p+0 0x1.921fb6p+0 0x1.921fb6p+0 0x1.921fb6p+0) (v128.or (local.get $t) (v128.and (local.get $x) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000)))))
  (local.set $r (v128.bitselect (local.get $two_t) (local.get $r) (f32x4.gt (local.get $x) (v128.const f32x4 0.5 0.5 0.5 0.5))))
  (v128.bitselect (f32x4.sub (v128.const f32x4 0x1.921fb6p+1 0x1.921fb6p+1 0x1.921fb6p+1 0x1.921fb6p+1) (local.get $two_t)) (local.get $r) (f32x4.lt (local.get $x) (v128.const f32x4 -0.5 -0.5 -0.5 -0.5))))

;; $f32x4_atan: helper, atan on a = |x|, sign of x copied back (Cephes atanf's reduction):
;;   a > tan(3pi/8): u = -1 / a, y0 = pi/2;  a > tan(pi/8): u = (a - 1) / (a + 1), y0 = pi/4;
;;   else u = a, y0 = 0;  z = u*u, r = y0 + (((p(z) * z) * u) + u).  atan(+-inf) = +-pi/2.
(func $f32x4_atan (param $x v128) (result v128)
  (local $a v128) (local $far v128) (local $mid v128) (local $u v128) (local $y0 v128) (local $z v128) (local $p v128)
  (local.set $a (f32x4.abs (local.get $x)))
  (local.set $far (f32x4.gt (local.get $a) (v128.const f32x4 0x1.3504f4p+1 0x1.3504f4p+1 0x1.3504f4p+1 0x1.3504f4p+1)))
  (local.set $mid (f32x4.gt (local.get $a) (v128.const f32x4 0x1.a8279ap-2 0x1.a8279ap-2 0x1.a8279ap-2 0x1.a8279ap-2)))
  (local.set $u (v128.bitselect (f32x4.div (v128.const f32x4 -1.0 -1.0 -1.0 -1.0) (local.get $a))
                                (v128.bitselect (f32x4.div (f32x4.sub (local.get $a) (v128.const f32x4 1.0 1.0 1.0 1.0)) (f32x4.add (local.get $a) (v128.const f32x4 1.0 1.0 1.0 1.0)))
                                                (local.get $a) (local.get $mid))
                                (local.get $far)))
  (local.set $y0 (v128.bitselect (v128.const f32x4 0x1.921fb6p+0 0x1.921fb6p+0 0x1.921fb6p+0 0x1.921fb6p+0) (v128.and (v128.const f32x4 0x1.921fb6p-1 0x1.921fb6p-1 0x1.921fb6p-1 0x1.921fb6p-1) (local.get $mid)) (local.get $far)))
  (local.set $z (f32x4.mul (local.get $u) (local.get $u)))
  (local.set $p (f32x4.add (f32x4.mul (v128.const f32x4 0x1.49e1a2p-4 0x1.49e1a2p-4 0x1.49e1a2p-4 0x1.49e1a2p-4) (local.get $z)) (v128.const f32x4 -0x1.1c370ap-3 -0x1.1c370ap-3 -0x1.1c370ap-3 -0x1.1c370ap-3)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (v128.const f32x4 0x1.9924bep-3 0x1.9924bep-3 0x1.9924bep-3 0x1.9924bep-3)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (v128.const f32x4 -0x1.555454p-2 -0x1.555454p-2 -0x1.555454p-2 -0x1.555454p-2)))
  (v128.or (f32x4.add (local.get $y0) (f32x4.add (f32x4.mul (f32x4.mul (local.get $p) (local.get $z)) (local.get $u)) (local.get $u)))
           (v128.and (local.get $x) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000))))

;; $f32x4_sinh: helper, sinh on a = |x|, sign of x copied back:
;;   a < 1: z = a*a, ((p(z) * z) * a) + a;
;;   else with t = $f32_vexp(a * 0.5): ((t * 0.5) * t) - ((0.5 / t) / t)  (e^a / 2 without
;;   overflowing before the result does; inf for a > 89.4).
(func $f32x4_sinh (param $x v128) (result v128)
  (local $a v128) (local $z v128) (local $p v128) (local $t v128) (local $small v128) (local $big v128)
  (local.set $a (f32x4.abs (local.get $x)))
  (local.set $z (f32x4.mul (local.get $a) (local.get $a)))
  (local.set $p (f32x4.add (f32x4.mul (v128.const f32x4 0x1.ab3c5ep-13 0x1.ab3c5ep-13 0x1.ab3c5ep-13 0x1.ab3c5ep-13) (local.get $z)) (v128.const f32x4 0x1.10f77cp-7 0x1.10f77cp-7 0x1.10f77cp-7 0x1.10f77cp-7)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (v128.const f32x4 0x1.555598p-3 0x1.555598p-3 0x1.555598p-3 0x1.555598p-3)))
  (local.set $small (f32x4.add (f32x4.mul (f32x4.mul (local.get $p) (local.get $z)) (local.get $a)) (local.get $a)))
  (local.set $t (call $f32_vexp (f32x4.mul (local.get $a) (v128.const f32x4 0.5 0.5 0.5 0.5))))
  (local.set $big (f32x4.sub (f32x4.mul (f32x4.mul (local.get $t) (v128.const f32x4 0.5 0.5 0.5 0.5)) (local.get $t))
                             (f32x4.div (f32x4.div (v128.const f32x4 0.5 0.5 0.5 0.5) (local.get $t)) (local.get $t))))
  (v128.or (v128.bitselect (local.get $small) (local.get $big) (f32x4.lt (local.get $a) (v128.const f32x4 1.0 1.0 1.0 1.0)))
           (v128.and (local.get $x) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000))))

;; $f32x4_cosh: helper, with t = $f32_vexp(|x| * 0.5): ((t * 0.5) * t) + ((0.5 / t) / t).
(func $f32x4_cosh (param $x v128) (result v128)
  (local $t v128)
  (local.set $t (call $f32_vexp (f32x4.mul (f32x4.abs (local.get $x)) (v128.const f32x4 0.5 0.5 0.5 0.5))))
  (f32x4.add (f32x4.mul (f32x4.mul (local.get $t) (v128.const f32x4 0.5 0.5 0.5 0.5)) (local.get $t))
             (f32x4.div (f32x4.div (v128.const f32x4 0.5 0.5 0.5 0.5) (local.get $t)) (local.get $t))))

;; $f32x4_asinh: helper, asinh on a = |x|, sign of x copied back:
;;   a < 0.5: z = a*a, ((p(z) * z) * a) + a;  a > 4096: log(a) + ln2;  else log(a + sqrt(a*a + 1)).
(func $f32x4_asinh (param $x v128) (result v128)
  (local $a v128) (local $z v128) (local $p v128) (local $huge v128) (local $mid v128)
  (local.set $a (f32x4.abs (local.get $x)))
  (local.set $z (f32x4.mul (local.get $a) (local.get $a)))
  (local.set $p (f32x4.add (f32x4.mul (v128.const f32x4 0x1.49adccp-6 0x1.49adccp-6 0x1.49adccp-6 0x1.49adccp-6) (local.get $z)) (v128.const f32x4 -0x1.5dcb02p-5 -0x1.5dcb02p-5 -0x1.5dcb02p-5 -0x1.5dcb02p-5)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (v128.const f32x4 0x1.329362p-4 0x1.329362p-4 0x1.329362p-4 0x1.329362p-4)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (v128.const f32x4 -0x1.55535ap-3 -0x1.55535ap-3 -0x1.55535ap-3 -0x1.55535ap-3)))
  (local.set $huge (f32x4.gt (local.get $a) (v128.const f32x4 4096.0 4096.0 4096.0 4096.0)))
  (local.set $mid (call $f32x4_log (v128.bitselect (local.get $a)
                                                   (f32x4.add (local.get $a) (f32x4.sqrt (f32x4.add (local.get $z) (v128.const f32x4 1.0 1.0 1.0 1.0))))
                                                   (local.get $huge))))
  (local.set $mid (v128.bitselect (f32x4.add (local.get $mid) (v128.const f32x4 0x1.62e43p-1 0x1.62e43p-1 0x1.62e43p-1 0x1.62e43p-1)) (local.get $mid) (local.get $huge)))
  (v128.or (v128.bitselect (f32x4.add (f32x4.mul (f32x4.mul (local.get $p) (local.get $z)) (local.get $a)) (local.get $a))
                           (local.get $mid) (f32x4.lt (local.get $a) (v128.const f32x4 0.5 0.5 0.5 0.5)))
           (v128.and (local.get $x) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000))))

;; $f32x4_acosh: helper, with d = x - 1:  d < 0.5: p(d) * sqrt(d) (NaN for x < 1);
;;   x > 4096: log(x) + ln2;  else log(x + sqrt(d * (x + 1))).
(func $f32x4_acosh (param $x v128) (result v128)
  (local $d v128) (local $p v128) (local $huge v128) (local $mid v128)
  (local.set $d (f32x4.sub (local.get $x) (v128.const f32x4 1.0 1.0 1.0 1.0)))
  (local.set $p (f32x4.add (f32x4.mul (v128.const f32x4 0x1.cd4aacp-10 0x1.cd4aacp-10 0x1.cd4aacp-10 0x1.cd4aacp-10) (local.get $d)) (v128.const f32x4 -0x1.ed4ef2p-8 -0x1.ed4ef2p-8 -0x1.ed4ef2p-8 -0x1.ed4ef2p-8)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $d)) (v128.const f32x4 0x1.b16feap-6 0x1.b16feap-6 0x1.b16feap-6 0x1.b16feap-6)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $d)) (v128.const f32x4 -0x1.e2b3fap-4 -0x1.e2b3fap-4 -0x1.e2b3fap-4 -0x1.e2b3fap-4)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $d)) (v128.const f32x4 0x1.6a09e6p+0 0x1.6a09e6p+0 0x1.6a09e6p+0 0x1.6a09e6p+0)))
  (local.set $huge (f32x4.gt (local.get $x) (v128.const f32x4 4096.0 4096.0 4096.0 4096.0)))
  (local.set $mid (call $f32x4_log (v128.bitselect (local.get $x)
                                                   (f32x4.add (local.get $x)
                                                              (f32x4.sqrt (f32x4.mul (local.get $d) (f32x4.add (local.get $x) (v128.const f32x4 1.0 1.0 1.0 1.0)))))
                                                   (local.get $huge))))
  (local.set $mid (v128.bitselect (f32x4.add (local.get $mid) (v128.const f32x4 0x1.62e43p-1 0x1.62e43p-1 0x1.62e43p-1 0x1.62e43p-1)) (local.get $mid) (local.get $huge)))
  (v128.bitselect (f32x4.mul (local.get $p) (f32x4.sqrt (local.get $d))) (local.get $mid)
                  (f32x4.lt (local.get $d) (v128.const f32x4 0.5 0.5 0.5 0.5))))

;; $f32x4_atanh: helper, atanh on a = |x|, sign of x copied back:
;;   a < 0.5: z = a*a, ((p(z) * z) * a) + a;  else log((1 + a) / (1 - a)) * 0.5.
(func $f32x4_atanh (param $x v128) (result v128)
  (local $a v128) (local $z v128) (local $p v128)
  (local.set $a (f32x4.abs (local.get $x)))
  (local.set $z (f32x4.mul (local.get $a) (local.get $a)))
  (local.set $p (f32x4.add (f32x4.mul (v128.const f32x4 0x1.743424p-3 0x1.743424p-3 0x1.743424p-3 0x1.743424p-3) (local.get $z)) (v128.const f32x4 0x1.51a97ep-4 0x1.51a97ep-4 0x1.51a97ep-4 0x1.51a97ep-4)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (v128.const f32x4 0x1.2c6c8ep-3 0x1.2c6c8ep-3 0x1.2c6c8ep-3 0x1.2c6c8ep-3)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (v128.const f32x4 0x1.992764p-3 0x1.992764p-3 0x1.992764p-3 0x1.992764p-3)))
  (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (v128.const f32x4 0x1.55566p-2 0x1.55566p-2 0x1.55566p-2 0x1.55566p-2)))
  (v128.or (v128.bitselect (f32x4.add (f32x4.mul (f32x4.mul (local.get $p) (local.get $z)) (local.get $a)) (local.get $a))
                           (f32x4.mul (call $f32x4_log (f32x4.div (f32x4.add (v128.const f32x4 1.0 1.0 1.0 1.0) (local.get $a)) (f32x4.sub (v128.const f32x4 1.0 1.0 1.0 1.0) (local.get $a))))
                                      (v128.const f32x4 0.5 0.5 0.5 0.5))
                           (f32x4.lt (local.get $a) (v128.const f32x4 0.5 0.5 0.5 0.5)))
           (v128.and (local.get $x) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000))))

;; $f32x4_softplus: helper, log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)), log1p by Goldberg's
;;   formula: u = $f32_vexp(-|x|), v = 1 + u, log1p(u) = v == 1 ? u : log(v) * (u / (v - 1)).
(func $f32x4_softplus (param $x v128) (result v128)
  (local $u v128) (local $v v128)
  (local.set $u (call $f32_vexp (f32x4.neg (f32x4.abs (local.get $x)))))
  (local.set $v (f32x4.add (v128.const f32x4 1.0 1.0 1.0 1.0) (local.get $u)))
  (f32x4.add (f32x4.max (local.get $x) (v128.const f32x4 0 0 0 0))
             (v128.bitselect (local.get $u)
                             (f32x4.mul (call $f32x4_log (local.get $v))
                                        (f32x4.div (local.get $u) (f32x4.sub (local.get $v) (v128.const f32x4 1.0 1.0 1.0 1.0))))
                             (f32x4.eq (local.get $v) (v128.const f32x4 1.0 1.0 1.0 1.0)))))

;; $f32x4_expm1: helper, exp(x) - 1 by Kahan's formula: u = $f32_vexp(x);
;;   u == 0: -1;  u == 1: x;  else ((u - 1) * x) / log(u).
(func $f32x4_expm1 (param $x v128) (result v128)
  (local $u v128)
  (local.set $u (call $f32_vexp (local.get $x)))
  (v128.bitselect (v128.const f32x4 -1.0 -1.0 -1.0 -1.0)
                  (v128.bitselect (local.get $x)
                                  (f32x4.div (f32x4.mul (f32x4.sub (local.get $u) (v128.const f32x4 1.0 1.0 1.0 1.0)) (local.get $x))
                                             (call $f32x4_log (local.get $u)))
                                  (f32x4.eq (local.get $u) (v128.const f32x4 1.0 1.0 1.0 1.0)))
                  (f32x4.eq (local.get $u) (v128.const f32x4 0 0 0 0))))

;; $f32x4_unary_op: helper, lane-wise op $op of x with the splatted parameters $p0, $p1:
;;    0 sin   1 cos   2 tan   3 asin   4 acos   5 atan   6 sinh   7 cosh   8 asinh   9 acosh
;;   10 atanh   11 softplus   12 softsign x / (1 + |x|)
;;   13 elu       x < 0 ? expm1(x) * p0 : x                       (p0 = alpha)
;;   14 selu      (x > 0 ? x : expm1(x) * p0) * p1                (p0 = alpha, p1 = gamma)
;;   15 celu      x < 0 ? expm1(x / p0) * p0 : x                  (p0 = alpha)
;;   16 mish      x * $f32x4_tanh(softplus(x))
;;   17 thresholded relu   x > p0 ? x : 0                         (p0 = alpha)
;;   18 shrink    x < -p0 ? x + p1 : (x > p0 ? x - p1 : 0)        (p0 = lambd, p1 = bias)
;;   19 swish     x * $f32x4_sigmoid(p0 * x)                      (p0 = alpha)
;;   Any other op code computes sin.
(func $f32x4_unary_op (param $op i32) (param $x v128) (param $p0 v128) (param $p1 v128) (result v128)
  (block $swish (block $shrink (block $threshold (block $mish (block $celu (block $selu (block $elu (block $softsign
  (block $softplus (block $atanh (block $acosh (block $asinh (block $cosh (block $sinh (block $atan
  (block $acos (block $asin (block $tan (block $cos (block $sin
    (br_table $sin $cos $tan $asin $acos $atan $sinh $cosh $asinh $acosh $atanh $softplus $softsign
              $elu $selu $celu $mish $threshold $shrink $swish $sin (local.get $op)))
    (return (call $f32x4_sincos (local.get $x) (i32.const 0))))
    (return (call $f32x4_sincos (local.get $x) (i32.const 1))))
    (return (call $f32x4_tan (local.get $x))))
    (return (call $f32x4_asin (local.get $x))))
    (return (call $f32x4_acos (local.get $x))))
    (return (call $f32x4_atan (local.get $x))))
    (return (call $f32x4_sinh (local.get $x))))
    (return (call $f32x4_cosh (local.get $x))))
    (return (call $f32x4_asinh (local.get $x))))
    (return (call $f32x4_acosh (local.get $x))))
    (return (call $f32x4_atanh (local.get $x))))
    (return (call $f32x4_softplus (local.get $x))))
    (return (f32x4.div (local.get $x) (f32x4.add (v128.const f32x4 1.0 1.0 1.0 1.0) (f32x4.abs (local.get $x))))))
    (return (v128.bitselect (f32x4.mul (call $f32x4_expm1 (local.get $x)) (local.get $p0)) (local.get $x)
                            (f32x4.lt (local.get $x) (v128.const f32x4 0 0 0 0)))))
    (return (f32x4.mul (v128.bitselect (local.get $x) (f32x4.mul (call $f32x4_expm1 (local.get $x)) (local.get $p0))
                                       (f32x4.gt (local.get $x) (v128.const f32x4 0 0 0 0)))
                       (local.get $p1))))
    (return (v128.bitselect (f32x4.mul (call $f32x4_expm1 (f32x4.div (local.get $x) (local.get $p0))) (local.get $p0))
                            (local.get $x) (f32x4.lt (local.get $x) (v128.const f32x4 0 0 0 0)))))
    (return (f32x4.mul (local.get $x) (call $f32x4_tanh (call $f32x4_softplus (local.get $x))))))
    (return (v128.and (local.get $x) (f32x4.gt (local.get $x) (local.get $p0)))))
    (return (v128.bitselect (f32x4.add (local.get $x) (local.get $p1))
                            (v128.and (f32x4.sub (local.get $x) (local.get $p1)) (f32x4.gt (local.get $x) (local.get $p0)))
                            (f32x4.lt (local.get $x) (f32x4.neg (local.get $p0))))))
  (call $f32x4_swish (local.get $x) (local.get $p0)))

;; $f32_vunary_op: y[i] = op(x[i]) for op code $op of $f32x4_unary_op, parameters $p0, $p1 (pass 0
;;   for the ops that take fewer).
;;   (op, n, x, y, p0, p1): n >= 0 f32 at byte offsets x, y (4-byte alignment is enough; y may
;;   alias x exactly). Tail elements go through the same vector code (splat, op, lane 0).
(func $f32_vunary_op (param $op i32) (param $n i32) (param $x i32) (param $y i32) (param $p0 f32) (param $p1 f32)
  (local $vec_end i32) (local $end i32) (local $v0 v128) (local $v1 v128)
  (local.set $v0 (f32x4.splat (local.get $p0)))
  (local.set $v1 (f32x4.splat (local.get $p1)))
  (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
  (local.set $vec_end (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
  (block $vec_done
    (br_if $vec_done (i32.eq (local.get $x) (local.get $vec_end)))
    (loop $vec
      (v128.store (local.get $y) (call $f32x4_unary_op (local.get $op) (v128.load (local.get $x)) (local.get $v0) (local.get $v1)))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (br_if $vec (i32.ne (local.get $x) (local.get $vec_end)))))
  (block $tail_done
    (br_if $tail_done (i32.eq (local.get $x) (local.get $end)))
    (loop $tail
      (f32.store (local.get $y)
                 (f32x4.extract_lane 0 (call $f32x4_unary_op (local.get $op) (v128.load32_splat (local.get $x))
                                                             (local.get $v0) (local.get $v1))))
      (local.set $x (i32.add (local.get $x) (i32.const 4)))
      (local.set $y (i32.add (local.get $y) (i32.const 4)))
      (br_if $tail (i32.ne (local.get $x) (local.get $end))))))

;; $f32_vprelu_select: y[i] = x[i] < 0 ? t[i] : x[i]  (PRelu's second step: t = x * slope, broadcast,
;;   computed by f32_vbinary_nd; so y = x < 0 ? x * slope : x, the bits of $f32x4_lrelu).
;;   (n, x, t, y): n >= 0 f32 at byte offsets x, t, y (4-byte alignment is enough; y may alias x
;;   or t exactly). NaN x stays NaN; -0 gives -0.
(func $f32_vprelu_select (param $n i32) (param $x i32) (param $t i32) (param $y i32)
  (local $vec_end i32) (local $end i32) (local $v v128) (local $s f32)
  (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
  (local.set $vec_end (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
  (block $vec_done
    (br_if $vec_done (i32.eq (local.get $x) (local.get $vec_end)))
    (loop $vec
      (local.set $v (v128.load (local.get $x)))
      (v128.store (local.get $y) (v128.bitselect (v128.load (local.get $t)) (local.get $v)
                                                 (f32x4.lt (local.get $v) (v128.const f32x4 0 0 0 0))))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $t (i32.add (local.get $t) (i32.const 16)))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (br_if $vec (i32.ne (local.get $x) (local.get $vec_end)))))
  (block $tail_done
    (br_if $tail_done (i32.eq (local.get $x) (local.get $end)))
    (loop $tail
      (local.set $s (f32.load (local.get $x)))
      (f32.store (local.get $y) (select (f32.load (local.get $t)) (local.get $s) (f32.lt (local.get $s) (f32.const 0))))
      (local.set $x (i32.add (local.get $x) (i32.const 4)))
      (local.set $t (i32.add (local.get $t) (i32.const 4)))
      (local.set $y (i32.add (local.get $y) (i32.const 4)))
      (br_if $tail (i32.ne (local.get $x) (local.get $end))))))
