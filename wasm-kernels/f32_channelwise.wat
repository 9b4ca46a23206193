;; f32 per-channel kernels over channels-last rows (NHWC activations: the channel is the last,
;; contiguous dimension, so a per-channel vector lines up with every pixel's row).

;; $f32_scaleshift_c4: y[r, ch] = x[r, ch] * scale[ch] + shift[ch] for r < $rows, ch < $c
;; (f32x4.mul then f32x4.add, never fused; the scalar tail for c % 4 uses f32.mul and f32.add,
;; the same IEEE operations). An inference BatchNormalization that could not be folded into a
;; convolution: scale = gamma / sqrt(var + eps), shift = beta - mean * scale, at compile time.
;;   $rows >= 0, $c >= 1;  $x, $y byte offsets of [rows, c] f32 (y may alias x exactly)
;;   $scale, $shift  byte offsets of c f32 each
(func $f32_scaleshift_c4
  (param $rows i32) (param $c i32) (param $x i32) (param $scale i32) (param $shift i32) (param $y i32)
  (local $row_bytes i32) (local $c4_bytes i32) (local $cb i32)
  (if (i32.le_s (local.get $rows) (i32.const 0)) (then (return)))
  (local.set $row_bytes (i32.shl (local.get $c) (i32.const 2)))
  (local.set $c4_bytes (i32.shl (i32.and (local.get $c) (i32.const -4)) (i32.const 2)))
  (loop $row
    (local.set $cb (i32.const 0))
    (block $vec_done
      (br_if $vec_done (i32.eqz (local.get $c4_bytes)))
      (loop $vec
        (v128.store (i32.add (local.get $y) (local.get $cb))
                    (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $x) (local.get $cb)))
                                          (v128.load (i32.add (local.get $scale) (local.get $cb))))
                               (v128.load (i32.add (local.get $shift) (local.get $cb)))))
        (local.set $cb (i32.add (local.get $cb) (i32.const 16)))
        (br_if $vec (i32.ne (local.get $cb) (local.get $c4_bytes)))))
    (block $tail_done
      (br_if $tail_done (i32.eq (local.get $cb) (local.get $row_bytes)))
      (loop $tail
        (f32.store (i32.add (local.get $y) (local.get $cb))
                   (f32.add (f32.mul (f32.load (i32.add (local.get $x) (local.get $cb)))
                                     (f32.load (i32.add (local.get $scale) (local.get $cb))))
                            (f32.load (i32.add (local.get $shift) (local.get $cb)))))
        (local.set $cb (i32.add (local.get $cb) (i32.const 4)))
        (br_if $tail (i32.ne (local.get $cb) (local.get $row_bytes)))))
    (local.set $x (i32.add (local.get $x) (local.get $row_bytes)))
    (local.set $y (i32.add (local.get $y) (local.get $row_bytes)))
    (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
    (br_if $row (local.get $rows))))
