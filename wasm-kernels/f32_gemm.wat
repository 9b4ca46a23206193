;; f32 GEMM micro-kernels: C = clamp(A @ W + bias) with W pre-packed by
;; edgewasm.backend.packing.pack_f32_gemm (panels of 8 columns: 8 bias values, then k rows of
;; 8 weights, zero-padded past n). The inner loop is the NEON broadcast-multiply-accumulate
;; pattern: v128 loads of the packed panel, a splat of A per row (a load32_splat, or in
;; $f32_gemm_4x8 a shuffle of a pair of A values loaded at once), f32x4.mul then f32x4.add
;; (never fused), so every output element is
;;     acc = bias[j]; for kk in 0..k-1: acc = acc + A[i,kk] * W[kk,j]      (f32, in this order)
;; and all kernels in this file produce identical bits for the same inputs.

;; $f32_gemm_store_tail: helper, stores the first $nc (1..7) floats of the 8-float row held in
;; ($lo, $hi) at byte offset $c: a v128 store when >= 4 remain, then single lanes. Writes nothing
;; past the $nc floats.
(func $f32_gemm_store_tail (param $c i32) (param $lo v128) (param $hi v128) (param $nc i32)
  (if (i32.and (local.get $nc) (i32.const 4))
    (then
      (v128.store (local.get $c) (local.get $lo))
      (local.set $lo (local.get $hi))
      (local.set $c (i32.add (local.get $c) (i32.const 16)))))
  (if (i32.and (local.get $nc) (i32.const 2))
    (then
      (f32.store (local.get $c) (f32x4.extract_lane 0 (local.get $lo)))
      (f32.store offset=4 (local.get $c) (f32x4.extract_lane 1 (local.get $lo)))
      ;; move lanes 2, 3 down to 0, 1
      (local.set $lo (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15
                       (local.get $lo) (local.get $lo)))
      (local.set $c (i32.add (local.get $c) (i32.const 8)))))
  (if (i32.and (local.get $nc) (i32.const 1))
    (then
      (f32.store (local.get $c) (f32x4.extract_lane 0 (local.get $lo))))))

