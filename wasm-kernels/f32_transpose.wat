;; f32 2-D transpose (layout changes, e.g. NCHW <-> NHWC planes or weight re-layouts).
;; Elements only move (v128 loads/stores, lane shuffles, i32 loads/stores), never pass through
;; float arithmetic, so every bit pattern (NaN payloads included) is copied exactly.

;; $f32_transpose_scalar: helper, transposes an $h x $w tile element by element:
;; y[j, i] = x[i, j] with x rows $x_stride bytes apart and y rows $y_stride bytes apart.
;;   $h >= 0, $w >= 0; byte offsets, 4-byte aligned.
(func $f32_transpose_scalar
  (param $x i32) (param $x_stride i32) (param $y i32) (param $y_stride i32) (param $h i32) (param $w i32)
  (local $src i32) (local $dst i32) (local $src_end i32)
  (if (i32.or (i32.le_s (local.get $h) (i32.const 0)) (i32.le_s (local.get $w) (i32.const 0)))
    (then (return)))
  (loop $row
    (local.set $src (local.get $x))
    (local.set $src_end (i32.add (local.get $x) (i32.shl (local.get $w) (i32.const 2))))
    (local.set $dst (local.get $y))
    (loop $col
      (i32.store (local.get $dst) (i32.load (local.get $src)))
      (local.set $src (i32.add (local.get $src) (i32.const 4)))
      (local.set $dst (i32.add (local.get $dst) (local.get $y_stride)))
      (br_if $col (i32.ne (local.get $src) (local.get $src_end))))
    (local.set $x (i32.add (local.get $x) (local.get $x_stride)))
    (local.set $y (i32.add (local.get $y) (i32.const 4)))
    (local.set $h (i32.sub (local.get $h) (i32.const 1)))
    (br_if $row (local.get $h))))

;; $f32_transpose: y[c, r] = x[r, c] for a $rows x $cols row-major x into a $cols x $rows
;; row-major y.
;;   $rows >= 0, $cols >= 0; $x, $y byte offsets (4-byte aligned is enough); x and y must not
;;   overlap.
;; 4x4 blocks go through registers (4 v128 loads, 8 shuffles, 4 v128 stores); the right edge
;; (cols % 4) and bottom edge (rows % 4) use $f32_transpose_scalar.
(func $f32_transpose (param $rows i32) (param $cols i32) (param $x i32) (param $y i32)
  (local $x_stride i32) (local $y_stride i32) (local $rows4 i32) (local $cols4 i32)
  (local $r i32) (local $src i32) (local $dst i32) (local $src_end i32)
  (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
  (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
  (if (i32.or (i32.le_s (local.get $rows) (i32.const 0)) (i32.le_s (local.get $cols) (i32.const 0)))
    (then (return)))
  (local.set $x_stride (i32.shl (local.get $cols) (i32.const 2)))
  (local.set $y_stride (i32.shl (local.get $rows) (i32.const 2)))
  (local.set $rows4 (i32.and (local.get $rows) (i32.const -4)))
  (local.set $cols4 (i32.and (local.get $cols) (i32.const -4)))
  (local.set $r (i32.const 0))
  (block $blocks_done
    (br_if $blocks_done (i32.eqz (local.get $rows4)))
    (loop $block_rows
      ;; $src walks x[r, c..c+3], $dst walks y[c, r..r+3]
      (local.set $src (i32.add (local.get $x) (i32.mul (local.get $r) (local.get $x_stride))))
      (local.set $src_end (i32.add (local.get $src) (i32.shl (local.get $cols4) (i32.const 2))))
      (local.set $dst (i32.add (local.get $y) (i32.shl (local.get $r) (i32.const 2))))
      (block $block_cols_done
        (br_if $block_cols_done (i32.eqz (local.get $cols4)))
        (loop $block_cols
          (local.set $v0 (v128.load (local.get $src)))
          (local.set $v1 (v128.load (i32.add (local.get $src) (local.get $x_stride))))
          (local.set $v2 (v128.load (i32.add (local.get $src) (i32.shl (local.get $x_stride) (i32.const 1)))))
          (local.set $v3 (v128.load (i32.add (local.get $src) (i32.mul (local.get $x_stride) (i32.const 3)))))
          ;; interleave pairs of rows: t0 = (v0[0] v1[0] v0[1] v1[1]), t1 = (v0[2] v1[2] v0[3] v1[3])
          (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $v0) (local.get $v1)))
          (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $v0) (local.get $v1)))
          (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $v2) (local.get $v3)))
          (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $v2) (local.get $v3)))
          ;; column j of the block = 64-bit halves of (t, t')
          (v128.store (local.get $dst)
                      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
          (v128.store (i32.add (local.get $dst) (local.get $y_stride))
                      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
          (v128.store (i32.add (local.get $dst) (i32.shl (local.get $y_stride) (i32.const 1)))
                      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
          (v128.store (i32.add (local.get $dst) (i32.mul (local.get $y_stride) (i32.const 3)))
                      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
          (local.set $src (i32.add (local.get $src) (i32.const 16)))
          (local.set $dst (i32.add (local.get $dst) (i32.shl (local.get $y_stride) (i32.const 2))))
          (br_if $block_cols (i32.ne (local.get $src) (local.get $src_end)))))
      ;; right edge of this band of 4 rows
      (call $f32_transpose_scalar (local.get $src) (local.get $x_stride) (local.get $dst) (local.get $y_stride)
            (i32.const 4) (i32.sub (local.get $cols) (local.get $cols4)))
      (local.set $r (i32.add (local.get $r) (i32.const 4)))
      (br_if $block_rows (i32.ne (local.get $r) (local.get $rows4)))))
  ;; bottom edge: the last rows % 4 rows, all columns
  (call $f32_transpose_scalar
        (i32.add (local.get $x) (i32.mul (local.get $rows4) (local.get $x_stride))) (local.get $x_stride)
        (i32.add (local.get $y) (i32.shl (local.get $rows4) (i32.const 2))) (local.get $y_stride)
        (i32.sub (local.get $rows) (local.get $rows4)) (local.get $cols)))
