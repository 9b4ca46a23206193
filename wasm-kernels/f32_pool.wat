;; f32 pooling kernels for NHWC activations, channels vectorized (4 per v128).
;; Windows come through an indirection buffer as in f32_igemm.wat: m x taps i32 entries,
;; pixel-major; an entry >= 0 is the byte offset of an input pixel's channel 0 relative to $x, a
;; negative entry reads the $pad row instead (-inf for max pooling, zeros for average pooling).
;; Channel tails (c % 4) load and store lane by lane ($f32_dwconv_load_tail / $f32_dwconv_store_tail in
;; f32_dwconv.wat): nothing past a pixel's c channels is read or written.

;; $f32_maxpool_c4: Y[p, ch] = max over taps t of X_t(p)[ch], folded in tap order from tap 0:
;;     acc = X_0[ch]; acc = f32x4.max(acc, X_t[ch]) for t = 1..taps-1
;; f32x4.max: NaN if either operand is NaN, +0.0 beats -0.0.
;;   $m      output pixels (m <= 0: nothing is written)
;;   $c      channels, >= 1;  $taps  taps per window, >= 1
;;   $ind    byte offset of the indirection buffer (m x taps i32)
;;   $x      byte offset the entries are relative to (the NHWC input tensor)
;;   $pad    byte offset of >= c f32 read by padding taps (-inf: padding never wins)
;;   $y      byte offset of Y[0, 0]; pixels are contiguous rows of c f32
(func $f32_maxpool_c4
  (param $m i32) (param $c i32) (param $taps i32)
  (param $ind i32) (param $x i32) (param $pad i32) (param $y i32)
  (local $cb i32) (local $c4_bytes i32) (local $rem i32) (local $row_bytes i32)
  (local $tb i32) (local $e i32) (local $a i32) (local $acc v128)
  (if (i32.le_s (local.get $m) (i32.const 0)) (then (return)))
  (local.set $c4_bytes (i32.shl (i32.and (local.get $c) (i32.const -4)) (i32.const 2)))
  (local.set $rem (i32.and (local.get $c) (i32.const 3)))
  (local.set $row_bytes (i32.shl (local.get $taps) (i32.const 2)))
  (loop $pixels
    (local.set $cb (i32.const 0))
    (block $blocks_done
      (br_if $blocks_done (i32.eqz (local.get $c4_bytes)))
      (loop $blocks
        (local.set $tb (i32.const 0))
        (loop $taps_loop
          (local.set $e (i32.load (i32.add (local.get $ind) (local.get $tb))))
          (local.set $a (i32.add (select (local.get $pad) (i32.add (local.get $x) (local.get $e))
                                         (i32.lt_s (local.get $e) (i32.const 0)))
                                 (local.get $cb)))
          (local.set $acc (select (v128.load (local.get $a))
                                  (f32x4.max (local.get $acc) (v128.load (local.get $a)))
                                  (i32.eqz (local.get $tb))))
          (local.set $tb (i32.add (local.get $tb) (i32.const 4)))
          (br_if $taps_loop (i32.ne (local.get $tb) (local.get $row_bytes))))
        (v128.store (i32.add (local.get $y) (local.get $cb)) (local.get $acc))
        (local.set $cb (i32.add (local.get $cb) (i32.const 16)))
        (br_if $blocks (i32.ne (local.get $cb) (local.get $c4_bytes)))))
    (if (local.get $rem)
      (then
        (local.set $tb (i32.const 0))
        (loop $tail_taps
          (local.set $e (i32.load (i32.add (local.get $ind) (local.get $tb))))
          (local.set $a (i32.add (select (local.get $pad) (i32.add (local.get $x) (local.get $e))
                                         (i32.lt_s (local.get $e) (i32.const 0)))
                                 (local.get $cb)))
          (local.set $acc (select (call $f32_dwconv_load_tail (local.get $a) (local.get $rem))
                                  (f32x4.max (local.get $acc) (call $f32_dwconv_load_tail (local.get $a) (local.get $rem)))
                                  (i32.eqz (local.get $tb))))
          (local.set $tb (i32.add (local.get $tb) (i32.const 4)))
          (br_if $tail_taps (i32.ne (local.get $tb) (local.get $row_bytes))))
        (call $f32_dwconv_store_tail (i32.add (local.get $y) (local.get $cb)) (local.get $acc) (local.get $rem))))
    (local.set $ind (i32.add (local.get $ind) (local.get $row_bytes)))
    (local.set $y (i32.add (local.get $y) (i32.shl (local.get $c) (i32.const 2))))
    (local.set $m (i32.sub (local.get $m) (i32.const 1)))
    (br_if $pixels (local.get $m))))

