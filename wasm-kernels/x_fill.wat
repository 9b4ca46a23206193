;; Filling a tensor with one value in any dtype (Pad's constant mode writes its fill with it, then
;; copies the input into the interior with x_copy_nd). The value is read from memory, so it may be
;; a compile-time constant or a scalar computed at run time; its bytes are copied, never converted,
;; so every bit pattern (NaN payloads included) is kept.

;; $x_fill: y = $count copies of the $size-byte element at $value.
;;   $y      byte offset of the output ($count * $size bytes)
;;   $count  elements to write (<= 0: nothing is written)
;;   $size   bytes per element (1, 2, 4 or 8; any positive size works)
;;   $value  byte offset of the element; it must not lie inside y.
;; The first element is copied from $value, then the filled prefix is copied forward in doubling
;; chunks of at most 16 KiB (the source stays in cache), so a fill is a handful of bulk copies.
(func $x_fill (param $y i32) (param $count i32) (param $size i32) (param $value i32)
  (local $total i32) (local $done i32) (local $chunk i32)
  (if (i32.le_s (local.get $count) (i32.const 0)) (then (return)))
  (local.set $total (i32.mul (local.get $count) (local.get $size)))
  (memory.copy (local.get $y) (local.get $value) (local.get $size))
  (local.set $done (local.get $size))
  (block $filled
    (loop $grow
      (br_if $filled (i32.ge_u (local.get $done) (local.get $total)))
      (local.set $chunk (local.get $done))
      (if (i32.gt_u (local.get $chunk) (i32.const 16384))
        (then (local.set $chunk (i32.sub (i32.const 16384) (i32.rem_u (i32.const 16384) (local.get $size))))))
      (if (i32.gt_u (local.get $chunk) (i32.sub (local.get $total) (local.get $done)))
        (then (local.set $chunk (i32.sub (local.get $total) (local.get $done)))))
      (memory.copy (i32.add (local.get $y) (local.get $done)) (local.get $y) (local.get $chunk))
      (local.set $done (i32.add (local.get $done) (local.get $chunk)))
      (br $grow))))
