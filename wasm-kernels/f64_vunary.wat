;; Unary elementwise ops on float64 tensors, computed in f64 (not rounded through f32): Exp, Log,
;; Sqrt, Sigmoid, Tanh, Softplus, Softsign, Elu, Selu, Celu, LeakyRelu, HardSigmoid, HardSwish,
;; ThresholdedRelu, Shrink, Swish, Mish, Gelu (both forms), Sinh, Cosh, Asinh, Acosh, Atanh, Sin,
;; Cos, Tan, Asin, Acos, Atan, Erf.
;; Scalar (these are rare in float64 models); no host math: exp and log are x_reduce.wat's
;; polynomials $f64_exp and $f64_log (within 2 ulp), expm1 and log1p are built here so that the
;; small-argument forms keep their relative accuracy (tanh, elu, softplus, sinh, asinh, atanh).
;; Every NaN result is stored as the canonical quiet NaN 0x7ff8000000000000, so no result depends
;; on an engine's NaN propagation.

;; $f64_vunary_op: y[i] = op(x[i]) for i < $n, f64 at byte offsets $x, $y (y may alias x).
;;   $op: 0 exp, 1 log, 2 sqrt, 3 sigmoid, 4 tanh, 5 softplus, 6 softsign, 7 elu(alpha),
;;   8 selu(alpha, gamma), 9 celu(alpha), 10 leaky relu(alpha), 11 hard sigmoid(alpha, beta),
;;   12 hard swish, 13 thresholded relu(alpha), 14 shrink(lambd, bias), 15 swish(alpha), 16 mish,
;;   17 gelu tanh form, 18 sinh, 19 cosh, 20 asinh, 21 acosh, 22 atanh, 23 sin, 24 cos, 25 tan,
;;   26 asin, 27 acos, 28 atan, 29 erf, 30 gelu (erf form).
;;   $p0, $p1: the op's parameters (f32 attributes, widened exactly), unused ones ignored.
;;   Definitions as ONNX's: see $f64_unary.
(func $f64_vunary_op (param $op i32) (param $n i32) (param $x i32) (param $y i32) (param $p0 f32) (param $p1 f32)
  (local $end i32) (local $v f64) (local $a f64) (local $b f64)
  (local.set $a (f64.promote_f32 (local.get $p0)))
  (local.set $b (f64.promote_f32 (local.get $p1)))
  (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 3))))
  (block $done
    (br_if $done (i32.le_s (local.get $n) (i32.const 0)))
    (loop $each
      (local.set $v (call $f64_unary (local.get $op) (f64.load (local.get $x)) (local.get $a) (local.get $b)))
      (if (f64.ne (local.get $v) (local.get $v)) (then (local.set $v (f64.const nan))))
      (f64.store (local.get $y) (local.get $v))
      (local.set $x (i32.add (local.get $x) (i32.const 8)))
      (local.set $y (i32.add (local.get $y) (i32.const 8)))
      (br_if $each (i32.ne (local.get $x) (local.get $end))))))

