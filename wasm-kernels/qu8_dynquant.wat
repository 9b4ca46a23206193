;; Dynamic uint8 quantization: ONNX DynamicQuantizeLinear exactly as onnxruntime computes it
;; (MLAS's min/max, then its QuantizeLinear), so the bytes match onnxruntime's:
;;   lo    = min(0, min_i x[i])            hi = max(0, max_i x[i])
;;   scale = hi == lo ? 1 : (hi - lo) / 255                      (one f32 subtract, one f32 divide)
;;   zp    = nearest(min(max(0 - lo / scale, 0), 255))           (nearest = round half to even)
;;   q[i]  = min(max(nearest(x[i] / scale) + zp, 0), 255)        (a true division, not x * (1/scale))
;; onnxruntime clamps x / scale to [-zp, 255 - zp] before rounding; with integer bounds that is the
;; same number. NaNs are skipped by the range (pmin/pmax keep the running bound) and quantize to 0.

;; $qu8_dynquant: quantize x[0..n) to q[0..n) and write the tensor's scale (f32) and zero point (u8).
;;   $n      elements (>= 1)
;;   $x      byte offset of n f32
;;   $q      byte offset of n u8 outputs (no alignment needed)
;;   $scale  byte offset of the f32 scale output
;;   $zp     byte offset of the u8 zero-point output
;; Pass 1 keeps 4-lane running pmin/pmax seeded with 0 (four chains of them for the bulk) (that is the min(0, .) / max(0, .)); pass 2 is
;; $f32_qu8_vcvt (qu8_vcvt.wat) with the parameters just found.
(func $qu8_dynquant (param $n i32) (param $x i32) (param $q i32) (param $scale i32) (param $zp i32)
  (local $i i32) (local $p i32) (local $vlo v128) (local $vhi v128) (local $lo f32) (local $hi f32)
  (local $s f32) (local $z f32) (local $v0 v128)
  (local $lo1 v128) (local $hi1 v128) (local $lo2 v128) (local $hi2 v128) (local $lo3 v128) (local $hi3 v128)
  ;; pass 1: range, 16 elements a step in four independent pmin/pmax chains (min and max are exact:
  ;; any grouping gives the same bounds), then 4 at a time
  (local.set $p (local.get $x))
  (block $range16_done
    (br_if $range16_done (i32.lt_s (local.get $n) (i32.const 16)))
    (loop $range16
      (local.set $v0 (v128.load (local.get $p)))
      (local.set $vlo (f32x4.pmin (local.get $vlo) (local.get $v0)))
      (local.set $vhi (f32x4.pmax (local.get $vhi) (local.get $v0)))
      (local.set $v0 (v128.load offset=16 (local.get $p)))
      (local.set $lo1 (f32x4.pmin (local.get $lo1) (local.get $v0)))
      (local.set $hi1 (f32x4.pmax (local.get $hi1) (local.get $v0)))
      (local.set $v0 (v128.load offset=32 (local.get $p)))
      (local.set $lo2 (f32x4.pmin (local.get $lo2) (local.get $v0)))
      (local.set $hi2 (f32x4.pmax (local.get $hi2) (local.get $v0)))
      (local.set $v0 (v128.load offset=48 (local.get $p)))
      (local.set $lo3 (f32x4.pmin (local.get $lo3) (local.get $v0)))
      (local.set $hi3 (f32x4.pmax (local.get $hi3) (local.get $v0)))
      (local.set $p (i32.add (local.get $p) (i32.const 64)))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br_if $range16 (i32.le_s (i32.add (local.get $i) (i32.const 16)) (local.get $n))))
    ;; the chains hold no NaN (seeded with 0, pmin/pmax keep the running bound), so merging them is exact
    (local.set $vlo (f32x4.pmin (f32x4.pmin (local.get $vlo) (local.get $lo1)) (f32x4.pmin (local.get $lo2) (local.get $lo3))))
    (local.set $vhi (f32x4.pmax (f32x4.pmax (local.get $vhi) (local.get $hi1)) (f32x4.pmax (local.get $hi2) (local.get $hi3)))))
  (block $range_vectors_done
    (br_if $range_vectors_done (i32.gt_s (i32.add (local.get $i) (i32.const 4)) (local.get $n)))
    (loop $range_vectors
      (local.set $v0 (v128.load (local.get $p)))
      (local.set $vlo (f32x4.pmin (local.get $vlo) (local.get $v0)))
      (local.set $vhi (f32x4.pmax (local.get $vhi) (local.get $v0)))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br_if $range_vectors (i32.le_s (i32.add (local.get $i) (i32.const 4)) (local.get $n)))))
  (local.set $lo (f32.min (f32.min (f32x4.extract_lane 0 (local.get $vlo)) (f32x4.extract_lane 1 (local.get $vlo)))
                          (f32.min (f32x4.extract_lane 2 (local.get $vlo)) (f32x4.extract_lane 3 (local.get $vlo)))))
  (local.set $hi (f32.max (f32.max (f32x4.extract_lane 0 (local.get $vhi)) (f32x4.extract_lane 1 (local.get $vhi)))
                          (f32.max (f32x4.extract_lane 2 (local.get $vhi)) (f32x4.extract_lane 3 (local.get $vhi)))))
  (block $range_done
    (br_if $range_done (i32.ge_s (local.get $i) (local.get $n)))
    (loop $range_tail
      (local.set $v0 (f32x4.splat (f32.load (local.get $p))))
      (local.set $lo (f32x4.extract_lane 0 (f32x4.pmin (f32x4.splat (local.get $lo)) (local.get $v0))))
      (local.set $hi (f32x4.extract_lane 0 (f32x4.pmax (f32x4.splat (local.get $hi)) (local.get $v0))))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $range_tail (i32.lt_s (local.get $i) (local.get $n)))))
  ;; parameters
  (local.set $s (select (f32.const 1) (f32.div (f32.sub (local.get $hi) (local.get $lo)) (f32.const 255))
                        (f32.eq (local.get $hi) (local.get $lo))))
  (local.set $z (f32.nearest (f32.min (f32.max (f32.sub (f32.const 0) (f32.div (local.get $lo) (local.get $s)))
                                               (f32.const 0))
                                      (f32.const 255))))
  (f32.store (local.get $scale) (local.get $s))
  (i32.store8 (local.get $zp) (i32.trunc_sat_f32_s (local.get $z)))
  ;; pass 2: quantize
  (call $f32_qu8_vcvt (local.get $n) (local.get $x) (local.get $q) (local.get $s)
        (i32.trunc_sat_f32_s (local.get $z))))
