;; Indexing with indices computed at run time, in any dtype: Gather, GatherElements, GatherND,
;; ScatterElements and ScatterND (and OneHot, whose indices of any dtype may lie out of range: see
;; $x_onehot). Indices are int32 or int64 (dtype codes 8 and 10 of x_elementwise.wat); a negative
;; index counts from the end of its axis, as ONNX says. Every index
;; is checked before it is used: one outside [-dim, dim) makes the kernel return 1 at once, without
;; reading or writing outside its tensors (the sandbox promise), and codegen makes run() return
;; the status that names the node. 0 means every index was in range.
;; Elements only move (or, for a scatter with a reduction, combine through x_elementwise's
;; arithmetic in their own dtype); moved elements keep their bits.

;; $x_index: helper, the index of dtype $t at $p made non-negative for an axis of $dim, or -1 when
;; it lies outside [-dim, dim).
(func $x_index (param $p i32) (param $t i32) (param $dim i32) (result i32)
  (local $i i64)
  (local.set $i (call $x_load_i64 (local.get $p) (local.get $t)))
  (if (i64.lt_s (local.get $i) (i64.const 0)) (then (local.set $i (i64.add (local.get $i) (i64.extend_i32_u (local.get $dim))))))
  (if (i32.or (i64.lt_s (local.get $i) (i64.const 0)) (i64.ge_s (local.get $i) (i64.extend_i32_u (local.get $dim))))
    (then (return (i32.const -1))))
  (i32.wrap_i64 (local.get $i)))

;; $x_gather: y = np.take(x, indices, axis): x viewed as [outer, dim, block] (block bytes per index),
;;   y as [outer, n, block].
;;   $desc  i32 table [outer, dim, block bytes, n (indices), index dtype code]
;;   $x $indices $y  byte offsets; y must not overlap x or the indices. Returns 0, or 1 for an index
;;   out of range.
(func $x_gather (param $desc i32) (param $x i32) (param $indices i32) (param $y i32) (result i32)
  (local $outer i32) (local $dim i32) (local $block i32) (local $n i32) (local $t i32) (local $tsize i32)
  (local $o i32) (local $j i32) (local $i i32) (local $row i32)
  (local.set $outer (i32.load (local.get $desc)))
  (local.set $dim (i32.load offset=4 (local.get $desc)))
  (local.set $block (i32.load offset=8 (local.get $desc)))
  (local.set $n (i32.load offset=12 (local.get $desc)))
  (local.set $t (i32.load offset=16 (local.get $desc)))
  (local.set $tsize (call $x_dtype_size (local.get $t)))
  ;; check every index first: nothing is written when one is out of range
  (block $checked
    (br_if $checked (i32.le_s (local.get $n) (i32.const 0)))
    (loop $check
      (if (i32.lt_s (call $x_index (i32.add (local.get $indices) (i32.mul (local.get $j) (local.get $tsize)))
                                   (local.get $t) (local.get $dim)) (i32.const 0))
        (then (return (i32.const 1))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br_if $check (i32.lt_s (local.get $j) (local.get $n)))))
  (if (i32.or (i32.le_s (local.get $n) (i32.const 0)) (i32.le_s (local.get $outer) (i32.const 0)))
    (then (return (i32.const 0))))
  (local.set $row (i32.mul (local.get $dim) (local.get $block)))
  (loop $outer_loop
    (local.set $j (i32.const 0))
    (loop $take
      (local.set $i (call $x_index (i32.add (local.get $indices) (i32.mul (local.get $j) (local.get $tsize)))
                                   (local.get $t) (local.get $dim)))
      (memory.copy (local.get $y) (i32.add (local.get $x) (i32.mul (local.get $i) (local.get $block))) (local.get $block))
      (local.set $y (i32.add (local.get $y) (local.get $block)))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br_if $take (i32.lt_s (local.get $j) (local.get $n))))
    (local.set $x (i32.add (local.get $x) (local.get $row)))
    (local.set $o (i32.add (local.get $o) (i32.const 1)))
    (br_if $outer_loop (i32.lt_s (local.get $o) (local.get $outer))))
  (i32.const 0))

