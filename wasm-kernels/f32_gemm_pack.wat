;; Run-time packing for the f32 GEMM micro-kernels (wasm-kernels/f32_gemm.wat): MatMul of two
;; activations packs its right operand here, then reuses f32_gemm_4x8 / f32_gemm_1x8 unchanged.
;; Values only move (v128 and i32 loads/stores), so the packed bits equal the source bits.

;; $f32_gemm_pack_b: pack a [k x n] f32 matrix b into the layout of
;; edgewasm.backend.packing.pack_f32_gemm(b, bias=None): for each panel p < ceil(n/8), 8 zeros
;; (the bias row), then k rows of b[kk, 8p .. 8p+7], zero-padded past column n.
;;   $k >= 0, $n >= 0 (n = 0: nothing is written); $b byte offset of b[0, 0], rows $b_stride bytes
;;   apart, columns contiguous; $w byte offset of ceil(n/8) * (k + 1) * 8 f32.
;;   4-byte alignment is enough; b and w must not overlap.
(func $f32_gemm_pack_b (param $k i32) (param $n i32) (param $b i32) (param $b_stride i32) (param $w i32)
  (local $nc i32) (local $src i32) (local $kk i32) (local $j i32)
  (if (i32.le_s (local.get $n) (i32.const 0)) (then (return)))
  (local.set $nc (local.get $n))
  (loop $panels
    (v128.store (local.get $w) (v128.const i32x4 0 0 0 0))
    (v128.store offset=16 (local.get $w) (v128.const i32x4 0 0 0 0))
    (local.set $w (i32.add (local.get $w) (i32.const 32)))
    (local.set $src (local.get $b))
    (local.set $kk (local.get $k))
    (block $rows_done
      (br_if $rows_done (i32.le_s (local.get $kk) (i32.const 0)))
      (if (i32.ge_s (local.get $nc) (i32.const 8))
        (then
          (loop $full_rows
            (v128.store (local.get $w) (v128.load (local.get $src)))
            (v128.store offset=16 (local.get $w) (v128.load offset=16 (local.get $src)))
            (local.set $w (i32.add (local.get $w) (i32.const 32)))
            (local.set $src (i32.add (local.get $src) (local.get $b_stride)))
            (local.set $kk (i32.sub (local.get $kk) (i32.const 1)))
            (br_if $full_rows (local.get $kk))))
        (else
          ;; last panel: nc (1..7) columns, the rest of each 8-float row stays zero
          (loop $partial_rows
            (v128.store (local.get $w) (v128.const i32x4 0 0 0 0))
            (v128.store offset=16 (local.get $w) (v128.const i32x4 0 0 0 0))
            (local.set $j (i32.const 0))
            (loop $columns
              (i32.store (i32.add (local.get $w) (local.get $j)) (i32.load (i32.add (local.get $src) (local.get $j))))
              (local.set $j (i32.add (local.get $j) (i32.const 4)))
              (br_if $columns (i32.lt_s (local.get $j) (i32.shl (local.get $nc) (i32.const 2)))))
            (local.set $w (i32.add (local.get $w) (i32.const 32)))
            (local.set $src (i32.add (local.get $src) (local.get $b_stride)))
            (local.set $kk (i32.sub (local.get $kk) (i32.const 1)))
            (br_if $partial_rows (local.get $kk))))))
    (local.set $b (i32.add (local.get $b) (i32.const 32)))
    (local.set $nc (i32.sub (local.get $nc) (i32.const 8)))
    (br_if $panels (i32.gt_s (local.get $nc) (i32.const 0)))))
