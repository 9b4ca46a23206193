;; The relaxed-SIMD tier of the static int8 GEMM (`edgewasm compile --simd relaxed`): the bits of
;; qu8_gemm.wat's requantizing GEMM, for weights in [-64, 63] (the tier quantizes weights to 7 bits,
;; as onnxruntime's reduce_range does), with one i32x4.relaxed_dot_i8x16_i7x16_add_s per 16 multiplies.
;; That instruction is deterministic only when every lane of its second operand is in [0, 127] (the
;; pairwise i16 sums then cannot saturate, and x86's unsigned and arm64's signed reading of it agree),
;; so the packed weights are b = w + 64 (in [0, 127]) and the activations, the signed operand, are
;; a = x - 128 (x xor 0x80). Per k:
;;   (x - x_zp) * w = a * b - 64 * x + 8192 + (128 - x_zp) * w
;; so  acc = D - 64 * S + C  with D the relaxed dots, S the row's sum of x, and the per-column
;; constant C = bias + (128 - x_zp) * sum_k w + 8192 * 4 * ceil(k/4), folded in by
;; edgewasm.backend.qpacking.pack_qu8_qc7w_gemm_nr8c4 (int32, wrapping like every sum here; padding k
;; positions have w = 0, so whatever x the kernel uses there cancels between D and S).
;; The epilogue is qu8_gemm.wat's ($qu8_requantize): the same bits as $qu8_qc8w_gemm_4x8c2 on the
;; same weights. Kernels of this file validate only in engines with relaxed SIMD.

