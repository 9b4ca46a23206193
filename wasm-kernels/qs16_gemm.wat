;; int16 dynamic quantization and the int16 x int16 GEMM of the `int16` precision: activations
;; quantized per tensor at run time, weights int16 symmetric per output column, an exact integer
;; dot product, a float epilogue. Its reference.onnx (ops/int16_gemm.py) gives the same bits in
;; onnxruntime: ReduceMax(Abs) -> Div -> Round -> Clip -> Cast, MatMul on int64, Cast, Mul, Add.
;; Convolutions (ops/int16_conv.py) feed the same GEMM from u8_im2col moving 2 bytes per channel.

;; $qs16_dynquant: symmetric int16 quantization of x[0..n) with the tensor's own range:
;;   m     = max_i |x[i]|                     (NaNs are skipped: f32x4.pmax keeps the running max)
;;   scale = m / 32767 (one f32 division), or 1 where that is 0 (x all zeros, or m < ~2^-134
;;           where the division underflows): q is then all 0, never a NaN
;;   q[i]  = min(max(nearest(x[i] / scale), -32767), 32767)   (true division, round half to even)
;;   $n      elements (>= 1)
;;   $x      byte offset of n f32
;;   $q      byte offset of n i16 outputs (2-byte aligned or not; exactly 2n bytes written)
;;   $scale  byte offset of the f32 scale output
;; |x| / scale stays within an ulp or two of 32767 (scale is m / 32767 rounded once), so the clamp
;; (onnxruntime's Clip after Round) never binds on finite inputs but is kept for the same bits. A NaN
;; x gives q 0 (i32x4.trunc_sat); NaN or infinite inputs are outside the onnxruntime contract.
(func $qs16_dynquant (param $n i32) (param $x i32) (param $q i32) (param $scale i32)
  (local $i i32) (local $p i32) (local $o i32) (local $vmax v128) (local $m f32) (local $s f32)
  (local $vs v128) (local $vlo v128) (local $vhi v128)
  ;; pass 1: max |x|
  (local.set $p (local.get $x))
  (block $range_vectors_done
    (br_if $range_vectors_done (i32.lt_s (local.get $n) (i32.const 4)))
    (loop $range_vectors
      (local.set $vmax (f32x4.pmax (local.get $vmax) (f32x4.abs (v128.load (local.get $p)))))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br_if $range_vectors (i32.le_s (i32.add (local.get $i) (i32.const 4)) (local.get $n)))))
  (local.set $m (f32.max (f32.max (f32x4.extract_lane 0 (local.get $vmax)) (f32x4.extract_lane 1 (local.get $vmax)))
                         (f32.max (f32x4.extract_lane 2 (local.get $vmax)) (f32x4.extract_lane 3 (local.get $vmax)))))
  (block $range_done
    (br_if $range_done (i32.ge_s (local.get $i) (local.get $n)))
    (loop $range_tail
      (local.set $m (f32x4.extract_lane 0 (f32x4.pmax (f32x4.splat (local.get $m))
                                                      (f32x4.splat (f32.abs (f32.load (local.get $p)))))))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $range_tail (i32.lt_s (local.get $i) (local.get $n)))))
  (local.set $s (f32.div (local.get $m) (f32.const 32767)))
  (local.set $s (select (f32.const 1) (local.get $s) (f32.eq (local.get $s) (f32.const 0))))
  (f32.store (local.get $scale) (local.get $s))
  ;; pass 2: quantize, 8 values per store
  (local.set $vs (f32x4.splat (local.get $s)))
  (local.set $vlo (f32x4.splat (f32.const -32767)))
  (local.set $vhi (f32x4.splat (f32.const 32767)))
  (local.set $i (i32.const 0))
  (local.set $p (local.get $x))
  (local.set $o (local.get $q))
  (block $vectors_done
    (br_if $vectors_done (i32.lt_s (local.get $n) (i32.const 8)))
    (loop $vectors
      (v128.store (local.get $o)
        (i16x8.narrow_i32x4_s
          (i32x4.trunc_sat_f32x4_s (f32x4.min (f32x4.max (f32x4.nearest (f32x4.div (v128.load (local.get $p)) (local.get $vs)))
                                                         (local.get $vlo)) (local.get $vhi)))
          (i32x4.trunc_sat_f32x4_s (f32x4.min (f32x4.max (f32x4.nearest (f32x4.div (v128.load offset=16 (local.get $p)) (local.get $vs)))
                                                         (local.get $vlo)) (local.get $vhi)))))
      (local.set $p (i32.add (local.get $p) (i32.const 32)))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (local.set $i (i32.add (local.get $i) (i32.const 8)))
      (br_if $vectors (i32.le_s (i32.add (local.get $i) (i32.const 8)) (local.get $n)))))
  (block $done
    (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
    (loop $tail
      (i32.store16 (local.get $o)
        (i32.trunc_sat_f32_s (f32.min (f32.max (f32.nearest (f32.div (f32.load (local.get $p)) (local.get $s)))
                                               (f32.const -32767)) (f32.const 32767))))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (local.set $o (i32.add (local.get $o) (i32.const 2)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $tail (i32.lt_s (local.get $i) (local.get $n))))))

;; $qds16_f32_qc16w_gemm_1x4c2: C[m x n] = clamp(f32(acc) * f32(a_scale * w_scale[j]) + bias[j]),
;;   acc[i,j] = sum_kk A[i,kk] * W[kk,j]   exact: each i32x4.dot_i16x8_s adds two products of
;;   |value| <= 32767 (at most 2 * 32767^2 < 2^31, exact in i32), then the dot is sign-extended to
;;   i64 and added into i64x2 accumulators (exact while k * 32767^2 < 2^63, i.e. any k < 2^33);
;;   f32(acc) is f32.convert_i64_s (round to nearest even), then one f32 multiply, one f32 add (the
;;   scale a_scale * w_scale[j] is itself one f32 multiply), never fused; then max, min.
;; Weights are packed by edgewasm.backend.qpacking.pack_qc16w_gemm in panels of 4 columns:
;;   4 f32 bias, 4 f32 w_scale, then ceil(k/2) groups of 8 i16: W[2t,c0] W[2t+1,c0] .. W[2t+1,c3]
;; (zero past k and past n; a missing bias is -0.0). A is read in pairs of i16 (A[kk], A[kk+1])
;; broadcast to the 4 columns; the k tail reads only A[i, k-1] (never past the row).
;;   $m, $n      >= 1 (m <= 0 or n <= 0: nothing is written); $k >= 0
;;   $a          byte offset of A[0, 0] (i16, |A| <= 32767); row i at $a + i * $a_stride
;;   $a_scale    byte offset of the f32 activation scale
;;   $w          byte offset of the packed weights: ceil(n/4) panels of 32 + 16 * ceil(k/2) bytes
;;   $c          byte offset of C[0, 0] (f32); row i at $c + i * $c_stride
;;   $min, $max  clamp, as f32x4.max(., min) then f32x4.min(., max)
(func $qds16_f32_qc16w_gemm_1x4c2
  (param $m i32) (param $n i32) (param $k i32)
  (param $a i32) (param $a_stride i32) (param $a_scale i32)
  (param $w i32) (param $c i32) (param $c_stride i32)
  (param $min f32) (param $max f32)
  (local $nc i32) (local $wp i32) (local $kk i32) (local $k8 i32) (local $c0 i32)
  (local $vsa v128) (local $vmin v128) (local $vmax v128) (local $vscale v128) (local $vbias v128)
  (local $va v128) (local $d v128) (local $lo v128) (local $hi v128)
  (if (i32.or (i32.le_s (local.get $m) (i32.const 0)) (i32.le_s (local.get $n) (i32.const 0)))
    (then (return)))
  (local.set $k8 (i32.and (local.get $k) (i32.const -8)))
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
        (local.set $lo (v128.const i64x2 0 0))
        (local.set $hi (v128.const i64x2 0 0))
        (local.set $kk (i32.const 0))
        (block $k8_done
          (br_if $k8_done (i32.eqz (local.get $k8)))
          (loop $k8_loop
            (local.set $va (v128.load (i32.add (local.get $a) (i32.shl (local.get $kk) (i32.const 1)))))
            (local.set $d (i32x4.dot_i16x8_s (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $va) (local.get $va))
                                             (v128.load offset=0 (local.get $wp))))
            (local.set $lo (i64x2.add (local.get $lo) (i64x2.extend_low_i32x4_s (local.get $d))))
            (local.set $hi (i64x2.add (local.get $hi) (i64x2.extend_high_i32x4_s (local.get $d))))
            (local.set $d (i32x4.dot_i16x8_s (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $va) (local.get $va))
                                             (v128.load offset=16 (local.get $wp))))
            (local.set $lo (i64x2.add (local.get $lo) (i64x2.extend_low_i32x4_s (local.get $d))))
            (local.set $hi (i64x2.add (local.get $hi) (i64x2.extend_high_i32x4_s (local.get $d))))
            (local.set $d (i32x4.dot_i16x8_s (i8x16.shuffle 8 9 10 11 8 9 10 11 8 9 10 11 8 9 10 11 (local.get $va) (local.get $va))
                                             (v128.load offset=32 (local.get $wp))))
            (local.set $lo (i64x2.add (local.get $lo) (i64x2.extend_low_i32x4_s (local.get $d))))
            (local.set $hi (i64x2.add (local.get $hi) (i64x2.extend_high_i32x4_s (local.get $d))))
            (local.set $d (i32x4.dot_i16x8_s (i8x16.shuffle 12 13 14 15 12 13 14 15 12 13 14 15 12 13 14 15 (local.get $va) (local.get $va))
                                             (v128.load offset=48 (local.get $wp))))
            (local.set $lo (i64x2.add (local.get $lo) (i64x2.extend_low_i32x4_s (local.get $d))))
            (local.set $hi (i64x2.add (local.get $hi) (i64x2.extend_high_i32x4_s (local.get $d))))
            (local.set $wp (i32.add (local.get $wp) (i32.const 64)))
            (local.set $kk (i32.add (local.get $kk) (i32.const 8)))
            (br_if $k8_loop (i32.lt_u (local.get $kk) (local.get $k8)))))
        (block $tail_done
          (br_if $tail_done (i32.ge_u (local.get $kk) (local.get $k)))
          (loop $k_pairs
            (local.set $d (i32x4.dot_i16x8_s (call $qds16_pair (local.get $a) (local.get $kk) (local.get $k))
                                             (v128.load (local.get $wp))))
            (local.set $lo (i64x2.add (local.get $lo) (i64x2.extend_low_i32x4_s (local.get $d))))
            (local.set $hi (i64x2.add (local.get $hi) (i64x2.extend_high_i32x4_s (local.get $d))))
            (local.set $wp (i32.add (local.get $wp) (i32.const 16)))
            (local.set $kk (i32.add (local.get $kk) (i32.const 2)))
            (br_if $k_pairs (i32.lt_u (local.get $kk) (local.get $k)))))
        (local.set $d (call $qds16_epilogue (local.get $lo) (local.get $hi) (local.get $vscale) (local.get $vbias)
                            (local.get $vmin) (local.get $vmax)))
        (if (i32.ge_s (local.get $nc) (i32.const 4))
          (then
            (v128.store (local.get $c0) (local.get $d))
            (local.set $c0 (i32.add (local.get $c0) (i32.const 16)))
            (local.set $nc (i32.sub (local.get $nc) (i32.const 4)))
            (br_if $col_panels (local.get $nc))
            (br $row_done)))
        (call $qdu8_store_tail (local.get $c0) (local.get $d) (local.get $nc))))
    (local.set $a (i32.add (local.get $a) (local.get $a_stride)))
    (local.set $c (i32.add (local.get $c) (local.get $c_stride)))
    (local.set $m (i32.sub (local.get $m) (i32.const 1)))
    (br_if $rows (local.get $m))))

