;; Unary elementwise ops on float64 tensors, computed in f64 (not rounded through f32): Exp, Log,
;; Sqrt, Sigmoid, Tanh, Softplus, Softsign, Elu, Selu, Celu, LeakyRelu, HardSigmoid, HardSwish,
;; ThresholdedRelu, Shrink, Swish, Mish, Gelu (tanh form), Sinh, Cosh, Asinh, Acosh, Atanh.
;; Scalar (these are rare in float64 models); no host math: exp and log are x_reduce.wat's
;; polynomials $f64_exp and $f64_log (within 2 ulp), expm1 and log1p are built here so that the
;; small-argument forms keep their relative accuracy (tanh, elu, softplus, sinh, asinh, atanh).
;; Every NaN result is stored as the canonical quiet NaN 0x7ff8000000000000, so no result depends
;; on an engine's NaN propagation.

;; $f64_vunary_op: y[i] = op(x[i]) for i < $n, f64 at byte offsets $x, $y (y may alias x).
;;   $op: 0 exp, 1 log, 2 sqrt, 3 sigmoid, 4 tanh, 5 softplus, 6 softsign, 7 elu(alpha),
;;   8 selu(alpha, gamma), 9 celu(alpha), 10 leaky relu(alpha), 11 hard sigmoid(alpha, beta),
;;   12 hard swish, 13 thresholded relu(alpha), 14 shrink(lambd, bias), 15 swish(alpha), 16 mish,
;;   17 gelu tanh form, 18 sinh, 19 cosh, 20 asinh, 21 acosh, 22 atanh.
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
