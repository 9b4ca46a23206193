;; Byte-to-byte table lookup: a uint8 activation through an elementwise op whose input and output
;; are both statically quantized (Dequantize -> HardSwish -> Quantize, say) is one read of a
;; 256-byte table the compiler computed, so the op runs in the integer domain with the float
;; chain's exact bits and no pass over float data.

;; $x8_lut: y[i] = table[x[i]] for i < n.
;;   $n      number of bytes (n <= 0 writes nothing)
;;   $table  byte offset of 256 bytes (any alignment)
;;   $x, $y  byte offsets of n bytes (any alignment); y may equal x (in place), no other overlap
;; 16 bytes at a time: for each 16-entry chunk c of the table, i8x16.swizzle(chunk, x - 16c)
;; selects the bytes whose index falls in the chunk (a lane index >= 16 selects 0, and x - 16c
;; wraps to >= 16 for every other x), and the 16 selections are OR-ed. The tail is scalar.
(func $x8_lut (param $n i32) (param $table i32) (param $x i32) (param $y i32)
  (local $vx v128) (local $vy v128) (local $c i32)
  (if (i32.le_s (local.get $n) (i32.const 0)) (then (return)))
  (block $vectors_done
    (br_if $vectors_done (i32.lt_s (local.get $n) (i32.const 16)))
    (loop $vectors
      (local.set $vx (v128.load (local.get $x)))
      (local.set $vy (i8x16.swizzle (v128.load (local.get $table)) (local.get $vx)))
      (local.set $c (i32.const 16))
      (loop $chunks
        (local.set $vx (i8x16.sub (local.get $vx) (v128.const i8x16 16 16 16 16 16 16 16 16 16 16 16 16 16 16 16 16)))
        (local.set $vy (v128.or (local.get $vy)
          (i8x16.swizzle (v128.load (i32.add (local.get $table) (local.get $c))) (local.get $vx))))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br_if $chunks (i32.lt_u (local.get $c) (i32.const 256))))
      (v128.store (local.get $y) (local.get $vy))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (local.set $n (i32.sub (local.get $n) (i32.const 16)))
      (br_if $vectors (i32.ge_s (local.get $n) (i32.const 16)))))
  (block $done
    (br_if $done (i32.eqz (local.get $n)))
    (loop $tail
      (i32.store8 (local.get $y) (i32.load8_u (i32.add (local.get $table) (i32.load8_u (local.get $x)))))
      (local.set $x (i32.add (local.get $x) (i32.const 1)))
      (local.set $y (i32.add (local.get $y) (i32.const 1)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $tail (local.get $n)))))
