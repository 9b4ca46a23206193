;; N-gram counting over integer token rows (TfIdfVectorizer).

;; $x_tfidf: for each of $rows rows of $c tokens (dtype $t: int32 or int64, read as i64), count the
;; n-grams of a constant pool and weight the counts into y [rows, out_size] float32.
;;   $desc (int32 table): [min_gram, max_gram, max_skip, out_size, mode (1 TF, 2 IDF, 3 TFIDF),
;;   has_weights, G, then G triples (size k, offset of its k items in $grams, output column)]. The
;;   pool holds each distinct n-gram once (compile time keeps the last of duplicates, as onnx's
;;   trie does). $grams: byte offset of the pool's int64 items; $weights: out_size float32 (read
;;   only when has_weights).
;;   Counting follows onnx's reference and onnxruntime: for each skip distance d = 1 ..
;;   max_skip + 1 and each start s, the n-gram x[s], x[s + d], ..., x[s + (k - 1) d] of every size
;;   k >= start (start = min_gram, but 2 after the first distance when min_gram is 1, so unigrams
;;   count once) that fits in the row adds 1 to its column when it is in the pool; a start whose
;;   smallest n-gram does not fit ends the distance. Weighting: TF the count; IDF weight (or 1)
;;   where the count is nonzero, else 0; TFIDF weight * count (or the count).
;;   $x, $grams, $weights, $y: byte offsets; $y is written whole.
(func $x_tfidf (param $t i32) (param $rows i32) (param $c i32) (param $x i32) (param $grams i32) (param $desc i32)
               (param $weights i32) (param $y i32)
  (local $min i32) (local $max i32) (local $skip i32) (local $out i32) (local $mode i32) (local $has_w i32)
  (local $count i32) (local $size i32) (local $row i32) (local $d i32) (local $s i32) (local $start i32)
  (local $g i32) (local $k i32) (local $off i32) (local $j i32) (local $entry i32) (local $hit i32)
  (local $yrow i32) (local $i i32) (local $f f32) (local $w f32)
  (local.set $min (i32.load (local.get $desc)))
  (local.set $max (i32.load offset=4 (local.get $desc)))
  (local.set $skip (i32.load offset=8 (local.get $desc)))
  (local.set $out (i32.load offset=12 (local.get $desc)))
  (local.set $mode (i32.load offset=16 (local.get $desc)))
  (local.set $has_w (i32.load offset=20 (local.get $desc)))
  (local.set $count (i32.load offset=24 (local.get $desc)))
  (local.set $size (select (i32.const 8) (i32.const 4) (i32.eq (local.get $t) (i32.const 10))))
  (local.set $row (i32.const 0))
  (block $rows_done
    (br_if $rows_done (i32.le_s (local.get $rows) (i32.const 0)))
    (loop $rows_loop
      (local.set $yrow (i32.add (local.get $y) (i32.shl (i32.mul (local.get $row) (local.get $out)) (i32.const 2))))
      (memory.fill (local.get $yrow) (i32.const 0) (i32.shl (local.get $out) (i32.const 2)))
      ;; counts
      (local.set $start (local.get $min))
      (local.set $d (i32.const 1))
      (block $distances_done
        (br_if $distances_done (i32.or (i32.eqz (local.get $count)) (i32.le_s (local.get $c) (i32.const 0))))
        (loop $distances
          (local.set $s (i32.const 0))
          (block $starts_done
            (loop $starts
              (br_if $starts_done (i32.ge_s (i32.add (local.get $s) (i32.mul (local.get $d) (i32.sub (local.get $start) (i32.const 1))))
                                            (local.get $c)))
              (local.set $g (i32.const 0))
              (loop $grams_loop
                (local.set $entry (i32.add (i32.add (local.get $desc) (i32.const 28)) (i32.mul (local.get $g) (i32.const 12))))
                (local.set $k (i32.load (local.get $entry)))
                (if (i32.and (i32.ge_s (local.get $k) (local.get $start))
                             (i32.lt_s (i32.add (local.get $s) (i32.mul (local.get $d) (i32.sub (local.get $k) (i32.const 1))))
                                       (local.get $c)))
                  (then
                    (local.set $off (i32.add (local.get $grams) (i32.shl (i32.load offset=4 (local.get $entry)) (i32.const 3))))
                    (local.set $hit (i32.const 1))
                    (local.set $j (i32.const 0))
                    (block $compared
                      (loop $compare
                        (if (i64.ne (call $x_load_i64
                                          (i32.add (i32.add (local.get $x) (i32.mul (i32.mul (local.get $row) (local.get $c)) (local.get $size)))
                                                   (i32.mul (i32.add (local.get $s) (i32.mul (local.get $j) (local.get $d))) (local.get $size)))
                                          (local.get $t))
                                    (i64.load (i32.add (local.get $off) (i32.shl (local.get $j) (i32.const 3)))))
                          (then (local.set $hit (i32.const 0)) (br $compared)))
                        (local.set $j (i32.add (local.get $j) (i32.const 1)))
                        (br_if $compare (i32.lt_s (local.get $j) (local.get $k)))))
                    (if (local.get $hit)
                      (then
                        (local.set $i (i32.add (local.get $yrow) (i32.shl (i32.load offset=8 (local.get $entry)) (i32.const 2))))
                        (f32.store (local.get $i) (f32.add (f32.load (local.get $i)) (f32.const 1)))))))
                (local.set $g (i32.add (local.get $g) (i32.const 1)))
                (br_if $grams_loop (i32.lt_s (local.get $g) (local.get $count))))
              (local.set $s (i32.add (local.get $s) (i32.const 1)))
              (br $starts)))
          (if (i32.eq (local.get $start) (i32.const 1))
            (then
              (local.set $start (i32.const 2))
              (br_if $distances_done (i32.gt_s (local.get $start) (local.get $max)))))
          (local.set $d (i32.add (local.get $d) (i32.const 1)))
          (br_if $distances (i32.le_s (local.get $d) (i32.add (local.get $skip) (i32.const 1))))))
      ;; weighting
      (if (i32.ne (local.get $mode) (i32.const 1))
        (then
          (local.set $i (i32.const 0))
          (block $weighted
            (br_if $weighted (i32.le_s (local.get $out) (i32.const 0)))
            (loop $weigh
              (local.set $f (f32.load (i32.add (local.get $yrow) (i32.shl (local.get $i) (i32.const 2)))))
              (local.set $w (if (result f32) (local.get $has_w)
                              (then (f32.load (i32.add (local.get $weights) (i32.shl (local.get $i) (i32.const 2)))))
                              (else (f32.const 1))))
              (f32.store (i32.add (local.get $yrow) (i32.shl (local.get $i) (i32.const 2)))
                         (if (result f32) (i32.eq (local.get $mode) (i32.const 2))
                           (then (if (result f32) (f32.gt (local.get $f) (f32.const 0))
                                   (then (local.get $w)) (else (f32.const 0))))
                           (else (if (result f32) (local.get $has_w)
                                   (then (f32.mul (local.get $w) (local.get $f))) (else (local.get $f))))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $weigh (i32.lt_s (local.get $i) (local.get $out)))))))
      (local.set $row (i32.add (local.get $row) (i32.const 1)))
      (br_if $rows_loop (i32.lt_s (local.get $row) (local.get $rows))))))
