;; f32 resampling along one axis with compile-time taps (Resize linear and cubic, antialiased or
;; not; the compiler runs it once per resized axis, nearest Resize is a pure gather).

;; $f32_resize_axis: x viewed as [outer, n_in, inner] -> y [outer, n_out, inner]:
;;   y[o, i, j] = ((x[o, t_0(i), j] * w_0(i)) + x[o, t_1(i), j] * w_1(i)) + ... (taps ascending)
;;   $table: per output index i, $taps i32 byte offsets t_k(i) * inner * 4 into one [n_in, inner]
;;   slice of x, then $taps f32 weights w_k(i) (8 * taps bytes per i).
;;   $outer, $n_out, $inner, $taps >= 1 (any <= 0: nothing is written); $x_stride bytes between
;;   the outer slices of x (n_in * inner * 4); $x, $table, $y byte offsets (4-byte aligned is
;;   enough); y must not overlap x or the table. Vectorized over inner; the inner tail uses the
;;   scalar instructions, which round exactly as the lanes do.
(func $f32_resize_axis
  (param $outer i32) (param $n_out i32) (param $inner i32) (param $taps i32)
  (param $x i32) (param $x_stride i32) (param $table i32) (param $y i32)
  (local $o i32) (local $i i32) (local $t i32) (local $j i32) (local $entry i32) (local $weights i32)
  (local $inner_bytes i32) (local $vec_bytes i32) (local $src i32) (local $acc v128) (local $sacc f32)
  (if (i32.or (i32.or (i32.le_s (local.get $outer) (i32.const 0)) (i32.le_s (local.get $n_out) (i32.const 0)))
              (i32.or (i32.le_s (local.get $inner) (i32.const 0)) (i32.le_s (local.get $taps) (i32.const 0))))
    (then (return)))
  (local.set $inner_bytes (i32.shl (local.get $inner) (i32.const 2)))
  (local.set $vec_bytes (i32.and (local.get $inner_bytes) (i32.const -16)))
  (local.set $o (local.get $outer))
  (loop $outers
    (local.set $entry (local.get $table))
    (local.set $i (local.get $n_out))
    (loop $outputs
      (local.set $weights (i32.add (local.get $entry) (i32.shl (local.get $taps) (i32.const 2))))
      (local.set $j (i32.const 0))
      (block $vec_done
        (br_if $vec_done (i32.eqz (local.get $vec_bytes)))
        (loop $vec
          (local.set $acc (f32x4.mul (v128.load (i32.add (i32.add (local.get $x) (i32.load (local.get $entry))) (local.get $j)))
                                     (v128.load32_splat (local.get $weights))))
          (local.set $t (i32.const 1))
          (block $taps_done
            (br_if $taps_done (i32.ge_s (local.get $t) (local.get $taps)))
            (loop $more_taps
              (local.set $src (i32.add (local.get $x) (i32.load (i32.add (local.get $entry) (i32.shl (local.get $t) (i32.const 2))))))
              (local.set $acc (f32x4.add (local.get $acc)
                                         (f32x4.mul (v128.load (i32.add (local.get $src) (local.get $j)))
                                                    (v128.load32_splat (i32.add (local.get $weights) (i32.shl (local.get $t) (i32.const 2)))))))
              (local.set $t (i32.add (local.get $t) (i32.const 1)))
              (br_if $more_taps (i32.lt_s (local.get $t) (local.get $taps)))))
          (v128.store (local.get $y) (local.get $acc))
          (local.set $y (i32.add (local.get $y) (i32.const 16)))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br_if $vec (i32.ne (local.get $j) (local.get $vec_bytes)))))
      (block $tail_done
        (br_if $tail_done (i32.eq (local.get $j) (local.get $inner_bytes)))
        (loop $tail
          (local.set $sacc (f32.mul (f32.load (i32.add (i32.add (local.get $x) (i32.load (local.get $entry))) (local.get $j)))
                                    (f32.load (local.get $weights))))
          (local.set $t (i32.const 1))
          (block $tail_taps_done
            (br_if $tail_taps_done (i32.ge_s (local.get $t) (local.get $taps)))
            (loop $tail_taps
              (local.set $src (i32.add (local.get $x) (i32.load (i32.add (local.get $entry) (i32.shl (local.get $t) (i32.const 2))))))
              (local.set $sacc (f32.add (local.get $sacc)
                                        (f32.mul (f32.load (i32.add (local.get $src) (local.get $j)))
                                                 (f32.load (i32.add (local.get $weights) (i32.shl (local.get $t) (i32.const 2)))))))
              (local.set $t (i32.add (local.get $t) (i32.const 1)))
              (br_if $tail_taps (i32.lt_s (local.get $t) (local.get $taps)))))
          (f32.store (local.get $y) (local.get $sacc))
          (local.set $y (i32.add (local.get $y) (i32.const 4)))
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (br_if $tail (i32.ne (local.get $j) (local.get $inner_bytes)))))
      (local.set $entry (i32.add (local.get $entry) (i32.shl (local.get $taps) (i32.const 3))))
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (br_if $outputs (local.get $i)))
    (local.set $x (i32.add (local.get $x) (local.get $x_stride)))
    (local.set $o (i32.sub (local.get $o) (i32.const 1)))
    (br_if $outers (local.get $o))))
