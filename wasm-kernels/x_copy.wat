;; Data movement in any dtype: one multi-dimensional copy serves Transpose, Slice, Gather with
;; constant indices, Concat, Expand, Tile, Split, Resize (nearest) and the other layout changes the
;; compiler resolves at compile time. Elements only move (memory.copy, integer loads/stores), never
;; pass through float arithmetic, so every bit pattern (NaN payloads included) is copied exactly.

;; $x_copy_nd: y = x through a per-dimension address map described by $desc.
;;   $desc  byte offset of an i32 table: [rank, element bytes (1, 2, 4 or 8), then per dimension d,
;;          outer to inner: count_d, x_step_d, y_step_d, x_table_d], followed by any x tables it
;;          refers to.
;;   Element (i_0, ..., i_{rank-1}) is copied from x + sum_d xoff_d(i_d) to y + sum_d i_d * y_step_d
;;   where xoff_d(i) = x_table_d ? i32 at ($desc + x_table_d + 4i) : i * x_step_d (bytes; x_table_d
;;   is a byte offset from $desc, 0 = none; steps may be negative).
;;   rank >= 1; count_d >= 0 (0: nothing is written). When the innermost dimension has no table and
;;   x_step = y_step = the element size, each innermost run is one memory.copy.
;;   $x, $y byte offsets; x and y must not overlap.
(func $x_copy_nd (param $desc i32) (param $x i32) (param $y i32)
  (call $x_copy_dims (local.get $desc) (i32.add (local.get $desc) (i32.const 8))
        (i32.load (local.get $desc)) (i32.load offset=4 (local.get $desc)) (local.get $x) (local.get $y)))

;; $x_copy_dims: helper of $x_copy_nd, copies the $rank dimensions described at $dim (4 i32
;; each) of $size-byte elements for base pointers $x and $y; recurses over the outer dimension.
(func $x_copy_dims (param $desc i32) (param $dim i32) (param $rank i32) (param $size i32) (param $x i32) (param $y i32)
  (local $count i32) (local $x_step i32) (local $y_step i32) (local $table i32) (local $i i32) (local $from i32)
  (local.set $count (i32.load (local.get $dim)))
  (local.set $x_step (i32.load offset=4 (local.get $dim)))
  (local.set $y_step (i32.load offset=8 (local.get $dim)))
  (local.set $table (i32.load offset=12 (local.get $dim)))
  (if (i32.le_s (local.get $count) (i32.const 0)) (then (return)))
  (if (local.get $table) (then (local.set $table (i32.add (local.get $desc) (local.get $table)))))
  (if (i32.gt_s (local.get $rank) (i32.const 1))
    (then
      (loop $outer
        (call $x_copy_dims (local.get $desc) (i32.add (local.get $dim) (i32.const 16))
              (i32.sub (local.get $rank) (i32.const 1)) (local.get $size)
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
  (if (i32.and (i32.eqz (local.get $table))
               (i32.and (i32.eq (local.get $x_step) (local.get $size)) (i32.eq (local.get $y_step) (local.get $size))))
    (then
      (memory.copy (local.get $y) (local.get $x) (i32.mul (local.get $count) (local.get $size)))
      (return)))
  (loop $elements
    (local.set $from (i32.add (local.get $x)
                              (if (result i32) (local.get $table)
                                (then (i32.load (i32.add (local.get $table) (i32.shl (local.get $i) (i32.const 2)))))
                                (else (i32.mul (local.get $i) (local.get $x_step))))))
    (if (i32.eq (local.get $size) (i32.const 4))
      (then (i32.store (local.get $y) (i32.load (local.get $from))))
      (else (call $x_store_raw (local.get $y) (local.get $size) (call $x_load_raw (local.get $from) (local.get $size)))))
    (local.set $y (i32.add (local.get $y) (local.get $y_step)))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br_if $elements (i32.ne (local.get $i) (local.get $count)))))
