;; uint8 2-D transpose: the layout changes (NCHW <-> NHWC) of statically quantized activations.
;; Bytes only move, so any value is copied exactly.

;; $u8_transpose: y[c, r] = x[r, c] for a $rows x $cols row-major x into a $cols x $rows
;; row-major y.
;;   $rows >= 0, $cols >= 0 (either <= 0: nothing is written); $x, $y byte offsets, any alignment;
;;   x and y must not overlap. Reads x row by row (sequential), writes y with stride $rows.
;;   No byte of y outside rows * cols is written.
(func $u8_transpose (param $rows i32) (param $cols i32) (param $x i32) (param $y i32)
  (local $src i32) (local $src_end i32) (local $dst i32) (local $r i32)
  (if (i32.or (i32.le_s (local.get $rows) (i32.const 0)) (i32.le_s (local.get $cols) (i32.const 0)))
    (then (return)))
  (local.set $r (local.get $rows))
  (loop $row
    (local.set $src (local.get $x))
    (local.set $src_end (i32.add (local.get $x) (local.get $cols)))
    (local.set $dst (local.get $y))
    (loop $col
      (i32.store8 (local.get $dst) (i32.load8_u (local.get $src)))
      (local.set $src (i32.add (local.get $src) (i32.const 1)))
      (local.set $dst (i32.add (local.get $dst) (local.get $rows)))
      (br_if $col (i32.ne (local.get $src) (local.get $src_end))))
    (local.set $x (local.get $src_end))
    (local.set $y (i32.add (local.get $y) (i32.const 1)))
    (local.set $r (i32.sub (local.get $r) (i32.const 1)))
    (br_if $row (local.get $r))))
