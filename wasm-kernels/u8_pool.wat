;; uint8 max pooling for NHWC activations (statically quantized regions: max commutes with a
;; monotonic quantization, so onnxruntime pools the uint8 values themselves). Windows come
;; through an indirection buffer as in f32_pool.wat (entries relative to $x, pixel_bytes = c);
;; a negative entry reads the $pad row instead (zeros: the smallest uint8, never above a real tap).

;; $u8_maxpool_c16: Y[p, ch] = max over taps t of X_t(p)[ch]  (i8x16.max_u, 16 channels a vector;
;; the c % 16 channel tail one byte at a time).
;;   $m      output pixels (m <= 0: nothing is written)
;;   $c      channels, >= 1;  $taps  taps per window, >= 1
;;   $ind    byte offset of the indirection buffer (m x taps i32)
;;   $x      byte offset the entries are relative to (the NHWC input tensor)
;;   $pad    byte offset of >= c zero bytes read by padding taps
;;   $y      byte offset of Y[0, 0]; pixels are contiguous rows of c bytes. Nothing else is written.
(func $u8_maxpool_c16
  (param $m i32) (param $c i32) (param $taps i32)
  (param $ind i32) (param $x i32) (param $pad i32) (param $y i32)
  (local $cb i32) (local $c16 i32) (local $row_bytes i32)
  (local $tb i32) (local $e i32) (local $a i32) (local $acc v128) (local $s i32)
  (if (i32.le_s (local.get $m) (i32.const 0)) (then (return)))
  (local.set $c16 (i32.and (local.get $c) (i32.const -16)))
  (local.set $row_bytes (i32.shl (local.get $taps) (i32.const 2)))
  (loop $pixels
    (local.set $cb (i32.const 0))
    (block $blocks_done
      (br_if $blocks_done (i32.eqz (local.get $c16)))
      (loop $blocks
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (local.set $tb (i32.const 0))
        (loop $taps_loop
          (local.set $e (i32.load (i32.add (local.get $ind) (local.get $tb))))
          (local.set $a (i32.add (select (local.get $pad) (i32.add (local.get $x) (local.get $e))
                                         (i32.lt_s (local.get $e) (i32.const 0)))
                                 (local.get $cb)))
          (local.set $acc (i8x16.max_u (local.get $acc) (v128.load (local.get $a))))
          (local.set $tb (i32.add (local.get $tb) (i32.const 4)))
          (br_if $taps_loop (i32.ne (local.get $tb) (local.get $row_bytes))))
        (v128.store (i32.add (local.get $y) (local.get $cb)) (local.get $acc))
        (local.set $cb (i32.add (local.get $cb) (i32.const 16)))
        (br_if $blocks (i32.ne (local.get $cb) (local.get $c16)))))
    (block $tail_done
      (br_if $tail_done (i32.eq (local.get $cb) (local.get $c)))
      (loop $tail
        (local.set $s (i32.const 0))
        (local.set $tb (i32.const 0))
        (loop $tail_taps
          (local.set $e (i32.load (i32.add (local.get $ind) (local.get $tb))))
          (local.set $a (i32.load8_u (i32.add (select (local.get $pad) (i32.add (local.get $x) (local.get $e))
                                                      (i32.lt_s (local.get $e) (i32.const 0)))
                                              (local.get $cb))))
          (local.set $s (select (local.get $a) (local.get $s) (i32.gt_u (local.get $a) (local.get $s))))
          (local.set $tb (i32.add (local.get $tb) (i32.const 4)))
          (br_if $tail_taps (i32.ne (local.get $tb) (local.get $row_bytes))))
        (i32.store8 (i32.add (local.get $y) (local.get $cb)) (local.get $s))
        (local.set $cb (i32.add (local.get $cb) (i32.const 1)))
        (br_if $tail (i32.ne (local.get $cb) (local.get $c)))))
    (local.set $ind (i32.add (local.get $ind) (local.get $row_bytes)))
    (local.set $y (i32.add (local.get $y) (local.get $c)))
    (local.set $m (i32.sub (local.get $m) (i32.const 1)))
    (br_if $pixels (local.get $m))))