;; $x_gather_elements: y[i] = x[i with its axis coordinate replaced by indices[i]] (GatherElements),
;;   walking the indices' shape ($x_scatter_elements, below, is its converse, same descriptor).
;;   $desc  i32 table [rank, element bytes, index dtype code, axis dim, axis byte step of the
;;          indexed tensor, reduction (x_elementwise op code: 0 replace, 20 add, 22 mul, 26 max,
;;          27 min), dtype code of the elements, then per dimension, outer to inner:
;;          count, byte step in the indexed tensor (0 on the axis), byte step in the indices,
;;          byte step in the sequential tensor (y for a gather, updates for a scatter)]
;;   Returns 0, or 1 for an index out of range (y may then hold part of the result; nothing outside
;;   y is written). Descriptors: edgewasm.backend.indexing.elements_descriptor.
(func $x_gather_elements (param $desc i32) (param $x i32) (param $indices i32) (param $y i32) (result i32)
  (call $x_elements (local.get $desc) (i32.add (local.get $desc) (i32.const 28)) (i32.load (local.get $desc))
        (local.get $x) (local.get $indices) (local.get $y) (i32.const 0)))

;; $x_scatter_elements: y[i with its axis coordinate replaced by indices[i]] (op)= updates[i]
;;   (ScatterElements; y holds a copy of the data already), with $x_gather_elements' descriptor.
;;   Returns 0, or 1 for an index out of range (checked for every index before anything is written).
(func $x_scatter_elements (param $desc i32) (param $y i32) (param $indices i32) (param $updates i32) (result i32)
  (if (call $x_elements (local.get $desc) (i32.add (local.get $desc) (i32.const 28)) (i32.load (local.get $desc))
            (local.get $y) (local.get $indices) (local.get $updates) (i32.const 1))
    (then (return (i32.const 1))))
  (call $x_elements (local.get $desc) (i32.add (local.get $desc) (i32.const 28)) (i32.load (local.get $desc))
        (local.get $y) (local.get $indices) (local.get $updates) (i32.const 2)))

;; $x_elements: helper of both, over the $rank dimensions at $dim. $mode 0 gather, 1 check the
;;   indices only, 2 scatter. Returns 1 at the first index out of range.
(func $x_elements (param $desc i32) (param $dim i32) (param $rank i32) (param $t i32) (param $idx i32) (param $s i32)
                  (param $mode i32) (result i32)
  (local $count i32) (local $i i32) (local $k i32) (local $at i32) (local $size i32)
  (local.set $count (i32.load (local.get $dim)))
  (if (i32.le_s (local.get $count) (i32.const 0)) (then (return (i32.const 0))))
  (if (i32.gt_s (local.get $rank) (i32.const 1))
    (then
      (loop $outer
        (if (call $x_elements (local.get $desc) (i32.add (local.get $dim) (i32.const 16)) (i32.sub (local.get $rank) (i32.const 1))
                  (local.get $t) (local.get $idx) (local.get $s) (local.get $mode))
          (then (return (i32.const 1))))
        (local.set $t (i32.add (local.get $t) (i32.load offset=4 (local.get $dim))))
        (local.set $idx (i32.add (local.get $idx) (i32.load offset=8 (local.get $dim))))
        (local.set $s (i32.add (local.get $s) (i32.load offset=12 (local.get $dim))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $outer (i32.lt_s (local.get $i) (local.get $count))))
      (return (i32.const 0))))
  (local.set $size (i32.load offset=4 (local.get $desc)))
  (loop $elements
    (local.set $k (call $x_index (local.get $idx) (i32.load offset=8 (local.get $desc)) (i32.load offset=12 (local.get $desc))))
    (if (i32.lt_s (local.get $k) (i32.const 0)) (then (return (i32.const 1))))
    (local.set $at (i32.add (local.get $t) (i32.mul (local.get $k) (i32.load offset=16 (local.get $desc)))))
    (if (i32.eqz (local.get $mode))
      (then (call $x_store_raw (local.get $s) (local.get $size) (call $x_load_raw (local.get $at) (local.get $size)))))
    (if (i32.eq (local.get $mode) (i32.const 2))
      (then (call $x_combine (local.get $at) (local.get $s) (i32.load offset=24 (local.get $desc))
                  (i32.load offset=20 (local.get $desc)) (local.get $size))))
    (local.set $t (i32.add (local.get $t) (i32.load offset=4 (local.get $dim))))
    (local.set $idx (i32.add (local.get $idx) (i32.load offset=8 (local.get $dim))))
    (local.set $s (i32.add (local.get $s) (i32.load offset=12 (local.get $dim))))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br_if $elements (i32.lt_s (local.get $i) (local.get $count))))
  (i32.const 0))