;; $qu8_qc7w_gemm_4x8c4_relaxed: C[m x n] (u8) = requantize((A - a_zp) @ W + bias), 4 rows x 8 columns
;; per register block; the zero point a_zp is folded into the packed heads, so it is no parameter.
;;   $m, $n      >= 1 (m <= 0 or n <= 0: nothing is written); $k >= 0
;;   $a          byte offset of A[0, 0] (u8); row i at $a + i * $a_stride
;;   $w          packed weights: ceil(n/8) panels of 64 + 32 * ceil(k/4) bytes: 8 i32 C, 8 f32 M, then
;;               per group t of 4 k: 16 bytes b[4t..4t+3] of columns 0-3 (column-major), then of 4-7
;;   $c          byte offset of C[0, 0] (u8); row i at $c + i * $c_stride; $c_zp: its zero point
;;   $qmin, $qmax  output saturation bounds, 0 <= qmin <= qmax <= 255
;; Missing rows of the last block repeat the last row and are not stored; A is read in 16-byte rows
;; while 16 bytes remain, then 4 bytes at a time (byte by byte past the row's end: no read outside
;; A); only the valid columns of C are written.
(func $qu8_qc7w_gemm_4x8c4_relaxed
  (param $m i32) (param $n i32) (param $k i32)
  (param $a i32) (param $a_stride i32)
  (param $w i32) (param $c i32) (param $c_stride i32)
  (param $c_zp i32) (param $qmin i32) (param $qmax i32)
  (local $rows i32) (local $nc i32) (local $wp i32) (local $hp i32) (local $kk i32) (local $k16 i32)
  (local $a0 i32) (local $a1 i32) (local $a2 i32) (local $a3 i32) (local $c0 i32) (local $cr i32) (local $r i32)
  (local $s0 i32) (local $s1 i32) (local $s2 i32) (local $s3 i32)
  (local $vlo v128) (local $vhi v128) (local $vczp v128) (local $clo v128) (local $chi v128)
  (local $va0 v128) (local $va1 v128) (local $va2 v128) (local $va3 v128)
  (local $wa v128) (local $wb v128) (local $s v128) (local $lo v128) (local $hi v128)
  (local $acc0 v128) (local $acc1 v128) (local $acc2 v128) (local $acc3 v128)
  (local $acc4 v128) (local $acc5 v128) (local $acc6 v128) (local $acc7 v128)
  (if (i32.or (i32.le_s (local.get $m) (i32.const 0)) (i32.le_s (local.get $n) (i32.const 0)))
    (then (return)))
  (local.set $k16 (i32.and (local.get $k) (i32.const -16)))
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
    ;; -64 * S per row, once per row block (every column panel shares it)
    (local.set $s0 (i32.mul (call $qu8_rowsum (local.get $a0) (local.get $k)) (i32.const -64)))
    (local.set $s1 (i32.mul (call $qu8_rowsum (local.get $a1) (local.get $k)) (i32.const -64)))
    (local.set $s2 (i32.mul (call $qu8_rowsum (local.get $a2) (local.get $k)) (i32.const -64)))
    (local.set $s3 (i32.mul (call $qu8_rowsum (local.get $a3) (local.get $k)) (i32.const -64)))
    (local.set $c0 (local.get $c))
    (local.set $wp (local.get $w))
    (local.set $nc (local.get $n))
    (loop $col_panels
      (local.set $hp (local.get $wp))
      (local.set $acc0 (v128.const i32x4 0 0 0 0))
      (local.set $acc1 (v128.const i32x4 0 0 0 0))
      (local.set $acc2 (v128.const i32x4 0 0 0 0))
      (local.set $acc3 (v128.const i32x4 0 0 0 0))
      (local.set $acc4 (v128.const i32x4 0 0 0 0))
      (local.set $acc5 (v128.const i32x4 0 0 0 0))
      (local.set $acc6 (v128.const i32x4 0 0 0 0))
      (local.set $acc7 (v128.const i32x4 0 0 0 0))
      (local.set $wp (i32.add (local.get $wp) (i32.const 64)))
      (local.set $kk (i32.const 0))
      (block $k16_done
        (br_if $k16_done (i32.eqz (local.get $k16)))
        (loop $k16_loop
          (local.set $va0 (v128.xor (v128.load (i32.add (local.get $a0) (local.get $kk))) (v128.const i8x16 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80)))
          (local.set $va1 (v128.xor (v128.load (i32.add (local.get $a1) (local.get $kk))) (v128.const i8x16 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80)))
          (local.set $va2 (v128.xor (v128.load (i32.add (local.get $a2) (local.get $kk))) (v128.const i8x16 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80)))
          (local.set $va3 (v128.xor (v128.load (i32.add (local.get $a3) (local.get $kk))) (v128.const i8x16 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80)))
          (local.set $wa (v128.load offset=0 (local.get $wp)))
          (local.set $wb (v128.load offset=16 (local.get $wp)))
          (local.set $s (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $va0) (local.get $va0)))
          (local.set $acc0 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wa) (local.get $acc0)))
          (local.set $acc4 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wb) (local.get $acc4)))
          (local.set $s (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $va1) (local.get $va1)))
          (local.set $acc1 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wa) (local.get $acc1)))
          (local.set $acc5 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wb) (local.get $acc5)))
          (local.set $s (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $va2) (local.get $va2)))
          (local.set $acc2 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wa) (local.get $acc2)))
          (local.set $acc6 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wb) (local.get $acc6)))
          (local.set $s (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $va3) (local.get $va3)))
          (local.set $acc3 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wa) (local.get $acc3)))
          (local.set $acc7 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wb) (local.get $acc7)))
          (local.set $wa (v128.load offset=32 (local.get $wp)))
          (local.set $wb (v128.load offset=48 (local.get $wp)))
          (local.set $s (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $va0) (local.get $va0)))
          (local.set $acc0 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wa) (local.get $acc0)))
          (local.set $acc4 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wb) (local.get $acc4)))
          (local.set $s (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $va1) (local.get $va1)))
          (local.set $acc1 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wa) (local.get $acc1)))
          (local.set $acc5 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wb) (local.get $acc5)))
          (local.set $s (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $va2) (local.get $va2)))
          (local.set $acc2 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wa) (local.get $acc2)))
          (local.set $acc6 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wb) (local.get $acc6)))
          (local.set $s (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $va3) (local.get $va3)))
          (local.set $acc3 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wa) (local.get $acc3)))
          (local.set $acc7 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wb) (local.get $acc7)))
          (local.set $wa (v128.load offset=64 (local.get $wp)))
          (local.set $wb (v128.load offset=80 (local.get $wp)))
          (local.set $s (i8x16.shuffle 8 9 10 11 8 9 10 11 8 9 10 11 8 9 10 11 (local.get $va0) (local.get $va0)))
          (local.set $acc0 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wa) (local.get $acc0)))
          (local.set $acc4 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wb) (local.get $acc4)))
          (local.set $s (i8x16.shuffle 8 9 10 11 8 9 10 11 8 9 10 11 8 9 10 11 (local.get $va1) (local.get $va1)))
          (local.set $acc1 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wa) (local.get $acc1)))
          (local.set $acc5 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wb) (local.get $acc5)))
          (local.set $s (i8x16.shuffle 8 9 10 11 8 9 10 11 8 9 10 11 8 9 10 11 (local.get $va2) (local.get $va2)))
          (local.set $acc2 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wa) (local.get $acc2)))
          (local.set $acc6 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wb) (local.get $acc6)))
          (local.set $s (i8x16.shuffle 8 9 10 11 8 9 10 11 8 9 10 11 8 9 10 11 (local.get $va3) (local.get $va3)))
          (local.set $acc3 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wa) (local.get $acc3)))
          (local.set $acc7 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wb) (local.get $acc7)))
          (local.set $wa (v128.load offset=96 (local.get $wp)))
          (local.set $wb (v128.load offset=112 (local.get $wp)))
          (local.set $s (i8x16.shuffle 12 13 14 15 12 13 14 15 12 13 14 15 12 13 14 15 (local.get $va0) (local.get $va0)))
          (local.set $acc0 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wa) (local.get $acc0)))
          (local.set $acc4 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wb) (local.get $acc4)))
          (local.set $s (i8x16.shuffle 12 13 14 15 12 13 14 15 12 13 14 15 12 13 14 15 (local.get $va1) (local.get $va1)))
          (local.set $acc1 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wa) (local.get $acc1)))
          (local.set $acc5 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wb) (local.get $acc5)))
          (local.set $s (i8x16.shuffle 12 13 14 15 12 13 14 15 12 13 14 15 12 13 14 15 (local.get $va2) (local.get $va2)))
          (local.set $acc2 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wa) (local.get $acc2)))
          (local.set $acc6 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wb) (local.get $acc6)))
          (local.set $s (i8x16.shuffle 12 13 14 15 12 13 14 15 12 13 14 15 12 13 14 15 (local.get $va3) (local.get $va3)))
          (local.set $acc3 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wa) (local.get $acc3)))
          (local.set $acc7 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wb) (local.get $acc7)))
          (local.set $wp (i32.add (local.get $wp) (i32.const 128)))
          (local.set $kk (i32.add (local.get $kk) (i32.const 16)))
          (br_if $k16_loop (i32.lt_u (local.get $kk) (local.get $k16)))))
      (block $tail_done
        (br_if $tail_done (i32.ge_u (local.get $kk) (local.get $k)))
        (loop $k4_loop
          (local.set $wa (v128.load (local.get $wp)))
          (local.set $wb (v128.load offset=16 (local.get $wp)))
          (local.set $s (call $qu8_word4_x80 (local.get $a0) (local.get $kk) (local.get $k)))
          (local.set $acc0 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wa) (local.get $acc0)))
          (local.set $acc4 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wb) (local.get $acc4)))
          (local.set $s (call $qu8_word4_x80 (local.get $a1) (local.get $kk) (local.get $k)))
          (local.set $acc1 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wa) (local.get $acc1)))
          (local.set $acc5 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wb) (local.get $acc5)))
          (local.set $s (call $qu8_word4_x80 (local.get $a2) (local.get $kk) (local.get $k)))
          (local.set $acc2 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wa) (local.get $acc2)))
          (local.set $acc6 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wb) (local.get $acc6)))
          (local.set $s (call $qu8_word4_x80 (local.get $a3) (local.get $kk) (local.get $k)))
          (local.set $acc3 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wa) (local.get $acc3)))
          (local.set $acc7 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $s) (local.get $wb) (local.get $acc7)))
          (local.set $wp (i32.add (local.get $wp) (i32.const 32)))
          (local.set $kk (i32.add (local.get $kk) (i32.const 4)))
          (br_if $k4_loop (i32.lt_u (local.get $kk) (local.get $k)))))
      (local.set $clo (v128.load (local.get $hp)))
      (local.set $chi (v128.load offset=16 (local.get $hp)))
      (local.set $acc0 (call $qu8_requantize (local.get $acc0) (i32x4.add (local.get $clo) (i32x4.splat (local.get $s0)))
                             (v128.load offset=32 (local.get $hp)) (local.get $vlo) (local.get $vhi) (local.get $vczp)))
      (local.set $acc4 (call $qu8_requantize (local.get $acc4) (i32x4.add (local.get $chi) (i32x4.splat (local.get $s0)))
                             (v128.load offset=48 (local.get $hp)) (local.get $vlo) (local.get $vhi) (local.get $vczp)))
      (local.set $acc1 (call $qu8_requantize (local.get $acc1) (i32x4.add (local.get $clo) (i32x4.splat (local.get $s1)))
                             (v128.load offset=32 (local.get $hp)) (local.get $vlo) (local.get $vhi) (local.get $vczp)))
      (local.set $acc5 (call $qu8_requantize (local.get $acc5) (i32x4.add (local.get $chi) (i32x4.splat (local.get $s1)))
                             (v128.load offset=48 (local.get $hp)) (local.get $vlo) (local.get $vhi) (local.get $vczp)))
      (local.set $acc2 (call $qu8_requantize (local.get $acc2) (i32x4.add (local.get $clo) (i32x4.splat (local.get $s2)))
                             (v128.load offset=32 (local.get $hp)) (local.get $vlo) (local.get $vhi) (local.get $vczp)))
      (local.set $acc6 (call $qu8_requantize (local.get $acc6) (i32x4.add (local.get $chi) (i32x4.splat (local.get $s2)))
                             (v128.load offset=48 (local.get $hp)) (local.get $vlo) (local.get $vhi) (local.get $vczp)))
      (local.set $acc3 (call $qu8_requantize (local.get $acc3) (i32x4.add (local.get $clo) (i32x4.splat (local.get $s3)))
                             (v128.load offset=32 (local.get $hp)) (local.get $vlo) (local.get $vhi) (local.get $vczp)))
      (local.set $acc7 (call $qu8_requantize (local.get $acc7) (i32x4.add (local.get $chi) (i32x4.splat (local.get $s3)))
                             (v128.load offset=48 (local.get $hp)) (local.get $vlo) (local.get $vhi) (local.get $vczp)))
      (local.set $r (i32.const 0))
      (local.set $cr (local.get $c0))
      (loop $store_rows
        (local.set $lo (select (local.get $acc0) (select (local.get $acc1) (select (local.get $acc2) (local.get $acc3)
                         (i32.eq (local.get $r) (i32.const 2))) (i32.eq (local.get $r) (i32.const 1))) (i32.eqz (local.get $r))))
        (local.set $hi (select (local.get $acc4) (select (local.get $acc5) (select (local.get $acc6) (local.get $acc7)
                         (i32.eq (local.get $r) (i32.const 2))) (i32.eq (local.get $r) (i32.const 1))) (i32.eqz (local.get $r))))
        (if (i32.ge_s (local.get $nc) (i32.const 8))
          (then
            (local.set $s (i16x8.narrow_i32x4_s (local.get $lo) (local.get $hi)))
            (v128.store64_lane 0 (local.get $cr) (i8x16.narrow_i16x8_u (local.get $s) (local.get $s))))
          (else
            (if (i32.ge_s (local.get $nc) (i32.const 4))
              (then
                (call $qu8_store4 (local.get $cr) (local.get $lo))
                (if (i32.gt_s (local.get $nc) (i32.const 4))
                  (then (call $qu8_store_tail (i32.add (local.get $cr) (i32.const 4)) (local.get $hi)
                                              (i32.sub (local.get $nc) (i32.const 4))))))
              (else (call $qu8_store_tail (local.get $cr) (local.get $lo) (local.get $nc))))))
        (local.set $cr (i32.add (local.get $cr) (local.get $c_stride)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br_if $store_rows (i32.lt_s (local.get $r) (local.get $rows))))
      (local.set $c0 (i32.add (local.get $c0) (i32.const 8)))
      (local.set $nc (i32.sub (local.get $nc) (i32.const 8)))
      (br_if $col_panels (i32.gt_s (local.get $nc) (i32.const 0))))
    (local.set $a (i32.add (local.get $a) (i32.shl (local.get $a_stride) (i32.const 2))))
    (local.set $c (i32.add (local.get $c) (i32.shl (local.get $c_stride) (i32.const 2))))
    (local.set $m (i32.sub (local.get $m) (i32.const 4)))
    (br_if $row_blocks (i32.gt_s (local.get $m) (i32.const 0)))))