;; $f64_unary: helper, op $op (codes of $f64_vunary_op) of $x with parameters $a, $b:
;;   sigmoid 1/(1+e^-x) (e^x/(1+e^x) for x < 0); tanh via expm1(-2|x|); softplus log(1+e^x) as
;;   max(x,0) + log1p(e^-|x|); softsign x/(1+|x|); elu x < 0 ? a*expm1(x) : x; selu
;;   x <= 0 ? b*a*expm1(x) : b*x; celu max(0,x) + min(0, a*expm1(x/a)); leaky relu x < 0 ? a*x : x;
;;   hard sigmoid max(0, min(1, a*x + b)); hard swish x * max(0, min(1, x*alpha + 1/2)) with alpha the
;;   float32 1/6 of ONNX's function body (HardSigmoid<alpha=1/6>, as onnxruntime); thresholded
;;   relu x > a ? x : 0; shrink x < -a ? x + b : x > a ? x - b : 0; swish x * sigmoid(a*x); mish
;;   x * tanh(softplus(x)); gelu tanh 0.5x(1 + tanh(t)) with t = sqrt(2/pi)(x + 0.044715x^3), as
;;   x * sigmoid(2t) (the same value without cancellation for x << 0); sinh, cosh via
;;   expm1 / exp (overflowing to inf only past their own range); asinh, acosh, atanh via log1p.
(func $f64_unary (param $op i32) (param $x f64) (param $a f64) (param $b f64) (result f64)
  (local $t f64) (local $m f64)
  (if (i32.ge_u (local.get $op) (i32.const 23))
    (then (return (call $f64_unary_more (local.get $op) (local.get $x)))))
  (block $atanh (block $acosh (block $asinh (block $cosh (block $sinh (block $gelu (block $mish (block $swish
  (block $shrink (block $thresh (block $hswish (block $hsigmoid (block $lrelu (block $celu (block $selu (block $elu
  (block $softsign (block $softplus (block $tanh (block $sigmoid (block $sqrt (block $log (block $exp
    (br_table $exp $log $sqrt $sigmoid $tanh $softplus $softsign $elu $selu $celu $lrelu $hsigmoid $hswish
              $thresh $shrink $swish $mish $gelu $sinh $cosh $asinh $acosh $atanh $exp (local.get $op)))
    (return (call $f64_exp (local.get $x))))
    (return (call $f64_log (local.get $x))))
    (return (f64.sqrt (local.get $x))))
    (return (call $f64_sigmoid (local.get $x))))
    (return (call $f64_tanh (local.get $x))))
    (return (call $f64_softplus (local.get $x))))
    (return (f64.div (local.get $x) (f64.add (f64.const 1) (f64.abs (local.get $x))))))
    (return (select (f64.mul (local.get $a) (call $f64_expm1 (local.get $x))) (local.get $x)
                    (f64.lt (local.get $x) (f64.const 0)))))
    (return (f64.mul (local.get $b)
                     (select (f64.mul (local.get $a) (call $f64_expm1 (local.get $x))) (local.get $x)
                             (f64.le (local.get $x) (f64.const 0))))))
    (return (f64.add (f64.max (local.get $x) (f64.const 0))
                     (f64.min (f64.const 0) (f64.mul (local.get $a)
                                                     (call $f64_expm1 (f64.div (local.get $x) (local.get $a))))))))
    (return (select (f64.mul (local.get $a) (local.get $x)) (local.get $x) (f64.lt (local.get $x) (f64.const 0)))))
    (return (f64.max (f64.const 0) (f64.min (f64.const 1) (f64.add (f64.mul (local.get $a) (local.get $x))
                                                                   (local.get $b))))))
    (return (f64.mul (local.get $x)
                     (f64.max (f64.const 0) (f64.min (f64.const 1)
                                                     (f64.add (f64.mul (local.get $x) (f64.const 0x1.555556p-3))
                                                              (f64.const 0.5)))))))
    (if (f64.ne (local.get $x) (local.get $x)) (then (return (local.get $x))))
    (return (select (local.get $x) (f64.const 0) (f64.gt (local.get $x) (local.get $a)))))
    (if (f64.ne (local.get $x) (local.get $x)) (then (return (local.get $x))))
    (if (f64.lt (local.get $x) (f64.neg (local.get $a))) (then (return (f64.add (local.get $x) (local.get $b)))))
    (if (f64.gt (local.get $x) (local.get $a)) (then (return (f64.sub (local.get $x) (local.get $b)))))
    (return (f64.const 0)))
    (return (f64.mul (local.get $x) (call $f64_sigmoid (f64.mul (local.get $a) (local.get $x))))))
    (return (f64.mul (local.get $x) (call $f64_tanh (call $f64_softplus (local.get $x))))))
    (local.set $t (f64.mul (f64.const 0x1.9884533d43651p-1)
                           (f64.add (local.get $x) (f64.mul (f64.const 0.044715)
                                                            (f64.mul (local.get $x) (f64.mul (local.get $x) (local.get $x)))))))
    ;; 0.5 x (1 + tanh t) = x sigmoid(2t): no cancellation where tanh t is near -1
    (return (f64.mul (local.get $x) (call $f64_sigmoid (f64.add (local.get $t) (local.get $t))))))
    ;; sinh: (t + t/(t+1)) / 2 with t = expm1(|x|); past 709.78, e^(|x|/2) squared in halves
    (local.set $m (f64.abs (local.get $x)))
    (if (f64.gt (local.get $m) (f64.const 709.78))
      (then (local.set $t (call $f64_exp (f64.mul (local.get $m) (f64.const 0.5))))
            (return (f64.copysign (f64.mul (f64.mul (local.get $t) (f64.const 0.5)) (local.get $t)) (local.get $x)))))
    (local.set $t (call $f64_expm1 (local.get $m)))
    (return (f64.copysign (f64.mul (f64.const 0.5) (f64.add (local.get $t)
                                                            (f64.div (local.get $t) (f64.add (local.get $t) (f64.const 1)))))
                          (local.get $x))))
    ;; cosh: (e + 1/e) / 2 with e = e^|x|; past 709.78 as sinh
    (local.set $m (f64.abs (local.get $x)))
    (if (f64.gt (local.get $m) (f64.const 709.78))
      (then (local.set $t (call $f64_exp (f64.mul (local.get $m) (f64.const 0.5))))
            (return (f64.mul (f64.mul (local.get $t) (f64.const 0.5)) (local.get $t)))))
    (local.set $t (call $f64_exp (local.get $m)))
    (return (f64.mul (f64.const 0.5) (f64.add (local.get $t) (f64.div (f64.const 1) (local.get $t))))))
    ;; asinh: sign(x) log1p(m + m^2/(1 + sqrt(1 + m^2))), or log(m) + ln 2 past 2^28
    (local.set $m (f64.abs (local.get $x)))
    (if (f64.gt (local.get $m) (f64.const 0x1p28))
      (then (return (f64.copysign (f64.add (call $f64_log (local.get $m)) (f64.const 0x1.62e42fefa39efp-1))
                                  (local.get $x)))))
    (local.set $t (f64.mul (local.get $m) (local.get $m)))
    (return (f64.copysign
              (call $f64_log1p (f64.add (local.get $m)
                                        (f64.div (local.get $t) (f64.add (f64.const 1) (f64.sqrt (f64.add (f64.const 1) (local.get $t)))))))
              (local.get $x))))
    ;; acosh (x >= 1): log1p(t + sqrt(2t + t^2)) with t = x - 1 below 2, log(x + sqrt(x^2 - 1)) below
    ;; 2^28, log(x) + ln 2 beyond; x < 1: NaN
    (if (f64.lt (local.get $x) (f64.const 1)) (then (return (f64.const nan))))
    (if (f64.gt (local.get $x) (f64.const 0x1p28))
      (then (return (f64.add (call $f64_log (local.get $x)) (f64.const 0x1.62e42fefa39efp-1)))))
    (if (f64.lt (local.get $x) (f64.const 2))
      (then (local.set $t (f64.sub (local.get $x) (f64.const 1)))
            (return (call $f64_log1p (f64.add (local.get $t)
                                              (f64.sqrt (f64.add (f64.add (local.get $t) (local.get $t))
                                                                 (f64.mul (local.get $t) (local.get $t)))))))))
    (return (call $f64_log (f64.add (local.get $x)
                                    (f64.sqrt (f64.sub (f64.mul (local.get $x) (local.get $x)) (f64.const 1)))))))
  ;; atanh: sign(x) log1p(2m / (1 - m)) / 2; |x| = 1: +-inf; |x| > 1: NaN
  (local.set $m (f64.abs (local.get $x)))
  (if (f64.gt (local.get $m) (f64.const 1)) (then (return (f64.const nan))))
  (f64.copysign (f64.mul (f64.const 0.5) (call $f64_log1p (f64.div (f64.add (local.get $m) (local.get $m))
                                                                  (f64.sub (f64.const 1) (local.get $m)))))
                (local.get $x)))

