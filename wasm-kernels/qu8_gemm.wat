;; Statically quantized GEMM with a requantized uint8 output: onnxruntime's QGemm (what it runs for
;; quantize_static's DequantizeLinear -> Gemm -> QuantizeLinear) and QLinearMatMul, with their bits:
;;   acc[i,j] = sum_kk (A[i,kk] - a_zp) * W[kk,j] + bias[j]                exact int32 (wrapping)
;;   v        = min(max(f32(acc) * M[j], qmin - c_zp), qmax - c_zp)       M = f32(f32(sx * sw[j]) / sy)
;;   C[i,j]   = nearest(v) + c_zp                                         round half to even
;; (MLAS clamps in float, rounds with the 1.5 * 2^23 trick, then adds the zero point: the same.)
;; A fused Relu or ReLU6 is a narrower [qmin, qmax]. Weights are packed by
;; edgewasm.backend.qpacking.pack_qu8_qc8w_gemm in panels of 4 columns: 4 i32 bias, 4 f32 M, then
;; ceil(k/2) groups of 8 int8 weight pairs; the k loop is the one of qdu8_gemm.wat (c2, dot16x2).

;; $qu8_qc8w_gemm_4x4c2: C[m x n] (u8) as above, 4 rows x 4 columns per register block.
;;   $m, $n      >= 1 (m <= 0 or n <= 0: nothing is written); $k >= 0
;;   $a          byte offset of A[0, 0] (u8); row i at $a + i * $a_stride; $a_zp: its zero point
;;   $w          byte offset of the packed weights: ceil(n/4) panels of 32 + 8 * ceil(k/2) bytes
;;   $c          byte offset of C[0, 0] (u8); row i at $c + i * $c_stride; $c_zp: its zero point
;;   $qmin, $qmax  output saturation bounds, 0 <= qmin <= qmax <= 255
;; Tails as in qdu8_gemm.wat: missing rows repeat the last row and are not stored; the k tail is
;; read byte by byte; only the valid columns are stored. No byte of C outside m x n is written.
(func $qu8_qc8w_gemm_4x4c2
  (param $m i32) (param $n i32) (param $k i32)
  (param $a i32) (param $a_stride i32) (param $a_zp i32)
  (param $w i32) (param $c i32) (param $c_stride i32)
  (param $c_zp i32) (param $qmin i32) (param $qmax i32)
  (local $rows i32) (local $nc i32) (local $wp i32) (local $kk i32) (local $k8 i32) (local $zp i32)
  (local $a0 i32) (local $a1 i32) (local $a2 i32) (local $a3 i32) (local $c0 i32)
  (local $vzp v128) (local $vlo v128) (local $vhi v128) (local $vczp v128)
  (local $vmult v128) (local $vbias v128) (local $va v128)
  (local $w0 v128) (local $w1 v128) (local $w2 v128) (local $w3 v128)
  (local $acc0 v128) (local $acc1 v128) (local $acc2 v128) (local $acc3 v128)
  (if (i32.or (i32.le_s (local.get $m) (i32.const 0)) (i32.le_s (local.get $n) (i32.const 0)))
    (then (return)))
  (local.set $k8 (i32.and (local.get $k) (i32.const -8)))
  (local.set $zp (local.get $a_zp))
  (local.set $vzp (i16x8.splat (local.get $zp)))
  (local.set $vlo (f32x4.splat (f32.convert_i32_s (i32.sub (local.get $qmin) (local.get $c_zp)))))
  (local.set $vhi (f32x4.splat (f32.convert_i32_s (i32.sub (local.get $qmax) (local.get $c_zp)))))
  (local.set $vczp (i32x4.splat (local.get $c_zp)))
  (loop $row_blocks
    (local.set $rows (select (local.get $m) (i32.const 4) (i32.lt_s (local.get $m) (i32.const 4))))
    (local.set $a0 (local.get $a))
    (local.set $a1 (select (i32.add (local.get $a0) (local.get $a_stride)) (local.get $a0)
                           (i32.gt_s (local.get $rows) (i32.const 1))))
    (local.set $a2 (select (i32.add (local.get $a1) (local.get $a_stride)) (local.get $a1)
                           (i32.gt_s (local.get $rows) (i32.const 2))))
    (local.set $a3 (select (i32.add (local.get $a2) (local.get $a_stride)) (local.get $a2)
                           (i32.gt_s (local.get $rows) (i32.const 3))))
    (local.set $c0 (local.get $c))
    (local.set $wp (local.get $w))
    (local.set $nc (local.get $n))
    (block $row_block_done
      (loop $col_panels
        (local.set $vbias (v128.load (local.get $wp)))
        (local.set $vmult (v128.load offset=16 (local.get $wp)))
        (local.set $wp (i32.add (local.get $wp) (i32.const 32)))
        (local.set $acc0 (v128.const i32x4 0 0 0 0))
        (local.set $acc1 (v128.const i32x4 0 0 0 0))
        (local.set $acc2 (v128.const i32x4 0 0 0 0))
        (local.set $acc3 (v128.const i32x4 0 0 0 0))
        (local.set $kk (i32.const 0))
        (block $k8_done
          (br_if $k8_done (i32.eqz (local.get $k8)))
          (loop $k8_loop
            (local.set $w0 (v128.load8x8_s (local.get $wp)))
            (local.set $w1 (v128.load8x8_s offset=8 (local.get $wp)))
            (local.set $w2 (v128.load8x8_s offset=16 (local.get $wp)))
            (local.set $w3 (v128.load8x8_s offset=24 (local.get $wp)))
            (local.set $va (i16x8.sub (v128.load8x8_u (i32.add (local.get $a0) (local.get $kk))) (local.get $vzp)))
            (local.set $acc0 (i32x4.add (i32x4.add (i32x4.add (i32x4.add (local.get $acc0)
              (i32x4.dot_i16x8_s (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $va) (local.get $va)) (local.get $w0)))
              (i32x4.dot_i16x8_s (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $va) (local.get $va)) (local.get $w1)))
              (i32x4.dot_i16x8_s (i8x16.shuffle 8 9 10 11 8 9 10 11 8 9 10 11 8 9 10 11 (local.get $va) (local.get $va)) (local.get $w2)))
              (i32x4.dot_i16x8_s (i8x16.shuffle 12 13 14 15 12 13 14 15 12 13 14 15 12 13 14 15 (local.get $va) (local.get $va)) (local.get $w3))))
            (local.set $va (i16x8.sub (v128.load8x8_u (i32.add (local.get $a1) (local.get $kk))) (local.get $vzp)))
            (local.set $acc1 (i32x4.add (i32x4.add (i32x4.add (i32x4.add (local.get $acc1)
              (i32x4.dot_i16x8_s (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $va) (local.get $va)) (local.get $w0)))
              (i32x4.dot_i16x8_s (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $va) (local.get $va)) (local.get $w1)))
              (i32x4.dot_i16x8_s (i8x16.shuffle 8 9 10 11 8 9 10 11 8 9 10 11 8 9 10 11 (local.get $va) (local.get $va)) (local.get $w2)))
              (i32x4.dot_i16x8_s (i8x16.shuffle 12 13 14 15 12 13 14 15 12 13 14 15 12 13 14 15 (local.get $va) (local.get $va)) (local.get $w3))))
            (local.set $va (i16x8.sub (v128.load8x8_u (i32.add (local.get $a2) (local.get $kk))) (local.get $vzp)))
            (local.set $acc2 (i32x4.add (i32x4.add (i32x4.add (i32x4.add (local.get $acc2)
              (i32x4.dot_i16x8_s (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $va) (local.get $va)) (local.get $w0)))
              (i32x4.dot_i16x8_s (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $va) (local.get $va)) (local.get $w1)))
              (i32x4.dot_i16x8_s (i8x16.shuffle 8 9 10 11 8 9 10 11 8 9 10 11 8 9 10 11 (local.get $va) (local.get $va)) (local.get $w2)))
              (i32x4.dot_i16x8_s (i8x16.shuffle 12 13 14 15 12 13 14 15 12 13 14 15 12 13 14 15 (local.get $va) (local.get $va)) (local.get $w3))))
            (local.set $va (i16x8.sub (v128.load8x8_u (i32.add (local.get $a3) (local.get $kk))) (local.get $vzp)))
            (local.set $acc3 (i32x4.add (i32x4.add (i32x4.add (i32x4.add (local.get $acc3)
              (i32x4.dot_i16x8_s (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $va) (local.get $va)) (local.get $w0)))
              (i32x4.dot_i16x8_s (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $va) (local.get $va)) (local.get $w1)))
              (i32x4.dot_i16x8_s (i8x16.shuffle 8 9 10 11 8 9 10 11 8 9 10 11 8 9 10 11 (local.get $va) (local.get $va)) (local.get $w2)))
              (i32x4.dot_i16x8_s (i8x16.shuffle 12 13 14 15 12 13 14 15 12 13 14 15 12 13 14 15 (local.get $va) (local.get $va)) (local.get $w3))))
            (local.set $wp (i32.add (local.get $wp) (i32.const 32)))
            (local.set $kk (i32.add (local.get $kk) (i32.const 8)))
            (br_if $k8_loop (i32.lt_u (local.get $kk) (local.get $k8)))))
        (block $tail_done
          (br_if $tail_done (i32.ge_u (local.get $kk) (local.get $k)))
          (loop $k_pairs
            (local.set $w0 (v128.load8x8_s (local.get $wp)))
            (local.set $acc0 (i32x4.add (local.get $acc0)
              (i32x4.dot_i16x8_s (call $qdu8_pair (local.get $a0) (local.get $kk) (local.get $k) (local.get $zp))
                                 (local.get $w0))))
            (local.set $acc1 (i32x4.add (local.get $acc1)
              (i32x4.dot_i16x8_s (call $qdu8_pair (local.get $a1) (local.get $kk) (local.get $k) (local.get $zp))
                                 (local.get $w0))))
            (local.set $acc2 (i32x4.add (local.get $acc2)
              (i32x4.dot_i16x8_s (call $qdu8_pair (local.get $a2) (local.get $kk) (local.get $k) (local.get $zp))
                                 (local.get $w0))))
            (local.set $acc3 (i32x4.add (local.get $acc3)
              (i32x4.dot_i16x8_s (call $qdu8_pair (local.get $a3) (local.get $kk) (local.get $k) (local.get $zp))
                                 (local.get $w0))))
            (local.set $wp (i32.add (local.get $wp) (i32.const 8)))
            (local.set $kk (i32.add (local.get $kk) (i32.const 2)))
            (br_if $k_pairs (i32.lt_u (local.get $kk) (local.get $k)))))
        (local.set $acc0 (call $qu8_requantize (local.get $acc0) (local.get $vbias) (local.get $vmult)
                               (local.get $vlo) (local.get $vhi) (local.get $vczp)))
        (local.set $acc1 (call $qu8_requantize (local.get $acc1) (local.get $vbias) (local.get $vmult)
                               (local.get $vlo) (local.get $vhi) (local.get $vczp)))
        (local.set $acc2 (call $qu8_requantize (local.get $acc2) (local.get $vbias) (local.get $vmult)
                               (local.get $vlo) (local.get $vhi) (local.get $vczp)))
        (local.set $acc3 (call $qu8_requantize (local.get $acc3) (local.get $vbias) (local.get $vmult)
                               (local.get $vlo) (local.get $vhi) (local.get $vczp)))
        (if (i32.ge_s (local.get $nc) (i32.const 4))
          (then
            (call $qu8_store4 (local.get $c0) (local.get $acc0))
            (if (i32.gt_s (local.get $rows) (i32.const 1))
              (then (call $qu8_store4 (i32.add (local.get $c0) (local.get $c_stride)) (local.get $acc1))))
            (if (i32.gt_s (local.get $rows) (i32.const 2))
              (then (call $qu8_store4 (i32.add (local.get $c0) (i32.shl (local.get $c_stride) (i32.const 1)))
                                (local.get $acc2))))
            (if (i32.gt_s (local.get $rows) (i32.const 3))
              (then (call $qu8_store4 (i32.add (local.get $c0) (i32.mul (local.get $c_stride) (i32.const 3)))
                                (local.get $acc3))))
            (local.set $c0 (i32.add (local.get $c0) (i32.const 4)))
            (local.set $nc (i32.sub (local.get $nc) (i32.const 4)))
            (br_if $col_panels (local.get $nc))
            (br $row_block_done)))
        ;; column tail: 1..3 columns left in the last panel
        (call $qu8_store_tail (local.get $c0) (local.get $acc0) (local.get $nc))
        (if (i32.gt_s (local.get $rows) (i32.const 1))
          (then (call $qu8_store_tail (i32.add (local.get $c0) (local.get $c_stride))
                      (local.get $acc1) (local.get $nc))))
        (if (i32.gt_s (local.get $rows) (i32.const 2))
          (then (call $qu8_store_tail (i32.add (local.get $c0) (i32.shl (local.get $c_stride) (i32.const 1)))
                      (local.get $acc2) (local.get $nc))))
        (if (i32.gt_s (local.get $rows) (i32.const 3))
          (then (call $qu8_store_tail (i32.add (local.get $c0) (i32.mul (local.get $c_stride) (i32.const 3)))
                      (local.get $acc3) (local.get $nc))))))
    (local.set $a (i32.add (local.get $a) (i32.shl (local.get $a_stride) (i32.const 2))))
    (local.set $c (i32.add (local.get $c) (i32.shl (local.get $c_stride) (i32.const 2))))
    (local.set $m (i32.sub (local.get $m) (i32.const 4)))
    (br_if $row_blocks (i32.gt_s (local.get $m) (i32.const 0)))))