;; $x_combine: helper, *dst = *src ($op 0) or *dst = *dst op *src for one element of dtype $t
;;   ($size bytes), computed in the dtype's x_elementwise class.
(func $x_combine (param $dst i32) (param $src i32) (param $t i32) (param $op i32) (param $size i32)
  (local $cls i32)
  (if (i32.eqz (local.get $op))
    (then (call $x_store_raw (local.get $dst) (local.get $size) (call $x_load_raw (local.get $src) (local.get $size)))
          (return)))
  (if (i32.le_u (local.get $t) (i32.const 3))
    (then
      (call $x_store_f64 (local.get $dst) (local.get $t)
            (call $x_float_op (local.get $op) (call $x_load_f64 (local.get $dst) (local.get $t))
                  (call $x_load_f64 (local.get $src) (local.get $t)) (f64.const 0)))
      (return)))
  (local.set $cls (i32.eq (local.get $t) (i32.const 11)))
  (call $x_store_i64 (local.get $dst) (local.get $t) (local.get $cls)
        (call $x_int_op (local.get $op) (local.get $cls) (call $x_load_i64 (local.get $dst) (local.get $t))
              (call $x_load_i64 (local.get $src) (local.get $t)) (i64.const 0))))

;; $x_gather_nd: GatherND with batch_dims: x viewed as [batch, ...], the indices as [batch, n, k]
;;   (k coordinates per tuple into the k axes after the batch axes), y as [batch, n, slice].
;;   ($x_scatter_nd, below, is its converse; both read the same descriptor.)
;;   $desc  i32 table [batch, n, k, slice bytes, index dtype code, batch byte step in x/y, reduction
;;          (x_elementwise op code, 0 replace), element dtype code, element bytes, then k pairs
;;          (axis dim, axis byte step)] (edgewasm.backend.indexing.nd_descriptor)
;;   Returns 0, or 1 for an index out of range (checked for every tuple before anything is written).
(func $x_gather_nd (param $desc i32) (param $x i32) (param $indices i32) (param $y i32) (result i32)
  (if (call $x_nd (local.get $desc) (local.get $x) (local.get $indices) (local.get $y) (i32.const 1)) (then (return (i32.const 1))))
  (call $x_nd (local.get $desc) (local.get $x) (local.get $indices) (local.get $y) (i32.const 0)))

;; $x_scatter_nd: ScatterND: y (a copy of the data already) viewed the same way with batch 1;
;;   updates as [n, slice]; y at each tuple (op)= the tuple's updates (later tuples win, as
;;   onnxruntime applies them in order), with $x_gather_nd's descriptor.
;;   Returns 0, or 1 for an index out of range (checked for every tuple before anything is written).
(func $x_scatter_nd (param $desc i32) (param $y i32) (param $indices i32) (param $updates i32) (result i32)
  (if (call $x_nd (local.get $desc) (local.get $y) (local.get $indices) (local.get $updates) (i32.const 1)) (then (return (i32.const 1))))
  (call $x_nd (local.get $desc) (local.get $y) (local.get $indices) (local.get $updates) (i32.const 2)))

;; $x_nd: helper of both: $mode 0 gather ($s = y, written in order), 1 check only, 2 scatter ($s = updates).
(func $x_nd (param $desc i32) (param $t i32) (param $idx i32) (param $s i32) (param $mode i32) (result i32)
  (local $batch i32) (local $n i32) (local $k i32) (local $slice i32) (local $it i32) (local $isize i32)
  (local $b i32) (local $j i32) (local $d i32) (local $at i32) (local $c i32) (local $pair i32)
  (local $size i32) (local $e i32)
  (local.set $batch (i32.load (local.get $desc)))
  (local.set $n (i32.load offset=4 (local.get $desc)))
  (local.set $k (i32.load offset=8 (local.get $desc)))
  (local.set $slice (i32.load offset=12 (local.get $desc)))
  (local.set $it (i32.load offset=16 (local.get $desc)))
  (local.set $size (i32.load offset=32 (local.get $desc)))
  (local.set $isize (call $x_dtype_size (local.get $it)))
  (if (i32.or (i32.le_s (local.get $batch) (i32.const 0)) (i32.le_s (local.get $n) (i32.const 0)))
    (then (return (i32.const 0))))
  (loop $batches
    (local.set $j (i32.const 0))
    (loop $tuples
      (local.set $at (local.get $t))
      (local.set $d (i32.const 0))
      (block $located
        (br_if $located (i32.le_s (local.get $k) (i32.const 0)))
        (loop $coordinates
          (local.set $pair (i32.add (local.get $desc) (i32.add (i32.const 36) (i32.shl (local.get $d) (i32.const 3)))))
          (local.set $c (call $x_index (local.get $idx) (local.get $it) (i32.load (local.get $pair))))
          (if (i32.lt_s (local.get $c) (i32.const 0)) (then (return (i32.const 1))))
          (local.set $at (i32.add (local.get $at) (i32.mul (local.get $c) (i32.load offset=4 (local.get $pair)))))
          (local.set $idx (i32.add (local.get $idx) (local.get $isize)))
          (local.set $d (i32.add (local.get $d) (i32.const 1)))
          (br_if $coordinates (i32.lt_s (local.get $d) (local.get $k)))))
      (if (i32.eqz (local.get $mode)) (then (memory.copy (local.get $s) (local.get $at) (local.get $slice))))
      (if (i32.eq (local.get $mode) (i32.const 2))
        (then
          (if (i32.eqz (i32.load offset=24 (local.get $desc)))
            (then (memory.copy (local.get $at) (local.get $s) (local.get $slice)))
            (else
              (local.set $e (i32.const 0))
              (block $combined
                (br_if $combined (i32.le_s (local.get $slice) (i32.const 0)))
                (loop $combine
                  (call $x_combine (i32.add (local.get $at) (local.get $e)) (i32.add (local.get $s) (local.get $e))
                        (i32.load offset=28 (local.get $desc)) (i32.load offset=24 (local.get $desc)) (local.get $size))
                  (local.set $e (i32.add (local.get $e) (local.get $size)))
                  (br_if $combine (i32.lt_s (local.get $e) (local.get $slice)))))))))
      (local.set $s (i32.add (local.get $s) (local.get $slice)))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br_if $tuples (i32.lt_s (local.get $j) (local.get $n))))
    (local.set $t (i32.add (local.get $t) (i32.load offset=20 (local.get $desc))))
    (local.set $b (i32.add (local.get $b) (i32.const 1)))
    (br_if $batches (i32.lt_s (local.get $b) (local.get $batch))))
  (i32.const 0))