;; $qds16_f32_qc16w_gemm_4x4c2: same signature, contract and bits as $qds16_f32_qc16w_gemm_1x4c2,
;; 4 rows x 4 columns per register block (each weight group is loaded once for 4 rows). Row tail
;; (m % 4): missing rows read the last valid row and are not stored. Use it when m >= 4.
(func $qds16_f32_qc16w_gemm_4x4c2
  (param $m i32) (param $n i32) (param $k i32)
  (param $a i32) (param $a_stride i32) (param $a_scale i32)
  (param $w i32) (param $c i32) (param $c_stride i32)
  (param $min f32) (param $max f32)
  (local $rows i32) (local $nc i32) (local $wp i32) (local $kk i32) (local $k8 i32) (local $c0 i32)
  (local $a0 i32) (local $a1 i32) (local $a2 i32) (local $a3 i32)
  (local $vsa v128) (local $vmin v128) (local $vmax v128) (local $vscale v128) (local $vbias v128)
  (local $va v128) (local $d v128) (local $w0 v128) (local $w1 v128) (local $w2 v128) (local $w3 v128)
  (local $lo0 v128) (local $hi0 v128) (local $lo1 v128) (local $hi1 v128)
  (local $lo2 v128) (local $hi2 v128) (local $lo3 v128) (local $hi3 v128)
  (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
  (if (i32.or (i32.le_s (local.get $m) (i32.const 0)) (i32.le_s (local.get $n) (i32.const 0)))
    (then (return)))
  (local.set $k8 (i32.and (local.get $k) (i32.const -8)))
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
        (local.set $lo0 (v128.const i64x2 0 0))
        (local.set $hi0 (v128.const i64x2 0 0))
        (local.set $lo1 (v128.const i64x2 0 0))
        (local.set $hi1 (v128.const i64x2 0 0))
        (local.set $lo2 (v128.const i64x2 0 0))
        (local.set $hi2 (v128.const i64x2 0 0))
        (local.set $lo3 (v128.const i64x2 0 0))
        (local.set $hi3 (v128.const i64x2 0 0))
        (local.set $kk (i32.const 0))
        (block $k8_done
          (br_if $k8_done (i32.eqz (local.get $k8)))
          (loop $k8_loop
            (local.set $w0 (v128.load (local.get $wp)))
            (local.set $w1 (v128.load offset=16 (local.get $wp)))
            (local.set $w2 (v128.load offset=32 (local.get $wp)))
            (local.set $w3 (v128.load offset=48 (local.get $wp)))
            (local.set $va (v128.load (i32.add (local.get $a0) (i32.shl (local.get $kk) (i32.const 1)))))
            (local.set $d (i32x4.dot_i16x8_s (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $va) (local.get $va)) (local.get $w0)))
            (local.set $lo0 (i64x2.add (local.get $lo0) (i64x2.extend_low_i32x4_s (local.get $d))))
            (local.set $hi0 (i64x2.add (local.get $hi0) (i64x2.extend_high_i32x4_s (local.get $d))))
            (local.set $d (i32x4.dot_i16x8_s (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $va) (local.get $va)) (local.get $w1)))
            (local.set $lo0 (i64x2.add (local.get $lo0) (i64x2.extend_low_i32x4_s (local.get $d))))
            (local.set $hi0 (i64x2.add (local.get $hi0) (i64x2.extend_high_i32x4_s (local.get $d))))
            (local.set $d (i32x4.dot_i16x8_s (i8x16.shuffle 8 9 10 11 8 9 10 11 8 9 10 11 8 9 10 11 (local.get $va) (local.get $va)) (local.get $w2)))
            (local.set $lo0 (i64x2.add (local.get $lo0) (i64x2.extend_low_i32x4_s (local.get $d))))
            (local.set $hi0 (i64x2.add (local.get $hi0) (i64x2.extend_high_i32x4_s (local.get $d))))
            (local.set $d (i32x4.dot_i16x8_s (i8x16.shuffle 12 13 14 15 12 13 14 15 12 13 14 15 12 13 14 15 (local.get $va) (local.get $va)) (local.get $w3)))
            (local.set $lo0 (i64x2.add (local.get $lo0) (i64x2.extend_low_i32x4_s (local.get $d))))
            (local.set $hi0 (i64x2.add (local.get $hi0) (i64x2.extend_high_i32x4_s (local.get $d))))
            (local.set $va (v128.load (i32.add (local.get $a1) (i32.shl (local.get $kk) (i32.const 1)))))
            (local.set $d (i32x4.dot_i16x8_s (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $va) (local.get $va)) (local.get $w0)))
            (local.set $lo1 (i64x2.add (local.get $lo1) (i64x2.extend_low_i32x4_s (local.get $d))))
            (local.set $hi1 (i64x2.add (local.get $hi1) (i64x2.extend_high_i32x4_s (local.get $d))))
            (local.set $d (i32x4.dot_i16x8_s (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $va) (local.get $va)) (local.get $w1)))
            (local.set $lo1 (i64x2.add (local.get $lo1) (i64x2.extend_low_i32x4_s (local.get $d))))
            (local.set $hi1 (i64x2.add (local.get $hi1) (i64x2.extend_high_i32x4_s (local.get $d))))
            (local.set $d (i32x4.dot_i16x8_s (i8x16.shuffle 8 9 10 11 8 9 10 11 8 9 10 11 8 9 10 11 (local.get $va) (local.get $va)) (local.get $w2)))
            (local.set $lo1 (i64x2.add (local.get $lo1) (i64x2.extend_low_i32x4_s (local.get $d))))
            (local.set $hi1 (i64x2.add (local.get $hi1) (i64x2.extend_high_i32x4_s (local.get $d))))
            (local.set $d (i32x4.dot_i16x8_s (i8x16.shuffle 12 13 14 15 12 13 14 15 12 13 14 15 12 13 14 15 (local.get $va) (local.get $va)) (local.get $w3)))
            (local.set $lo1 (i64x2.add (local.get $lo1) (i64x2.extend_low_i32x4_s (local.get $d))))
            (local.set $hi1 (i64x2.add (local.get $hi1) (i64x2.extend_high_i32x4_s (local.get $d))))
            (local.set $va (v128.load (i32.add (local.get $a2) (i32.shl (local.get $kk) (i32.const 1)))))
            (local.set $d (i32x4.dot_i16x8_s (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $va) (local.get $va)) (local.get $w0)))
            (local.set $lo2 (i64x2.add (local.get $lo2) (i64x2.extend_low_i32x4_s (local.get $d))))
            (local.set $hi2 (i64x2.add (local.get $hi2) (i64x2.extend_high_i32x4_s (local.get $d))))
            (local.set $d (i32x4.dot_i16x8_s (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $va) (local.get $va)) (local.get $w1)))
            (local.set $lo2 (i64x2.add (local.get $lo2) (i64x2.extend_low_i32x4_s (local.get $d))))
            (local.set $hi2 (i64x2.add (local.get $hi2) (i64x2.extend_high_i32x4_s (local.get $d))))
            (local.set $d (i32x4.dot_i16x8_s (i8x16.shuffle 8 9 10 11 8 9 10 11 8 9 10 11 8 9 10 11 (local.get $va) (local.get $va)) (local.get $w2)))
            (local.set $lo2 (i64x2.add (local.get $lo2) (i64x2.extend_low_i32x4_s (local.get $d))))
            (local.set $hi2 (i64x2.add (local.get $hi2) (i64x2.extend_high_i32x4_s (local.get $d))))
            (local.set $d (i32x4.dot_i16x8_s (i8x16.shuffle 12 13 14 15 12 13 14 15 12 13 14 15 12 13 14 15 (local.get $va) (local.get $va)) (local.get $w3)))
            (local.set $lo2 (i64x2.add (local.get $lo2) (i64x2.extend_low_i32x4_s (local.get $d))))
            (local.set $hi2 (i64x2.add (local.get $hi2) (i64x2.extend_high_i32x4_s (local.get $d))))
            (local.set $va (v128.load (i32.add (local.get $a3) (i32.shl (local.get $kk) (i32.const 1)))))
            (local.set $d (i32x4.dot_i16x8_s (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $va) (local.get $va)) (local.get $w0)))
            (local.set $lo3 (i64x2.add (local.get $lo3) (i64x2.extend_low_i32x4_s (local.get $d))))
            (local.set $hi3 (i64x2.add (local.get $hi3) (i64x2.extend_high_i32x4_s (local.get $d))))
            (local.set $d (i32x4.dot_i16x8_s (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $va) (local.get $va)) (local.get $w1)))
            (local.set $lo3 (i64x2.add (local.get $lo3) (i64x2.extend_low_i32x4_s (local.get $d))))
            (local.set $hi3 (i64x2.add (local.get $hi3) (i64x2.extend_high_i32x4_s (local.get $d))))
            (local.set $d (i32x4.dot_i16x8_s (i8x16.shuffle 8 9 10 11 8 9 10 11 8 9 10 11 8 9 10 11 (local.get $va) (local.get $va)) (local.get $w2)))
            (local.set $lo3 (i64x2.add (local.get $lo3) (i64x2.extend_low_i32x4_s (local.get $d))))
            (local.set $hi3 (i64x2.add (local.get $hi3) (i64x2.extend_high_i32x4_s (local.get $d))))
            (local.set $d (i32x4.dot_i16x8_s (i8x16.shuffle 12 13 14 15 12 13 14 15 12 13 14 15 12 13 14 15 (local.get $va) (local.get $va)) (local.get $w3)))
            (local.set $lo3 (i64x2.add (local.get $lo3) (i64x2.extend_low_i32x4_s (local.get $d))))
            (local.set $hi3 (i64x2.add (local.get $hi3) (i64x2.extend_high_i32x4_s (local.get $d))))
            (local.set $wp (i32.add (local.get $wp) (i32.const 64)))
            (local.set $kk (i32.add (local.get $kk) (i32.const 8)))
            (br_if $k8_loop (i32.lt_u (local.get $kk) (local.get $k8)))))
        (block $tail_done
          (br_if $tail_done (i32.ge_u (local.get $kk) (local.get $k)))
          (loop $k_pairs
            (local.set $w0 (v128.load (local.get $wp)))
            (local.set $d (i32x4.dot_i16x8_s (call $qds16_pair (local.get $a0) (local.get $kk) (local.get $k)) (local.get $w0)))
            (local.set $lo0 (i64x2.add (local.get $lo0) (i64x2.extend_low_i32x4_s (local.get $d))))
            (local.set $hi0 (i64x2.add (local.get $hi0) (i64x2.extend_high_i32x4_s (local.get $d))))
            (local.set $d (i32x4.dot_i16x8_s (call $qds16_pair (local.get $a1) (local.get $kk) (local.get $k)) (local.get $w0)))
            (local.set $lo1 (i64x2.add (local.get $lo1) (i64x2.extend_low_i32x4_s (local.get $d))))
            (local.set $hi1 (i64x2.add (local.get $hi1) (i64x2.extend_high_i32x4_s (local.get $d))))
            (local.set $d (i32x4.dot_i16x8_s (call $qds16_pair (local.get $a2) (local.get $kk) (local.get $k)) (local.get $w0)))
            (local.set $lo2 (i64x2.add (local.get $lo2) (i64x2.extend_low_i32x4_s (local.get $d))))
            (local.set $hi2 (i64x2.add (local.get $hi2) (i64x2.extend_high_i32x4_s (local.get $d))))
            (local.set $d (i32x4.dot_i16x8_s (call $qds16_pair (local.get $a3) (local.get $kk) (local.get $k)) (local.get $w0)))
            (local.set $lo3 (i64x2.add (local.get $lo3) (i64x2.extend_low_i32x4_s (local.get $d))))
            (local.set $hi3 (i64x2.add (local.get $hi3) (i64x2.extend_high_i32x4_s (local.get $d))))
            (local.set $wp (i32.add (local.get $wp) (i32.const 16)))
            (local.set $kk (i32.add (local.get $kk) (i32.const 2)))
            (br_if $k_pairs (i32.lt_u (local.get $kk) (local.get $k)))))
        (local.set $v0 (call $qds16_epilogue (local.get $lo0) (local.get $hi0) (local.get $vscale) (local.get $vbias)
                             (local.get $vmin) (local.get $vmax)))
        (local.set $v1 (call $qds16_epilogue (local.get $lo1) (local.get $hi1) (local.get $vscale) (local.get $vbias)
                             (local.get $vmin) (local.get $vmax)))
        (local.set $v2 (call $qds16_epilogue (local.get $lo2) (local.get $hi2) (local.get $vscale) (local.get $vbias)
                             (local.get $vmin) (local.get $vmax)))
        (local.set $v3 (call $qds16_epilogue (local.get $lo3) (local.get $hi3) (local.get $vscale) (local.get $vbias)
                             (local.get $vmin) (local.get $vmax)))
        (if (i32.ge_s (local.get $nc) (i32.const 4))
          (then
            (v128.store (local.get $c0) (local.get $v0))
            (if (i32.gt_s (local.get $rows) (i32.const 1))
              (then (v128.store (i32.add (local.get $c0) (local.get $c_stride)) (local.get $v1))))
            (if (i32.gt_s (local.get $rows) (i32.const 2))
              (then (v128.store (i32.add (local.get $c0) (i32.shl (local.get $c_stride) (i32.const 1))) (local.get $v2))))
            (if (i32.gt_s (local.get $rows) (i32.const 3))
              (then (v128.store (i32.add (local.get $c0) (i32.mul (local.get $c_stride) (i32.const 3))) (local.get $v3))))
            (local.set $c0 (i32.add (local.get $c0) (i32.const 16)))
            (local.set $nc (i32.sub (local.get $nc) (i32.const 4)))
            (br_if $col_panels (local.get $nc))
            (br $row_block_done)))
        ;; column tail: 1..3 columns left in the last panel
        (call $qdu8_store_tail (local.get $c0) (local.get $v0) (local.get $nc))
        (if (i32.gt_s (local.get $rows) (i32.const 1))
          (then (call $qdu8_store_tail (i32.add (local.get $c0) (local.get $c_stride)) (local.get $v1) (local.get $nc))))
        (if (i32.gt_s (local.get $rows) (i32.const 2))
          (then (call $qdu8_store_tail (i32.add (local.get $c0) (i32.shl (local.get $c_stride) (i32.const 1))) (local.get $v2) (local.get $nc))))
        (if (i32.gt_s (local.get $rows) (i32.const 3))
          (then (call $qdu8_store_tail (i32.add (local.get $c0) (i32.mul (local.get $c_stride) (i32.const 3))) (local.get $v3) (local.get $nc))))))
    (local.set $a (i32.add (local.get $a) (i32.shl (local.get $a_stride) (i32.const 2))))
    (local.set $c (i32.add (local.get $c) (i32.shl (local.get $c_stride) (i32.const 2))))
    (local.set $m (i32.sub (local.get $m) (i32.const 4)))
    (br_if $row_blocks (i32.gt_s (local.get $m) (i32.const 0)))))