;; $f32_gemm_4x8: C[m x n] = clamp(A[m x k] @ W[k x n] + bias[n], $min, $max), 4 rows x 8 columns
;; per register block (8 v128 accumulators).
;;   $m, $n     >= 1 (m <= 0 or n <= 0: nothing is written); $k >= 0 (k = 0: C = clamp(bias))
;;   $a         byte offset of A[0, 0]; row i starts at $a + i * $a_stride; k contiguous f32
;;   $w         byte offset of the packed weights (pack_f32_gemm, nr = 8):
;;              ceil(n/8) panels of (k + 1) * 8 f32
;;   $c         byte offset of C[0, 0]; row i starts at $c + i * $c_stride; n contiguous f32
;;   $min, $max clamp bounds, applied as f32x4.max(acc, min) then f32x4.min(., max): NaN
;;              propagates; no clamp = (-inf, +inf), relu = (0, +inf)
;; Alignment: f32 data needs only 4-byte alignment (v128 loads/stores are unaligned-safe).
;; Row tail (m % 4): A row pointers past the last row are clamped to the last valid row and their
;; results are not stored. Column tail (n % 8): the zero-padded panel is computed in full but only
;; the valid columns are stored. Only C's m x n elements are written (rows may be interleaved with
;; other data when c_stride > 4n); A, W and C must not overlap.
(func $f32_gemm_4x8
  (param $m i32) (param $n i32) (param $k i32)
  (param $a i32) (param $a_stride i32)
  (param $w i32) (param $c i32) (param $c_stride i32)
  (param $min f32) (param $max f32)
  (local $rows i32) (local $nc i32) (local $wp i32) (local $kb i32) (local $k_bytes i32)
  (local $k_even_bytes i32)
  (local $a0 i32) (local $a1 i32) (local $a2 i32) (local $a3 i32)
  (local $c0 i32)
  (local $vmin v128) (local $vmax v128) (local $w0 v128) (local $w1 v128) (local $w2 v128) (local $w3 v128)
  (local $ap v128) (local $va v128)
  (local $acc0l v128) (local $acc0h v128) (local $acc1l v128) (local $acc1h v128)
  (local $acc2l v128) (local $acc2h v128) (local $acc3l v128) (local $acc3h v128)
  (if (i32.or (i32.le_s (local.get $m) (i32.const 0)) (i32.le_s (local.get $n) (i32.const 0)))
    (then (return)))
  (local.set $k_bytes (i32.shl (local.get $k) (i32.const 2)))
  (local.set $k_even_bytes (i32.and (local.get $k_bytes) (i32.const -8)))
  (local.set $vmin (f32x4.splat (local.get $min)))
  (local.set $vmax (f32x4.splat (local.get $max)))
  (loop $row_blocks
    ;; rows in this block: min(m, 4); missing rows read the last valid A row
    (local.set $rows (select (local.get $m) (i32.const 4)
                             (i32.lt_s (local.get $m) (i32.const 4))))
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
        ;; accumulators start at the panel's bias
        (local.set $acc0l (v128.load (local.get $wp)))
        (local.set $acc0h (v128.load offset=16 (local.get $wp)))
        (local.set $acc1l (local.get $acc0l)) (local.set $acc1h (local.get $acc0h))
        (local.set $acc2l (local.get $acc0l)) (local.set $acc2h (local.get $acc0h))
        (local.set $acc3l (local.get $acc0l)) (local.set $acc3h (local.get $acc0h))
        (local.set $wp (i32.add (local.get $wp) (i32.const 32)))
        (local.set $kb (i32.const 0))
        ;; k in pairs: each row's A[i, kk], A[i, kk+1] in one 8-byte load, each splat by a shuffle
        ;; (Cranelift runs this ~20% faster than a load32_splat per k); the adds keep k order
        (block $k_pairs_done
          (br_if $k_pairs_done (i32.eqz (local.get $k_even_bytes)))
          (loop $k_pairs
            (local.set $w0 (v128.load (local.get $wp)))
            (local.set $w1 (v128.load offset=16 (local.get $wp)))
            (local.set $w2 (v128.load offset=32 (local.get $wp)))
            (local.set $w3 (v128.load offset=48 (local.get $wp)))
            (local.set $ap (v128.load64_zero (i32.add (local.get $a0) (local.get $kb))))
            (local.set $va (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $ap) (local.get $ap)))
            (local.set $acc0l (f32x4.add (local.get $acc0l) (f32x4.mul (local.get $va) (local.get $w0))))
            (local.set $acc0h (f32x4.add (local.get $acc0h) (f32x4.mul (local.get $va) (local.get $w1))))
            (local.set $va (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $ap) (local.get $ap)))
            (local.set $acc0l (f32x4.add (local.get $acc0l) (f32x4.mul (local.get $va) (local.get $w2))))
            (local.set $acc0h (f32x4.add (local.get $acc0h) (f32x4.mul (local.get $va) (local.get $w3))))
            (local.set $ap (v128.load64_zero (i32.add (local.get $a1) (local.get $kb))))
            (local.set $va (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $ap) (local.get $ap)))
            (local.set $acc1l (f32x4.add (local.get $acc1l) (f32x4.mul (local.get $va) (local.get $w0))))
            (local.set $acc1h (f32x4.add (local.get $acc1h) (f32x4.mul (local.get $va) (local.get $w1))))
            (local.set $va (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $ap) (local.get $ap)))
            (local.set $acc1l (f32x4.add (local.get $acc1l) (f32x4.mul (local.get $va) (local.get $w2))))
            (local.set $acc1h (f32x4.add (local.get $acc1h) (f32x4.mul (local.get $va) (local.get $w3))))
            (local.set $ap (v128.load64_zero (i32.add (local.get $a2) (local.get $kb))))
            (local.set $va (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $ap) (local.get $ap)))
            (local.set $acc2l (f32x4.add (local.get $acc2l) (f32x4.mul (local.get $va) (local.get $w0))))
            (local.set $acc2h (f32x4.add (local.get $acc2h) (f32x4.mul (local.get $va) (local.get $w1))))
            (local.set $va (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $ap) (local.get $ap)))
            (local.set $acc2l (f32x4.add (local.get $acc2l) (f32x4.mul (local.get $va) (local.get $w2))))
            (local.set $acc2h (f32x4.add (local.get $acc2h) (f32x4.mul (local.get $va) (local.get $w3))))
            (local.set $ap (v128.load64_zero (i32.add (local.get $a3) (local.get $kb))))
            (local.set $va (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $ap) (local.get $ap)))
            (local.set $acc3l (f32x4.add (local.get $acc3l) (f32x4.mul (local.get $va) (local.get $w0))))
            (local.set $acc3h (f32x4.add (local.get $acc3h) (f32x4.mul (local.get $va) (local.get $w1))))
            (local.set $va (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $ap) (local.get $ap)))
            (local.set $acc3l (f32x4.add (local.get $acc3l) (f32x4.mul (local.get $va) (local.get $w2))))
            (local.set $acc3h (f32x4.add (local.get $acc3h) (f32x4.mul (local.get $va) (local.get $w3))))
            (local.set $wp (i32.add (local.get $wp) (i32.const 64)))
            (local.set $kb (i32.add (local.get $kb) (i32.const 8)))
            (br_if $k_pairs (i32.ne (local.get $kb) (local.get $k_even_bytes)))))
        (if (i32.ne (local.get $kb) (local.get $k_bytes))
          (then ;; odd k: the last step
            (local.set $w0 (v128.load (local.get $wp)))
            (local.set $w1 (v128.load offset=16 (local.get $wp)))
            (local.set $va (v128.load32_splat (i32.add (local.get $a0) (local.get $kb))))
            (local.set $acc0l (f32x4.add (local.get $acc0l) (f32x4.mul (local.get $va) (local.get $w0))))
            (local.set $acc0h (f32x4.add (local.get $acc0h) (f32x4.mul (local.get $va) (local.get $w1))))
            (local.set $va (v128.load32_splat (i32.add (local.get $a1) (local.get $kb))))
            (local.set $acc1l (f32x4.add (local.get $acc1l) (f32x4.mul (local.get $va) (local.get $w0))))
            (local.set $acc1h (f32x4.add (local.get $acc1h) (f32x4.mul (local.get $va) (local.get $w1))))
            (local.set $va (v128.load32_splat (i32.add (local.get $a2) (local.get $kb))))
            (local.set $acc2l (f32x4.add (local.get $acc2l) (f32x4.mul (local.get $va) (local.get $w0))))
            (local.set $acc2h (f32x4.add (local.get $acc2h) (f32x4.mul (local.get $va) (local.get $w1))))
            (local.set $va (v128.load32_splat (i32.add (local.get $a3) (local.get $kb))))
            (local.set $acc3l (f32x4.add (local.get $acc3l) (f32x4.mul (local.get $va) (local.get $w0))))
            (local.set $acc3h (f32x4.add (local.get $acc3h) (f32x4.mul (local.get $va) (local.get $w1))))
            (local.set $wp (i32.add (local.get $wp) (i32.const 32)))))
        (local.set $acc0l (f32x4.min (f32x4.max (local.get $acc0l) (local.get $vmin)) (local.get $vmax)))
        (local.set $acc0h (f32x4.min (f32x4.max (local.get $acc0h) (local.get $vmin)) (local.get $vmax)))
        (local.set $acc1l (f32x4.min (f32x4.max (local.get $acc1l) (local.get $vmin)) (local.get $vmax)))
        (local.set $acc1h (f32x4.min (f32x4.max (local.get $acc1h) (local.get $vmin)) (local.get $vmax)))
        (local.set $acc2l (f32x4.min (f32x4.max (local.get $acc2l) (local.get $vmin)) (local.get $vmax)))
        (local.set $acc2h (f32x4.min (f32x4.max (local.get $acc2h) (local.get $vmin)) (local.get $vmax)))
        (local.set $acc3l (f32x4.min (f32x4.max (local.get $acc3l) (local.get $vmin)) (local.get $vmax)))
        (local.set $acc3h (f32x4.min (f32x4.max (local.get $acc3h) (local.get $vmin)) (local.get $vmax)))
        (if (i32.ge_s (local.get $nc) (i32.const 8))
          (then
            (v128.store (local.get $c0) (local.get $acc0l))
            (v128.store offset=16 (local.get $c0) (local.get $acc0h))
            (if (i32.gt_s (local.get $rows) (i32.const 1))
              (then
                (v128.store (i32.add (local.get $c0) (local.get $c_stride)) (local.get $acc1l))
                (v128.store offset=16 (i32.add (local.get $c0) (local.get $c_stride)) (local.get $acc1h))))
            (if (i32.gt_s (local.get $rows) (i32.const 2))
              (then
                (v128.store (i32.add (local.get $c0) (i32.shl (local.get $c_stride) (i32.const 1)))
                            (local.get $acc2l))
                (v128.store offset=16 (i32.add (local.get $c0) (i32.shl (local.get $c_stride) (i32.const 1)))
                            (local.get $acc2h))))
            (if (i32.gt_s (local.get $rows) (i32.const 3))
              (then
                (v128.store (i32.add (local.get $c0) (i32.mul (local.get $c_stride) (i32.const 3)))
                            (local.get $acc3l))
                (v128.store offset=16 (i32.add (local.get $c0) (i32.mul (local.get $c_stride) (i32.const 3)))
                            (local.get $acc3h))))
            (local.set $c0 (i32.add (local.get $c0) (i32.const 32)))
            (local.set $nc (i32.sub (local.get $nc) (i32.const 8)))
            (br_if $col_panels (local.get $nc))
            (br $row_block_done)))
        ;; column tail: 1..7 columns left in the last panel
        (call $f32_gemm_store_tail (local.get $c0) (local.get $acc0l) (local.get $acc0h) (local.get $nc))
        (if (i32.gt_s (local.get $rows) (i32.const 1))
          (then
            (call $f32_gemm_store_tail (i32.add (local.get $c0) (local.get $c_stride))
                  (local.get $acc1l) (local.get $acc1h) (local.get $nc))))
        (if (i32.gt_s (local.get $rows) (i32.const 2))
          (then
            (call $f32_gemm_store_tail (i32.add (local.get $c0) (i32.shl (local.get $c_stride) (i32.const 1)))
                  (local.get $acc2l) (local.get $acc2h) (local.get $nc))))
        (if (i32.gt_s (local.get $rows) (i32.const 3))
          (then
            (call $f32_gemm_store_tail (i32.add (local.get $c0) (i32.mul (local.get $c_stride) (i32.const 3)))
                  (local.get $acc3l) (local.get $acc3h) (local.get $nc))))))
    (local.set $a (i32.add (local.get $a) (i32.shl (local.get $a_stride) (i32.const 2))))
    (local.set $c (i32.add (local.get $c) (i32.shl (local.get $c_stride) (i32.const 2))))
    (local.set $m (i32.sub (local.get $m) (i32.const 4)))
    (br_if $row_blocks (i32.gt_s (local.get $m) (i32.const 0)))))

