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
;; Taps of under 16 bytes move byte by byte, longer ones 16 bytes at a time (a memory.copy call
;; per tap costs more than the move).
(func $u8_im2col (param $pixels i32) (param $taps i32) (param $cg i32) (param $ind i32) (param $x i32)
  (param $zp i32) (param $out i32) (param $row_pad i32)
  (local $t i32) (local $offset i32) (local $fill i32) (local $src i32) (local $i i32) (local $step i32)
  (if (i32.or (i32.le_s (local.get $pixels) (i32.const 0)) (i32.le_s (local.get $taps) (i32.const 0)))
    (then (return)))
  (local.set $fill (i32.load8_u (local.get $zp)))
  (loop $pixel
    (local.set $t (local.get $taps))
    (loop $tap
      (local.set $offset (i32.load (local.get $ind)))
      (if (i32.lt_u (local.get $cg) (i32.const 16))
        (then
          ;; a padding tap reads the zero point byte cg times (step 0), others step through x
          (local.set $step (i32.ne (local.get $offset) (i32.const -1)))
          (local.set $src (select (i32.add (local.get $x) (local.get $offset)) (local.get $zp) (local.get $step)))
          (local.set $i (i32.const 0))
          (loop $bytes
            (i32.store8 (i32.add (local.get $out) (local.get $i))
              (i32.load8_u (i32.add (local.get $src) (i32.mul (local.get $i) (local.get $step)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $bytes (i32.lt_u (local.get $i) (local.get $cg)))))
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
