;; uint8 im2col through an indirection buffer, for the integer convolutions: each output pixel
;; becomes one row of its taps' input channels, so a convolution is one GEMM (qdu8_gemm.wat) over
;; those rows. A padding tap is filled with the input's zero point, so (pad - zp) adds exactly 0,
;; as onnxruntime's ConvInteger pads.

;; $u8_im2col: rows[p, t*cg .. (t+1)*cg) = x[ind[p, t] .. + cg), or cg copies of *zp where
;; ind[p, t] = -1, for p < pixels and t < taps; each row then ends with $row_pad copies of *zp
;; (a row of taps * cg + row_pad bytes: the static int8 GEMM pads k to a multiple of 8 with zero
;; weights, so its k loop has no tail; zp - zp adds 0).
;;   $ind   byte offset of pixels * taps i32 entries (edgewasm.backend.indirection, pixel_bytes =
;;          the tensor's channels): byte offsets relative to $x, -1 for padding
;;   $x     byte offset of the uint8 input's first channel of this group
;;   $cg    channels copied per tap (>= 1);  $zp: byte offset of the u8 zero point
;;   $out   byte offset of pixels * (taps * cg + row_pad) bytes; must not overlap x
;;   $row_pad  bytes of *zp after each row (>= 0)
;; Taps of under 16 bytes move in 8/4/2/1-byte parts, longer ones 16 bytes at a time (a memory.copy
;; call per tap costs more than the move). It moves bytes only, so an f32 tensor is cg = 4 x channels
;; with a zero point byte of 0 (padding reads +0.0).
(func $u8_im2col (param $pixels i32) (param $taps i32) (param $cg i32) (param $ind i32) (param $x i32)
  (param $zp i32) (param $out i32) (param $row_pad i32)
  (local $t i32) (local $offset i32) (local $fill i32) (local $fill8 i64) (local $src i32) (local $i i32)
  (if (i32.or (i32.le_s (local.get $pixels) (i32.const 0)) (i32.le_s (local.get $taps) (i32.const 0)))
    (then (return)))
  (local.set $fill (i32.load8_u (local.get $zp)))
  (local.set $fill8 (i64.mul (i64.extend_i32_u (local.get $fill)) (i64.const 0x0101010101010101)))
  (loop $pixel
    (local.set $t (local.get $taps))
    (loop $tap
      (local.set $offset (i32.load (local.get $ind)))
      (if (i32.lt_u (local.get $cg) (i32.const 16))
        (then
          ;; cg < 16 bytes is the sum of its 8-, 4-, 2- and 1-byte parts: one move per set bit
          ;; (a 3-channel f32 image tap is one 8-byte and one 4-byte move); a padding tap stores
          ;; the zero point byte repeated
          (local.set $i (i32.const 0))
          (if (i32.eq (local.get $offset) (i32.const -1))
            (then
              (if (i32.and (local.get $cg) (i32.const 8))
                (then (i64.store (local.get $out) (local.get $fill8))
                      (local.set $i (i32.const 8))))
              (if (i32.and (local.get $cg) (i32.const 4))
                (then (i64.store32 (i32.add (local.get $out) (local.get $i)) (local.get $fill8))
                      (local.set $i (i32.add (local.get $i) (i32.const 4)))))
              (if (i32.and (local.get $cg) (i32.const 2))
                (then (i64.store16 (i32.add (local.get $out) (local.get $i)) (local.get $fill8))
                      (local.set $i (i32.add (local.get $i) (i32.const 2)))))
              (if (i32.and (local.get $cg) (i32.const 1))
                (then (i64.store8 (i32.add (local.get $out) (local.get $i)) (local.get $fill8)))))
            (else
              (local.set $src (i32.add (local.get $x) (local.get $offset)))
              (if (i32.and (local.get $cg) (i32.const 8))
                (then (i64.store (local.get $out) (i64.load (local.get $src)))
                      (local.set $i (i32.const 8))))
              (if (i32.and (local.get $cg) (i32.const 4))
                (then (i32.store (i32.add (local.get $out) (local.get $i)) (i32.load (i32.add (local.get $src) (local.get $i))))
                      (local.set $i (i32.add (local.get $i) (i32.const 4)))))
              (if (i32.and (local.get $cg) (i32.const 2))
                (then (i32.store16 (i32.add (local.get $out) (local.get $i)) (i32.load16_u (i32.add (local.get $src) (local.get $i))))
                      (local.set $i (i32.add (local.get $i) (i32.const 2)))))
              (if (i32.and (local.get $cg) (i32.const 1))
                (then (i32.store8 (i32.add (local.get $out) (local.get $i)) (i32.load8_u (i32.add (local.get $src) (local.get $i)))))))))
        (else
          ;; 16 bytes at a time; a cg % 16 tail is one more 16-byte move ending at cg (it rewrites
          ;; bytes already written with the same values). A padding tap stores the splat zero point.
          (local.set $i (i32.const 0))
          (if (i32.eq (local.get $offset) (i32.const -1))
            (then
              (loop $fills
                (v128.store (i32.add (local.get $out) (local.get $i)) (i8x16.splat (local.get $fill)))
                (local.set $i (i32.add (local.get $i) (i32.const 16)))
                (br_if $fills (i32.le_u (i32.add (local.get $i) (i32.const 16)) (local.get $cg))))
              (v128.store (i32.sub (i32.add (local.get $out) (local.get $cg)) (i32.const 16)) (i8x16.splat (local.get $fill))))
            (else
              (local.set $src (i32.add (local.get $x) (local.get $offset)))
              (loop $moves
                (v128.store (i32.add (local.get $out) (local.get $i)) (v128.load (i32.add (local.get $src) (local.get $i))))
                (local.set $i (i32.add (local.get $i) (i32.const 16)))
                (br_if $moves (i32.le_u (i32.add (local.get $i) (i32.const 16)) (local.get $cg))))
              (v128.store (i32.sub (i32.add (local.get $out) (local.get $cg)) (i32.const 16))
                          (v128.load (i32.sub (i32.add (local.get $src) (local.get $cg)) (i32.const 16))))))))
      (local.set $out (i32.add (local.get $out) (local.get $cg)))
      (local.set $ind (i32.add (local.get $ind) (i32.const 4)))
      (local.set $t (i32.sub (local.get $t) (i32.const 1)))
      (br_if $tap (local.get $t)))
    (if (local.get $row_pad) (then (memory.fill (local.get $out) (local.get $fill) (local.get $row_pad))))
    (local.set $out (i32.add (local.get $out) (local.get $row_pad)))
    (local.set $pixels (i32.sub (local.get $pixels) (i32.const 1)))
    (br_if $pixel (local.get $pixels))))
