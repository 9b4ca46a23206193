;; Dynamically quantized GEMM: uint8 activations (with the scale and zero point $qu8_dynquant wrote),
;; per-output-channel symmetric int8 weights, float32 output. This is onnxruntime's quantize_dynamic
;; MatMul (DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul -> Add) with its bits:
;;   acc[i,j] = sum_kk (A[i,kk] - a_zp) * W[kk,j]                     exact int32 (wrapping)
;;   C[i,j]   = clamp(f32(acc) * f32(a_scale * w_scale[j]) + bias[j])  (convert, mul, add: never fused)
;; Weights are packed by edgewasm.backend.qpacking.pack_qc8w_gemm in panels of 4 columns:
;;   4 f32 bias, 4 f32 w_scale, then ceil(k/2) groups of 8 int8: W[2t,c0] W[2t+1,c0] .. W[2t+1,c3]
;; (zero past k and past n; a missing bias is -0.0, which adds nothing, not even to a -0.0).
;; The inner loop is XNNPACK's "c2" dot16x2 scheme: 8 bytes of an A row are widened to i16 with the
;; zero point subtracted (|a - zp| <= 255), each 32-bit pair (A[kk], A[kk+1]) is broadcast (one
;; i8x16.shuffle) and i32x4.dot_i16x8_s multiplies it with the 4 columns' weight pairs, adding both
;; products. The 4 pairs of 8 k are written out in the loop (a call there costs ~2x: engines do
;; not inline).

