;; int16 weight expansion, used by init() for weights shipped as int16 with a per-column scale
;; (the int16 precision: weight-only quantization, float compute). It rebuilds the f32 GEMM panels
;; of edgewasm.backend.packing.pack_f32_gemm: panel p holds 8 columns; its first row is their bias,
;; then one row per k of  f32(q) * scale[column]  (an exact convert, one f32 multiply: what
;; onnxruntime's Cast(to float) -> Mul gives in the variant's reference.onnx).

;; $qs16_f32_gemm_expand: write `panels` f32 panels of (k + 1) x 8 values at $dst.
;;   $panels  ceil(n / 8);  $k: rows of weights per panel (>= 0)
;;   $q       byte offset of panels * k * 8 int16 (the panels' weight rows, same order)
;;   $scale   byte offset of panels * 8 f32 column scales;  $bias: panels * 8 f32 biases
;;   $dst     byte offset of panels * (k + 1) * 8 f32; must not overlap the sources
(func $qs16_f32_gemm_expand (param $panels i32) (param $k i32) (param $q i32) (param $scale i32) (param $bias i32)
  (param $dst i32)
  (local $rows i32) (local $s0 v128) (local $s1 v128) (local $v v128)
  (if (i32.le_s (local.get $panels) (i32.const 0)) (then (return)))
  (loop $panel
    (v128.store (local.get $dst) (v128.load (local.get $bias)))
    (v128.store offset=16 (local.get $dst) (v128.load offset=16 (local.get $bias)))
    (local.set $s0 (v128.load (local.get $scale)))
    (local.set $s1 (v128.load offset=16 (local.get $scale)))
    (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
    (local.set $rows (local.get $k))
    (block $rows_done
      (br_if $rows_done (i32.le_s (local.get $rows) (i32.const 0)))
      (loop $row
        (local.set $v (v128.load (local.get $q)))
        (v128.store (local.get $dst)
          (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $v))) (local.get $s0)))
        (v128.store offset=16 (local.get $dst)
          (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $v))) (local.get $s1)))
        (local.set $q (i32.add (local.get $q) (i32.const 16)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
        (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
        (br_if $row (local.get $rows))))
    (local.set $scale (i32.add (local.get $scale) (i32.const 32)))
    (local.set $bias (i32.add (local.get $bias) (i32.const 32)))
    (local.set $panels (i32.sub (local.get $panels) (i32.const 1)))
    (br_if $panel (local.get $panels))))