;; $f64_expm1: helper, e^x - 1 in f64: for |x| < ln(2)/2 the Taylor polynomial x(1 + x/2 + ... +
;; x^16/17!) in Horner form (truncation below 2^-70 relative), so tiny x keep their relative
;; accuracy (+-0 kept); beyond, $f64_exp(x) - 1 (at most a few ulp: e^x - 1 >= 0.29 there, or -1 below -40).
(func $f64_expm1 (param $x f64) (result f64)
  (local $p f64)
  (if (f64.eq (local.get $x) (f64.const 0)) (then (return (local.get $x))))  ;; expm1(-0) = -0
  (if (f64.lt (f64.abs (local.get $x)) (f64.const 0x1.62e42fefa39efp-2))
    (then
      (local.set $p (f64.const 0x1.952c77030ad4ap-49))  ;; 1/17!
      (local.set $p (f64.add (f64.mul (local.get $p) (local.get $x)) (f64.const 0x1.ae7f3e733b81fp-45)))  ;; 1/16!
      (local.set $p (f64.add (f64.mul (local.get $p) (local.get $x)) (f64.const 0x1.ae7f3e733b81fp-41)))  ;; 1/15!
      (local.set $p (f64.add (f64.mul (local.get $p) (local.get $x)) (f64.const 0x1.93974a8c07c9dp-37)))  ;; 1/14!
      (local.set $p (f64.add (f64.mul (local.get $p) (local.get $x)) (f64.const 0x1.6124613a86d09p-33)))  ;; 1/13!
      (local.set $p (f64.add (f64.mul (local.get $p) (local.get $x)) (f64.const 0x1.1eed8eff8d898p-29)))  ;; 1/12!
      (local.set $p (f64.add (f64.mul (local.get $p) (local.get $x)) (f64.const 0x1.ae64567f544e4p-26)))  ;; 1/11!
      (local.set $p (f64.add (f64.mul (local.get $p) (local.get $x)) (f64.const 0x1.27e4fb7789f5cp-22)))  ;; 1/10!
      (local.set $p (f64.add (f64.mul (local.get $p) (local.get $x)) (f64.const 0x1.71de3a556c734p-19)))  ;; 1/9!
      (local.set $p (f64.add (f64.mul (local.get $p) (local.get $x)) (f64.const 0x1.a01a01a01a01ap-16)))  ;; 1/8!
      (local.set $p (f64.add (f64.mul (local.get $p) (local.get $x)) (f64.const 0x1.a01a01a01a01ap-13)))  ;; 1/7!
      (local.set $p (f64.add (f64.mul (local.get $p) (local.get $x)) (f64.const 0x1.6c16c16c16c17p-10)))  ;; 1/6!
      (local.set $p (f64.add (f64.mul (local.get $p) (local.get $x)) (f64.const 0x1.1111111111111p-7)))  ;; 1/5!
      (local.set $p (f64.add (f64.mul (local.get $p) (local.get $x)) (f64.const 0x1.5555555555555p-5)))  ;; 1/4!
      (local.set $p (f64.add (f64.mul (local.get $p) (local.get $x)) (f64.const 0x1.5555555555555p-3)))  ;; 1/3!
      (local.set $p (f64.add (f64.mul (local.get $p) (local.get $x)) (f64.const 0.5)))
      (return (f64.add (local.get $x) (f64.mul (f64.mul (local.get $x) (local.get $x)) (local.get $p))))))
  (if (f64.lt (local.get $x) (f64.const -40)) (then (return (f64.const -1))))
  (f64.sub (call $f64_exp (local.get $x)) (f64.const 1)))

