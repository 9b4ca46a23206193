;; f32 elementwise kernels: a vector loop of 4 lanes, then a scalar tail with the matching scalar
;; instruction. Wasm defines f32.add/max/min and f32x4.add/max/min with the same IEEE semantics,
;; so tail elements get the same bits as vector lanes: max/min propagate NaN (either operand NaN
;; -> NaN; wasm leaves the NaN payload unspecified) and order zeros as -0.0 < +0.0
;; (max(-0.0, +0.0) = +0.0, min(-0.0, +0.0) = -0.0), whatever the operand order.
;; All pointers are byte offsets of f32 arrays, 4-byte alignment is enough.

;; $f32_vadd: y[i] = a[i] + b[i] for i < $n ($n >= 0). y may alias a or b exactly.
(func $f32_vadd (param $n i32) (param $a i32) (param $b i32) (param $y i32)
  (local $vec_end i32) (local $end i32)
  (local.set $end (i32.add (local.get $y) (i32.shl (local.get $n) (i32.const 2))))
  (local.set $vec_end (i32.add (local.get $y) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
  (block $vec_done
    (br_if $vec_done (i32.eq (local.get $y) (local.get $vec_end)))
    (loop $vec
      (v128.store (local.get $y) (f32x4.add (v128.load (local.get $a)) (v128.load (local.get $b))))
      (local.set $a (i32.add (local.get $a) (i32.const 16)))
      (local.set $b (i32.add (local.get $b) (i32.const 16)))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (br_if $vec (i32.ne (local.get $y) (local.get $vec_end)))))
  (block $tail_done
    (br_if $tail_done (i32.eq (local.get $y) (local.get $end)))
    (loop $tail
      (f32.store (local.get $y) (f32.add (f32.load (local.get $a)) (f32.load (local.get $b))))
      (local.set $a (i32.add (local.get $a) (i32.const 4)))
      (local.set $b (i32.add (local.get $b) (i32.const 4)))
      (local.set $y (i32.add (local.get $y) (i32.const 4)))
      (br_if $tail (i32.ne (local.get $y) (local.get $end))))))

;; $f32_vadd_rows: y[r, i] = a[r, i] + b[i] for r < $rows, i < $n: adds the row vector b (n f32)
;; to each of the rows of a ($rows x $n, rows contiguous), e.g. a bias over a batch.
;;   $rows >= 0, $n >= 0 (n = 1 broadcasts a scalar). y may alias a exactly; b must not overlap y.
(func $f32_vadd_rows (param $rows i32) (param $n i32) (param $a i32) (param $b i32) (param $y i32)
  (block $rows_done
    (br_if $rows_done (i32.le_s (local.get $rows) (i32.const 0)))
    (loop $row
      (call $f32_vadd (local.get $n) (local.get $a) (local.get $b) (local.get $y))
      (local.set $a (i32.add (local.get $a) (i32.shl (local.get $n) (i32.const 2))))
      (local.set $y (i32.add (local.get $y) (i32.shl (local.get $n) (i32.const 2))))
      (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
      (br_if $row (local.get $rows)))))

;; $f32_vclamp: y[i] = min(max(x[i], $min), $max) for i < $n ($n >= 0). relu = (0.0, +inf),
;; relu6 = (0.0, 6.0). NaN in x (or a NaN bound) gives NaN; relu(-0.0) = +0.0. y may alias x.
(func $f32_vclamp (param $n i32) (param $x i32) (param $y i32) (param $min f32) (param $max f32)
  (local $vec_end i32) (local $end i32) (local $vmin v128) (local $vmax v128)
  (local.set $vmin (f32x4.splat (local.get $min)))
  (local.set $vmax (f32x4.splat (local.get $max)))
  (local.set $end (i32.add (local.get $y) (i32.shl (local.get $n) (i32.const 2))))
  (local.set $vec_end (i32.add (local.get $y) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
  (block $vec_done
    (br_if $vec_done (i32.eq (local.get $y) (local.get $vec_end)))
    (loop $vec
      (v128.store (local.get $y)
                  (f32x4.min (f32x4.max (v128.load (local.get $x)) (local.get $vmin)) (local.get $vmax)))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (br_if $vec (i32.ne (local.get $y) (local.get $vec_end)))))
  (block $tail_done
    (br_if $tail_done (i32.eq (local.get $y) (local.get $end)))
    (loop $tail
      (f32.store (local.get $y)
                 (f32.min (f32.max (f32.load (local.get $x)) (local.get $min)) (local.get $max)))
      (local.set $x (i32.add (local.get $x) (i32.const 4)))
      (local.set $y (i32.add (local.get $y) (i32.const 4)))
      (br_if $tail (i32.ne (local.get $y) (local.get $end))))))