;; $f32_gemm_1x8: same signature, contract and bits as $f32_gemm_4x8, one row at a time (2 v128
;; accumulators). Use it when m is small (m = 1: batch-1 GEMV), where the 4x8 kernel would
;; compute 3 redundant rows. The k loop is unrolled by 2; the additions keep k order.
(func $f32_gemm_1x8
  (param $m i32) (param $n i32) (param $k i32)
  (param $a i32) (param $a_stride i32)
  (param $w i32) (param $c i32) (param $c_stride i32)
  (param $min f32) (param $max f32)
  (local $nc i32) (local $wp i32) (local $kb i32) (local $k_bytes i32) (local $k_even_bytes i32)
  (local $c0 i32)
  (local $vmin v128) (local $vmax v128) (local $va v128) (local $vb v128)
  (local $accl v128) (local $acch v128)
  (if (i32.or (i32.le_s (local.get $m) (i32.const 0)) (i32.le_s (local.get $n) (i32.const 0)))
    (then (return)))
  (local.set $k_bytes (i32.shl (local.get $k) (i32.const 2)))
  (local.set $k_even_bytes (i32.and (local.get $k_bytes) (i32.const -8)))
  (local.set $vmin (f32x4.splat (local.get $min)))
  (local.set $vmax (f32x4.splat (local.get $max)))
  (loop $rows
    (local.set $c0 (local.get $c))
    (local.set $wp (local.get $w))
    (local.set $nc (local.get $n))
    (block $row_done
      (loop $col_panels
        (local.set $accl (v128.load (local.get $wp)))
        (local.set $acch (v128.load offset=16 (local.get $wp)))
        (local.set $wp (i32.add (local.get $wp) (i32.const 32)))
        (local.set $kb (i32.const 0))
        (block $pairs_done
          (br_if $pairs_done (i32.eqz (local.get $k_even_bytes)))
          (loop $k_pairs
            (local.set $va (v128.load32_splat (i32.add (local.get $a) (local.get $kb))))
            (local.set $vb (v128.load32_splat offset=4 (i32.add (local.get $a) (local.get $kb))))
            (local.set $accl (f32x4.add (local.get $accl) (f32x4.mul (local.get $va) (v128.load (local.get $wp)))))
            (local.set $acch (f32x4.add (local.get $acch) (f32x4.mul (local.get $va) (v128.load offset=16 (local.get $wp)))))
            (local.set $accl (f32x4.add (local.get $accl) (f32x4.mul (local.get $vb) (v128.load offset=32 (local.get $wp)))))
            (local.set $acch (f32x4.add (local.get $acch) (f32x4.mul (local.get $vb) (v128.load offset=48 (local.get $wp)))))
            (local.set $wp (i32.add (local.get $wp) (i32.const 64)))
            (local.set $kb (i32.add (local.get $kb) (i32.const 8)))
            (br_if $k_pairs (i32.ne (local.get $kb) (local.get $k_even_bytes)))))
        (if (i32.ne (local.get $kb) (local.get $k_bytes))
          (then ;; odd k: last step
            (local.set $va (v128.load32_splat (i32.add (local.get $a) (local.get $kb))))
            (local.set $accl (f32x4.add (local.get $accl) (f32x4.mul (local.get $va) (v128.load (local.get $wp)))))
            (local.set $acch (f32x4.add (local.get $acch) (f32x4.mul (local.get $va) (v128.load offset=16 (local.get $wp)))))
            (local.set $wp (i32.add (local.get $wp) (i32.const 32)))))
        (local.set $accl (f32x4.min (f32x4.max (local.get $accl) (local.get $vmin)) (local.get $vmax)))
        (local.set $acch (f32x4.min (f32x4.max (local.get $acch) (local.get $vmin)) (local.get $vmax)))
        (if (i32.ge_s (local.get $nc) (i32.const 8))
          (then
            (v128.store (local.get $c0) (local.get $accl))
            (v128.store offset=16 (local.get $c0) (local.get $acch))
            (local.set $c0 (i32.add (local.get $c0) (i32.const 32)))
            (local.set $nc (i32.sub (local.get $nc) (i32.const 8)))
            (br_if $col_panels (local.get $nc))
            (br $row_done)))
        (call $f32_gemm_store_tail (local.get $c0) (local.get $accl) (local.get $acch) (local.get $nc))))
    (local.set $a (i32.add (local.get $a) (local.get $a_stride)))
    (local.set $c (i32.add (local.get $c) (local.get $c_stride)))
    (local.set $m (i32.sub (local.get $m) (i32.const 1)))
    (br_if $rows (local.get $m))))