;; $f64_log1p: helper, log(1 + u) in f64 with w = 1 + u rounded: u if w = 1, else
;; log(w) * u / (w - 1) (the rounding of w cancels to first order); u = +inf: +inf; u < -1: NaN.
(func $f64_log1p (param $u f64) (result f64)
  (local $w f64)
  (if (f64.eq (local.get $u) (f64.const inf)) (then (return (local.get $u))))
  (local.set $w (f64.add (f64.const 1) (local.get $u)))
  (if (f64.eq (local.get $w) (f64.const 1)) (then (return (local.get $u))))
  (if (f64.eq (local.get $w) (f64.const 0)) (then (return (f64.const -inf))))
  (f64.mul (call $f64_log (local.get $w)) (f64.div (local.get $u) (f64.sub (local.get $w) (f64.const 1)))))

;; $f64_sigmoid: helper, 1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) for x < 0 (no overflow).
(func $f64_sigmoid (param $x f64) (result f64)
  (local $e f64)
  (if (f64.ge (local.get $x) (f64.const 0))
    (then (return (f64.div (f64.const 1) (f64.add (f64.const 1) (call $f64_exp (f64.neg (local.get $x))))))))
  (local.set $e (call $f64_exp (local.get $x)))
  (f64.div (local.get $e) (f64.add (f64.const 1) (local.get $e))))

