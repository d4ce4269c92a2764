;; The two inner loops of filters.ts's separable filter in WebAssembly SIMD: each f64x2 lane is
;; one output, and each lane computes acc = acc + weight * value tap by tap in the same order as
;; the JavaScript loops (a multiply, then an add, both rounded to double), so every output is the
;; same double. Eight outputs per step, in four f64x2 accumulators. Arrays are f64 (rowStart i32)
;; at byte offsets into this module's memory, which filters.ts grows and fills. Compiled by
;; infra/build-wasm.ts into correlate-wasm-bytes.ts (a test recompiles it and compares).
(module
  (memory (export "memory") 1)

  ;; out[i] = sum over k < taps of kernel[k] * line[i + k], for i < length.
  (func (export "correlateLine")
    (param $line i32) (param $kernel i32) (param $taps i32) (param $length i32) (param $out i32)
    (local $i i32) (local $k i32) (local $at i32) (local $weight v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $acc f64)
    (block $wideDone
      (loop $wide
        (br_if $wideDone (i32.gt_s (i32.add (local.get $i) (i32.const 8)) (local.get $length)))
        (local.set $a0 (v128.const f64x2 0 0))
        (local.set $a1 (v128.const f64x2 0 0))
        (local.set $a2 (v128.const f64x2 0 0))
        (local.set $a3 (v128.const f64x2 0 0))
        (local.set $at (i32.add (local.get $line) (i32.shl (local.get $i) (i32.const 3))))
        (local.set $k (i32.const 0))
        (loop $tap
          (local.set $weight
            (f64x2.splat (f64.load (i32.add (local.get $kernel) (i32.shl (local.get $k) (i32.const 3))))))
          (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (local.get $weight) (v128.load offset=0 (local.get $at)))))
          (local.set $a1 (f64x2.add (local.get $a1) (f64x2.mul (local.get $weight) (v128.load offset=16 (local.get $at)))))
          (local.set $a2 (f64x2.add (local.get $a2) (f64x2.mul (local.get $weight) (v128.load offset=32 (local.get $at)))))
          (local.set $a3 (f64x2.add (local.get $a3) (f64x2.mul (local.get $weight) (v128.load offset=48 (local.get $at)))))
          (local.set $at (i32.add (local.get $at) (i32.const 8)))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (br_if $tap (i32.lt_s (local.get $k) (local.get $taps))))
        (local.set $at (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 3))))
        (v128.store offset=0 (local.get $at) (local.get $a0))
        (v128.store offset=16 (local.get $at) (local.get $a1))
        (v128.store offset=32 (local.get $at) (local.get $a2))
        (v128.store offset=48 (local.get $at) (local.get $a3))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $wide)))
    ;; The last outputs one at a time.
    (block $done
      (loop $single
        (br_if $done (i32.ge_s (local.get $i) (local.get $length)))
        (local.set $acc (f64.const 0))
        (local.set $k (i32.const 0))
        (loop $tap1
          (local.set $acc
            (f64.add (local.get $acc)
              (f64.mul
                (f64.load (i32.add (local.get $kernel) (i32.shl (local.get $k) (i32.const 3))))
                (f64.load (i32.add (local.get $line)
                  (i32.shl (i32.add (local.get $i) (local.get $k)) (i32.const 3)))))))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (br_if $tap1 (i32.lt_s (local.get $k) (local.get $taps))))
        (f64.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 3))) (local.get $acc))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $single))))

  ;; out[y][x] = sum over k < taps of kernel[k] * temp[rowStart[y + k] + x], rows of `width`.
  (func (export "correlateColumns")
    (param $temp i32) (param $rowStart i32) (param $kernel i32) (param $taps i32)
    (param $height i32) (param $width i32) (param $out i32)
    (local $y i32) (local $x i32) (local $k i32) (local $at i32) (local $weight v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $acc f64)
    (block $rowsDone
      (loop $row
        (br_if $rowsDone (i32.ge_s (local.get $y) (local.get $height)))
        (local.set $x (i32.const 0))
        (block $wideDone
          (loop $wide
            (br_if $wideDone (i32.gt_s (i32.add (local.get $x) (i32.const 8)) (local.get $width)))
            (local.set $a0 (v128.const f64x2 0 0))
            (local.set $a1 (v128.const f64x2 0 0))
            (local.set $a2 (v128.const f64x2 0 0))
            (local.set $a3 (v128.const f64x2 0 0))
            (local.set $k (i32.const 0))
            (loop $tap
              (local.set $weight
                (f64x2.splat (f64.load (i32.add (local.get $kernel) (i32.shl (local.get $k) (i32.const 3))))))
              ;; temp + (rowStart[y + k] + x) * 8
              (local.set $at
                (i32.add (local.get $temp)
                  (i32.shl
                    (i32.add
                      (i32.load (i32.add (local.get $rowStart)
                        (i32.shl (i32.add (local.get $y) (local.get $k)) (i32.const 2))))
                      (local.get $x))
                    (i32.const 3))))
              (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (local.get $weight) (v128.load offset=0 (local.get $at)))))
              (local.set $a1 (f64x2.add (local.get $a1) (f64x2.mul (local.get $weight) (v128.load offset=16 (local.get $at)))))
              (local.set $a2 (f64x2.add (local.get $a2) (f64x2.mul (local.get $weight) (v128.load offset=32 (local.get $at)))))
              (local.set $a3 (f64x2.add (local.get $a3) (f64x2.mul (local.get $weight) (v128.load offset=48 (local.get $at)))))
              (local.set $k (i32.add (local.get $k) (i32.const 1)))
              (br_if $tap (i32.lt_s (local.get $k) (local.get $taps))))
            (local.set $at
              (i32.add (local.get $out)
                (i32.shl (i32.add (i32.mul (local.get $y) (local.get $width)) (local.get $x)) (i32.const 3))))
            (v128.store offset=0 (local.get $at) (local.get $a0))
            (v128.store offset=16 (local.get $at) (local.get $a1))
            (v128.store offset=32 (local.get $at) (local.get $a2))
            (v128.store offset=48 (local.get $at) (local.get $a3))
            (local.set $x (i32.add (local.get $x) (i32.const 8)))
            (br $wide)))
        (block $done
          (loop $single
            (br_if $done (i32.ge_s (local.get $x) (local.get $width)))
            (local.set $acc (f64.const 0))
            (local.set $k (i32.const 0))
            (loop $tap1
              (local.set $acc
                (f64.add (local.get $acc)
                  (f64.mul
                    (f64.load (i32.add (local.get $kernel) (i32.shl (local.get $k) (i32.const 3))))
                    (f64.load
                      (i32.add (local.get $temp)
                        (i32.shl
                          (i32.add
                            (i32.load (i32.add (local.get $rowStart)
                              (i32.shl (i32.add (local.get $y) (local.get $k)) (i32.const 2))))
                            (local.get $x))
                          (i32.const 3)))))))
              (local.set $k (i32.add (local.get $k) (i32.const 1)))
              (br_if $tap1 (i32.lt_s (local.get $k) (local.get $taps))))
            (f64.store
              (i32.add (local.get $out)
                (i32.shl (i32.add (i32.mul (local.get $y) (local.get $width)) (local.get $x)) (i32.const 3)))
              (local.get $acc))
            (local.set $x (i32.add (local.get $x) (i32.const 1)))
            (br $single)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $row))))
)