;; $f32_gemm_1x32: same signature, contract and bits as $f32_gemm_1x8, for small m (batch-1 GEMV):
;; one row against four adjacent packed panels (32 columns) per pass, 8 v128 accumulators, so one
;; splat of A feeds 8 multiply-adds instead of 2 and the 8 add chains hide the add latency. The
;; last 1..31 columns (1..4 panels) go to $f32_gemm_1x8. Each output still sums in k order.
(func $f32_gemm_1x32
  (param $m i32) (param $n i32) (param $k i32)
  (param $a i32) (param $a_stride i32)
  (param $w i32) (param $c i32) (param $c_stride i32)
  (param $min f32) (param $max f32)
  (local $nc i32) (local $kb i32) (local $k_bytes i32) (local $panel_bytes i32) (local $c0 i32)
  (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32)
  (local $vmin v128) (local $vmax v128) (local $va v128)
  (local $acc0 v128) (local $acc1 v128) (local $acc2 v128) (local $acc3 v128) (local $acc4 v128) (local $acc5 v128) (local $acc6 v128) (local $acc7 v128)
  (if (i32.or (i32.le_s (local.get $m) (i32.const 0)) (i32.le_s (local.get $n) (i32.const 0)))
    (then (return)))
  (local.set $k_bytes (i32.shl (local.get $k) (i32.const 2)))
  (local.set $panel_bytes (i32.add (i32.shl (local.get $k_bytes) (i32.const 3)) (i32.const 32)))
  (local.set $vmin (f32x4.splat (local.get $min)))
  (local.set $vmax (f32x4.splat (local.get $max)))
  (loop $rows
    (local.set $c0 (local.get $c))
    (local.set $p0 (local.get $w))
    (local.set $nc (local.get $n))
    (block $groups_done
      (br_if $groups_done (i32.lt_s (local.get $nc) (i32.const 32)))
      (loop $groups
        ;; four panels side by side; each starts with its 8 bias values
        (local.set $p1 (i32.add (local.get $p0) (local.get $panel_bytes)))
        (local.set $p2 (i32.add (local.get $p1) (local.get $panel_bytes)))
        (local.set $p3 (i32.add (local.get $p2) (local.get $panel_bytes)))
        (local.set $acc0 (v128.load (local.get $p0)))
        (local.set $acc1 (v128.load offset=16 (local.get $p0)))
        (local.set $acc2 (v128.load (local.get $p1)))
        (local.set $acc3 (v128.load offset=16 (local.get $p1)))
        (local.set $acc4 (v128.load (local.get $p2)))
        (local.set $acc5 (v128.load offset=16 (local.get $p2)))
        (local.set $acc6 (v128.load (local.get $p3)))
        (local.set $acc7 (v128.load offset=16 (local.get $p3)))
        (local.set $p0 (i32.add (local.get $p0) (i32.const 32)))
        (local.set $p1 (i32.add (local.get $p1) (i32.const 32)))
        (local.set $p2 (i32.add (local.get $p2) (i32.const 32)))
        (local.set $p3 (i32.add (local.get $p3) (i32.const 32)))
        (local.set $kb (i32.const 0))
        (block $k_done
          (br_if $k_done (i32.eqz (local.get $k_bytes)))
          (loop $k_loop
            (local.set $va (v128.load32_splat (i32.add (local.get $a) (local.get $kb))))
            (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (local.get $va) (v128.load (local.get $p0)))))
            (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (local.get $va) (v128.load offset=16 (local.get $p0)))))
            (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (local.get $va) (v128.load (local.get $p1)))))
            (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (local.get $va) (v128.load offset=16 (local.get $p1)))))
            (local.set $acc4 (f32x4.add (local.get $acc4) (f32x4.mul (local.get $va) (v128.load (local.get $p2)))))
            (local.set $acc5 (f32x4.add (local.get $acc5) (f32x4.mul (local.get $va) (v128.load offset=16 (local.get $p2)))))
            (local.set $acc6 (f32x4.add (local.get $acc6) (f32x4.mul (local.get $va) (v128.load (local.get $p3)))))
            (local.set $acc7 (f32x4.add (local.get $acc7) (f32x4.mul (local.get $va) (v128.load offset=16 (local.get $p3)))))
            (local.set $p0 (i32.add (local.get $p0) (i32.const 32)))
            (local.set $p1 (i32.add (local.get $p1) (i32.const 32)))
            (local.set $p2 (i32.add (local.get $p2) (i32.const 32)))
            (local.set $p3 (i32.add (local.get $p3) (i32.const 32)))
            (local.set $kb (i32.add (local.get $kb) (i32.const 4)))
            (br_if $k_loop (i32.ne (local.get $kb) (local.get $k_bytes)))))
        (v128.store offset=0 (local.get $c0) (f32x4.min (f32x4.max (local.get $acc0) (local.get $vmin)) (local.get $vmax)))
        (v128.store offset=16 (local.get $c0) (f32x4.min (f32x4.max (local.get $acc1) (local.get $vmin)) (local.get $vmax)))
        (v128.store offset=32 (local.get $c0) (f32x4.min (f32x4.max (local.get $acc2) (local.get $vmin)) (local.get $vmax)))
        (v128.store offset=48 (local.get $c0) (f32x4.min (f32x4.max (local.get $acc3) (local.get $vmin)) (local.get $vmax)))
        (v128.store offset=64 (local.get $c0) (f32x4.min (f32x4.max (local.get $acc4) (local.get $vmin)) (local.get $vmax)))
        (v128.store offset=80 (local.get $c0) (f32x4.min (f32x4.max (local.get $acc5) (local.get $vmin)) (local.get $vmax)))
        (v128.store offset=96 (local.get $c0) (f32x4.min (f32x4.max (local.get $acc6) (local.get $vmin)) (local.get $vmax)))
        (v128.store offset=112 (local.get $c0) (f32x4.min (f32x4.max (local.get $acc7) (local.get $vmin)) (local.get $vmax)))
        (local.set $p0 (local.get $p3))  ;; p3 ended at the start of the next group
        (local.set $c0 (i32.add (local.get $c0) (i32.const 128)))
        (local.set $nc (i32.sub (local.get $nc) (i32.const 32)))
        (br_if $groups (i32.ge_s (local.get $nc) (i32.const 32)))))
    ;; 1..31 columns left: the remaining 1..4 panels, one at a time
    (if (local.get $nc)
      (then (call $f32_gemm_1x8 (i32.const 1) (local.get $nc) (local.get $k) (local.get $a) (local.get $a_stride)
                                (local.get $p0) (local.get $c0) (local.get $c_stride) (local.get $min) (local.get $max))))
    (local.set $a (i32.add (local.get $a) (local.get $a_stride)))
    (local.set $c (i32.add (local.get $c) (local.get $c_stride)))
    (local.set $m (i32.sub (local.get $m) (i32.const 1)))
    (br_if $rows (local.get $m))))