;; $f64_tanh: helper, sign(x) * -t / (t + 2) with t = expm1(-2|x|) (relative accuracy near 0);
;; |x| > 22: +-1; tanh(-0) = -0.
(func $f64_tanh (param $x f64) (result f64)
  (local $t f64)
  (if (f64.gt (f64.abs (local.get $x)) (f64.const 22)) (then (return (f64.copysign (f64.const 1) (local.get $x)))))
  (local.set $t (call $f64_expm1 (f64.mul (f64.const -2) (f64.abs (local.get $x)))))
  (f64.copysign (f64.div (f64.neg (local.get $t)) (f64.add (local.get $t) (f64.const 2))) (local.get $x)))

;; $f64_softplus: helper, log(1 + e^x) = max(x, 0) + log1p(e^-|x|) (no overflow; +inf -> +inf).
(func $f64_softplus (param $x f64) (result f64)
  (f64.add (f64.max (local.get $x) (f64.const 0))
           (call $f64_log1p (call $f64_exp (f64.neg (f64.abs (local.get $x)))))))
;; $f64_unary_more: helper, ops 23..30 of $f64_vunary_op: sin, cos, tan (= sin / cos) by
;; $f64_sincos; asin x = atan(x / sqrt((1-x)(1+x))), acos x = 2 atan(sqrt((1-x)/(1+x))) (NaN
;; outside [-1, 1]); atan by $f64_atan; erf by $f64_erf; gelu 0.5x(1 + erf(x/sqrt 2)), as
;; 0.5x erfc(-x/sqrt 2) below x/sqrt 2 = -2 (no cancellation; between -2 and 0, 1 + erf cancels up
;; to 8 bits: within 1e-13 relative). Odd functions keep the sign of zero.
(func $f64_unary_more (param $op i32) (param $x f64) (result f64)
  (local $g f64)
  (if (i32.and (f64.eq (local.get $x) (f64.const 0))  ;; sin(+-0), tan(+-0) = +-0
               (i32.or (i32.eq (local.get $op) (i32.const 23)) (i32.eq (local.get $op) (i32.const 25))))
    (then (return (local.get $x))))
  (block $gelu (block $erf (block $atan (block $acos (block $asin (block $tan (block $cos (block $sin
    (br_table $sin $cos $tan $asin $acos $atan $erf $gelu $gelu (i32.sub (local.get $op) (i32.const 23))))
    (return (call $f64_sincos (local.get $x) (i32.const 0))))
    (return (call $f64_sincos (local.get $x) (i32.const 1))))
    (return (f64.div (call $f64_sincos (local.get $x) (i32.const 0)) (call $f64_sincos (local.get $x) (i32.const 1)))))
    (if (f64.gt (f64.abs (local.get $x)) (f64.const 1)) (then (return (f64.const nan))))
    (return (call $f64_atan (f64.div (local.get $x)
                                     (f64.sqrt (f64.mul (f64.sub (f64.const 1) (local.get $x))
                                                        (f64.add (f64.const 1) (local.get $x))))))))
    (if (f64.gt (f64.abs (local.get $x)) (f64.const 1)) (then (return (f64.const nan))))
    (return (f64.mul (f64.const 2) (call $f64_atan (f64.sqrt (f64.div (f64.sub (f64.const 1) (local.get $x))
                                                                      (f64.add (f64.const 1) (local.get $x))))))))
    (return (call $f64_atan (local.get $x))))
    (return (call $f64_erf (local.get $x))))
  (local.set $g (f64.mul (local.get $x) (f64.const 0x1.6a09e667f3bccp-1)))
  (if (f64.lt (local.get $g) (f64.const -2))
    (then (return (f64.mul (f64.mul (f64.const 0.5) (local.get $x)) (call $f64_erfc_large (f64.neg (local.get $g)))))))
  (f64.mul (f64.mul (f64.const 0.5) (local.get $x)) (f64.add (f64.const 1) (call $f64_erf (local.get $g)))))