;; $qu8_qc8w_gemm_1x4c2: same signature, contract and bits as $qu8_qc8w_gemm_4x4c2, one row at a
;; time (m < 4).
(func $qu8_qc8w_gemm_1x4c2
  (param $m i32) (param $n i32) (param $k i32)
  (param $a i32) (param $a_stride i32) (param $a_zp i32)
  (param $w i32) (param $c i32) (param $c_stride i32)
  (param $c_zp i32) (param $qmin i32) (param $qmax i32)
  (local $nc i32) (local $wp i32) (local $kk i32) (local $k8 i32) (local $zp i32) (local $c0 i32)
  (local $vzp v128) (local $vlo v128) (local $vhi v128) (local $vczp v128)
  (local $vmult v128) (local $vbias v128) (local $acc v128)
  (local $va v128) (local $w0 v128) (local $w1 v128) (local $w2 v128) (local $w3 v128)
  (if (i32.or (i32.le_s (local.get $m) (i32.const 0)) (i32.le_s (local.get $n) (i32.const 0)))
    (then (return)))
  (local.set $k8 (i32.and (local.get $k) (i32.const -8)))
  (local.set $zp (local.get $a_zp))
  (local.set $vzp (i16x8.splat (local.get $zp)))
  (local.set $vlo (f32x4.splat (f32.convert_i32_s (i32.sub (local.get $qmin) (local.get $c_zp)))))
  (local.set $vhi (f32x4.splat (f32.convert_i32_s (i32.sub (local.get $qmax) (local.get $c_zp)))))
  (local.set $vczp (i32x4.splat (local.get $c_zp)))
  (loop $rows
    (local.set $c0 (local.get $c))
    (local.set $wp (local.get $w))
    (local.set $nc (local.get $n))
    (block $row_done
      (loop $col_panels
        (local.set $vbias (v128.load (local.get $wp)))
        (local.set $vmult (v128.load offset=16 (local.get $wp)))
        (local.set $wp (i32.add (local.get $wp) (i32.const 32)))
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (local.set $kk (i32.const 0))
        (block $k8_done
          (br_if $k8_done (i32.eqz (local.get $k8)))
          (loop $k8_loop
            (local.set $va (i16x8.sub (v128.load8x8_u (i32.add (local.get $a) (local.get $kk))) (local.get $vzp)))
            (local.set $w0 (v128.load8x8_s (local.get $wp)))
            (local.set $w1 (v128.load8x8_s offset=8 (local.get $wp)))
            (local.set $w2 (v128.load8x8_s offset=16 (local.get $wp)))
            (local.set $w3 (v128.load8x8_s offset=24 (local.get $wp)))
            (local.set $acc (i32x4.add (i32x4.add (i32x4.add (i32x4.add (local.get $acc)
              (i32x4.dot_i16x8_s (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $va) (local.get $va)) (local.get $w0)))
              (i32x4.dot_i16x8_s (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $va) (local.get $va)) (local.get $w1)))
              (i32x4.dot_i16x8_s (i8x16.shuffle 8 9 10 11 8 9 10 11 8 9 10 11 8 9 10 11 (local.get $va) (local.get $va)) (local.get $w2)))
              (i32x4.dot_i16x8_s (i8x16.shuffle 12 13 14 15 12 13 14 15 12 13 14 15 12 13 14 15 (local.get $va) (local.get $va)) (local.get $w3))))
            (local.set $wp (i32.add (local.get $wp) (i32.const 32)))
            (local.set $kk (i32.add (local.get $kk) (i32.const 8)))
            (br_if $k8_loop (i32.lt_u (local.get $kk) (local.get $k8)))))
        (block $tail_done
          (br_if $tail_done (i32.ge_u (local.get $kk) (local.get $k)))
          (loop $k_pairs
            (local.set $acc (i32x4.add (local.get $acc)
              (i32x4.dot_i16x8_s (call $qdu8_pair (local.get $a) (local.get $kk) (local.get $k) (local.get $zp))
                                 (v128.load8x8_s (local.get $wp)))))
            (local.set $wp (i32.add (local.get $wp) (i32.const 8)))
            (local.set $kk (i32.add (local.get $kk) (i32.const 2)))
            (br_if $k_pairs (i32.lt_u (local.get $kk) (local.get $k)))))
        (local.set $acc (call $qu8_requantize (local.get $acc) (local.get $vbias) (local.get $vmult)
                              (local.get $vlo) (local.get $vhi) (local.get $vczp)))
        (if (i32.ge_s (local.get $nc) (i32.const 4))
          (then
            (call $qu8_store4 (local.get $c0) (local.get $acc))
            (local.set $c0 (i32.add (local.get $c0) (i32.const 4)))
            (local.set $nc (i32.sub (local.get $nc) (i32.const 4)))
            (br_if $col_panels (local.get $nc))
            (br $row_done)))
        (call $qu8_store_tail (local.get $c0) (local.get $acc) (local.get $nc))))
    (local.set $a (i32.add (local.get $a) (local.get $a_stride)))
    (local.set $c (i32.add (local.get $c) (local.get $c_stride)))
    (local.set $m (i32.sub (local.get $m) (i32.const 1)))
    (br_if $rows (local.get $m))))

