;; Statically quantized depthwise convolution (group = channels, one output channel per input
;; channel) over NHWC uint8 activations, onnxruntime's QLinearConv bits:
;;   acc[p, ch] = sum over taps t of (X_t(p)[ch] - a_zp) * W[t, ch]         exact int32
;;   Y[p, ch]   = nearest(min(max(f32(acc + bias[ch]) * M[ch], qmin - c_zp), qmax - c_zp)) + c_zp
;; (the epilogue of qu8_gemm.wat, $qu8_requantize). The input's zero point is folded into the bias
;; at compile time: sum_t (X_t - a_zp) * W_t = sum_t X_t * W_t - a_zp * sum_t W_t (a padding tap
;; reads a_zp, so the identity holds for every window), so u8 * i8 products need no subtract;
;; the int32 sums are exact, so Y is onnxruntime's. Windows come through an indirection buffer as
;; in f32_pool.wat (entries relative to $x, pixel_bytes = c); a negative entry reads the $pad row:
;; >= c bytes equal to a_zp.

;; $qu8_qc8w_dwconv_c16x2: Y[m x c] (u8) as above, 16 channels a step with the taps taken in
;; pairs, so one i32x4.dot_i16x8_s multiplies two taps of 4 channels: the two taps' input bytes are interleaved (one i8x16.shuffle per 8 channels), widened u8 -> i16, and dotted
;; with weights packed as (w[2p, ch], w[2p+1, ch]) pairs; an odd last tap pairs with itself and a
;; zero weight. Each pixel's tap pointers are resolved once into $ptrs (taps + 1 i32 of scratch),
;; so the channel blocks read them without the indirection's select. A c % 16 >= 8 remainder
;; takes one 8-channel step, the last c % 8 channels are scalar.
;; Weights are packed by edgewasm.ops.qlinear_conv.pack_qu8_dwconv16x2 in blocks of 16 channels:
;; 16 i32 folded bias (bias - a_zp * sum_t W_t), 16 f32 M, then ceil(taps/2) groups of 32 int8
;; (channel-major pairs); zeros past c.
;;   $m      output pixels (m <= 0: nothing is written);  $c channels >= 1;  $taps >= 1
;;   $ind    byte offset of m x taps i32 entries;  $x  byte offset the entries are relative to
;;   $pad    byte offset of >= c bytes of a_zp;  $w  byte offset of the packed weights
;;   $y      byte offset of Y[0, 0]; pixels are contiguous rows of c bytes. Nothing else is written.
;;   $c_zp   the output's zero point;  $qmin, $qmax  output saturation, 0 <= qmin <= qmax <= 255
;;   $ptrs   byte offset of 4 * (taps + 1) bytes of scratch (written)
(func $qu8_qc8w_dwconv_c16x2
  (param $m i32) (param $c i32) (param $taps i32) (param $ind i32) (param $x i32) (param $pad i32)
  (param $w i32) (param $y i32) (param $c_zp i32) (param $qmin i32) (param $qmax i32) (param $ptrs i32)
  (local $cb i32) (local $c16 i32) (local $wp i32) (local $block i32) (local $pair_bytes i32)
  (local $tb i32) (local $e i32) (local $a i32) (local $j i32) (local $s i32) (local $wt i32) (local $t i32)
  (local $p0 i32) (local $p1 i32)
  (local $vlo v128) (local $vhi v128) (local $vczp v128)
  (local $v0 v128) (local $v1 v128) (local $il v128) (local $ih v128) (local $wa v128) (local $wb v128)
  (local $acc0 v128) (local $acc1 v128) (local $acc2 v128) (local $acc3 v128)
  (local $flo f32) (local $fhi f32)
  (if (i32.le_s (local.get $m) (i32.const 0)) (then (return)))
  (local.set $c16 (i32.and (local.get $c) (i32.const -16)))
  (local.set $pair_bytes (i32.shl (i32.shr_u (i32.add (local.get $taps) (i32.const 1)) (i32.const 1)) (i32.const 3)))
  (local.set $block (i32.add (i32.const 128) (i32.shl (local.get $pair_bytes) (i32.const 2))))
  (local.set $flo (f32.convert_i32_s (i32.sub (local.get $qmin) (local.get $c_zp))))
  (local.set $fhi (f32.convert_i32_s (i32.sub (local.get $qmax) (local.get $c_zp))))
  (local.set $vlo (f32x4.splat (local.get $flo)))
  (local.set $vhi (f32x4.splat (local.get $fhi)))
  (local.set $vczp (i32x4.splat (local.get $c_zp)))
  (loop $pixels
    ;; resolve this pixel's tap pointers (a negative entry: the pad row); an odd count repeats the last
    (local.set $t (i32.const 0))
    (loop $resolve
      (local.set $e (i32.load (local.get $ind)))
      (i32.store (i32.add (local.get $ptrs) (i32.shl (local.get $t) (i32.const 2)))
        (select (local.get $pad) (i32.add (local.get $x) (local.get $e)) (i32.lt_s (local.get $e) (i32.const 0))))
      (local.set $ind (i32.add (local.get $ind) (i32.const 4)))
      (local.set $t (i32.add (local.get $t) (i32.const 1)))
      (br_if $resolve (i32.lt_u (local.get $t) (local.get $taps))))
    (i32.store (i32.add (local.get $ptrs) (i32.shl (local.get $t) (i32.const 2)))
      (i32.load (i32.add (local.get $ptrs) (i32.shl (i32.sub (local.get $t) (i32.const 1)) (i32.const 2)))))
    (local.set $cb (i32.const 0))
    (local.set $wp (local.get $w))
    (block $blocks_done
      (br_if $blocks_done (i32.eqz (local.get $c16)))
      (loop $blocks
        (local.set $acc0 (v128.const i32x4 0 0 0 0))
        (local.set $acc1 (v128.const i32x4 0 0 0 0))
        (local.set $acc2 (v128.const i32x4 0 0 0 0))
        (local.set $acc3 (v128.const i32x4 0 0 0 0))
        (local.set $tb (i32.const 0))
        (local.set $wt (i32.add (local.get $wp) (i32.const 128)))
        (loop $pairs
          (local.set $p0 (i32.load (i32.add (local.get $ptrs) (local.get $tb))))
          (local.set $p1 (i32.load offset=4 (i32.add (local.get $ptrs) (local.get $tb))))
          (local.set $v0 (v128.load (i32.add (local.get $p0) (local.get $cb))))
          (local.set $v1 (v128.load (i32.add (local.get $p1) (local.get $cb))))
          (local.set $il (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23 (local.get $v0) (local.get $v1)))
          (local.set $ih (i8x16.shuffle 8 24 9 25 10 26 11 27 12 28 13 29 14 30 15 31 (local.get $v0) (local.get $v1)))
          (local.set $wa (v128.load (local.get $wt)))
          (local.set $wb (v128.load offset=16 (local.get $wt)))
          (local.set $acc0 (i32x4.add (local.get $acc0)
            (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_u (local.get $il)) (i16x8.extend_low_i8x16_s (local.get $wa)))))
          (local.set $acc1 (i32x4.add (local.get $acc1)
            (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_u (local.get $il)) (i16x8.extend_high_i8x16_s (local.get $wa)))))
          (local.set $acc2 (i32x4.add (local.get $acc2)
            (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_u (local.get $ih)) (i16x8.extend_low_i8x16_s (local.get $wb)))))
          (local.set $acc3 (i32x4.add (local.get $acc3)
            (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_u (local.get $ih)) (i16x8.extend_high_i8x16_s (local.get $wb)))))
          (local.set $wt (i32.add (local.get $wt) (i32.const 32)))
          (local.set $tb (i32.add (local.get $tb) (i32.const 8)))
          (br_if $pairs (i32.ne (local.get $tb) (local.get $pair_bytes))))
        (local.set $acc0 (call $qu8_requantize (local.get $acc0) (v128.load (local.get $wp))
                               (v128.load offset=64 (local.get $wp)) (local.get $vlo) (local.get $vhi) (local.get $vczp)))
        (local.set $acc1 (call $qu8_requantize (local.get $acc1) (v128.load offset=16 (local.get $wp))
                               (v128.load offset=80 (local.get $wp)) (local.get $vlo) (local.get $vhi) (local.get $vczp)))
        (local.set $acc2 (call $qu8_requantize (local.get $acc2) (v128.load offset=32 (local.get $wp))
                               (v128.load offset=96 (local.get $wp)) (local.get $vlo) (local.get $vhi) (local.get $vczp)))
        (local.set $acc3 (call $qu8_requantize (local.get $acc3) (v128.load offset=48 (local.get $wp))
                               (v128.load offset=112 (local.get $wp)) (local.get $vlo) (local.get $vhi) (local.get $vczp)))
        (v128.store (i32.add (local.get $y) (local.get $cb))
          (i8x16.narrow_i16x8_u (i16x8.narrow_i32x4_s (local.get $acc0) (local.get $acc1))
                                (i16x8.narrow_i32x4_s (local.get $acc2) (local.get $acc3))))
        (local.set $wp (i32.add (local.get $wp) (local.get $block)))
        (local.set $cb (i32.add (local.get $cb) (i32.const 16)))
        (br_if $blocks (i32.ne (local.get $cb) (local.get $c16)))))
    ;; c % 16 >= 8: one 8-channel step over the first half of the last block
    (if (i32.ge_u (i32.sub (local.get $c) (local.get $cb)) (i32.const 8))
      (then
        (local.set $acc0 (v128.const i32x4 0 0 0 0))
        (local.set $acc1 (v128.const i32x4 0 0 0 0))
        (local.set $tb (i32.const 0))
        (local.set $wt (i32.add (local.get $wp) (i32.const 128)))
        (loop $half_pairs
          (local.set $p0 (i32.load (i32.add (local.get $ptrs) (local.get $tb))))
          (local.set $p1 (i32.load offset=4 (i32.add (local.get $ptrs) (local.get $tb))))
          (local.set $il (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23
            (v128.load64_zero (i32.add (local.get $p0) (local.get $cb)))
            (v128.load64_zero (i32.add (local.get $p1) (local.get $cb)))))
          (local.set $wa (v128.load (local.get $wt)))
          (local.set $acc0 (i32x4.add (local.get $acc0)
            (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_u (local.get $il)) (i16x8.extend_low_i8x16_s (local.get $wa)))))
          (local.set $acc1 (i32x4.add (local.get $acc1)
            (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_u (local.get $il)) (i16x8.extend_high_i8x16_s (local.get $wa)))))
          (local.set $wt (i32.add (local.get $wt) (i32.const 32)))
          (local.set $tb (i32.add (local.get $tb) (i32.const 8)))
          (br_if $half_pairs (i32.ne (local.get $tb) (local.get $pair_bytes))))
        (local.set $acc0 (call $qu8_requantize (local.get $acc0) (v128.load (local.get $wp))
                               (v128.load offset=64 (local.get $wp)) (local.get $vlo) (local.get $vhi) (local.get $vczp)))
        (local.set $acc1 (call $qu8_requantize (local.get $acc1) (v128.load offset=16 (local.get $wp))
                               (v128.load offset=80 (local.get $wp)) (local.get $vlo) (local.get $vhi) (local.get $vczp)))
        (local.set $v0 (i16x8.narrow_i32x4_s (local.get $acc0) (local.get $acc1)))
        (v128.store64_lane 0 (i32.add (local.get $y) (local.get $cb)) (i8x16.narrow_i16x8_u (local.get $v0) (local.get $v0)))
        (local.set $cb (i32.add (local.get $cb) (i32.const 8)))))
    ;; the last c % 8 channels, one at a time ($j: the channel's index in its block)
    (block $tail_done
      (br_if $tail_done (i32.eq (local.get $cb) (local.get $c)))
      (local.set $j (i32.and (local.get $cb) (i32.const 15)))
      (loop $tail
        (local.set $s (i32.const 0))
        (local.set $t (i32.const 0))
        (local.set $wt (i32.add (i32.add (local.get $wp) (i32.const 128)) (i32.shl (local.get $j) (i32.const 1))))
        (loop $tail_taps
          (local.set $a (i32.add (i32.load (i32.add (local.get $ptrs) (i32.shl (local.get $t) (i32.const 2))))
                                 (local.get $cb)))
          ;; tap t's weight: pair group t / 2, byte 2 * j + t % 2 of it
          (local.set $s (i32.add (local.get $s)
            (i32.mul (i32.load8_u (local.get $a))
                     (i32.load8_s (i32.add (i32.add (local.get $wt) (i32.shl (i32.shr_u (local.get $t) (i32.const 1)) (i32.const 5)))
                                           (i32.and (local.get $t) (i32.const 1)))))))
          (local.set $t (i32.add (local.get $t) (i32.const 1)))
          (br_if $tail_taps (i32.ne (local.get $t) (local.get $taps))))
        (local.set $a (i32.add (local.get $wp) (i32.shl (local.get $j) (i32.const 2))))
        (i32.store8 (i32.add (local.get $y) (local.get $cb))
          (i32.add
            (i32.trunc_sat_f32_s
              (f32.nearest
                (f32.min
                  (f32.max (f32.mul (f32.convert_i32_s (i32.add (local.get $s) (i32.load (local.get $a))))
                                    (f32.load offset=64 (local.get $a)))
                           (local.get $flo))
                  (local.get $fhi))))
            (local.get $c_zp)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (local.set $cb (i32.add (local.get $cb) (i32.const 1)))
        (br_if $tail (i32.ne (local.get $cb) (local.get $c)))))
    (local.set $y (i32.add (local.get $y) (local.get $c)))
    (local.set $m (i32.sub (local.get $m) (i32.const 1)))
    (br_if $pixels (local.get $m))))
