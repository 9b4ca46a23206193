;; f32 depthwise convolution micro-kernels for NHWC activations: each output channel reads only
;; its own input channel, so channels are the vector dimension (4 per v128) and taps the loop.
;; Input pixels come through an indirection buffer exactly as for f32_igemm (see f32_igemm.wat):
;; m x taps i32 entries, pixel-major; an entry >= 0 is the byte offset of the pixel's channel 0
;; relative to $x, a negative entry reads the $zero row instead.
;;
;; Weights are packed by edgewasm.backend.packing.pack_f32_gemm(w, bias, nr=4) from the [taps, c]
;; matrix: blocks of 4 channels, each 4 bias values then taps rows of 4 weights, zero-padded
;; past c. Every output element is
;;     acc = bias[ch]; for t in 0..taps-1: acc = acc + X_t[ch] * W[t, ch]        (f32, in order)
;;     y = min(max(acc, $min), $max)
;; with f32x4.mul then f32x4.add, so both kernels of this file give identical bits.
;; Channel tail (c % 4): 1..3 lanes are loaded and stored one by one, so no byte past a pixel's
;; c channels is read from X or the zero row or written to Y.

;; $f32_dwconv_load_tail: helper, a v128 whose first $r (1..3) f32 lanes are loaded from $p, the rest 0.
(func $f32_dwconv_load_tail (param $p i32) (param $r i32) (result v128)
  (local $v v128)
  (local.set $v (v128.load32_zero (local.get $p)))
  (if (i32.ge_u (local.get $r) (i32.const 2))
    (then (local.set $v (v128.load32_lane offset=4 1 (local.get $p) (local.get $v)))))
  (if (i32.ge_u (local.get $r) (i32.const 3))
    (then (local.set $v (v128.load32_lane offset=8 2 (local.get $p) (local.get $v)))))
  (local.get $v))

;; $f32_dwconv_store_tail: helper, stores the first $r (1..3) f32 lanes of $v at $p, nothing else.
(func $f32_dwconv_store_tail (param $p i32) (param $v v128) (param $r i32)
  (if (i32.and (local.get $r) (i32.const 2))
    (then
      (v128.store64_lane 0 (local.get $p) (local.get $v))
      ;; move lanes 2, 3 down to 0, 1
      (local.set $v (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $v) (local.get $v)))
      (local.set $p (i32.add (local.get $p) (i32.const 8)))))
  (if (i32.and (local.get $r) (i32.const 1))
    (then (v128.store32_lane 0 (local.get $p) (local.get $v)))))

