;; uint8 im2col through an indirection buffer, for the integer convolutions: each output pixel
;; becomes one row of its taps' input channels, so a convolution is one GEMM (qdu8_gemm.wat) over
;; those rows. A padding tap is filled with the input's zero point, so (pad - zp) adds exactly 0,
;; as onnxruntime's ConvInteger pads.

;; $u8_im2col: rows[p, t*cg .. (t+1)*cg) = x[ind[p, t] .. + cg), or cg copies of *zp where
;; ind[p, t] = -1, for p < pixels and t < taps.
;;   $ind   byte offset of pixels * taps i32 entries (edgewasm.backend.indirection, pixel_bytes =
;;          the tensor's channels): byte offsets relative to $x, -1 for padding
;;   $x     byte offset of the uint8 input's first channel of this group
;;   $cg    channels copied per tap (>= 1);  $zp: byte offset of the u8 zero point
;;   $out   byte offset of pixels * taps * cg bytes; must not overlap x
(func $u8_im2col (param $pixels i32) (param $taps i32) (param $cg i32) (param $ind i32) (param $x i32)
  (param $zp i32) (param $out i32)
  (local $entries i32) (local $offset i32) (local $fill i32)
  (local.set $entries (i32.mul (local.get $pixels) (local.get $taps)))
  (if (i32.le_s (local.get $entries) (i32.const 0)) (then (return)))
  (local.set $fill (i32.load8_u (local.get $zp)))
  (loop $entry
    (local.set $offset (i32.load (local.get $ind)))
    (if (i32.eq (local.get $offset) (i32.const -1))
      (then (memory.fill (local.get $out) (local.get $fill) (local.get $cg)))
      (else (memory.copy (local.get $out) (i32.add (local.get $x) (local.get $offset)) (local.get $cg))))
    (local.set $out (i32.add (local.get $out) (local.get $cg)))
    (local.set $ind (i32.add (local.get $ind) (i32.const 4)))
    (local.set $entries (i32.sub (local.get $entries) (i32.const 1)))
    (br_if $entry (local.get $entries))))