;; $f32_avgpool_c4: Y[p, ch] = (sum over taps t of X_t(p)[ch]) / $div[p], summed in tap order
;; from tap 0 (padding taps add 0.0):
;;     acc = X_0[ch]; acc = acc + X_t[ch] for t = 1..taps-1; y = acc / div[p]   (f32x4.div)
;; The divisors are per output pixel and computed at compile time, so count_include_pad and
;; ceil_mode windows that overhang the input need no run-time logic.
;;   $m, $c, $taps, $ind, $x, $y  as for $f32_maxpool_c4
;;   $pad    byte offset of >= c f32 zeros, read by padding taps
;;   $div    byte offset of m f32 divisors
(func $f32_avgpool_c4
  (param $m i32) (param $c i32) (param $taps i32)
  (param $ind i32) (param $x i32) (param $pad i32) (param $div i32) (param $y i32)
  (local $cb i32) (local $c4_bytes i32) (local $rem i32) (local $row_bytes i32)
  (local $tb i32) (local $e i32) (local $a i32) (local $acc v128) (local $vdiv v128)
  (if (i32.le_s (local.get $m) (i32.const 0)) (then (return)))
  (local.set $c4_bytes (i32.shl (i32.and (local.get $c) (i32.const -4)) (i32.const 2)))
  (local.set $rem (i32.and (local.get $c) (i32.const 3)))
  (local.set $row_bytes (i32.shl (local.get $taps) (i32.const 2)))
  (loop $pixels
    (local.set $vdiv (v128.load32_splat (local.get $div)))
    (local.set $cb (i32.const 0))
    (block $blocks_done
      (br_if $blocks_done (i32.eqz (local.get $c4_bytes)))
      (loop $blocks
        (local.set $tb (i32.const 0))
        (loop $taps_loop
          (local.set $e (i32.load (i32.add (local.get $ind) (local.get $tb))))
          (local.set $a (i32.add (select (local.get $pad) (i32.add (local.get $x) (local.get $e))
                                         (i32.lt_s (local.get $e) (i32.const 0)))
                                 (local.get $cb)))
          (local.set $acc (select (v128.load (local.get $a))
                                  (f32x4.add (local.get $acc) (v128.load (local.get $a)))
                                  (i32.eqz (local.get $tb))))
          (local.set $tb (i32.add (local.get $tb) (i32.const 4)))
          (br_if $taps_loop (i32.ne (local.get $tb) (local.get $row_bytes))))
        (v128.store (i32.add (local.get $y) (local.get $cb)) (f32x4.div (local.get $acc) (local.get $vdiv)))
        (local.set $cb (i32.add (local.get $cb) (i32.const 16)))
        (br_if $blocks (i32.ne (local.get $cb) (local.get $c4_bytes)))))
    (if (local.get $rem)
      (then
        (local.set $tb (i32.const 0))
        (loop $tail_taps
          (local.set $e (i32.load (i32.add (local.get $ind) (local.get $tb))))
          (local.set $a (i32.add (select (local.get $pad) (i32.add (local.get $x) (local.get $e))
                                         (i32.lt_s (local.get $e) (i32.const 0)))
                                 (local.get $cb)))
          (local.set $acc (select (call $f32_dwconv_load_tail (local.get $a) (local.get $rem))
                                  (f32x4.add (local.get $acc) (call $f32_dwconv_load_tail (local.get $a) (local.get $rem)))
                                  (i32.eqz (local.get $tb))))
          (local.set $tb (i32.add (local.get $tb) (i32.const 4)))
          (br_if $tail_taps (i32.ne (local.get $tb) (local.get $row_bytes))))
        (call $f32_dwconv_store_tail (i32.add (local.get $y) (local.get $cb))
              (f32x4.div (local.get $acc) (local.get $vdiv)) (local.get $rem))))
    (local.set $ind (i32.add (local.get $ind) (local.get $row_bytes)))
    (local.set $div (i32.add (local.get $div) (i32.const 4)))
    (local.set $y (i32.add (local.get $y) (i32.shl (local.get $c) (i32.const 2))))
    (local.set $m (i32.sub (local.get $m) (i32.const 1)))
    (br_if $pixels (local.get $m))))

