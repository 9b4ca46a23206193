;; A hand-written edgewasm model: y = x . w + bias, for x of 4 features (bring your own wasm).
;;
;; The module follows the edgewasm ABI: no imports; exports `memory` and `run() -> i32`
;; (0 = ok). Its small manifest, linear_regression.json, tells a host where the input and the
;; output live in linear memory. The weights are in a data segment and the bias in a global, so
;; this module needs no weight chunks. Load it with `edgewasm.load("examples/linear_regression.wat")`.
(module
  (memory (export "memory") 1 1)

  ;; w = [2.0, -1.0, 0.5, 3.0] as little-endian float32 at byte offset 48.
  (data (i32.const 48) "\00\00\00\40\00\00\80\bf\00\00\00\3f\00\00\40\40")

  (global $bias f32 (f32.const 0.25))

  (func (export "run") (result i32)
    (local $p v128)
    ;; x is 4 floats at offset 16; multiply lane-wise by w at 48.
    (local.set $p (f32x4.mul (v128.load (i32.const 16)) (v128.load (i32.const 48))))
    ;; y at offset 32 = ((p0 + p1) + (p2 + p3)) + bias
    (f32.store (i32.const 32)
      (f32.add
        (f32.add
          (f32.add (f32x4.extract_lane 0 (local.get $p)) (f32x4.extract_lane 1 (local.get $p)))
          (f32.add (f32x4.extract_lane 2 (local.get $p)) (f32x4.extract_lane 3 (local.get $p))))
        (global.get $bias)))
    (i32.const 0)))