;; $f64_sincos: helper, sin x ($cos = 0) or cos x ($cos = 1): n = nearest(x * 2/pi), r = x - n*pi/2
;; with pi/2 in five 24-bit parts (each n*part exact for |n| < 2^29, so r keeps its relative
;; accuracy next to multiples of pi/2), then fdlibm's kernels on |r| <= pi/4 (sin: degree 13,
;; cos: degree 14 with the 1 - z/2 split; within 1 ulp), the quadrant (n + $cos) mod 4 choosing
;; +-sin r or +-cos r. |x| >= 2^29 * pi/2 (about 8.4e8), +-inf and NaN give NaN (no large-argument
;; reduction).
(func $f64_sincos (param $x f64) (param $cos i32) (result f64)
  (local $n f64) (local $r f64) (local $z f64) (local $w f64) (local $p f64) (local $q i32)
  (if (i32.eqz (f64.lt (f64.abs (local.get $x)) (f64.const 0x1.921fb54442d18p+29))) (then (return (f64.const nan))))
  (local.set $n (f64.nearest (f64.mul (local.get $x) (f64.const 0x1.45f306dc9c883p-1))))
  (local.set $r (f64.sub (local.get $x) (f64.mul (local.get $n) (f64.const 0x1.921fb4p+0))))
  (local.set $r (f64.sub (local.get $r) (f64.mul (local.get $n) (f64.const 0x1.4442d0p-24))))
  (local.set $r (f64.sub (local.get $r) (f64.mul (local.get $n) (f64.const 0x1.846988p-48))))
  (local.set $r (f64.sub (local.get $r) (f64.mul (local.get $n) (f64.const 0x1.8cc516p-72))))
  (local.set $r (f64.sub (local.get $r) (f64.mul (local.get $n) (f64.const 0x1.01b838p-96))))
  (local.set $q (i32.and (i32.add (i32.trunc_f64_s (local.get $n)) (local.get $cos)) (i32.const 3)))
  (local.set $z (f64.mul (local.get $r) (local.get $r)))
  (if (i32.and (local.get $q) (i32.const 1))
    (then  ;; cos r: 1 - z/2 + z^2 (C1 + z C2 + ... + z^5 C6)
      (local.set $w (f64.mul (local.get $z) (local.get $z)))
      (local.set $p (f64.add (f64.mul (local.get $z) (f64.add (f64.const 0x1.555555555554cp-5)
                                                              (f64.mul (local.get $z) (f64.add (f64.const -0x1.6c16c16c15177p-10)
                                                                                               (f64.mul (local.get $z) (f64.const 0x1.a01a019cb1590p-16))))))
                             (f64.mul (f64.mul (local.get $w) (local.get $w))
                                      (f64.add (f64.const -0x1.27e4f809c52adp-22)
                                               (f64.mul (local.get $z) (f64.add (f64.const 0x1.1ee9ebdb4b1c4p-29)
                                                                                (f64.mul (local.get $z) (f64.const -0x1.8fae9be8838d4p-37))))))))
      (local.set $w (f64.sub (f64.const 1) (f64.mul (f64.const 0.5) (local.get $z))))
      (local.set $p (f64.add (local.get $w) (f64.add (f64.sub (f64.sub (f64.const 1) (local.get $w)) (f64.mul (f64.const 0.5) (local.get $z)))
                                                     (f64.mul (local.get $z) (local.get $p))))))
    (else  ;; sin r: r + r^3 (S1 + z S2 + ... + z^5 S6)
      (local.set $p (f64.add (f64.const 0x1.111111110f8a6p-7)
                             (f64.mul (local.get $z) (f64.add (f64.const -0x1.a01a019c161d5p-13)
                                                              (f64.mul (local.get $z) (f64.add (f64.const 0x1.71de357b1fe7dp-19)
                                                                                               (f64.mul (local.get $z) (f64.add (f64.const -0x1.ae5e68a2b9cebp-26)
                                                                                                                                (f64.mul (local.get $z) (f64.const 0x1.5d93a5acfd57cp-33))))))))))
      (local.set $p (f64.add (local.get $r) (f64.mul (f64.mul (local.get $z) (local.get $r))
                                                     (f64.add (f64.const -0x1.5555555555549p-3) (f64.mul (local.get $z) (local.get $p))))))))
  (select (f64.neg (local.get $p)) (local.get $p) (i32.ge_u (local.get $q) (i32.const 2))))

