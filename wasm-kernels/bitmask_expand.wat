;; Sparse weight expansion, used by init() for weights shipped as a bitmask plus their nonzero
;; elements (pruned weights). Element i of the dense array is nonzero iff bit (i mod 8) of mask
;; byte i / 8 is set (numpy.packbits(..., bitorder="little")); the nonzero elements follow one
;; another in `values`, in index order. Zeros are written as all-zero bits. Data-type agnostic:
;; x8 / x16 / x32 move 1, 2 or 4 byte elements (int8, float16, float32 / int32).
;; Scalar: it runs once, in init(), never per inference.

;; $x32_bitmask_expand: dst[i] = mask bit i ? next value : 0, for i < n (4-byte elements).
;;   $n       elements (n <= 0 writes nothing)
;;   $mask    byte offset of ceil(n / 8) mask bytes
;;   $values  byte offset of popcount(mask) elements
;;   $dst     byte offset of n elements; must not overlap mask or values
(func $x32_bitmask_expand (param $n i32) (param $mask i32) (param $values i32) (param $dst i32)
  (local $i i32) (local $bits i32)
  (if (i32.le_s (local.get $n) (i32.const 0)) (then (return)))
  (loop $elements
    (if (i32.eqz (i32.and (local.get $i) (i32.const 7)))
      (then (local.set $bits (i32.load8_u (i32.add (local.get $mask) (i32.shr_u (local.get $i) (i32.const 3)))))))
    (if (i32.and (local.get $bits) (i32.const 1))
      (then
        (i32.store (local.get $dst) (i32.load (local.get $values)))
        (local.set $values (i32.add (local.get $values) (i32.const 4))))
      (else (i32.store (local.get $dst) (i32.const 0))))
    (local.set $bits (i32.shr_u (local.get $bits) (i32.const 1)))
    (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br_if $elements (i32.lt_s (local.get $i) (local.get $n)))))

;; $x16_bitmask_expand: as $x32_bitmask_expand with 2-byte elements (float16 values).
(func $x16_bitmask_expand (param $n i32) (param $mask i32) (param $values i32) (param $dst i32)
  (local $i i32) (local $bits i32)
  (if (i32.le_s (local.get $n) (i32.const 0)) (then (return)))
  (loop $elements
    (if (i32.eqz (i32.and (local.get $i) (i32.const 7)))
      (then (local.set $bits (i32.load8_u (i32.add (local.get $mask) (i32.shr_u (local.get $i) (i32.const 3)))))))
    (if (i32.and (local.get $bits) (i32.const 1))
      (then
        (i32.store16 (local.get $dst) (i32.load16_u (local.get $values)))
        (local.set $values (i32.add (local.get $values) (i32.const 2))))
      (else (i32.store16 (local.get $dst) (i32.const 0))))
    (local.set $bits (i32.shr_u (local.get $bits) (i32.const 1)))
    (local.set $dst (i32.add (local.get $dst) (i32.const 2)))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br_if $elements (i32.lt_s (local.get $i) (local.get $n)))))

;; $x8_bitmask_expand: as $x32_bitmask_expand with 1-byte elements (int8 weights).
(func $x8_bitmask_expand (param $n i32) (param $mask i32) (param $values i32) (param $dst i32)
  (local $i i32) (local $bits i32)
  (if (i32.le_s (local.get $n) (i32.const 0)) (then (return)))
  (loop $elements
    (if (i32.eqz (i32.and (local.get $i) (i32.const 7)))
      (then (local.set $bits (i32.load8_u (i32.add (local.get $mask) (i32.shr_u (local.get $i) (i32.const 3)))))))
    (if (i32.and (local.get $bits) (i32.const 1))
      (then
        (i32.store8 (local.get $dst) (i32.load8_u (local.get $values)))
        (local.set $values (i32.add (local.get $values) (i32.const 1))))
      (else (i32.store8 (local.get $dst) (i32.const 0))))
    (local.set $bits (i32.shr_u (local.get $bits) (i32.const 1)))
    (local.set $dst (i32.add (local.get $dst) (i32.const 1)))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br_if $elements (i32.lt_s (local.get $i) (local.get $n)))))
