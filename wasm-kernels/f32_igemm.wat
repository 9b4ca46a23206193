;; f32 indirect-GEMM convolution micro-kernels (XNNPACK's "igemm"), for NHWC activations.
;;
;; A convolution output pixel is a GEMM row whose k dimension is (taps x input channels), but the
;; input rows are not contiguous: each tap (kernel position) of each output pixel reads kc
;; contiguous channels of one input pixel, found through an INDIRECTION BUFFER computed at compile
;; time (shapes are static): m x taps i32 entries, pixel-major (entry p * taps + t). An entry >= 0
;; is the byte offset of that input pixel's first channel relative to $x; a negative entry (-1)
;; marks a tap in the padding and reads kc zeros at $zero instead. Strides, dilations, padding
;; and transposed convolution (whose missing taps are padding) are all just different buffers.
;;
;; Weights are packed by edgewasm.backend.packing.pack_f32_gemm from the [taps * kc, n] matrix
;; whose row t * kc + c holds tap t, input channel c: panels of 8 output channels, each 8 bias
;; values then taps * kc rows of 8 weights, zero-padded past n. Every output element is
;;     acc = bias[j]; for t in 0..taps-1: for c in 0..kc-1: acc = acc + X_t[c] * W[t*kc + c, j]
;; in f32, f32x4.mul then f32x4.add (never fused), in exactly this order, then
;;     y = min(max(acc, $min), $max)        (the bits of f32x4.max then f32x4.min, by $f32x4_clamp;
;;                                          $min, $max are numbers; a NaN acc stays NaN)
;; so a 1x1 convolution gives the same bits as f32_gemm_4x8 on the same packed weights.

;; $f32_igemm_4x8: Y[p, j] = clamp(bias[j] + sum_t sum_c X_t(p)[c] * W[t*kc + c, j]) for p < $m,
;; j < $n; 4 output pixels x 8 output channels per register block (8 v128 accumulators).
;;   $m       output pixels (m <= 0: nothing is written)
;;   $n       output channels (n <= 0: nothing is written)
;;   $taps    taps per output pixel, >= 1
;;   $kc      input channels read per tap, >= 1
;;   $ind     byte offset of the indirection buffer: m x taps i32, as described above
;;   $x       byte offset the indirection entries are relative to (input tensor + group channels)
;;   $zero    byte offset of >= kc f32 zeros, read by padding taps
;;   $w       byte offset of the packed weights: ceil(n/8) panels of (taps*kc + 1) * 8 f32
;;   $y       byte offset of Y[0, 0]; pixel p starts at $y + p * $y_stride (n contiguous f32,
;;            so a group's channels can sit inside a wider NHWC row)
;;   $min, $max  clamp bounds (no clamp = -inf, +inf; relu = 0, +inf; relu6 = 0, 6)
;; Pixel tail (m % 4): missing rows of the last block reuse the last pixel's indirection row and
;; are not stored. Channel tail (n % 8): only the valid channels are stored. Y must not overlap
;; the input, the weights or the indirection buffer.
(func $f32_igemm_4x8
  (param $m i32) (param $n i32) (param $taps i32) (param $kc i32)
  (param $ind i32) (param $x i32) (param $zero i32) (param $w i32)
  (param $y i32) (param $y_stride i32)
  (param $min f32) (param $max f32)
  (local $rows i32) (local $nc i32) (local $wp i32) (local $kb i32) (local $kc_bytes i32) (local $kc_even_bytes i32)
  (local $row_bytes i32) (local $tb i32) (local $e i32)
  (local $i0 i32) (local $i1 i32) (local $i2 i32) (local $i3 i32)
  (local $a0 i32) (local $a1 i32) (local $a2 i32) (local $a3 i32)
  (local $y0 i32)
  (local $vmin v128) (local $vmax v128) (local $vlo_add v128) (local $vhi_or v128) (local $w0 v128) (local $w1 v128) (local $w2 v128) (local $w3 v128)
  (local $ap v128) (local $va v128)
  (local $acc0l v128) (local $acc0h v128) (local $acc1l v128) (local $acc1h v128)
  (local $acc2l v128) (local $acc2h v128) (local $acc3l v128) (local $acc3h v128)
  (if (i32.or (i32.le_s (local.get $m) (i32.const 0)) (i32.le_s (local.get $n) (i32.const 0)))
    (then (return)))
  (local.set $kc_bytes (i32.shl (local.get $kc) (i32.const 2)))
  (local.set $kc_even_bytes (i32.and (local.get $kc_bytes) (i32.const -8)))
  (local.set $row_bytes (i32.shl (local.get $taps) (i32.const 2)))
  (local.set $vmin (f32x4.splat (local.get $min)))
  (local.set $vmax (f32x4.splat (local.get $max)))
  (local.set $vlo_add (call $f32x4_clamp_lo_add (local.get $min)))
  (local.set $vhi_or (call $f32x4_clamp_hi_or (local.get $max)))
  (loop $row_blocks
    ;; pixels in this block: min(m, 4); missing ones reuse the last valid indirection row
    (local.set $rows (select (local.get $m) (i32.const 4) (i32.lt_s (local.get $m) (i32.const 4))))
    (local.set $i0 (local.get $ind))
    (local.set $i1 (select (i32.add (local.get $i0) (local.get $row_bytes)) (local.get $i0)
                           (i32.gt_s (local.get $rows) (i32.const 1))))
    (local.set $i2 (select (i32.add (local.get $i1) (local.get $row_bytes)) (local.get $i1)
                           (i32.gt_s (local.get $rows) (i32.const 2))))
    (local.set $i3 (select (i32.add (local.get $i2) (local.get $row_bytes)) (local.get $i2)
                           (i32.gt_s (local.get $rows) (i32.const 3))))
    (local.set $y0 (local.get $y))
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
        (local.set $tb (i32.const 0))
        (loop $tap_loop
          ;; the four input pixels of tap t: x + entry, or the zero row for padding
          (local.set $e (i32.load (i32.add (local.get $i0) (local.get $tb))))
          (local.set $a0 (select (local.get $zero) (i32.add (local.get $x) (local.get $e))
                                 (i32.lt_s (local.get $e) (i32.const 0))))
          (local.set $e (i32.load (i32.add (local.get $i1) (local.get $tb))))
          (local.set $a1 (select (local.get $zero) (i32.add (local.get $x) (local.get $e))
                                 (i32.lt_s (local.get $e) (i32.const 0))))
          (local.set $e (i32.load (i32.add (local.get $i2) (local.get $tb))))
          (local.set $a2 (select (local.get $zero) (i32.add (local.get $x) (local.get $e))
                                 (i32.lt_s (local.get $e) (i32.const 0))))
          (local.set $e (i32.load (i32.add (local.get $i3) (local.get $tb))))
          (local.set $a3 (select (local.get $zero) (i32.add (local.get $x) (local.get $e))
                                 (i32.lt_s (local.get $e) (i32.const 0))))
          (local.set $kb (i32.const 0))
          ;; channels in pairs: one 8-byte load per pixel, each value splat by a shuffle (as in
          ;; f32_gemm_4x8); the adds keep channel order
          (block $pairs_done
            (br_if $pairs_done (i32.eqz (local.get $kc_even_bytes)))
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
              (br_if $k_pairs (i32.ne (local.get $kb) (local.get $kc_even_bytes)))))
          (if (i32.ne (local.get $kb) (local.get $kc_bytes))
            (then ;; odd kc: the last channel
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
          (local.set $tb (i32.add (local.get $tb) (i32.const 4)))
          (br_if $tap_loop (i32.ne (local.get $tb) (local.get $row_bytes))))
        (local.set $acc0l (call $f32x4_clamp (local.get $acc0l) (local.get $vmin) (local.get $vmax) (local.get $vlo_add) (local.get $vhi_or)))
        (local.set $acc0h (call $f32x4_clamp (local.get $acc0h) (local.get $vmin) (local.get $vmax) (local.get $vlo_add) (local.get $vhi_or)))
        (local.set $acc1l (call $f32x4_clamp (local.get $acc1l) (local.get $vmin) (local.get $vmax) (local.get $vlo_add) (local.get $vhi_or)))
        (local.set $acc1h (call $f32x4_clamp (local.get $acc1h) (local.get $vmin) (local.get $vmax) (local.get $vlo_add) (local.get $vhi_or)))
        (local.set $acc2l (call $f32x4_clamp (local.get $acc2l) (local.get $vmin) (local.get $vmax) (local.get $vlo_add) (local.get $vhi_or)))
        (local.set $acc2h (call $f32x4_clamp (local.get $acc2h) (local.get $vmin) (local.get $vmax) (local.get $vlo_add) (local.get $vhi_or)))
        (local.set $acc3l (call $f32x4_clamp (local.get $acc3l) (local.get $vmin) (local.get $vmax) (local.get $vlo_add) (local.get $vhi_or)))
        (local.set $acc3h (call $f32x4_clamp (local.get $acc3h) (local.get $vmin) (local.get $vmax) (local.get $vlo_add) (local.get $vhi_or)))
        (if (i32.ge_s (local.get $nc) (i32.const 8))
          (then
            (v128.store (local.get $y0) (local.get $acc0l))
            (v128.store offset=16 (local.get $y0) (local.get $acc0h))
            (if (i32.gt_s (local.get $rows) (i32.const 1))
              (then
                (v128.store (i32.add (local.get $y0) (local.get $y_stride)) (local.get $acc1l))
                (v128.store offset=16 (i32.add (local.get $y0) (local.get $y_stride)) (local.get $acc1h))))
            (if (i32.gt_s (local.get $rows) (i32.const 2))
              (then
                (v128.store (i32.add (local.get $y0) (i32.shl (local.get $y_stride) (i32.const 1)))
                            (local.get $acc2l))
                (v128.store offset=16 (i32.add (local.get $y0) (i32.shl (local.get $y_stride) (i32.const 1)))
                            (local.get $acc2h))))
            (if (i32.gt_s (local.get $rows) (i32.const 3))
              (then
                (v128.store (i32.add (local.get $y0) (i32.mul (local.get $y_stride) (i32.const 3)))
                            (local.get $acc3l))
                (v128.store offset=16 (i32.add (local.get $y0) (i32.mul (local.get $y_stride) (i32.const 3)))
                            (local.get $acc3h))))
            (local.set $y0 (i32.add (local.get $y0) (i32.const 32)))
            (local.set $nc (i32.sub (local.get $nc) (i32.const 8)))
            (br_if $col_panels (local.get $nc))
            (br $row_block_done)))
        ;; channel tail: 1..7 channels left in the last panel
        (call $f32_gemm_store_tail (local.get $y0) (local.get $acc0l) (local.get $acc0h) (local.get $nc))
        (if (i32.gt_s (local.get $rows) (i32.const 1))
          (then
            (call $f32_gemm_store_tail (i32.add (local.get $y0) (local.get $y_stride))
                  (local.get $acc1l) (local.get $acc1h) (local.get $nc))))
        (if (i32.gt_s (local.get $rows) (i32.const 2))
          (then
            (call $f32_gemm_store_tail (i32.add (local.get $y0) (i32.shl (local.get $y_stride) (i32.const 1)))
                  (local.get $acc2l) (local.get $acc2h) (local.get $nc))))
        (if (i32.gt_s (local.get $rows) (i32.const 3))
          (then
            (call $f32_gemm_store_tail (i32.add (local.get $y0) (i32.mul (local.get $y_stride) (i32.const 3)))
                  (local.get $acc3l) (local.get $acc3h) (local.get $nc))))))
    (local.set $ind (i32.add (local.get $ind) (i32.shl (local.get $row_bytes) (i32.const 2))))
    (local.set $y (i32.add (local.get $y) (i32.shl (local.get $y_stride) (i32.const 2))))
    (local.set $m (i32.sub (local.get $m) (i32.const 4)))
    (br_if $row_blocks (i32.gt_s (local.get $m) (i32.const 0)))))

;; $f32_igemm_4x8_ldsplat: $f32_igemm_4x8 with one v128.load32_splat of A per row and k step instead of
;; the pair load + shuffles: same signature, contract and bits. V8 runs this loop 15-30% faster
;; than the shuffle loop, Cranelift ~20% slower, so codegen ships both and the exported global
;; `loop_variant` (set by the browser host) picks one at run time (docs/performance.md).
(func $f32_igemm_4x8_ldsplat
  (param $m i32) (param $n i32) (param $taps i32) (param $kc i32)
  (param $ind i32) (param $x i32) (param $zero i32) (param $w i32)
  (param $y i32) (param $y_stride i32)
  (param $min f32) (param $max f32)
  (local $rows i32) (local $nc i32) (local $wp i32) (local $kb i32) (local $kc_bytes i32)
  (local $row_bytes i32) (local $tb i32) (local $e i32)
  (local $i0 i32) (local $i1 i32) (local $i2 i32) (local $i3 i32)
  (local $a0 i32) (local $a1 i32) (local $a2 i32) (local $a3 i32)
  (local $y0 i32)
  (local $vmin v128) (local $vmax v128) (local $vlo_add v128) (local $vhi_or v128) (local $w0 v128) (local $w1 v128) (local $va v128)
  (local $acc0l v128) (local $acc0h v128) (local $acc1l v128) (local $acc1h v128)
  (local $acc2l v128) (local $acc2h v128) (local $acc3l v128) (local $acc3h v128)
  (if (i32.or (i32.le_s (local.get $m) (i32.const 0)) (i32.le_s (local.get $n) (i32.const 0)))
    (then (return)))
  (local.set $kc_bytes (i32.shl (local.get $kc) (i32.const 2)))
  (local.set $row_bytes (i32.shl (local.get $taps) (i32.const 2)))
  (local.set $vmin (f32x4.splat (local.get $min)))
  (local.set $vmax (f32x4.splat (local.get $max)))
  (local.set $vlo_add (call $f32x4_clamp_lo_add (local.get $min)))
  (local.set $vhi_or (call $f32x4_clamp_hi_or (local.get $max)))
  (loop $row_blocks
    ;; pixels in this block: min(m, 4); missing ones reuse the last valid indirection row
    (local.set $rows (select (local.get $m) (i32.const 4) (i32.lt_s (local.get $m) (i32.const 4))))
    (local.set $i0 (local.get $ind))
    (local.set $i1 (select (i32.add (local.get $i0) (local.get $row_bytes)) (local.get $i0)
                           (i32.gt_s (local.get $rows) (i32.const 1))))
    (local.set $i2 (select (i32.add (local.get $i1) (local.get $row_bytes)) (local.get $i1)
                           (i32.gt_s (local.get $rows) (i32.const 2))))
    (local.set $i3 (select (i32.add (local.get $i2) (local.get $row_bytes)) (local.get $i2)
                           (i32.gt_s (local.get $rows) (i32.const 3))))
    (local.set $y0 (local.get $y))
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
        (local.set $tb (i32.const 0))
        (loop $tap_loop
          ;; the four input pixels of tap t: x + entry, or the zero row for padding
          (local.set $e (i32.load (i32.add (local.get $i0) (local.get $tb))))
          (local.set $a0 (select (local.get $zero) (i32.add (local.get $x) (local.get $e))
                                 (i32.lt_s (local.get $e) (i32.const 0))))
          (local.set $e (i32.load (i32.add (local.get $i1) (local.get $tb))))
          (local.set $a1 (select (local.get $zero) (i32.add (local.get $x) (local.get $e))
                                 (i32.lt_s (local.get $e) (i32.const 0))))
          (local.set $e (i32.load (i32.add (local.get $i2) (local.get $tb))))
          (local.set $a2 (select (local.get $zero) (i32.add (local.get $x) (local.get $e))
                                 (i32.lt_s (local.get $e) (i32.const 0))))
          (local.set $e (i32.load (i32.add (local.get $i3) (local.get $tb))))
          (local.set $a3 (select (local.get $zero) (i32.add (local.get $x) (local.get $e))
                                 (i32.lt_s (local.get $e) (i32.const 0))))
          (local.set $kb (i32.const 0))
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
            (br_if $k_loop (i32.ne (local.get $kb) (local.get $kc_bytes))))
          (local.set $tb (i32.add (local.get $tb) (i32.const 4)))
          (br_if $tap_loop (i32.ne (local.get $tb) (local.get $row_bytes))))
        (local.set $acc0l (call $f32x4_clamp (local.get $acc0l) (local.get $vmin) (local.get $vmax) (local.get $vlo_add) (local.get $vhi_or)))
        (local.set $acc0h (call $f32x4_clamp (local.get $acc0h) (local.get $vmin) (local.get $vmax) (local.get $vlo_add) (local.get $vhi_or)))
        (local.set $acc1l (call $f32x4_clamp (local.get $acc1l) (local.get $vmin) (local.get $vmax) (local.get $vlo_add) (local.get $vhi_or)))
        (local.set $acc1h (call $f32x4_clamp (local.get $acc1h) (local.get $vmin) (local.get $vmax) (local.get $vlo_add) (local.get $vhi_or)))
        (local.set $acc2l (call $f32x4_clamp (local.get $acc2l) (local.get $vmin) (local.get $vmax) (local.get $vlo_add) (local.get $vhi_or)))
        (local.set $acc2h (call $f32x4_clamp (local.get $acc2h) (local.get $vmin) (local.get $vmax) (local.get $vlo_add) (local.get $vhi_or)))
        (local.set $acc3l (call $f32x4_clamp (local.get $acc3l) (local.get $vmin) (local.get $vmax) (local.get $vlo_add) (local.get $vhi_or)))
        (local.set $acc3h (call $f32x4_clamp (local.get $acc3h) (local.get $vmin) (local.get $vmax) (local.get $vlo_add) (local.get $vhi_or)))
        (if (i32.ge_s (local.get $nc) (i32.const 8))
          (then
            (v128.store (local.get $y0) (local.get $acc0l))
            (v128.store offset=16 (local.get $y0) (local.get $acc0h))
            (if (i32.gt_s (local.get $rows) (i32.const 1))
              (then
                (v128.store (i32.add (local.get $y0) (local.get $y_stride)) (local.get $acc1l))
                (v128.store offset=16 (i32.add (local.get $y0) (local.get $y_stride)) (local.get $acc1h))))
            (if (i32.gt_s (local.get $rows) (i32.const 2))
              (then
                (v128.store (i32.add (local.get $y0) (i32.shl (local.get $y_stride) (i32.const 1)))
                            (local.get $acc2l))
                (v128.store offset=16 (i32.add (local.get $y0) (i32.shl (local.get $y_stride) (i32.const 1)))
                            (local.get $acc2h))))
            (if (i32.gt_s (local.get $rows) (i32.const 3))
              (then
                (v128.store (i32.add (local.get $y0) (i32.mul (local.get $y_stride) (i32.const 3)))
                            (local.get $acc3l))
                (v128.store offset=16 (i32.add (local.get $y0) (i32.mul (local.get $y_stride) (i32.const 3)))
                            (local.get $acc3h))))
            (local.set $y0 (i32.add (local.get $y0) (i32.const 32)))
            (local.set $nc (i32.sub (local.get $nc) (i32.const 8)))
            (br_if $col_panels (local.get $nc))
            (br $row_block_done)))
        ;; channel tail: 1..7 channels left in the last panel
        (call $f32_gemm_store_tail (local.get $y0) (local.get $acc0l) (local.get $acc0h) (local.get $nc))
        (if (i32.gt_s (local.get $rows) (i32.const 1))
          (then
            (call $f32_gemm_store_tail (i32.add (local.get $y0) (local.get $y_stride))
                  (local.get $acc1l) (local.get $acc1h) (local.get $nc))))
        (if (i32.gt_s (local.get $rows) (i32.const 2))
          (then
            (call $f32_gemm_store_tail (i32.add (local.get $y0) (i32.shl (local.get $y_stride) (i32.const 1)))
                  (local.get $acc2l) (local.get $acc2h) (local.get $nc))))
        (if (i32.gt_s (local.get $rows) (i32.const 3))
          (then
            (call $f32_gemm_store_tail (i32.add (local.get $y0) (i32.mul (local.get $y_stride) (i32.const 3)))
                  (local.get $acc3l) (local.get $acc3h) (local.get $nc))))))
    (local.set $ind (i32.add (local.get $ind) (i32.shl (local.get $row_bytes) (i32.const 2))))
    (local.set $y (i32.add (local.get $y) (i32.shl (local.get $y_stride) (i32.const 2))))
    (local.set $m (i32.sub (local.get $m) (i32.const 4)))
    (br_if $row_blocks (i32.gt_s (local.get $m) (i32.const 0)))))