;; $f64_atan: helper, atan x: |x| > 1 uses pi/2 - atan(1/|x|); three halvings
;; atan a = 2 atan(a / (1 + sqrt(1 + a^2))) bring a <= tan(pi/32), where the series
;; a (1 - a^2/3 + a^4/5 - ... - a^22/23) is exact to 2^-80; the sign of x restored (within a few ulp).
(func $f64_atan (param $x f64) (result f64)
  (local $a f64) (local $z f64) (local $p f64) (local $inv i32) (local $k i32)
  (local.set $a (f64.abs (local.get $x)))
  (if (f64.lt (local.get $a) (f64.const 0x1p-27)) (then (return (local.get $x))))  ;; x^3/3 below half an ulp
  (local.set $inv (f64.gt (local.get $a) (f64.const 1)))
  (if (local.get $inv) (then (local.set $a (f64.div (f64.const 1) (local.get $a)))))
  (local.set $k (i32.const 3))
  (loop $halve
    (local.set $a (f64.div (local.get $a) (f64.add (f64.const 1) (f64.sqrt (f64.add (f64.const 1) (f64.mul (local.get $a) (local.get $a)))))))
    (local.set $k (i32.sub (local.get $k) (i32.const 1)))
    (br_if $halve (local.get $k)))
  (local.set $z (f64.mul (local.get $a) (local.get $a)))
  (local.set $p (f64.div (f64.const 1) (f64.const 23)))
  (local.set $k (i32.const 21))
  (loop $terms  ;; p = 1/k - z p for k = 21, 19, ..., 1
    (local.set $p (f64.sub (f64.div (f64.const 1) (f64.convert_i32_s (local.get $k))) (f64.mul (local.get $z) (local.get $p))))
    (local.set $k (i32.sub (local.get $k) (i32.const 2)))
    (br_if $terms (i32.gt_s (local.get $k) (i32.const 0))))
  (local.set $a (f64.mul (f64.const 8) (f64.mul (local.get $a) (local.get $p))))
  (if (local.get $inv)
    (then (local.set $a (f64.add (f64.sub (f64.const 0x1.921fb54442d18p+0) (local.get $a)) (f64.const 0x1.1a62633145c07p-54)))))
  (f64.copysign (local.get $a) (local.get $x)))

;; $f64_erf: helper, erf x: |x| < 2 by the series 2/sqrt(pi) x e^-x^2 sum_n (2x^2)^n / (1*3*...*(2n+1))
;; (positive terms, no cancellation; summed until a term is below 2^-56 of the sum, at most 40);
;; 2 <= |x| < 6: 1 - $f64_erfc_large(|x|); beyond: +-1 (erfc(6) < 2^-55). Sign of x restored.
(func $f64_erf (param $x f64) (result f64)
  (local $a f64) (local $z f64) (local $t f64) (local $s f64) (local $n i32)
  (local.set $a (f64.abs (local.get $x)))
  (if (i32.eqz (f64.lt (local.get $a) (f64.const 6)))
    (then (if (f64.ne (local.get $x) (local.get $x)) (then (return (local.get $x))))
          (return (f64.copysign (f64.const 1) (local.get $x)))))
  (if (f64.ge (local.get $a) (f64.const 2))
    (then (return (f64.copysign (f64.sub (f64.const 1) (call $f64_erfc_large (local.get $a))) (local.get $x)))))
  (local.set $z (f64.mul (local.get $a) (local.get $a)))
  (local.set $t (f64.const 1))
  (local.set $s (f64.const 1))
  (local.set $n (i32.const 1))
  (block $done
    (loop $terms
      (local.set $t (f64.div (f64.mul (local.get $t) (f64.add (local.get $z) (local.get $z)))
                             (f64.convert_i32_s (i32.add (i32.shl (local.get $n) (i32.const 1)) (i32.const 1)))))
      (local.set $s (f64.add (local.get $s) (local.get $t)))
      (br_if $done (f64.lt (local.get $t) (f64.mul (local.get $s) (f64.const 0x1p-56))))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $terms (i32.le_s (local.get $n) (i32.const 40)))))
  (f64.copysign (f64.mul (f64.mul (f64.const 0x1.20dd750429b6dp+0) (local.get $a))
                         (f64.mul (call $f64_exp (f64.neg (local.get $z))) (local.get $s)))
                (local.get $x)))