;; $f32_gemm_4x8_ldsplat: $f32_gemm_4x8 with one v128.load32_splat of A per row and k step instead of
;; the pair load + shuffles: same signature, contract and bits. V8 runs this loop 15-30% faster
;; than the shuffle loop, Cranelift ~20% slower, so codegen ships both and the exported global
;; `loop_variant` (set by the browser host) picks one at run time (docs/performance.md).
(func $f32_gemm_4x8_ldsplat
  (param $m i32) (param $n i32) (param $k i32)
  (param $a i32) (param $a_stride i32)
  (param $w i32) (param $c i32) (param $c_stride i32)
  (param $min f32) (param $max f32)
  (local $rows i32) (local $nc i32) (local $wp i32) (local $kb i32) (local $k_bytes i32)
  (local $a0 i32) (local $a1 i32) (local $a2 i32) (local $a3 i32)
  (local $c0 i32)
  (local $vmin v128) (local $vmax v128) (local $w0 v128) (local $w1 v128) (local $va v128)
  (local $acc0l v128) (local $acc0h v128) (local $acc1l v128) (local $acc1h v128)
  (local $acc2l v128) (local $acc2h v128) (local $acc3l v128) (local $acc3h v128)
  (if (i32.or (i32.le_s (local.get $m) (i32.const 0)) (i32.le_s (local.get $n) (i32.const 0)))
    (then (return)))
  (local.set $k_bytes (i32.shl (local.get $k) (i32.const 2)))
  (local.set $vmin (f32x4.splat (local.get $min)))
  (local.set $vmax (f32x4.splat (local.get $max)))
  (loop $row_blocks
    ;; rows in this block: min(m, 4); missing rows read the last valid A row
    (local.set $rows (select (local.get $m) (i32.const 4)
                             (i32.lt_s (local.get $m) (i32.const 4))))
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
        ;; accumulators start at the panel's bias
        (local.set $acc0l (v128.load (local.get $wp)))
        (local.set $acc0h (v128.load offset=16 (local.get $wp)))
        (local.set $acc1l (local.get $acc0l)) (local.set $acc1h (local.get $acc0h))
        (local.set $acc2l (local.get $acc0l)) (local.set $acc2h (local.get $acc0h))
        (local.set $acc3l (local.get $acc0l)) (local.set $acc3h (local.get $acc0h))
        (local.set $wp (i32.add (local.get $wp) (i32.const 32)))
        (local.set $kb (i32.const 0))
        (block $k_done
          (br_if $k_done (i32.eqz (local.get $k_bytes)))
          (loop $k_loop
            (local.set $w0 (v128.load (local.get $wp)))
            (local.set $w1 (v128.load offset=16 (local.get $wp)))
            (local.set $va (v128.load32_splat (i32.add (local.get $a0) (local.get $kb))))
            (local.set $acc0l (f32x4.add (local.get $acc0l) (f32x4.mul (local.get $va) (local.get $w0))))
            (local.set $acc0h (f32x4.add (local.get $acc0h) (f32x4.mul (local.get $va) (local.get $w1))))
            (local.set $va (v128.load32_splat (i32.add (local.get $a1) (local.get $kb))))
            (local.set $acc1l (f32x4.add (local.get $acc1l) (f32x4.mul (local.get $va) (local.get $w0))))
            (local.set $acc1h (f32x4.add (local.get $acc1h) (f32x4.mul (local.get $va) (local.get $w1))))
            (local.set $va (v128.load32_splat (i32.add (local.get $a2) (local.get $kb))))
            (local.set $acc2l (f32x4.add (local.get $acc2l) (f32x4.mul (local.get $va) (local.get $w0))))
            (local.set $acc2h (f32x4.add (local.get $acc2h) (f32x4.mul (local.get $va) (local.get $w1))))
            (local.set $va (v128.load32_splat (i32.add (local.get $a3) (local.get $kb))))
            (local.set $acc3l (f32x4.add (local.get $acc3l) (f32x4.mul (local.get $va) (local.get $w0))))
            (local.set $acc3h (f32x4.add (local.get $acc3h) (f32x4.mul (local.get $va) (local.get $w1))))
            (local.set $wp (i32.add (local.get $wp) (i32.const 32)))
            (local.set $kb (i32.add (local.get $kb) (i32.const 4)))
            (br_if $k_loop (i32.ne (local.get $kb) (local.get $k_bytes)))))
        (local.set $acc0l (f32x4.min (f32x4.max (local.get $acc0l) (local.get $vmin)) (local.get $vmax)))
        (local.set $acc0h (f32x4.min (f32x4.max (local.get $acc0h) (local.get $vmin)) (local.get $vmax)))
        (local.set $acc1l (f32x4.min (f32x4.max (local.get $acc1l) (local.get $vmin)) (local.get $vmax)))
        (local.set $acc1h (f32x4.min (f32x4.max (local.get $acc1h) (local.get $vmin)) (local.get $vmax)))
        (local.set $acc2l (f32x4.min (f32x4.max (local.get $acc2l) (local.get $vmin)) (local.get $vmax)))
        (local.set $acc2h (f32x4.min (f32x4.max (local.get $acc2h) (local.get $vmin)) (local.get $vmax)))
        (local.set $acc3l (f32x4.min (f32x4.max (local.get $acc3l) (local.get $vmin)) (local.get $vmax)))
        (local.set $acc3h (f32x4.min (f32x4.max (local.get $acc3h) (local.get $vmin)) (local.get $vmax)))
        (if (i32.ge_s (local.get $nc) (i32.const 8))
          (then
            (v128.store (local.get $c0) (local.get $acc0l))
            (v128.store offset=16 (local.get $c0) (local.get $acc0h))
            (if (i32.gt_s (local.get $rows) (i32.const 1))
              (then
                (v128.store (i32.add (local.get $c0) (local.get $c_stride)) (local.get $acc1l))
                (v128.store offset=16 (i32.add (local.get $c0) (local.get $c_stride)) (local.get $acc1h))))
            (if (i32.gt_s (local.get $rows) (i32.const 2))
              (then
                (v128.store (i32.add (local.get $c0) (i32.shl (local.get $c_stride) (i32.const 1)))
                            (local.get $acc2l))
                (v128.store offset=16 (i32.add (local.get $c0) (i32.shl (local.get $c_stride) (i32.const 1)))
                            (local.get $acc2h))))
            (if (i32.gt_s (local.get $rows) (i32.const 3))
              (then
                (v128.store (i32.add (local.get $c0) (i32.mul (local.get $c_stride) (i32.const 3)))
                            (local.get $acc3l))
                (v128.store offset=16 (i32.add (local.get $c0) (i32.mul (local.get $c_stride) (i32.const 3)))
                            (local.get $acc3h))))
            (local.set $c0 (i32.add (local.get $c0) (i32.const 32)))
            (local.set $nc (i32.sub (local.get $nc) (i32.const 8)))
            (br_if $col_panels (local.get $nc))
            (br $row_block_done)))
        ;; column tail: 1..7 columns left in the last panel
        (call $f32_gemm_store_tail (local.get $c0) (local.get $acc0l) (local.get $acc0h) (local.get $nc))
        (if (i32.gt_s (local.get $rows) (i32.const 1))
          (then
            (call $f32_gemm_store_tail (i32.add (local.get $c0) (local.get $c_stride))
                  (local.get $acc1l) (local.get $acc1h) (local.get $nc))))
        (if (i32.gt_s (local.get $rows) (i32.const 2))
          (then
            (call $f32_gemm_store_tail (i32.add (local.get $c0) (i32.shl (local.get $c_stride) (i32.const 1)))
                  (local.get $acc2l) (local.get $acc2h) (local.get $nc))))
        (if (i32.gt_s (local.get $rows) (i32.const 3))
          (then
            (call $f32_gemm_store_tail (i32.add (local.get $c0) (i32.mul (local.get $c_stride) (i32.const 3)))
                  (local.get $acc3l) (local.get $acc3h) (local.get $nc))))))
    (local.set $a (i32.add (local.get $a) (i32.shl (local.get $a_stride) (i32.const 2))))
    (local.set $c (i32.add (local.get $c) (i32.shl (local.get $c_stride) (i32.const 2))))
    (local.set $m (i32.sub (local.get $m) (i32.const 4)))
    (br_if $row_blocks (i32.gt_s (local.get $m) (i32.const 0)))))
