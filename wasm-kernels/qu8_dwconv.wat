;; Statically quantized depthwise convolution (group = channels, one output channel per input
;; channel) over NHWC uint8 activations, onnxruntime's QLinearConv bits:
;;   acc[p, ch] = sum over taps t of (X_t(p)[ch] - a_zp) * W[t, ch]         exact int32
;;   Y[p, ch]   = nearest(min(max(f32(acc + bias[ch]) * M[ch], qmin - c_zp), qmax - c_zp)) + c_zp
;; (the epilogue of qu8_gemm.wat, $qu8_requantize). u8 and i8 are widened to i16
;; (v128.load8x8_u / _s) and multiplied into i32 lanes (i32x4.extmul_*_i16x8_s), 8 channels a step.
;; Windows come through an indirection buffer as in f32_pool.wat (entries relative to $x,
;; pixel_bytes = c); a negative entry reads the $pad row: >= c bytes equal to a_zp, so a padding tap
;; adds exactly 0.
;; Weights are packed by edgewasm.ops.qlinear_conv.pack_qu8_dwconv in blocks of 8 channels:
;; 8 i32 bias, 8 f32 M, then taps x 8 int8 weights (tap-major); zeros past c. The c % 8 channel
;; tail is computed one channel at a time with the same operations (scalar f32, same rounding).

