;; Residual Add between statically quantized tensors, in one pass over uint8: the float chain
;; Dequantize(a) + Dequantize(b) [-> Relu] -> Quantize, with its exact bits:
;;   s = f32(a - a_zp) * a_scale + f32(b - b_zp) * b_scale         (each product rounded, then the sum)
;;   y = nearest(min(max(s / y_scale, qmin - y_zp), qmax - y_zp)) + y_zp
;; (a true division and round half to even, as f32_qu8_vcvt; a Relu before the Quantize is
;; qmin = y_zp: quantize(max(s, 0)) = max(quantize(s), y_zp), since rounding is monotonic.)

;; $qu8_vadd: y[i] as above for i < n.
;;   $n        elements (n <= 0 writes nothing)
;;   $a, $b    byte offsets of n u8;  $y: byte offset of n u8 outputs (may equal a or b)
;;   $a_scale, $b_scale, $y_scale  f32 > 0 (finite);  $a_zp, $b_zp, $y_zp  zero points in [0, 255]
;;   $qmin, $qmax  output saturation, 0 <= qmin <= qmax <= 255
;; 16 elements per iteration (u8 widened to i32, zero points subtracted as integers), the tail one
;; at a time with the same vector operations; writes exactly n bytes.
(func $qu8_vadd (param $n i32) (param $a i32) (param $b i32) (param $y i32)
  (param $a_scale f32) (param $a_zp i32) (param $b_scale f32) (param $b_zp i32)
  (param $y_scale f32) (param $y_zp i32) (param $qmin i32) (param $qmax i32)
  (local $i i32) (local $va v128) (local $vb v128)
  (local $sa v128) (local $sb v128) (local $sy v128) (local $za v128) (local $zb v128)
  (local $lo v128) (local $hi v128) (local $zy v128)
  (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
  (if (i32.le_s (local.get $n) (i32.const 0)) (then (return)))
  (local.set $sa (f32x4.splat (local.get $a_scale)))
  (local.set $sb (f32x4.splat (local.get $b_scale)))
  (local.set $sy (f32x4.splat (local.get $y_scale)))
  (local.set $za (i16x8.splat (local.get $a_zp)))
  (local.set $zb (i16x8.splat (local.get $b_zp)))
  (local.set $lo (f32x4.splat (f32.convert_i32_s (i32.sub (local.get $qmin) (local.get $y_zp)))))
  (local.set $hi (f32x4.splat (f32.convert_i32_s (i32.sub (local.get $qmax) (local.get $y_zp)))))
  (local.set $zy (i32x4.splat (i32.sub (local.get $y_zp) (i32.const 0x4b400000))))
  (block $vectors_done
    (br_if $vectors_done (i32.lt_s (local.get $n) (i32.const 16)))
    (loop $vectors
      (local.set $va (v128.load (i32.add (local.get $a) (local.get $i))))
      (local.set $vb (v128.load (i32.add (local.get $b) (local.get $i))))
      (local.set $r0 (call $qu8_vadd_x8 (i16x8.sub (i16x8.extend_low_i8x16_u (local.get $va)) (local.get $za))
                                        (i16x8.sub (i16x8.extend_low_i8x16_u (local.get $vb)) (local.get $zb))
                                        (local.get $sa) (local.get $sb) (local.get $sy) (local.get $lo)
                                        (local.get $hi) (local.get $zy)))
      (local.set $r1 (call $qu8_vadd_x8 (i16x8.sub (i16x8.extend_high_i8x16_u (local.get $va)) (local.get $za))
                                        (i16x8.sub (i16x8.extend_high_i8x16_u (local.get $vb)) (local.get $zb))
                                        (local.get $sa) (local.get $sb) (local.get $sy) (local.get $lo)
                                        (local.get $hi) (local.get $zy)))
      (v128.store (i32.add (local.get $y) (local.get $i)) (i8x16.narrow_i16x8_u (local.get $r0) (local.get $r1)))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br_if $vectors (i32.le_s (i32.add (local.get $i) (i32.const 16)) (local.get $n)))))
  (block $done
    (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
    (loop $tail
      (local.set $r0 (call $qu8_vadd_x8
        (i16x8.sub (i16x8.splat (i32.load8_u (i32.add (local.get $a) (local.get $i)))) (local.get $za))
        (i16x8.sub (i16x8.splat (i32.load8_u (i32.add (local.get $b) (local.get $i)))) (local.get $zb))
        (local.get $sa) (local.get $sb) (local.get $sy) (local.get $lo) (local.get $hi) (local.get $zy)))
      (i32.store8 (i32.add (local.get $y) (local.get $i)) (i16x8.extract_lane_u 0 (local.get $r0)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $tail (i32.lt_s (local.get $i) (local.get $n))))))

;; $qu8_vadd_x8: helper, 8 outputs of $qu8_vadd as i16 lanes in [qmin, qmax] from the 8 centred
;; inputs (a - a_zp, b - b_zp as i16); $zy holds y_zp - 0x4b400000 (the 1.5 * 2^23 rounding).
(func $qu8_vadd_x8 (param $da v128) (param $db v128) (param $sa v128) (param $sb v128) (param $sy v128)
  (param $lo v128) (param $hi v128) (param $zy v128) (result v128)
  (i16x8.narrow_i32x4_s
    (call $qu8_vadd_x4 (i32x4.extend_low_i16x8_s (local.get $da)) (i32x4.extend_low_i16x8_s (local.get $db))
                       (local.get $sa) (local.get $sb) (local.get $sy) (local.get $lo) (local.get $hi) (local.get $zy))
    (call $qu8_vadd_x4 (i32x4.extend_high_i16x8_s (local.get $da)) (i32x4.extend_high_i16x8_s (local.get $db))
                       (local.get $sa) (local.get $sb) (local.get $sy) (local.get $lo) (local.get $hi) (local.get $zy))))

;; $qu8_vadd_x4: helper, 4 outputs as i32 lanes from 4 centred inputs of each operand (i32).
(func $qu8_vadd_x4 (param $da v128) (param $db v128) (param $sa v128) (param $sb v128) (param $sy v128)
  (param $lo v128) (param $hi v128) (param $zy v128) (result v128)
  (i32x4.add
    (f32x4.add
      (f32x4.pmin (local.get $hi)
        (f32x4.pmax (local.get $lo)
          (f32x4.div (f32x4.add (f32x4.mul (f32x4.convert_i32x4_s (local.get $da)) (local.get $sa))
                                (f32x4.mul (f32x4.convert_i32x4_s (local.get $db)) (local.get $sb)))
                     (local.get $sy))))
      (v128.const f32x4 0x1.8p23 0x1.8p23 0x1.8p23 0x1.8p23))
    (local.get $zy)))