;; $f32_igemm_2x16: same signature, contract and bits as $f32_igemm_4x8; the loop codegen runs for
;; $f32_igemm_4x8 calls under Cranelift without epoch interruption (loop-variant word 2), as
;; $f32_gemm_2x16 does for the GEMM: a block is 2 output pixels x 16 output channels (two adjacent
;; packed panels), 8 v128 accumulators, 4 panel loads and 2 splats (f32x4.splat of an f32.load) per
;; input channel, so each splat feeds 4 multiply-adds. The taps stay a loop around the channel loop
;; and the accumulators are the loops' only carried vectors (Cranelift sinks pure operations to
;; their first use: an unrolled body would issue every load first). The clamp bounds are splat
;; after the tap loop from their i32 bits plus ($tb - $row_bytes) = 0, so no loop-invariant splat is
;; hoisted into the loop to hold two xmm registers ($f32_gemm_2x16). Pixels: pairs; an odd last
;; pixel reads its own indirection row twice and stores one row. Channels: the multiple-of-16 part
;; here; the last n % 16 go to $f32_igemm_4x8 first (their panels start at panel n/16*2).
(func $f32_igemm_2x16
  (param $m i32) (param $n i32) (param $taps i32) (param $kc i32)
  (param $ind i32) (param $x i32) (param $zero i32) (param $w i32)
  (param $y i32) (param $y_stride i32)
  (param $min f32) (param $max f32)
  (local $rows i32) (local $nc i32) (local $n16 i32) (local $kb i32) (local $kc_bytes i32) (local $panel_bytes i32)
  (local $row_bytes i32) (local $tb i32) (local $e i32) (local $i0 i32) (local $i1 i32)
  (local $p0 i32) (local $p1 i32) (local $y0 i32) (local $a0 i32) (local $a1 i32)
  (local $minb i32) (local $maxb i32) (local $lo_addb i32) (local $hi_orb i32) (local $vlo_add v128) (local $vhi_or v128) (local $vmin v128) (local $vmax v128) (local $va v128)
  (local $w0 v128) (local $w1 v128) (local $w2 v128) (local $w3 v128)
  (local $acc0_0 v128) (local $acc0_1 v128) (local $acc0_2 v128) (local $acc0_3 v128)
  (local $acc1_0 v128) (local $acc1_1 v128) (local $acc1_2 v128) (local $acc1_3 v128)
  (if (i32.or (i32.le_s (local.get $m) (i32.const 0)) (i32.le_s (local.get $n) (i32.const 0)))
    (then (return)))
  (local.set $kc_bytes (i32.shl (local.get $kc) (i32.const 2)))
  (local.set $row_bytes (i32.shl (local.get $taps) (i32.const 2)))
  ;; a panel: 8 bias values, then taps * kc rows of 8 weights
  (local.set $panel_bytes (i32.add (i32.shl (i32.mul (local.get $taps) (local.get $kc_bytes)) (i32.const 3)) (i32.const 32)))
  (local.set $n16 (i32.and (local.get $n) (i32.const -16)))
  (if (i32.ne (local.get $n16) (local.get $n))
    (then (call $f32_igemm_4x8 (local.get $m) (i32.sub (local.get $n) (local.get $n16)) (local.get $taps) (local.get $kc)
                 (local.get $ind) (local.get $x) (local.get $zero)
                 (i32.add (local.get $w) (i32.mul (i32.shr_u (local.get $n16) (i32.const 3)) (local.get $panel_bytes)))
                 (i32.add (local.get $y) (i32.shl (local.get $n16) (i32.const 2))) (local.get $y_stride)
                 (local.get $min) (local.get $max))))
  (if (i32.eqz (local.get $n16)) (then (return)))
  (local.set $minb (i32.reinterpret_f32 (local.get $min)))
  (local.set $maxb (i32.reinterpret_f32 (local.get $max)))
  ;; $f32x4_clamp's fix vectors as bits: +0 / -0 to add, the sign bit or 0 to or in
  (local.set $lo_addb (select (i32.const 0) (i32.const 0x80000000) (i32.eqz (local.get $minb))))
  (local.set $hi_orb (select (i32.const 0x80000000) (i32.const 0) (i32.eq (local.get $maxb) (i32.const 0x80000000))))
  (loop $row_blocks
    ;; pixels in this block: min(m, 2); a missing second pixel reuses the first one's indirection row
    (local.set $rows (select (local.get $m) (i32.const 2) (i32.lt_s (local.get $m) (i32.const 2))))
    (local.set $i0 (local.get $ind))
    (local.set $i1 (select (i32.add (local.get $i0) (local.get $row_bytes)) (local.get $i0)
                           (i32.gt_s (local.get $rows) (i32.const 1))))
    (local.set $y0 (local.get $y))
    (local.set $p0 (local.get $w))
    (local.set $nc (local.get $n16))
    (loop $groups
      ;; two panels side by side; each starts with its 8 bias values
      (local.set $p1 (i32.add (local.get $p0) (local.get $panel_bytes)))
      (local.set $acc0_0 (v128.load offset=0 (local.get $p0)))
      (local.set $acc0_1 (v128.load offset=16 (local.get $p0)))
      (local.set $acc0_2 (v128.load offset=0 (local.get $p1)))
      (local.set $acc0_3 (v128.load offset=16 (local.get $p1)))
      (local.set $acc1_0 (local.get $acc0_0))
      (local.set $acc1_1 (local.get $acc0_1))
      (local.set $acc1_2 (local.get $acc0_2))
      (local.set $acc1_3 (local.get $acc0_3))
      (local.set $p0 (i32.add (local.get $p0) (i32.const 32)))
      (local.set $p1 (i32.add (local.get $p1) (i32.const 32)))
      (local.set $tb (i32.const 0))
      (loop $tap_loop
        ;; the two input pixels of tap t: x + entry, or the zero row for padding
        (local.set $e (i32.load (i32.add (local.get $i0) (local.get $tb))))
        (local.set $a0 (select (local.get $zero) (i32.add (local.get $x) (local.get $e))
                               (i32.lt_s (local.get $e) (i32.const 0))))
        (local.set $e (i32.load (i32.add (local.get $i1) (local.get $tb))))
        (local.set $a1 (select (local.get $zero) (i32.add (local.get $x) (local.get $e))
                               (i32.lt_s (local.get $e) (i32.const 0))))
        (local.set $kb (i32.const 0))
        (loop $k_loop
          (local.set $w0 (v128.load (local.get $p0)))
          (local.set $w1 (v128.load offset=16 (local.get $p0)))
          (local.set $w2 (v128.load (local.get $p1)))
          (local.set $w3 (v128.load offset=16 (local.get $p1)))
          (local.set $va (f32x4.splat (f32.load (i32.add (local.get $a0) (local.get $kb)))))
          (local.set $acc0_0 (f32x4.add (local.get $acc0_0) (f32x4.mul (local.get $va) (local.get $w0))))
          (local.set $acc0_1 (f32x4.add (local.get $acc0_1) (f32x4.mul (local.get $va) (local.get $w1))))
          (local.set $acc0_2 (f32x4.add (local.get $acc0_2) (f32x4.mul (local.get $va) (local.get $w2))))
          (local.set $acc0_3 (f32x4.add (local.get $acc0_3) (f32x4.mul (local.get $va) (local.get $w3))))
          (local.set $va (f32x4.splat (f32.load (i32.add (local.get $a1) (local.get $kb)))))
          (local.set $acc1_0 (f32x4.add (local.get $acc1_0) (f32x4.mul (local.get $va) (local.get $w0))))
          (local.set $acc1_1 (f32x4.add (local.get $acc1_1) (f32x4.mul (local.get $va) (local.get $w1))))
          (local.set $acc1_2 (f32x4.add (local.get $acc1_2) (f32x4.mul (local.get $va) (local.get $w2))))
          (local.set $acc1_3 (f32x4.add (local.get $acc1_3) (f32x4.mul (local.get $va) (local.get $w3))))
          (local.set $p0 (i32.add (local.get $p0) (i32.const 32)))
          (local.set $p1 (i32.add (local.get $p1) (i32.const 32)))
          (local.set $kb (i32.add (local.get $kb) (i32.const 4)))
          (br_if $k_loop (i32.ne (local.get $kb) (local.get $kc_bytes))))
        (local.set $tb (i32.add (local.get $tb) (i32.const 4)))
        (br_if $tap_loop (i32.ne (local.get $tb) (local.get $row_bytes))))
      ;; the clamp bounds, from $tb - $row_bytes = 0 (see above)
      (local.set $vmin (i32x4.splat (i32.add (local.get $minb) (i32.sub (local.get $tb) (local.get $row_bytes)))))
      (local.set $vmax (i32x4.splat (i32.add (local.get $maxb) (i32.sub (local.get $tb) (local.get $row_bytes)))))
      (local.set $vlo_add (i32x4.splat (i32.add (local.get $lo_addb) (i32.sub (local.get $tb) (local.get $row_bytes)))))
      (local.set $vhi_or (i32x4.splat (i32.add (local.get $hi_orb) (i32.sub (local.get $tb) (local.get $row_bytes)))))
      (v128.store offset=0 (local.get $y0) (call $f32x4_clamp (local.get $acc0_0) (local.get $vmin) (local.get $vmax) (local.get $vlo_add) (local.get $vhi_or)))
      (v128.store offset=16 (local.get $y0) (call $f32x4_clamp (local.get $acc0_1) (local.get $vmin) (local.get $vmax) (local.get $vlo_add) (local.get $vhi_or)))
      (v128.store offset=32 (local.get $y0) (call $f32x4_clamp (local.get $acc0_2) (local.get $vmin) (local.get $vmax) (local.get $vlo_add) (local.get $vhi_or)))
      (v128.store offset=48 (local.get $y0) (call $f32x4_clamp (local.get $acc0_3) (local.get $vmin) (local.get $vmax) (local.get $vlo_add) (local.get $vhi_or)))
      (if (i32.gt_s (local.get $rows) (i32.const 1))
        (then
          (v128.store offset=0 (i32.add (local.get $y0) (local.get $y_stride)) (call $f32x4_clamp (local.get $acc1_0) (local.get $vmin) (local.get $vmax) (local.get $vlo_add) (local.get $vhi_or)))
          (v128.store offset=16 (i32.add (local.get $y0) (local.get $y_stride)) (call $f32x4_clamp (local.get $acc1_1) (local.get $vmin) (local.get $vmax) (local.get $vlo_add) (local.get $vhi_or)))
          (v128.store offset=32 (i32.add (local.get $y0) (local.get $y_stride)) (call $f32x4_clamp (local.get $acc1_2) (local.get $vmin) (local.get $vmax) (local.get $vlo_add) (local.get $vhi_or)))
          (v128.store offset=48 (i32.add (local.get $y0) (local.get $y_stride)) (call $f32x4_clamp (local.get $acc1_3) (local.get $vmin) (local.get $vmax) (local.get $vlo_add) (local.get $vhi_or)))))
      (local.set $p0 (local.get $p1))  ;; p1 ended at the start of the next pair of panels
      (local.set $y0 (i32.add (local.get $y0) (i32.const 64)))
      (local.set $nc (i32.sub (local.get $nc) (i32.const 16)))
      (br_if $groups (local.get $nc)))
    (local.set $ind (i32.add (local.get $ind) (i32.shl (local.get $row_bytes) (i32.const 1))))
    (local.set $y (i32.add (local.get $y) (i32.shl (local.get $y_stride) (i32.const 1))))
    (local.set $m (i32.sub (local.get $m) (i32.const 2)))
    (br_if $row_blocks (i32.gt_s (local.get $m) (i32.const 0)))))
