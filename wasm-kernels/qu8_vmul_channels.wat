;; A squeeze-excitation product between statically quantized tensors, in one pass over uint8: the
;; float chain Dequantize(x) * s -> Quantize, s one float per channel computed at run time, with
;; its exact bits:
;;   v = (f32(x - x_zp) * x_scale) * s[ch]
;;   y = nearest(min(max(v / y_scale, -y_zp), 255 - y_zp)) + y_zp    (a true division, half to even)

;; $qu8_vmul_channels: y[p, ch] as above for p < pixels, ch < c (channels-last rows of c bytes).
;;   $pixels >= 0, $c >= 1 (pixels <= 0 writes nothing)
;;   $x      byte offset of pixels * c u8;  $y: byte offset of pixels * c u8 outputs (may equal x)
;;   $s      byte offset of c f32 (finite)
;;   $x_scale, $y_scale  f32 > 0;  $x_zp, $y_zp  zero points in [0, 255]
;; 4 channels per step, the c % 4 tail one at a time with the same vector operations.
(func $qu8_vmul_channels (param $pixels i32) (param $c i32) (param $x i32) (param $s i32) (param $y i32)
  (param $x_scale f32) (param $x_zp i32) (param $y_scale f32) (param $y_zp i32)
  (local $ch i32) (local $c4 i32) (local $sx v128) (local $sy v128) (local $zx v128) (local $zy v128)
  (local $lo v128) (local $hi v128) (local $v v128)
  (if (i32.le_s (local.get $pixels) (i32.const 0)) (then (return)))
  (local.set $c4 (i32.and (local.get $c) (i32.const -4)))
  (local.set $sx (f32x4.splat (local.get $x_scale)))
  (local.set $sy (f32x4.splat (local.get $y_scale)))
  (local.set $zx (i32x4.splat (local.get $x_zp)))
  (local.set $zy (i32x4.splat (i32.sub (local.get $y_zp) (i32.const 0x4b400000))))
  (local.set $lo (f32x4.splat (f32.convert_i32_s (i32.sub (i32.const 0) (local.get $y_zp)))))
  (local.set $hi (f32x4.splat (f32.convert_i32_s (i32.sub (i32.const 255) (local.get $y_zp)))))
  (loop $pixel
    (local.set $ch (i32.const 0))
    (block $quads_done
      (br_if $quads_done (i32.eqz (local.get $c4)))
      (loop $quads
        (local.set $v (call $qu8_vmul_x4
          (i32x4.sub (i32x4.extend_low_i16x8_u (i16x8.extend_low_i8x16_u
            (v128.load32_zero (i32.add (local.get $x) (local.get $ch))))) (local.get $zx))
          (v128.load (i32.add (local.get $s) (i32.shl (local.get $ch) (i32.const 2))))
          (local.get $sx) (local.get $sy) (local.get $lo) (local.get $hi) (local.get $zy)))
        (local.set $v (i16x8.narrow_i32x4_s (local.get $v) (local.get $v)))
        (v128.store32_lane 0 (i32.add (local.get $y) (local.get $ch)) (i8x16.narrow_i16x8_u (local.get $v) (local.get $v)))
        (local.set $ch (i32.add (local.get $ch) (i32.const 4)))
        (br_if $quads (i32.ne (local.get $ch) (local.get $c4)))))
    (block $tail_done
      (br_if $tail_done (i32.eq (local.get $ch) (local.get $c)))
      (loop $tail
        (local.set $v (call $qu8_vmul_x4
          (i32x4.sub (i32x4.splat (i32.load8_u (i32.add (local.get $x) (local.get $ch)))) (local.get $zx))
          (f32x4.splat (f32.load (i32.add (local.get $s) (i32.shl (local.get $ch) (i32.const 2)))))
          (local.get $sx) (local.get $sy) (local.get $lo) (local.get $hi) (local.get $zy)))
        (i32.store8 (i32.add (local.get $y) (local.get $ch)) (i32x4.extract_lane 0 (local.get $v)))
        (local.set $ch (i32.add (local.get $ch) (i32.const 1)))
        (br_if $tail (i32.ne (local.get $ch) (local.get $c)))))
    (local.set $x (i32.add (local.get $x) (local.get $c)))
    (local.set $y (i32.add (local.get $y) (local.get $c)))
    (local.set $pixels (i32.sub (local.get $pixels) (i32.const 1)))
    (br_if $pixel (local.get $pixels))))

;; $qu8_vmul_x4: helper, 4 outputs of $qu8_vmul_channels as i32 lanes in [0, 255] from the centred
;; inputs (x - x_zp, i32) and their factors; $zy holds y_zp - 0x4b400000 (the 1.5 * 2^23 rounding).
(func $qu8_vmul_x4 (param $dx v128) (param $s v128) (param $sx v128) (param $sy v128) (param $lo v128)
  (param $hi v128) (param $zy v128) (result v128)
  (i32x4.add
    (f32x4.add
      (f32x4.pmin (local.get $hi)
        (f32x4.pmax (local.get $lo)
          (f32x4.div (f32x4.mul (f32x4.mul (f32x4.convert_i32x4_s (local.get $dx)) (local.get $sx)) (local.get $s))
                     (local.get $sy))))
      (v128.const f32x4 0x1.8p23 0x1.8p23 0x1.8p23 0x1.8p23))
    (local.get $zy)))
