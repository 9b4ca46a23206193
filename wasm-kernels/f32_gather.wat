;; f32 data movement: one multi-dimensional gather serves Transpose, Slice, Gather, Concat,
;; Resize (nearest) and the other layout changes the compiler resolves at compile time. Elements
;; only move (memory.copy, i32 loads/stores), never pass through float arithmetic, so every bit
;; pattern (NaN payloads included) is copied exactly.

;; $f32_gather_nd: y = x through a per-dimension address map described by $desc.
;;   $desc  byte offset of an i32 table: [rank, then per dimension d, outer to inner:
;;          count_d, x_step_d, y_step_d, x_table_d], followed by any x tables it refers to.
;;   Element (i_0, ..., i_{rank-1}) is copied from x + sum_d xoff_d(i_d) to y + sum_d i_d * y_step_d
;;   where xoff_d(i) = x_table_d ? i32 at ($desc + x_table_d + 4i) : i * x_step_d (bytes; x_table_d
;;   is a byte offset from $desc, 0 = none; steps may be negative).
;;   rank >= 1; count_d >= 0 (0: nothing is written). When the innermost dimension has no table and
;;   x_step = y_step = 4, each innermost run is one memory.copy of count * 4 bytes.
;;   $x, $y byte offsets (4-byte aligned); x and y must not overlap.
(func $f32_gather_nd (param $desc i32) (param $x i32) (param $y i32)
  (call $f32_gather_dims (local.get $desc) (i32.add (local.get $desc) (i32.const 4))
        (i32.load (local.get $desc)) (local.get $x) (local.get $y)))

;; $f32_gather_dims: helper of $f32_gather_nd, copies the $rank dimensions described at $dim
;; (4 i32 each) for base pointers $x and $y; recurses over the outer dimension.
(func $f32_gather_dims (param $desc i32) (param $dim i32) (param $rank i32) (param $x i32) (param $y i32)
  (local $count i32) (local $x_step i32) (local $y_step i32) (local $table i32) (local $i i32)
  (local.set $count (i32.load (local.get $dim)))
  (local.set $x_step (i32.load offset=4 (local.get $dim)))
  (local.set $y_step (i32.load offset=8 (local.get $dim)))
  (local.set $table (i32.load offset=12 (local.get $dim)))
  (if (i32.le_s (local.get $count) (i32.const 0)) (then (return)))
  (if (local.get $table) (then (local.set $table (i32.add (local.get $desc) (local.get $table)))))
  (if (i32.gt_s (local.get $rank) (i32.const 1))
    (then
      (loop $outer
        (call $f32_gather_dims (local.get $desc) (i32.add (local.get $dim) (i32.const 16))
              (i32.sub (local.get $rank) (i32.const 1))
              (i32.add (local.get $x)
                       (if (result i32) (local.get $table)
                         (then (i32.load (i32.add (local.get $table) (i32.shl (local.get $i) (i32.const 2)))))
                         (else (i32.mul (local.get $i) (local.get $x_step)))))
              (local.get $y))
        (local.set $y (i32.add (local.get $y) (local.get $y_step)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $outer (i32.ne (local.get $i) (local.get $count))))
      (return)))
  ;; innermost dimension
  (if (local.get $table)
    (then
      (loop $gathered
        (i32.store (local.get $y)
                   (i32.load (i32.add (local.get $x)
                                      (i32.load (i32.add (local.get $table) (i32.shl (local.get $i) (i32.const 2)))))))
        (local.set $y (i32.add (local.get $y) (local.get $y_step)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $gathered (i32.ne (local.get $i) (local.get $count))))
      (return)))
  (if (i32.and (i32.eq (local.get $x_step) (i32.const 4)) (i32.eq (local.get $y_step) (i32.const 4)))
    (then
      (memory.copy (local.get $y) (local.get $x) (i32.shl (local.get $count) (i32.const 2)))
      (return)))
  (loop $strided
    (i32.store (local.get $y) (i32.load (local.get $x)))
    (local.set $x (i32.add (local.get $x) (local.get $x_step)))
    (local.set $y (i32.add (local.get $y) (local.get $y_step)))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br_if $strided (i32.ne (local.get $i) (local.get $count)))))