;; $qu8_requantize: helper, f32(acc + bias) * mult clamped to [lo, hi] (qmin - zp, qmax - zp), rounded
;; half to even, plus the zero point: four i32 in [qmin, qmax].
(func $qu8_requantize (param $acc v128) (param $bias v128) (param $mult v128) (param $lo v128) (param $hi v128)
  (param $zp v128) (result v128)
  (i32x4.add
    (i32x4.trunc_sat_f32x4_s
      (f32x4.nearest
        (f32x4.min
          (f32x4.max (f32x4.mul (f32x4.convert_i32x4_s (i32x4.add (local.get $acc) (local.get $bias))) (local.get $mult))
                     (local.get $lo))
          (local.get $hi))))
    (local.get $zp)))

;; $qu8_store4: helper, stores the four i32 lanes of $v (each in [0, 255]) as 4 bytes at $c.
(func $qu8_store4 (param $c i32) (param $v v128)
  (i32.store (local.get $c)
    (i32x4.extract_lane 0
      (i8x16.narrow_i16x8_u (i16x8.narrow_i32x4_s (local.get $v) (local.get $v))
                            (i16x8.narrow_i32x4_s (local.get $v) (local.get $v))))))

;; $qu8_store_tail: helper, stores the first $nc (1..3) lanes of $v (each in [0, 255]) as bytes at $c.
(func $qu8_store_tail (param $c i32) (param $v v128) (param $nc i32)
  (i32.store8 (local.get $c) (i32x4.extract_lane 0 (local.get $v)))
  (if (i32.ge_u (local.get $nc) (i32.const 2))
    (then (i32.store8 offset=1 (local.get $c) (i32x4.extract_lane 1 (local.get $v)))))
  (if (i32.ge_u (local.get $nc) (i32.const 3))
    (then (i32.store8 offset=2 (local.get $c) (i32x4.extract_lane 2 (local.get $v))))))