;; $f32_dwconv_p4c: depthwise convolution with any number of taps, 4 channels per v128.
;; Y[p, ch] = clamp(bias[ch] + sum_t X_t(p)[ch] * W[t, ch]) for p < $m, ch < $c.
;;   $m      output pixels (m <= 0: nothing is written)
;;   $c      channels (input = output: channel multiplier 1), >= 1
;;   $taps   taps per output pixel, >= 1
;;   $ind    byte offset of the indirection buffer (m x taps i32)
;;   $x      byte offset the entries are relative to (the NHWC input tensor)
;;   $zero   byte offset of >= c f32 zeros, read by padding taps
;;   $w      byte offset of the packed weights: ceil(c/4) blocks of (taps + 1) * 4 f32
;;   $y      byte offset of Y[0, 0]; pixels are contiguous rows of c f32
;;   $min, $max  clamp bounds
;; Y must not overlap X, the weights or the indirection buffer.
(func $f32_dwconv_p4c
  (param $m i32) (param $c i32) (param $taps i32)
  (param $ind i32) (param $x i32) (param $zero i32) (param $w i32) (param $y i32)
  (param $min f32) (param $max f32)
  (local $cb i32) (local $c4_bytes i32) (local $rem i32) (local $row_bytes i32)
  (local $tb i32) (local $e i32) (local $a i32) (local $wp i32)
  (local $vmin v128) (local $vmax v128) (local $acc v128)
  (if (i32.le_s (local.get $m) (i32.const 0)) (then (return)))
  (local.set $c4_bytes (i32.shl (i32.and (local.get $c) (i32.const -4)) (i32.const 2)))
  (local.set $rem (i32.and (local.get $c) (i32.const 3)))
  (local.set $row_bytes (i32.shl (local.get $taps) (i32.const 2)))
  (local.set $vmin (f32x4.splat (local.get $min)))
  (local.set $vmax (f32x4.splat (local.get $max)))
  (loop $pixels
    (local.set $wp (local.get $w))
    (local.set $cb (i32.const 0))
    (block $blocks_done
      (br_if $blocks_done (i32.eqz (local.get $c4_bytes)))
      (loop $blocks
        (local.set $acc (v128.load (local.get $wp)))
        (local.set $wp (i32.add (local.get $wp) (i32.const 16)))
        (local.set $tb (i32.const 0))
        (loop $taps_loop
          (local.set $e (i32.load (i32.add (local.get $ind) (local.get $tb))))
          (local.set $a (select (local.get $zero) (i32.add (local.get $x) (local.get $e))
                                (i32.lt_s (local.get $e) (i32.const 0))))
          (local.set $acc (f32x4.add (local.get $acc)
                                     (f32x4.mul (v128.load (i32.add (local.get $a) (local.get $cb)))
                                                (v128.load (local.get $wp)))))
          (local.set $wp (i32.add (local.get $wp) (i32.const 16)))
          (local.set $tb (i32.add (local.get $tb) (i32.const 4)))
          (br_if $taps_loop (i32.ne (local.get $tb) (local.get $row_bytes))))
        (v128.store (i32.add (local.get $y) (local.get $cb))
                    (f32x4.min (f32x4.max (local.get $acc) (local.get $vmin)) (local.get $vmax)))
        (local.set $cb (i32.add (local.get $cb) (i32.const 16)))
        (br_if $blocks (i32.ne (local.get $cb) (local.get $c4_bytes)))))
    (if (local.get $rem)
      (then
        (local.set $acc (v128.load (local.get $wp)))
        (local.set $wp (i32.add (local.get $wp) (i32.const 16)))
        (local.set $tb (i32.const 0))
        (loop $tail_taps
          (local.set $e (i32.load (i32.add (local.get $ind) (local.get $tb))))
          (local.set $a (select (local.get $zero) (i32.add (local.get $x) (local.get $e))
                                (i32.lt_s (local.get $e) (i32.const 0))))
          (local.set $acc (f32x4.add (local.get $acc)
                                     (f32x4.mul (call $f32_dwconv_load_tail (i32.add (local.get $a) (local.get $cb))
                                                                      (local.get $rem))
                                                (v128.load (local.get $wp)))))
          (local.set $wp (i32.add (local.get $wp) (i32.const 16)))
          (local.set $tb (i32.add (local.get $tb) (i32.const 4)))
          (br_if $tail_taps (i32.ne (local.get $tb) (local.get $row_bytes))))
        (call $f32_dwconv_store_tail (i32.add (local.get $y) (local.get $cb))
              (f32x4.min (f32x4.max (local.get $acc) (local.get $vmin)) (local.get $vmax))
              (local.get $rem))))
    (local.set $ind (i32.add (local.get $ind) (local.get $row_bytes)))
    (local.set $y (i32.add (local.get $y) (i32.shl (local.get $c) (i32.const 2))))
    (local.set $m (i32.sub (local.get $m) (i32.const 1)))
    (br_if $pixels (local.get $m))))