;; $qu8_rowsum: helper, the sum of the $k bytes (u8) at $p: 16 at a time (pairwise widening adds),
;; then byte by byte. Exact for k < 2^24.
(func $qu8_rowsum (param $p i32) (param $k i32) (result i32)
  (local $kk i32) (local $k16 i32) (local $sum i32) (local $v v128)
  (local.set $k16 (i32.and (local.get $k) (i32.const -16)))
  (block $k16_done
    (br_if $k16_done (i32.eqz (local.get $k16)))
    (loop $k16_loop
      (local.set $v (i32x4.add (local.get $v)
        (i32x4.extadd_pairwise_i16x8_u (i16x8.extadd_pairwise_i8x16_u (v128.load (i32.add (local.get $p) (local.get $kk)))))))
      (local.set $kk (i32.add (local.get $kk) (i32.const 16)))
      (br_if $k16_loop (i32.lt_u (local.get $kk) (local.get $k16)))))
  (local.set $sum (i32.add (i32.add (i32x4.extract_lane 0 (local.get $v)) (i32x4.extract_lane 1 (local.get $v)))
                           (i32.add (i32x4.extract_lane 2 (local.get $v)) (i32x4.extract_lane 3 (local.get $v)))))
  (block $done
    (br_if $done (i32.ge_u (local.get $kk) (local.get $k)))
    (loop $bytes
      (local.set $sum (i32.add (local.get $sum) (i32.load8_u (i32.add (local.get $p) (local.get $kk)))))
      (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
      (br_if $bytes (i32.lt_u (local.get $kk) (local.get $k)))))
  (local.get $sum))

;; $qu8_word4_x80: helper, the 4 bytes x[kk..kk+3] at $p (0 past $k: nothing past the row is read),
;; each xor 0x80 (x - 128 as i8), in all four i32 lanes: the signed operand of one relaxed dot.
(func $qu8_word4_x80 (param $p i32) (param $kk i32) (param $k i32) (result v128)
  (local $word i32) (local $i i32)
  (local.set $p (i32.add (local.get $p) (local.get $kk)))
  (if (i32.le_u (i32.add (local.get $kk) (i32.const 4)) (local.get $k))
    (then (local.set $word (i32.load (local.get $p))))
    (else
      (loop $bytes
        (local.set $word (i32.or (local.get $word)
          (i32.shl (i32.load8_u (i32.add (local.get $p) (local.get $i))) (i32.shl (local.get $i) (i32.const 3)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $bytes (i32.lt_u (i32.add (local.get $kk) (local.get $i)) (local.get $k))))))
  (v128.xor (i32x4.splat (local.get $word)) (v128.const i8x16 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80 0x80)))
