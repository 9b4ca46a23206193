;; f32 elementwise chains in one pass over memory: y = step_k(... step_2(step_1(x))), where each step
;; is a unary op or a binary op of the running value t with a constant, the chain's input x, t itself
;; or a tensor of the same shape (a residual). Exporters write activations out as such chains
;; (hard-swish as Add -> Clip -> Mul -> Div, GELU as Div -> Erf -> Add -> Mul -> Mul, layer scale +
;; residual): run op by op, every step is a full pass over memory; here the data pass once.
;;
;; Structure: the elements go in blocks of 1024 f32 (4 KB, stays in L1); in a block, each step is
;; one tight SIMD loop (the step's dispatch is paid once per block, not per vector). The first step
;; reads x, the last writes y, the steps between work in a 4 KB scratch area (and one more for a
;; value that later steps read again), so y may alias x or an operand exactly. Every step executes
;; exactly the instructions of its standalone kernel (the same f32x4 op with the same operand order,
;; or the same helper: $f32x4_sigmoid, $f32x4_erf, $f32x4_hsigmoid, $f32x4_unary_op, ... of
;; f32_vunary.wat, $f32_vexp of f32_softmax.wat), and every f32x4 op is lane-wise, so the chain
;; gives the unfused graph's bits. (Add, Mul, Max and Min take t first whatever the node's operand
;; order: they commute bit for bit in IEEE and wasm arithmetic, except a NaN's payload, which wasm
;; leaves open anyway; Sub and Div keep the order with their reversed kinds.) Tail elements (n % 4)
;; are copied into zero-padded vectors and go through the same vector code (a lane's result does not
;; depend on the other lanes), as the standalone kernels' splat tails do.