;; $f32_dwconv_3x3p4c: $f32_dwconv_p4c specialised to 9 taps (3x3 kernels, any stride, dilation
;; or padding): the 9 input pointers of a pixel are resolved once, then 16 channels at a time
;; (four independent accumulation chains, to hide the f32x4.add latency) then 4 at a time get 9
;; unrolled multiply-adds each. Same parameters minus $taps, same bits.
(func $f32_dwconv_3x3p4c
  (param $m i32) (param $c i32)
  (param $ind i32) (param $x i32) (param $zero i32) (param $w i32) (param $y i32)
  (param $min f32) (param $max f32)
  (local $cb i32) (local $c4_bytes i32) (local $c16_bytes i32) (local $rem i32) (local $e i32) (local $wp i32)
  (local $acc0 v128) (local $acc1 v128) (local $acc2 v128) (local $acc3 v128)
  (local $a0 i32) (local $a1 i32) (local $a2 i32) (local $a3 i32) (local $a4 i32)
  (local $a5 i32) (local $a6 i32) (local $a7 i32) (local $a8 i32)
  (local $vmin v128) (local $vmax v128) (local $acc v128)
  (if (i32.le_s (local.get $m) (i32.const 0)) (then (return)))
  (local.set $c4_bytes (i32.shl (i32.and (local.get $c) (i32.const -4)) (i32.const 2)))
  (local.set $c16_bytes (i32.shl (i32.and (local.get $c) (i32.const -16)) (i32.const 2)))
  (local.set $rem (i32.and (local.get $c) (i32.const 3)))
  (local.set $vmin (f32x4.splat (local.get $min)))
  (local.set $vmax (f32x4.splat (local.get $max)))
  (loop $pixels
    (local.set $e (i32.load offset=0 (local.get $ind)))
    (local.set $a0 (select (local.get $zero) (i32.add (local.get $x) (local.get $e)) (i32.lt_s (local.get $e) (i32.const 0))))
    (local.set $e (i32.load offset=4 (local.get $ind)))
    (local.set $a1 (select (local.get $zero) (i32.add (local.get $x) (local.get $e)) (i32.lt_s (local.get $e) (i32.const 0))))
    (local.set $e (i32.load offset=8 (local.get $ind)))
    (local.set $a2 (select (local.get $zero) (i32.add (local.get $x) (local.get $e)) (i32.lt_s (local.get $e) (i32.const 0))))
    (local.set $e (i32.load offset=12 (local.get $ind)))
    (local.set $a3 (select (local.get $zero) (i32.add (local.get $x) (local.get $e)) (i32.lt_s (local.get $e) (i32.const 0))))
    (local.set $e (i32.load offset=16 (local.get $ind)))
    (local.set $a4 (select (local.get $zero) (i32.add (local.get $x) (local.get $e)) (i32.lt_s (local.get $e) (i32.const 0))))
    (local.set $e (i32.load offset=20 (local.get $ind)))
    (local.set $a5 (select (local.get $zero) (i32.add (local.get $x) (local.get $e)) (i32.lt_s (local.get $e) (i32.const 0))))
    (local.set $e (i32.load offset=24 (local.get $ind)))
    (local.set $a6 (select (local.get $zero) (i32.add (local.get $x) (local.get $e)) (i32.lt_s (local.get $e) (i32.const 0))))
    (local.set $e (i32.load offset=28 (local.get $ind)))
    (local.set $a7 (select (local.get $zero) (i32.add (local.get $x) (local.get $e)) (i32.lt_s (local.get $e) (i32.const 0))))
    (local.set $e (i32.load offset=32 (local.get $ind)))
    (local.set $a8 (select (local.get $zero) (i32.add (local.get $x) (local.get $e)) (i32.lt_s (local.get $e) (i32.const 0))))
    (local.set $wp (local.get $w))
    (local.set $cb (i32.const 0))
    (block $blocks16_done
      (br_if $blocks16_done (i32.eqz (local.get $c16_bytes)))
      (loop $blocks16
        (local.set $acc0 (v128.load offset=0 (local.get $wp)))
        (local.set $acc1 (v128.load offset=160 (local.get $wp)))
        (local.set $acc2 (v128.load offset=320 (local.get $wp)))
        (local.set $acc3 (v128.load offset=480 (local.get $wp)))
        (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (v128.load offset=0 (i32.add (local.get $a0) (local.get $cb))) (v128.load offset=16 (local.get $wp)))))
        (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (v128.load offset=16 (i32.add (local.get $a0) (local.get $cb))) (v128.load offset=176 (local.get $wp)))))
        (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (v128.load offset=32 (i32.add (local.get $a0) (local.get $cb))) (v128.load offset=336 (local.get $wp)))))
        (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (v128.load offset=48 (i32.add (local.get $a0) (local.get $cb))) (v128.load offset=496 (local.get $wp)))))
        (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (v128.load offset=0 (i32.add (local.get $a1) (local.get $cb))) (v128.load offset=32 (local.get $wp)))))
        (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (v128.load offset=16 (i32.add (local.get $a1) (local.get $cb))) (v128.load offset=192 (local.get $wp)))))
        (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (v128.load offset=32 (i32.add (local.get $a1) (local.get $cb))) (v128.load offset=352 (local.get $wp)))))
        (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (v128.load offset=48 (i32.add (local.get $a1) (local.get $cb))) (v128.load offset=512 (local.get $wp)))))
        (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (v128.load offset=0 (i32.add (local.get $a2) (local.get $cb))) (v128.load offset=48 (local.get $wp)))))
        (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (v128.load offset=16 (i32.add (local.get $a2) (local.get $cb))) (v128.load offset=208 (local.get $wp)))))
        (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (v128.load offset=32 (i32.add (local.get $a2) (local.get $cb))) (v128.load offset=368 (local.get $wp)))))
        (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (v128.load offset=48 (i32.add (local.get $a2) (local.get $cb))) (v128.load offset=528 (local.get $wp)))))
        (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (v128.load offset=0 (i32.add (local.get $a3) (local.get $cb))) (v128.load offset=64 (local.get $wp)))))
        (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (v128.load offset=16 (i32.add (local.get $a3) (local.get $cb))) (v128.load offset=224 (local.get $wp)))))
        (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (v128.load offset=32 (i32.add (local.get $a3) (local.get $cb))) (v128.load offset=384 (local.get $wp)))))
        (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (v128.load offset=48 (i32.add (local.get $a3) (local.get $cb))) (v128.load offset=544 (local.get $wp)))))
        (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (v128.load offset=0 (i32.add (local.get $a4) (local.get $cb))) (v128.load offset=80 (local.get $wp)))))
        (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (v128.load offset=16 (i32.add (local.get $a4) (local.get $cb))) (v128.load offset=240 (local.get $wp)))))
        (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (v128.load offset=32 (i32.add (local.get $a4) (local.get $cb))) (v128.load offset=400 (local.get $wp)))))
        (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (v128.load offset=48 (i32.add (local.get $a4) (local.get $cb))) (v128.load offset=560 (local.get $wp)))))
        (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (v128.load offset=0 (i32.add (local.get $a5) (local.get $cb))) (v128.load offset=96 (local.get $wp)))))
        (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (v128.load offset=16 (i32.add (local.get $a5) (local.get $cb))) (v128.load offset=256 (local.get $wp)))))
        (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (v128.load offset=32 (i32.add (local.get $a5) (local.get $cb))) (v128.load offset=416 (local.get $wp)))))
        (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (v128.load offset=48 (i32.add (local.get $a5) (local.get $cb))) (v128.load offset=576 (local.get $wp)))))
        (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (v128.load offset=0 (i32.add (local.get $a6) (local.get $cb))) (v128.load offset=112 (local.get $wp)))))
        (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (v128.load offset=16 (i32.add (local.get $a6) (local.get $cb))) (v128.load offset=272 (local.get $wp)))))
        (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (v128.load offset=32 (i32.add (local.get $a6) (local.get $cb))) (v128.load offset=432 (local.get $wp)))))
        (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (v128.load offset=48 (i32.add (local.get $a6) (local.get $cb))) (v128.load offset=592 (local.get $wp)))))
        (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (v128.load offset=0 (i32.add (local.get $a7) (local.get $cb))) (v128.load offset=128 (local.get $wp)))))
        (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (v128.load offset=16 (i32.add (local.get $a7) (local.get $cb))) (v128.load offset=288 (local.get $wp)))))
        (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (v128.load offset=32 (i32.add (local.get $a7) (local.get $cb))) (v128.load offset=448 (local.get $wp)))))
        (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (v128.load offset=48 (i32.add (local.get $a7) (local.get $cb))) (v128.load offset=608 (local.get $wp)))))
        (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (v128.load offset=0 (i32.add (local.get $a8) (local.get $cb))) (v128.load offset=144 (local.get $wp)))))
        (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (v128.load offset=16 (i32.add (local.get $a8) (local.get $cb))) (v128.load offset=304 (local.get $wp)))))
        (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (v128.load offset=32 (i32.add (local.get $a8) (local.get $cb))) (v128.load offset=464 (local.get $wp)))))
        (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (v128.load offset=48 (i32.add (local.get $a8) (local.get $cb))) (v128.load offset=624 (local.get $wp)))))
        (v128.store offset=0 (i32.add (local.get $y) (local.get $cb)) (f32x4.min (f32x4.max (local.get $acc0) (local.get $vmin)) (local.get $vmax)))
        (v128.store offset=16 (i32.add (local.get $y) (local.get $cb)) (f32x4.min (f32x4.max (local.get $acc1) (local.get $vmin)) (local.get $vmax)))
        (v128.store offset=32 (i32.add (local.get $y) (local.get $cb)) (f32x4.min (f32x4.max (local.get $acc2) (local.get $vmin)) (local.get $vmax)))
        (v128.store offset=48 (i32.add (local.get $y) (local.get $cb)) (f32x4.min (f32x4.max (local.get $acc3) (local.get $vmin)) (local.get $vmax)))
        (local.set $wp (i32.add (local.get $wp) (i32.const 640)))
        (local.set $cb (i32.add (local.get $cb) (i32.const 64)))
        (br_if $blocks16 (i32.ne (local.get $cb) (local.get $c16_bytes)))))
    (block $blocks_done
      (br_if $blocks_done (i32.eq (local.get $cb) (local.get $c4_bytes)))
      (loop $blocks
        (local.set $acc (v128.load (local.get $wp)))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (v128.load (i32.add (local.get $a0) (local.get $cb))) (v128.load offset=16 (local.get $wp)))))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (v128.load (i32.add (local.get $a1) (local.get $cb))) (v128.load offset=32 (local.get $wp)))))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (v128.load (i32.add (local.get $a2) (local.get $cb))) (v128.load offset=48 (local.get $wp)))))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (v128.load (i32.add (local.get $a3) (local.get $cb))) (v128.load offset=64 (local.get $wp)))))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (v128.load (i32.add (local.get $a4) (local.get $cb))) (v128.load offset=80 (local.get $wp)))))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (v128.load (i32.add (local.get $a5) (local.get $cb))) (v128.load offset=96 (local.get $wp)))))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (v128.load (i32.add (local.get $a6) (local.get $cb))) (v128.load offset=112 (local.get $wp)))))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (v128.load (i32.add (local.get $a7) (local.get $cb))) (v128.load offset=128 (local.get $wp)))))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (v128.load (i32.add (local.get $a8) (local.get $cb))) (v128.load offset=144 (local.get $wp)))))
        (v128.store (i32.add (local.get $y) (local.get $cb))
                    (f32x4.min (f32x4.max (local.get $acc) (local.get $vmin)) (local.get $vmax)))
        (local.set $wp (i32.add (local.get $wp) (i32.const 160)))
        (local.set $cb (i32.add (local.get $cb) (i32.const 16)))
        (br_if $blocks (i32.ne (local.get $cb) (local.get $c4_bytes)))))
    (if (local.get $rem)
      (then
        (local.set $acc (v128.load (local.get $wp)))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (call $f32_dwconv_load_tail (i32.add (local.get $a0) (local.get $cb)) (local.get $rem)) (v128.load offset=16 (local.get $wp)))))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (call $f32_dwconv_load_tail (i32.add (local.get $a1) (local.get $cb)) (local.get $rem)) (v128.load offset=32 (local.get $wp)))))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (call $f32_dwconv_load_tail (i32.add (local.get $a2) (local.get $cb)) (local.get $rem)) (v128.load offset=48 (local.get $wp)))))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (call $f32_dwconv_load_tail (i32.add (local.get $a3) (local.get $cb)) (local.get $rem)) (v128.load offset=64 (local.get $wp)))))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (call $f32_dwconv_load_tail (i32.add (local.get $a4) (local.get $cb)) (local.get $rem)) (v128.load offset=80 (local.get $wp)))))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (call $f32_dwconv_load_tail (i32.add (local.get $a5) (local.get $cb)) (local.get $rem)) (v128.load offset=96 (local.get $wp)))))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (call $f32_dwconv_load_tail (i32.add (local.get $a6) (local.get $cb)) (local.get $rem)) (v128.load offset=112 (local.get $wp)))))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (call $f32_dwconv_load_tail (i32.add (local.get $a7) (local.get $cb)) (local.get $rem)) (v128.load offset=128 (local.get $wp)))))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (call $f32_dwconv_load_tail (i32.add (local.get $a8) (local.get $cb)) (local.get $rem)) (v128.load offset=144 (local.get $wp)))))
        (call $f32_dwconv_store_tail (i32.add (local.get $y) (local.get $cb))
              (f32x4.min (f32x4.max (local.get $acc) (local.get $vmin)) (local.get $vmax))
              (local.get $rem))))
    (local.set $ind (i32.add (local.get $ind) (i32.const 36)))
    (local.set $y (i32.add (local.get $y) (i32.shl (local.get $c) (i32.const 2))))
    (local.set $m (i32.sub (local.get $m) (i32.const 1)))
    (br_if $pixels (local.get $m))))