;; $f32_gavgpool_c4: global average pooling, Y[b, ch] = (sum over pixels s of X[b, s, ch]) / $s,
;; summed in pixel order (Y is the accumulator: Y = X[b, 0], then Y = Y + X[b, s] for s = 1..),
;; then divided by $s (f32 division, exact divisor for s < 2^24). The scalar tail (c % 4) uses
;; f32.add / f32.div, the same IEEE operations as the vector lanes, so every channel gets the
;; bits of the scalar sum in pixel order.
;;   $n      images (n <= 0: nothing is written);  $s  pixels per image, >= 1;  $c channels, >= 1
;;   $x      byte offset of X [n, s, c] (NHWC with the spatial dims flattened)
;;   $y      byte offset of Y [n, c]; must not overlap X
(func $f32_gavgpool_c4 (param $n i32) (param $s i32) (param $c i32) (param $x i32) (param $y i32)
  (local $row_bytes i32) (local $c4_bytes i32) (local $cb i32) (local $p i32) (local $vs v128)
  (if (i32.le_s (local.get $n) (i32.const 0)) (then (return)))
  (local.set $row_bytes (i32.shl (local.get $c) (i32.const 2)))
  (local.set $c4_bytes (i32.shl (i32.and (local.get $c) (i32.const -4)) (i32.const 2)))
  (local.set $vs (f32x4.splat (f32.convert_i32_s (local.get $s))))
  (loop $images
    ;; Y = X[b, 0]
    (memory.copy (local.get $y) (local.get $x) (local.get $row_bytes))
    (local.set $x (i32.add (local.get $x) (local.get $row_bytes)))
    (local.set $p (i32.const 1))
    (block $pixels_done
      (br_if $pixels_done (i32.ge_s (local.get $p) (local.get $s)))
      (loop $pixels
        (local.set $cb (i32.const 0))
        (block $vec_done
          (br_if $vec_done (i32.eqz (local.get $c4_bytes)))
          (loop $vec
            (v128.store (i32.add (local.get $y) (local.get $cb))
                        (f32x4.add (v128.load (i32.add (local.get $y) (local.get $cb)))
                                   (v128.load (i32.add (local.get $x) (local.get $cb)))))
            (local.set $cb (i32.add (local.get $cb) (i32.const 16)))
            (br_if $vec (i32.ne (local.get $cb) (local.get $c4_bytes)))))
        (block $tail_done
          (br_if $tail_done (i32.eq (local.get $cb) (local.get $row_bytes)))
          (loop $tail
            (f32.store (i32.add (local.get $y) (local.get $cb))
                       (f32.add (f32.load (i32.add (local.get $y) (local.get $cb)))
                                (f32.load (i32.add (local.get $x) (local.get $cb)))))
            (local.set $cb (i32.add (local.get $cb) (i32.const 4)))
            (br_if $tail (i32.ne (local.get $cb) (local.get $row_bytes)))))
        (local.set $x (i32.add (local.get $x) (local.get $row_bytes)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br_if $pixels (i32.lt_s (local.get $p) (local.get $s)))))
    ;; Y = Y / s
    (local.set $cb (i32.const 0))
    (block $div_vec_done
      (br_if $div_vec_done (i32.eqz (local.get $c4_bytes)))
      (loop $div_vec
        (v128.store (i32.add (local.get $y) (local.get $cb))
                    (f32x4.div (v128.load (i32.add (local.get $y) (local.get $cb))) (local.get $vs)))
        (local.set $cb (i32.add (local.get $cb) (i32.const 16)))
        (br_if $div_vec (i32.ne (local.get $cb) (local.get $c4_bytes)))))
    (block $div_tail_done
      (br_if $div_tail_done (i32.eq (local.get $cb) (local.get $row_bytes)))
      (loop $div_tail
        (f32.store (i32.add (local.get $y) (local.get $cb))
                   (f32.div (f32.load (i32.add (local.get $y) (local.get $cb)))
                            (f32x4.extract_lane 0 (local.get $vs))))
        (local.set $cb (i32.add (local.get $cb) (i32.const 4)))
        (br_if $div_tail (i32.ne (local.get $cb) (local.get $row_bytes)))))
    (local.set $y (i32.add (local.get $y) (local.get $row_bytes)))
    (local.set $n (i32.sub (local.get $n) (i32.const 1)))
    (br_if $images (local.get $n))))