;; $qdu8_f32_qc8w_gemm_4x4c2: C[m x n] as above, 4 rows x 4 columns per register block.
;;   $m, $n      >= 1 (m <= 0 or n <= 0: nothing is written); $k >= 0
;;   $a          byte offset of A[0, 0] (u8); row i at $a + i * $a_stride; k contiguous bytes read
;;   $a_scale    byte offset of the f32 activation scale; $a_zp: byte offset of the u8 zero point
;;   $w          byte offset of the packed weights: ceil(n/4) panels of 32 + 8 * ceil(k/2) bytes
;;   $c          byte offset of C[0, 0] (f32); row i at $c + i * $c_stride
;;   $min, $max  clamp, as f32x4.max(., min) then f32x4.min(., max)
;; Row tail (m % 4): missing rows read the last valid row and are not stored. k tail (k % 8): the
;; remaining pairs are assembled from single bytes, never reading past A[i, k-1]. Column tail
;; (n % 4): only the valid columns are stored. No byte of C outside the m x n values is written.
(func $qdu8_f32_qc8w_gemm_4x4c2
  (param $m i32) (param $n i32) (param $k i32)
  (param $a i32) (param $a_stride i32) (param $a_scale i32) (param $a_zp i32)
  (param $w i32) (param $c i32) (param $c_stride i32)
  (param $min f32) (param $max f32)
  (local $rows i32) (local $nc i32) (local $wp i32) (local $kk i32) (local $k8 i32) (local $zp i32)
  (local $a0 i32) (local $a1 i32) (local $a2 i32) (local $a3 i32) (local $c0 i32)
  (local $vzp v128) (local $vsa v128) (local $vmin v128) (local $vmax v128)
  (local $vscale v128) (local $vbias v128) (local $va v128)
  (local $w0 v128) (local $w1 v128) (local $w2 v128) (local $w3 v128)
  (local $acc0 v128) (local $acc1 v128) (local $acc2 v128) (local $acc3 v128)
  (if (i32.or (i32.le_s (local.get $m) (i32.const 0)) (i32.le_s (local.get $n) (i32.const 0)))
    (then (return)))
  (local.set $k8 (i32.and (local.get $k) (i32.const -8)))
  (local.set $zp (i32.load8_u (local.get $a_zp)))
  (local.set $vzp (i16x8.splat (local.get $zp)))
  (local.set $vsa (f32x4.splat (f32.load (local.get $a_scale))))
  (local.set $vmin (f32x4.splat (local.get $min)))
  (local.set $vmax (f32x4.splat (local.get $max)))
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
        (local.set $vscale (f32x4.mul (local.get $vsa) (v128.load offset=16 (local.get $wp))))
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
        (local.set $acc0 (call $qdu8_epilogue (local.get $acc0) (local.get $vscale) (local.get $vbias)
                               (local.get $vmin) (local.get $vmax)))
        (local.set $acc1 (call $qdu8_epilogue (local.get $acc1) (local.get $vscale) (local.get $vbias)
                               (local.get $vmin) (local.get $vmax)))
        (local.set $acc2 (call $qdu8_epilogue (local.get $acc2) (local.get $vscale) (local.get $vbias)
                               (local.get $vmin) (local.get $vmax)))
        (local.set $acc3 (call $qdu8_epilogue (local.get $acc3) (local.get $vscale) (local.get $vbias)
                               (local.get $vmin) (local.get $vmax)))
        (if (i32.ge_s (local.get $nc) (i32.const 4))
          (then
            (v128.store (local.get $c0) (local.get $acc0))
            (if (i32.gt_s (local.get $rows) (i32.const 1))
              (then (v128.store (i32.add (local.get $c0) (local.get $c_stride)) (local.get $acc1))))
            (if (i32.gt_s (local.get $rows) (i32.const 2))
              (then (v128.store (i32.add (local.get $c0) (i32.shl (local.get $c_stride) (i32.const 1)))
                                (local.get $acc2))))
            (if (i32.gt_s (local.get $rows) (i32.const 3))
              (then (v128.store (i32.add (local.get $c0) (i32.mul (local.get $c_stride) (i32.const 3)))
                                (local.get $acc3))))
            (local.set $c0 (i32.add (local.get $c0) (i32.const 16)))
            (local.set $nc (i32.sub (local.get $nc) (i32.const 4)))
            (br_if $col_panels (local.get $nc))
            (br $row_block_done)))
        ;; column tail: 1..3 columns left in the last panel
        (call $qdu8_store_tail (local.get $c0) (local.get $acc0) (local.get $nc))
        (if (i32.gt_s (local.get $rows) (i32.const 1))
          (then (call $qdu8_store_tail (i32.add (local.get $c0) (local.get $c_stride))
                      (local.get $acc1) (local.get $nc))))
        (if (i32.gt_s (local.get $rows) (i32.const 2))
          (then (call $qdu8_store_tail (i32.add (local.get $c0) (i32.shl (local.get $c_stride) (i32.const 1)))
                      (local.get $acc2) (local.get $nc))))
        (if (i32.gt_s (local.get $rows) (i32.const 3))
          (then (call $qdu8_store_tail (i32.add (local.get $c0) (i32.mul (local.get $c_stride) (i32.const 3)))
                      (local.get $acc3) (local.get $nc))))))
    (local.set $a (i32.add (local.get $a) (i32.shl (local.get $a_stride) (i32.const 2))))
    (local.set $c (i32.add (local.get $c) (i32.shl (local.get $c_stride) (i32.const 2))))
    (local.set $m (i32.sub (local.get $m) (i32.const 4)))
    (br_if $row_blocks (i32.gt_s (local.get $m) (i32.const 0)))))