;; $f64_erfc_large: helper, erfc z for z >= 2 by its continued fraction
;; e^-z^2 / sqrt(pi) / (z + (1/2) / (z + 1 / (z + (3/2) / (z + ...)))) evaluated bottom-up from the
;; 60th term (relative truncation below 2^-52 for z >= 2); +inf -> 0.
(func $f64_erfc_large (param $z f64) (result f64)
  (local $t f64) (local $k i32)
  (if (f64.eq (local.get $z) (f64.const inf)) (then (return (f64.const 0))))
  (local.set $t (local.get $z))
  (local.set $k (i32.const 60))
  (loop $terms
    (local.set $t (f64.add (local.get $z) (f64.div (f64.mul (f64.convert_i32_s (local.get $k)) (f64.const 0.5)) (local.get $t))))
    (local.set $k (i32.sub (local.get $k) (i32.const 1)))
    (br_if $terms (local.get $k)))
  (f64.div (call $f64_exp (f64.neg (f64.mul (local.get $z) (local.get $z))))
           (f64.mul (f64.const 0x1.c5bf891b4ef6ap+0) (local.get $t))))

;; $f64_pow: helper, C's pow(a, b) in f64 (x_elementwise's float Pow, float64 only): b = 0 or a = 1
;; give 1 (even for NaN); a NaN operand gives NaN; zeros and infinities as C's pow; another a < 0
;; needs an integer b (else NaN), the sign from b's parity; an integer |b| <= 4 by multiplying
;; (within 3 ulp); any other b as e^(b log|a|) ($f64_exp, $f64_log: relative error within
;; |b log a| * 2^-50 + 2^-51, 4e-15 while |b log a| <= 10).
(func $f64_pow (param $a f64) (param $b f64) (result f64)
  (local $m f64) (local $odd i32) (local $integer i32) (local $r f64) (local $p f64) (local $k i64)
  (if (i32.or (f64.eq (local.get $b) (f64.const 0)) (f64.eq (local.get $a) (f64.const 1)))
    (then (return (f64.const 1))))
  (if (i32.or (f64.ne (local.get $a) (local.get $a)) (f64.ne (local.get $b) (local.get $b)))
    (then (return (f64.const nan))))
  (local.set $m (f64.abs (local.get $a)))
  (if (f64.eq (f64.abs (local.get $b)) (f64.const inf))
    (then (if (f64.eq (local.get $m) (f64.const 1)) (then (return (f64.const 1))))
          (return (select (f64.const inf) (f64.const 0)
                          (i32.eq (f64.gt (local.get $m) (f64.const 1)) (f64.gt (local.get $b) (f64.const 0)))))))
  (local.set $integer (f64.eq (f64.trunc (local.get $b)) (local.get $b)))
  (local.set $odd (i32.and (local.get $integer)
                           (f64.ne (f64.sub (local.get $b) (f64.mul (f64.const 2) (f64.trunc (f64.mul (local.get $b) (f64.const 0.5)))))
                                   (f64.const 0))))
  (if (i32.or (f64.eq (local.get $m) (f64.const 0)) (f64.eq (local.get $m) (f64.const inf)))
    (then  ;; |a| = 0: +0 or +inf as b > 0 or < 0 (|a| = inf: the reverse); an odd b keeps a's sign
      (local.set $r (select (f64.const inf) (f64.const 0)
                            (i32.xor (f64.lt (local.get $b) (f64.const 0)) (f64.eq (local.get $m) (f64.const inf)))))
      (return (select (f64.copysign (local.get $r) (local.get $a)) (local.get $r) (local.get $odd)))))
  (if (i32.and (f64.lt (local.get $a) (f64.const 0)) (i32.eqz (local.get $integer))) (then (return (f64.const nan))))
  (if (i32.and (local.get $integer) (f64.le (f64.abs (local.get $b)) (f64.const 4)))
    (then
      (local.set $k (i64.trunc_f64_s (f64.abs (local.get $b))))
      (local.set $r (f64.const 1))
      (local.set $p (local.get $m))
      (loop $square
        (if (i32.wrap_i64 (i64.and (local.get $k) (i64.const 1))) (then (local.set $r (f64.mul (local.get $r) (local.get $p)))))
        (local.set $k (i64.shr_u (local.get $k) (i64.const 1)))
        (if (i64.ne (local.get $k) (i64.const 0))
          (then (local.set $p (f64.mul (local.get $p) (local.get $p)))
                (br $square))))
      (if (f64.lt (local.get $b) (f64.const 0)) (then (local.set $r (f64.div (f64.const 1) (local.get $r))))))
    (else (local.set $r (call $f64_exp (f64.mul (local.get $b) (call $f64_log (local.get $m)))))))
  (select (f64.neg (local.get $r)) (local.get $r) (i32.and (local.get $odd) (f64.lt (local.get $a) (f64.const 0)))))