;; $f32_vchain_step: helper, one step over one block: dst[i] = op(src[i], o[i]) for nbytes / 16
;;   vectors ($nbytes > 0, a multiple of 16). Binary kinds (operand o, advanced by $ostep bytes per
;;   vector: 16 for a tensor, 0 for a splat constant):
;;     0 add t + o   1 sub t - o   2 mul t * o   3 div t / o   4 max   5 min   6 rsub o - t   7 rdiv o / t
;;   Unary kinds ($p0, $p1 splatted parameters):
;;     8 clamp min(max(t, p0), p1)  9 sigmoid  10 tanh  11 erf  12 gelu  13 gelu_tanh  14 lrelu (p0 alpha)
;;     15 hsigmoid (p0 alpha, p1 beta)  16 hswish  17 sqrt  18 exp  19 log
;;     20 $f32x4_unary_op op code $code (p0, p1 its parameters)  21 swish (p0 alpha)
;;   Any other kind writes nothing. dst may alias src or o exactly.
(func $f32_vchain_step (param $kind i32) (param $code i32) (param $p0 v128) (param $p1 v128)
                       (param $src i32) (param $o i32) (param $ostep i32) (param $dst i32) (param $nbytes i32)
  (local $end i32)
  (local.set $end (i32.add (local.get $dst) (local.get $nbytes)))
  (block $done
  (block $swish (block $unary_op (block $log (block $exp (block $sqrt (block $hswish (block $hsigmoid (block $lrelu (block $gelu_tanh (block $gelu (block $erf (block $tanh (block $sigmoid (block $clamp (block $rdiv (block $rsub (block $min (block $max (block $div (block $mul (block $sub (block $add
    (br_table $add $sub $mul $div $max $min $rsub $rdiv $clamp $sigmoid $tanh $erf $gelu $gelu_tanh $lrelu $hsigmoid $hswish $sqrt $exp $log $unary_op $swish $done (local.get $kind)))
    ;; add
    (loop $add_loop
      (v128.store (local.get $dst) (f32x4.add (v128.load (local.get $src)) (v128.load (local.get $o))))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (local.set $o (i32.add (local.get $o) (local.get $ostep)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (br_if $add_loop (i32.ne (local.get $dst) (local.get $end))))
    (br $done))
    ;; sub
    (loop $sub_loop
      (v128.store (local.get $dst) (f32x4.sub (v128.load (local.get $src)) (v128.load (local.get $o))))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (local.set $o (i32.add (local.get $o) (local.get $ostep)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (br_if $sub_loop (i32.ne (local.get $dst) (local.get $end))))
    (br $done))
    ;; mul
    (loop $mul_loop
      (v128.store (local.get $dst) (f32x4.mul (v128.load (local.get $src)) (v128.load (local.get $o))))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (local.set $o (i32.add (local.get $o) (local.get $ostep)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (br_if $mul_loop (i32.ne (local.get $dst) (local.get $end))))
    (br $done))
    ;; div
    (loop $div_loop
      (v128.store (local.get $dst) (f32x4.div (v128.load (local.get $src)) (v128.load (local.get $o))))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (local.set $o (i32.add (local.get $o) (local.get $ostep)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (br_if $div_loop (i32.ne (local.get $dst) (local.get $end))))
    (br $done))
    ;; max
    (loop $max_loop
      (v128.store (local.get $dst) (f32x4.max (v128.load (local.get $src)) (v128.load (local.get $o))))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (local.set $o (i32.add (local.get $o) (local.get $ostep)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (br_if $max_loop (i32.ne (local.get $dst) (local.get $end))))
    (br $done))
    ;; min
    (loop $min_loop
      (v128.store (local.get $dst) (f32x4.min (v128.load (local.get $src)) (v128.load (local.get $o))))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (local.set $o (i32.add (local.get $o) (local.get $ostep)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (br_if $min_loop (i32.ne (local.get $dst) (local.get $end))))
    (br $done))
    ;; rsub
    (loop $rsub_loop
      (v128.store (local.get $dst) (f32x4.sub (v128.load (local.get $o)) (v128.load (local.get $src))))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (local.set $o (i32.add (local.get $o) (local.get $ostep)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (br_if $rsub_loop (i32.ne (local.get $dst) (local.get $end))))
    (br $done))
    ;; rdiv
    (loop $rdiv_loop
      (v128.store (local.get $dst) (f32x4.div (v128.load (local.get $o)) (v128.load (local.get $src))))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (local.set $o (i32.add (local.get $o) (local.get $ostep)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (br_if $rdiv_loop (i32.ne (local.get $dst) (local.get $end))))
    (br $done))
    ;; clamp
    (loop $clamp_loop
      (v128.store (local.get $dst) (f32x4.min (f32x4.max (v128.load (local.get $src)) (local.get $p0)) (local.get $p1)))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (br_if $clamp_loop (i32.ne (local.get $dst) (local.get $end))))
    (br $done))
    ;; sigmoid
    (loop $sigmoid_loop
      (v128.store (local.get $dst) (call $f32x4_sigmoid (v128.load (local.get $src))))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (br_if $sigmoid_loop (i32.ne (local.get $dst) (local.get $end))))
    (br $done))
    ;; tanh
    (loop $tanh_loop
      (v128.store (local.get $dst) (call $f32x4_tanh (v128.load (local.get $src))))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (br_if $tanh_loop (i32.ne (local.get $dst) (local.get $end))))
    (br $done))
    ;; erf
    (loop $erf_loop
      (v128.store (local.get $dst) (call $f32x4_erf (v128.load (local.get $src))))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (br_if $erf_loop (i32.ne (local.get $dst) (local.get $end))))
    (br $done))
    ;; gelu
    (loop $gelu_loop
      (v128.store (local.get $dst) (call $f32x4_gelu (v128.load (local.get $src))))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (br_if $gelu_loop (i32.ne (local.get $dst) (local.get $end))))
    (br $done))
    ;; gelu_tanh
    (loop $gelu_tanh_loop
      (v128.store (local.get $dst) (call $f32x4_gelu_tanh (v128.load (local.get $src))))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (br_if $gelu_tanh_loop (i32.ne (local.get $dst) (local.get $end))))
    (br $done))
    ;; lrelu
    (loop $lrelu_loop
      (v128.store (local.get $dst) (call $f32x4_lrelu (v128.load (local.get $src)) (local.get $p0)))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (br_if $lrelu_loop (i32.ne (local.get $dst) (local.get $end))))
    (br $done))
    ;; hsigmoid
    (loop $hsigmoid_loop
      (v128.store (local.get $dst) (call $f32x4_hsigmoid (v128.load (local.get $src)) (local.get $p0) (local.get $p1)))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (br_if $hsigmoid_loop (i32.ne (local.get $dst) (local.get $end))))
    (br $done))
    ;; hswish
    (loop $hswish_loop
      (v128.store (local.get $dst) (call $f32x4_hswish (v128.load (local.get $src))))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (br_if $hswish_loop (i32.ne (local.get $dst) (local.get $end))))
    (br $done))
    ;; sqrt
    (loop $sqrt_loop
      (v128.store (local.get $dst) (call $f32x4_sqrt (v128.load (local.get $src))))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (br_if $sqrt_loop (i32.ne (local.get $dst) (local.get $end))))
    (br $done))
    ;; exp
    (loop $exp_loop
      (v128.store (local.get $dst) (call $f32_vexp (v128.load (local.get $src))))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (br_if $exp_loop (i32.ne (local.get $dst) (local.get $end))))
    (br $done))
    ;; log
    (loop $log_loop
      (v128.store (local.get $dst) (call $f32x4_log (v128.load (local.get $src))))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (br_if $log_loop (i32.ne (local.get $dst) (local.get $end))))
    (br $done))
    ;; unary_op
    (loop $unary_op_loop
      (v128.store (local.get $dst) (call $f32x4_unary_op (local.get $code) (v128.load (local.get $src)) (local.get $p0) (local.get $p1)))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (br_if $unary_op_loop (i32.ne (local.get $dst) (local.get $end))))
    (br $done))
    ;; swish
    (loop $swish_loop
      (v128.store (local.get $dst) (call $f32x4_swish (v128.load (local.get $src)) (local.get $p0)))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (br_if $swish_loop (i32.ne (local.get $dst) (local.get $end))))
    (br $done))
)

;; $f32_vchain_block: helper, every step of the chain over one block of $nbytes (> 0, a multiple of
;;   16) at x, a, b, y (a, b: the block of each operand tensor). The running value lives in scratch
;;   s[0, 4096); a step whose kind has bit 8 set (KEEP) writes s[4096, 8192) instead, and that kept
;;   value is the operand "x" of the steps after it (one pass for x -> f -> g(t, f) ... chains whose
;;   intermediate f has several readers, all in the chain).
(func $f32_vchain_block (param $desc i32) (param $nbytes i32) (param $x i32) (param $a i32) (param $b i32)
                        (param $y i32) (param $s i32)
  (local $steps i32) (local $i i32) (local $step i32) (local $src i32) (local $dst i32)
  (local $which i32) (local $o i32) (local $ostep i32) (local $kind i32) (local $kept i32)
  (local.set $steps (i32.load (local.get $desc)))
  (local.set $step (i32.add (local.get $desc) (i32.const 16)))
  (local.set $src (local.get $x))
  (local.set $kept (i32.add (local.get $s) (i32.const 4096)))
  (block $done
    (br_if $done (i32.le_s (local.get $steps) (i32.const 0)))
    (loop $each
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (local.set $kind (i32.load (local.get $step)))
      (local.set $dst (select (local.get $kept) (local.get $s) (i32.and (local.get $kind) (i32.const 0x100))))
      (local.set $dst (select (local.get $y) (local.get $dst) (i32.eq (local.get $i) (local.get $steps))))
      (local.set $which (i32.load offset=4 (local.get $step)))
      ;; the operand: 0 the step's splat constant, 1 x (or the kept value), 2 a, 3 b, 4 t itself
      (local.set $ostep (i32.const 16))
      (local.set $o (local.get $src))
      (if (i32.eq (local.get $which) (i32.const 0))
        (then (local.set $o (i32.add (local.get $step) (i32.const 16)))
              (local.set $ostep (i32.const 0))))
      (if (i32.eq (local.get $which) (i32.const 1)) (then (local.set $o (local.get $x))))
      (if (i32.eq (local.get $which) (i32.const 2)) (then (local.set $o (local.get $a))))
      (if (i32.eq (local.get $which) (i32.const 3)) (then (local.set $o (local.get $b))))
      (call $f32_vchain_step (i32.and (local.get $kind) (i32.const 0xff)) (local.get $which)
            (v128.load32_splat offset=8 (local.get $step)) (v128.load32_splat offset=12 (local.get $step))
            (local.get $src) (local.get $o) (local.get $ostep) (local.get $dst) (local.get $nbytes))
      (local.set $src (local.get $dst))
      (if (i32.and (local.get $kind) (i32.const 0x100)) (then (local.set $x (local.get $kept))))
      (local.set $step (i32.add (local.get $step) (i32.const 32)))
      (br_if $each (i32.lt_s (local.get $i) (local.get $steps))))))

;; $f32_vchain: y = the chain described at $desc applied to x, for n >= 0 f32.
;;   (desc, n, x, a, b, y, s): byte offsets (4-byte alignment is enough) of
;;     desc  an i32 table: [steps, 0, 0, 0], then per step 8 words: kind ($f32_vchain_step; + 0x100:
;;           KEEP, the result becomes operand x), operand (binary kinds: 0 the constant, 1 x or the
;;           last kept value, 2 a, 3 b, 4 t itself; kind 20: the unary op code),
;;           p0, p1 (f32 bits), the constant as 4 f32 (its splat);
;;     x     the chain's input; a, b: operand tensors of n f32 (unused ones: any n f32, e.g. x);
;;     y     n f32 (may alias x, a or b exactly; no other overlap);
;;     s     8256 bytes of scratch overlapping nothing else.
(func $f32_vchain (param $desc i32) (param $n i32) (param $x i32) (param $a i32) (param $b i32)
                  (param $y i32) (param $s i32)
  (local $vec i32) (local $off i32) (local $len i32) (local $r i32) (local $t i32)
  (local.set $vec (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
  (block $blocks_done
    (loop $blocks
      (br_if $blocks_done (i32.ge_u (local.get $off) (local.get $vec)))
      (local.set $len (i32.sub (local.get $vec) (local.get $off)))
      (if (i32.gt_u (local.get $len) (i32.const 4096)) (then (local.set $len (i32.const 4096))))
      (call $f32_vchain_block (local.get $desc) (local.get $len)
            (i32.add (local.get $x) (local.get $off)) (i32.add (local.get $a) (local.get $off))
            (i32.add (local.get $b) (local.get $off)) (i32.add (local.get $y) (local.get $off)) (local.get $s))
      (local.set $off (i32.add (local.get $off) (i32.const 4096)))
      (br $blocks)))
  ;; tail: the last n % 4 elements of x, a, b in zero-padded vectors at s + 8192 (x, a, b, then y)
  (local.set $r (i32.shl (i32.and (local.get $n) (i32.const 3)) (i32.const 2)))
  (if (local.get $r)
    (then
      (local.set $t (i32.add (local.get $s) (i32.const 8192)))
      (v128.store (local.get $t) (v128.const i32x4 0 0 0 0))
      (v128.store offset=16 (local.get $t) (v128.const i32x4 0 0 0 0))
      (v128.store offset=32 (local.get $t) (v128.const i32x4 0 0 0 0))
      (memory.copy (local.get $t) (i32.add (local.get $x) (local.get $vec)) (local.get $r))
      (memory.copy (i32.add (local.get $t) (i32.const 16)) (i32.add (local.get $a) (local.get $vec)) (local.get $r))
      (memory.copy (i32.add (local.get $t) (i32.const 32)) (i32.add (local.get $b) (local.get $vec)) (local.get $r))
      (call $f32_vchain_block (local.get $desc) (i32.const 16) (local.get $t) (i32.add (local.get $t) (i32.const 16))
            (i32.add (local.get $t) (i32.const 32)) (i32.add (local.get $t) (i32.const 48)) (local.get $s))
      (memory.copy (i32.add (local.get $y) (local.get $vec)) (i32.add (local.get $t) (i32.const 48)) (local.get $r)))))
