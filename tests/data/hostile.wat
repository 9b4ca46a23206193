;; A misbehaving model for the runtime-bounds tests: input x[0] picks what `run` does.
;;   0: y = x + 1 (behaves)   1: traps (unreachable)   2: overflows the stack   3: never returns
(module
  (memory (export "memory") 1 1)
  (func $deep (param $n i32) (result i32)
    (if (result i32) (local.get $n)
      (then (i32.add (i32.const 1) (call $deep (i32.sub (local.get $n) (i32.const 1)))))
      (else (i32.const 0))))
  (func (export "run") (result i32)
    (local $mode f32)
    (local.set $mode (f32.load (i32.const 16)))
    (if (f32.gt (local.get $mode) (f32.const 2.5)) (then (loop $spin (br $spin))))
    (if (f32.gt (local.get $mode) (f32.const 1.5)) (then (drop (call $deep (i32.const 100000000)))))
    (if (f32.gt (local.get $mode) (f32.const 0.5)) (then unreachable))
    (f32.store (i32.const 32) (f32.add (local.get $mode) (f32.const 1)))
    (i32.const 0)))