;; $qu8_qc8w_dwconv_c8: Y[m x c] (u8) as above.
;;   $m      output pixels (m <= 0: nothing is written);  $c channels >= 1;  $taps >= 1
;;   $ind    byte offset of m x taps i32 entries;  $x  byte offset the entries are relative to
;;   $pad    byte offset of >= c bytes of a_zp;  $w  byte offset of the packed weights
;;   $y      byte offset of Y[0, 0]; pixels are contiguous rows of c bytes. Nothing else is written.
;;   $a_zp, $c_zp  zero points;  $qmin, $qmax  output saturation, 0 <= qmin <= qmax <= 255
(func $qu8_qc8w_dwconv_c8
  (param $m i32) (param $c i32) (param $taps i32) (param $ind i32) (param $x i32) (param $pad i32)
  (param $w i32) (param $y i32) (param $a_zp i32) (param $c_zp i32) (param $qmin i32) (param $qmax i32)
  (local $cb i32) (local $c8 i32) (local $wp i32) (local $block i32) (local $row_bytes i32)
  (local $tb i32) (local $e i32) (local $a i32) (local $j i32) (local $s i32) (local $wt i32)
  (local $vzp v128) (local $vlo v128) (local $vhi v128) (local $vczp v128)
  (local $vx v128) (local $vw v128) (local $acc_lo v128) (local $acc_hi v128)
  (local $flo f32) (local $fhi f32)
  (if (i32.le_s (local.get $m) (i32.const 0)) (then (return)))
  (local.set $c8 (i32.and (local.get $c) (i32.const -8)))
  (local.set $row_bytes (i32.shl (local.get $taps) (i32.const 2)))
  (local.set $block (i32.add (i32.const 64) (i32.shl (local.get $taps) (i32.const 3))))
  (local.set $vzp (i16x8.splat (local.get $a_zp)))
  (local.set $flo (f32.convert_i32_s (i32.sub (local.get $qmin) (local.get $c_zp))))
  (local.set $fhi (f32.convert_i32_s (i32.sub (local.get $qmax) (local.get $c_zp))))
  (local.set $vlo (f32x4.splat (local.get $flo)))
  (local.set $vhi (f32x4.splat (local.get $fhi)))
  (local.set $vczp (i32x4.splat (local.get $c_zp)))
  (loop $pixels
    (local.set $cb (i32.const 0))
    (local.set $wp (local.get $w))
    (block $blocks_done
      (br_if $blocks_done (i32.eqz (local.get $c8)))
      (loop $blocks
        (local.set $acc_lo (v128.const i32x4 0 0 0 0))
        (local.set $acc_hi (v128.const i32x4 0 0 0 0))
        (local.set $tb (i32.const 0))
        (local.set $wt (i32.add (local.get $wp) (i32.const 64)))
        (loop $taps_loop
          (local.set $e (i32.load (i32.add (local.get $ind) (local.get $tb))))
          (local.set $a (i32.add (select (local.get $pad) (i32.add (local.get $x) (local.get $e))
                                         (i32.lt_s (local.get $e) (i32.const 0)))
                                 (local.get $cb)))
          (local.set $vx (i16x8.sub (v128.load8x8_u (local.get $a)) (local.get $vzp)))
          (local.set $vw (v128.load8x8_s (local.get $wt)))
          (local.set $acc_lo (i32x4.add (local.get $acc_lo) (i32x4.extmul_low_i16x8_s (local.get $vx) (local.get $vw))))
          (local.set $acc_hi (i32x4.add (local.get $acc_hi) (i32x4.extmul_high_i16x8_s (local.get $vx) (local.get $vw))))
          (local.set $wt (i32.add (local.get $wt) (i32.const 8)))
          (local.set $tb (i32.add (local.get $tb) (i32.const 4)))
          (br_if $taps_loop (i32.ne (local.get $tb) (local.get $row_bytes))))
        (local.set $acc_lo (call $qu8_requantize (local.get $acc_lo) (v128.load (local.get $wp))
                                 (v128.load offset=32 (local.get $wp)) (local.get $vlo) (local.get $vhi) (local.get $vczp)))
        (local.set $acc_hi (call $qu8_requantize (local.get $acc_hi) (v128.load offset=16 (local.get $wp))
                                 (v128.load offset=48 (local.get $wp)) (local.get $vlo) (local.get $vhi) (local.get $vczp)))
        (local.set $vx (i16x8.narrow_i32x4_s (local.get $acc_lo) (local.get $acc_hi)))
        (v128.store64_lane 0 (i32.add (local.get $y) (local.get $cb)) (i8x16.narrow_i16x8_u (local.get $vx) (local.get $vx)))
        (local.set $wp (i32.add (local.get $wp) (local.get $block)))
        (local.set $cb (i32.add (local.get $cb) (i32.const 8)))
        (br_if $blocks (i32.ne (local.get $cb) (local.get $c8)))))
    (block $tail_done
      (br_if $tail_done (i32.eq (local.get $cb) (local.get $c)))
      (local.set $j (i32.const 0))
      (loop $tail
        (local.set $s (i32.const 0))
        (local.set $tb (i32.const 0))
        (local.set $wt (i32.add (i32.add (local.get $wp) (i32.const 64)) (local.get $j)))
        (loop $tail_taps
          (local.set $e (i32.load (i32.add (local.get $ind) (local.get $tb))))
          (local.set $a (i32.add (select (local.get $pad) (i32.add (local.get $x) (local.get $e))
                                         (i32.lt_s (local.get $e) (i32.const 0)))
                                 (i32.add (local.get $cb) (local.get $j))))
          (local.set $s (i32.add (local.get $s)
                                 (i32.mul (i32.sub (i32.load8_u (local.get $a)) (local.get $a_zp))
                                          (i32.load8_s (local.get $wt)))))
          (local.set $wt (i32.add (local.get $wt) (i32.const 8)))
          (local.set $tb (i32.add (local.get $tb) (i32.const 4)))
          (br_if $tail_taps (i32.ne (local.get $tb) (local.get $row_bytes))))
        (local.set $a (i32.add (local.get $wp) (i32.shl (local.get $j) (i32.const 2))))
        (i32.store8 (i32.add (local.get $y) (i32.add (local.get $cb) (local.get $j)))
          (i32.add
            (i32.trunc_sat_f32_s
              (f32.nearest
                (f32.min
                  (f32.max (f32.mul (f32.convert_i32_s (i32.add (local.get $s) (i32.load (local.get $a))))
                                    (f32.load offset=32 (local.get $a)))
                           (local.get $flo))
                  (local.get $fhi))))
            (local.get $c_zp)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $tail (i32.ne (i32.add (local.get $cb) (local.get $j)) (local.get $c)))))
    (local.set $ind (i32.add (local.get $ind) (local.get $row_bytes)))
    (local.set $y (i32.add (local.get $y) (local.get $c)))
    (local.set $m (i32.sub (local.get $m) (i32.const 1)))
    (br_if $pixels (local.get $m))))
