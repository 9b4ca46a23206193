;; Integer matrix products for the quantized ops on run-time operands (MatMulInteger,
;; QLinearMatMul, ConvInteger and QLinearConv forms the fused uint8 kernels do not cover): exact
;; int32 accumulation as the ONNX spec and onnx's reference compute it. Scalar: these forms are
;; rare; real quantized models keep the SIMD kernels (qu8_gemm.wat, qdu8_gemm.wat).

;; $i32_matmul: for each of $batch products, C[i, j] = sum over l of A[i, l] * B[l, j] (int32,
;;   wrapping on overflow as numpy's int32 matmul does), A [$m, $k], B [$k, $n], C [$m, $n], all
;;   row-major int32.
;;   $a $b $c    byte offsets (4-aligned) of the first A, B and C; C must not overlap A or B.
;;   $a_step $b_step  bytes between consecutive batches' A and B (0 repeats one operand); C's
;;               batches are consecutive. $batch, $m or $n <= 0 writes nothing; $k <= 0 writes zeros.
(func $i32_matmul (param $batch i32) (param $m i32) (param $k i32) (param $n i32) (param $a i32) (param $a_step i32)
                  (param $b i32) (param $b_step i32) (param $c i32)
  (local $i i32) (local $j i32) (local $l i32) (local $acc i32) (local $pa i32) (local $pb i32) (local $row i32)
  (if (i32.or (i32.le_s (local.get $batch) (i32.const 0))
              (i32.or (i32.le_s (local.get $m) (i32.const 0)) (i32.le_s (local.get $n) (i32.const 0))))
    (then (return)))
  (local.set $row (i32.shl (local.get $n) (i32.const 2)))
  (loop $batches
    (local.set $i (i32.const 0))
    (loop $rows
      (local.set $j (i32.const 0))
      (loop $columns
        (local.set $acc (i32.const 0))
        (local.set $pa (i32.add (local.get $a) (i32.shl (i32.mul (local.get $i) (local.get $k)) (i32.const 2))))
        (local.set $pb (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $l (i32.const 0))
        (block $done
          (br_if $done (i32.le_s (local.get $k) (i32.const 0)))
          (loop $inner
            (local.set $acc (i32.add (local.get $acc)
                                     (i32.mul (i32.load (local.get $pa)) (i32.load (local.get $pb)))))
            (local.set $pa (i32.add (local.get $pa) (i32.const 4)))
            (local.set $pb (i32.add (local.get $pb) (local.get $row)))
            (local.set $l (i32.add (local.get $l) (i32.const 1)))
            (br_if $inner (i32.lt_s (local.get $l) (local.get $k)))))
        (i32.store (local.get $c) (local.get $acc))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $columns (i32.lt_s (local.get $j) (local.get $n))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $rows (i32.lt_s (local.get $i) (local.get $m))))
    (local.set $a (i32.add (local.get $a) (local.get $a_step)))
    (local.set $b (i32.add (local.get $b) (local.get $b_step)))
    (local.set $batch (i32.sub (local.get $batch) (i32.const 1)))
    (br_if $batches (local.get $batch))))