;; $qdu8_f32_qc8w_gemm_1x4c2: same signature, contract and bits as $qdu8_f32_qc8w_gemm_4x4c2, one
;; row at a time. Use it when m < 4 (batch-1 GEMV), where the 4-row block would repeat rows.
(func $qdu8_f32_qc8w_gemm_1x4c2
  (param $m i32) (param $n i32) (param $k i32)
  (param $a i32) (param $a_stride i32) (param $a_scale i32) (param $a_zp i32)
  (param $w i32) (param $c i32) (param $c_stride i32)
  (param $min f32) (param $max f32)
  (local $nc i32) (local $wp i32) (local $kk i32) (local $k8 i32) (local $zp i32) (local $c0 i32)
  (local $vzp v128) (local $vsa v128) (local $vmin v128) (local $vmax v128)
  (local $vscale v128) (local $vbias v128) (local $acc v128)
  (local $va v128) (local $w0 v128) (local $w1 v128) (local $w2 v128) (local $w3 v128)
  (if (i32.or (i32.le_s (local.get $m) (i32.const 0)) (i32.le_s (local.get $n) (i32.const 0)))
    (then (return)))
  (local.set $k8 (i32.and (local.get $k) (i32.const -8)))
  (local.set $zp (i32.load8_u (local.get $a_zp)))
  (local.set $vzp (i16x8.splat (local.get $zp)))
  (local.set $vsa (f32x4.splat (f32.load (local.get $a_scale))))
  (local.set $vmin (f32x4.splat (local.get $min)))
  (local.set $vmax (f32x4.splat (local.get $max)))
  (loop $rows
    (local.set $c0 (local.get $c))
    (local.set $wp (local.get $w))
    (local.set $nc (local.get $n))
    (block $row_done
      (loop $col_panels
        (local.set $vbias (v128.load (local.get $wp)))
        (local.set $vscale (f32x4.mul (local.get $vsa) (v128.load offset=16 (local.get $wp))))
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
        (local.set $acc (call $qdu8_epilogue (local.get $acc) (local.get $vscale) (local.get $vbias)
                              (local.get $vmin) (local.get $vmax)))
        (if (i32.ge_s (local.get $nc) (i32.const 4))
          (then
            (v128.store (local.get $c0) (local.get $acc))
            (local.set $c0 (i32.add (local.get $c0) (i32.const 16)))
            (local.set $nc (i32.sub (local.get $nc) (i32.const 4)))
            (br_if $col_panels (local.get $nc))
            (br $row_done)))
        (call $qdu8_store_tail (local.get $c0) (local.get $acc) (local.get $nc))))
    (local.set $a (i32.add (local.get $a) (local.get $a_stride)))
    (local.set $c (i32.add (local.get $c) (local.get $c_stride)))
    (local.set $m (i32.sub (local.get $m) (i32.const 1)))
    (br_if $rows (local.get $m))))

;; $qdu8_pair: helper, the broadcast i16 pair (A[kk] - zp, A[kk+1] - zp) of the row at $row, with
;; the second element 0 when kk + 1 = k (its weight is the zero padding): reads only bytes < k.
(func $qdu8_pair (param $row i32) (param $kk i32) (param $k i32) (param $zp i32) (result v128)
  (local $p i32) (local $high i32)
  (local.set $p (i32.add (local.get $row) (local.get $kk)))
  (if (i32.lt_u (i32.add (local.get $kk) (i32.const 1)) (local.get $k))
    (then (local.set $high (i32.shl (i32.sub (i32.load8_u offset=1 (local.get $p)) (local.get $zp))
                                    (i32.const 16)))))
  (i32x4.splat
    (i32.or (i32.and (i32.sub (i32.load8_u (local.get $p)) (local.get $zp)) (i32.const 0xffff))
            (local.get $high))))

;; $qdu8_epilogue: helper, clamp(f32(acc) * scale + bias): convert, multiply, add, then max, min.
(func $qdu8_epilogue (param $acc v128) (param $scale v128) (param $bias v128) (param $min v128) (param $max v128)
  (result v128)
  (f32x4.min
    (f32x4.max (f32x4.add (f32x4.mul (f32x4.convert_i32x4_s (local.get $acc)) (local.get $scale)) (local.get $bias))
               (local.get $min))
    (local.get $max)))

;; $qdu8_store_tail: helper, stores the first $nc (1..3) floats of $v at byte offset $c.
(func $qdu8_store_tail (param $c i32) (param $v v128) (param $nc i32)
  (if (i32.and (local.get $nc) (i32.const 2))
    (then
      (f32.store (local.get $c) (f32x4.extract_lane 0 (local.get $v)))
      (f32.store offset=4 (local.get $c) (f32x4.extract_lane 1 (local.get $v)))
      (local.set $v (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $v) (local.get $v)))
      (local.set $c (i32.add (local.get $c) (i32.const 8)))))
  (if (i32.and (local.get $nc) (i32.const 1))
    (then (f32.store (local.get $c) (f32x4.extract_lane 0 (local.get $v))))))
