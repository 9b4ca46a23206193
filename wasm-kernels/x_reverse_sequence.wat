;; ReverseSequence with sequence lengths computed at run time, in any dtype: rows (the elements
;; past the time and batch axes) only move, by memory.copy, so every bit is kept. (Constant lengths
;; need no kernel of their own: ops/reverse_sequence.py gives x_copy_nd the address map.)

;; $x_reverse_sequence: for every batch item b with length L = lens[b] (int64):
;;   y[t, b] = x[L - 1 - t, b] for t < L, y[t, b] = x[t, b] for L <= t < time
;;   where [t, b] is the row at byte offset t * $t_step + b * $b_step of x and of y.
;;   $batch, $time  counts (>= 0);  $b_step, $t_step  byte steps of the batch and time axes
;;   $row    bytes per row (> 0);  $lens  byte offset of $batch int64 lengths
;;   $x, $y  byte offsets; y must not overlap x.
;; Returns 0, or 1 when a length lies outside [0, time]: every length is checked before anything
;; is written.
(func $x_reverse_sequence (param $batch i32) (param $time i32) (param $b_step i32) (param $t_step i32)
  (param $row i32) (param $lens i32) (param $x i32) (param $y i32) (result i32)
  (local $b i32) (local $t i32) (local $len i32) (local $from i32) (local $length i64)
  (block $checked
    (br_if $checked (i32.le_s (local.get $batch) (i32.const 0)))
    (loop $check
      (local.set $length (i64.load (i32.add (local.get $lens) (i32.shl (local.get $b) (i32.const 3)))))
      (if (i32.or (i64.lt_s (local.get $length) (i64.const 0))
                  (i64.gt_s (local.get $length) (i64.extend_i32_u (local.get $time))))
        (then (return (i32.const 1))))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br_if $check (i32.lt_s (local.get $b) (local.get $batch)))))
  (if (i32.or (i32.le_s (local.get $batch) (i32.const 0)) (i32.le_s (local.get $time) (i32.const 0)))
    (then (return (i32.const 0))))
  (local.set $b (i32.const 0))
  (loop $items
    (local.set $len (i32.wrap_i64 (i64.load (i32.add (local.get $lens) (i32.shl (local.get $b) (i32.const 3))))))
    (local.set $t (i32.const 0))
    (loop $steps
      (local.set $from (local.get $t))
      (if (i32.lt_s (local.get $t) (local.get $len))
        (then (local.set $from (i32.sub (i32.sub (local.get $len) (i32.const 1)) (local.get $t)))))
      (memory.copy
        (i32.add (local.get $y) (i32.add (i32.mul (local.get $b) (local.get $b_step)) (i32.mul (local.get $t) (local.get $t_step))))
        (i32.add (local.get $x) (i32.add (i32.mul (local.get $b) (local.get $b_step)) (i32.mul (local.get $from) (local.get $t_step))))
        (local.get $row))
      (local.set $t (i32.add (local.get $t) (i32.const 1)))
      (br_if $steps (i32.lt_s (local.get $t) (local.get $time))))
    (local.set $b (i32.add (local.get $b) (i32.const 1)))
    (br_if $items (i32.lt_s (local.get $b) (local.get $batch))))
  (i32.const 0))
