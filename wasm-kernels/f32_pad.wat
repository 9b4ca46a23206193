;; f32 padding as a row gather: every output row is either a copy of one input row or a fill.
;; The row map (which input row, or fill) is computed at compile time for constant, reflect, edge
;; and wrap modes alike, so the kernel only moves bytes: bit patterns (NaN payloads included) are
;; copied exactly, never passing through float arithmetic.

;; $f32_pad_rows: for r < $rows: if ind[r] >= 0, y row r = the $width f32 at $x + ind[r]
;; (bytes), else y row r = $width copies of $value.
;;   $rows >= 0, $width >= 1 (f32 per row);  $ind byte offset of rows i32 entries
;;   $x      byte offset the entries are relative to;  $y byte offset of [rows, width] f32
;;   $value  the fill (its bits are stored as given)
;; y must not overlap x.
(func $f32_pad_rows
  (param $rows i32) (param $width i32) (param $ind i32) (param $x i32) (param $y i32) (param $value f32)
  (local $row_bytes i32) (local $vec_bytes i32) (local $e i32) (local $b i32) (local $fill v128)
  (local $bits i32)
  (if (i32.le_s (local.get $rows) (i32.const 0)) (then (return)))
  (local.set $row_bytes (i32.shl (local.get $width) (i32.const 2)))
  (local.set $vec_bytes (i32.shl (i32.and (local.get $width) (i32.const -4)) (i32.const 2)))
  (local.set $bits (i32.reinterpret_f32 (local.get $value)))
  (local.set $fill (i32x4.splat (local.get $bits)))
  (loop $row
    (local.set $e (i32.load (local.get $ind)))
    (if (i32.ge_s (local.get $e) (i32.const 0))
      (then (memory.copy (local.get $y) (i32.add (local.get $x) (local.get $e)) (local.get $row_bytes)))
      (else
        (local.set $b (i32.const 0))
        (block $vec_done
          (br_if $vec_done (i32.eqz (local.get $vec_bytes)))
          (loop $vec
            (v128.store (i32.add (local.get $y) (local.get $b)) (local.get $fill))
            (local.set $b (i32.add (local.get $b) (i32.const 16)))
            (br_if $vec (i32.ne (local.get $b) (local.get $vec_bytes)))))
        (block $tail_done
          (br_if $tail_done (i32.eq (local.get $b) (local.get $row_bytes)))
          (loop $tail
            (i32.store (i32.add (local.get $y) (local.get $b)) (local.get $bits))
            (local.set $b (i32.add (local.get $b) (i32.const 4)))
            (br_if $tail (i32.ne (local.get $b) (local.get $row_bytes)))))))
    (local.set $ind (i32.add (local.get $ind) (i32.const 4)))
    (local.set $y (i32.add (local.get $y) (local.get $row_bytes)))
    (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
    (br_if $row (local.get $rows))))