;; $x_onehot: OneHot: y[o, d, i] = values[1] where indices[o, i] == d, else values[0] (the indices
;;   viewed as [outer, inner], split at the output's depth axis; y as [outer, depth, inner]). An
;;   index of any dtype is read as an integer (floats truncated toward zero, as ONNX casts them to
;;   int64); a negative one counts from the end (index + depth); one outside [-depth, depth) (u64
;;   ones above 2^63 included) matches no d and gives a row of values[0], as onnxruntime does.
;;   Nothing is read or written outside the tensors, whatever the indices; there is no status.
;;   $desc  i32 table [outer, depth, inner, index dtype code, element bytes]
;;   $indices $values $y  byte offsets (values: [off, on], two elements); y must not overlap them.
(func $x_onehot (param $desc i32) (param $indices i32) (param $values i32) (param $y i32)
  (local $outer i32) (local $depth i32) (local $inner i32) (local $t i32) (local $size i32) (local $tsize i32)
  (local $off i64) (local $on i64) (local $o i32) (local $d i32) (local $i i32) (local $row i32) (local $k i64)
  (local.set $outer (i32.load (local.get $desc)))
  (local.set $depth (i32.load offset=4 (local.get $desc)))
  (local.set $inner (i32.load offset=8 (local.get $desc)))
  (local.set $t (i32.load offset=12 (local.get $desc)))
  (local.set $size (i32.load offset=16 (local.get $desc)))
  (local.set $tsize (call $x_dtype_size (local.get $t)))
  (if (i32.or (i32.or (i32.le_s (local.get $outer) (i32.const 0)) (i32.le_s (local.get $depth) (i32.const 0)))
              (i32.le_s (local.get $inner) (i32.const 0)))
    (then (return)))
  (local.set $off (call $x_load_raw (local.get $values) (local.get $size)))
  (local.set $on (call $x_load_raw (i32.add (local.get $values) (local.get $size)) (local.get $size)))
  (local.set $row (local.get $indices))
  (loop $outer_loop
    (local.set $d (i32.const 0))
    (loop $depths
      (local.set $i (i32.const 0))
      (loop $inners
        (local.set $k (call $x_load_i64 (i32.add (local.get $row) (i32.mul (local.get $i) (local.get $tsize))) (local.get $t)))
        (if (i64.lt_s (local.get $k) (i64.const 0))
          (then (local.set $k (select (i64.const -1) (i64.add (local.get $k) (i64.extend_i32_u (local.get $depth)))
                                      (i32.eq (local.get $t) (i32.const 11))))))
        (call $x_store_raw (local.get $y) (local.get $size)
              (select (local.get $on) (local.get $off) (i64.eq (local.get $k) (i64.extend_i32_u (local.get $d)))))
        (local.set $y (i32.add (local.get $y) (local.get $size)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $inners (i32.lt_s (local.get $i) (local.get $inner))))
      (local.set $d (i32.add (local.get $d) (i32.const 1)))
      (br_if $depths (i32.lt_s (local.get $d) (local.get $depth))))
    (local.set $row (i32.add (local.get $row) (i32.mul (local.get $inner) (local.get $tsize))))
    (local.set $o (i32.add (local.get $o) (i32.const 1)))
    (br_if $outer_loop (i32.lt_s (local.get $o) (local.get $outer)))))