;; $qds16_pair: helper, the broadcast i16 pair (A[kk], A[kk+1]) of the row at $row, with the second
;; element 0 when kk + 1 = k (its weight is the zero padding): reads only A[row, < k].
(func $qds16_pair (param $row i32) (param $kk i32) (param $k i32) (result v128)
  (local $p i32)
  (local.set $p (i32.add (local.get $row) (i32.shl (local.get $kk) (i32.const 1))))
  (i32x4.splat
    (if (result i32) (i32.lt_u (i32.add (local.get $kk) (i32.const 1)) (local.get $k))
      (then (i32.load (local.get $p)))
      (else (i32.load16_u (local.get $p))))))

;; $qds16_epilogue: helper, clamp(f32(acc) * scale + bias) of 4 columns whose i64 sums are lanes
;; 0, 1 of $lo and 0, 1 of $hi: f32.convert_i64_s per lane, then multiply, add, max, min.
(func $qds16_epilogue (param $lo v128) (param $hi v128) (param $scale v128) (param $bias v128)
  (param $min v128) (param $max v128) (result v128)
  (f32x4.min
    (f32x4.max
      (f32x4.add
        (f32x4.mul
          (f32x4.replace_lane 3
            (f32x4.replace_lane 2
              (f32x4.replace_lane 1
                (f32x4.splat (f32.convert_i64_s (i64x2.extract_lane 0 (local.get $lo))))
                (f32.convert_i64_s (i64x2.extract_lane 1 (local.get $lo))))
              (f32.convert_i64_s (i64x2.extract_lane 0 (local.get $hi))))
            (f32.convert_i64_s (i64x2.extract_lane 1 (local.get $hi))))
          (local.get $scale))
        (local.get $bias))
      (local.get $min))
    (local.get $max)))
