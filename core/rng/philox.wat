;; Philox4x32-10 blocks in WebAssembly (Salmon et al., SC'11; Random123's philox4x32 with
;; 10 rounds). JavaScript has no 32x32 -> 64-bit multiply, so core/rng/philox.ts computes each
;; product's high word from doubles; WebAssembly's i64.mul gives both words in one instruction.
;; The block function is the same: philox-wasm.ts checks this module against the JavaScript one
;; at load and falls back to it on any difference. Compiled by infra/build-wasm.ts into
;; core/rng/philox-wasm-bytes.ts (a test recompiles it and compares).
(module
  (memory (export "memory") 4)
  ;; Writes `blocks` consecutive blocks, counters (counterLo, counterHi) + 0, 1, 2, ... in words
  ;; 0-1 (carrying into word 1), words 2-3 = (stream0, stream1), key (key0, key1), as four
  ;; little-endian uint32 words each from byte 0 of memory.
  (func (export "fill")
    (param $key0 i32) (param $key1 i32) (param $stream0 i32) (param $stream1 i32)
    (param $counterLo i32) (param $counterHi i32) (param $blocks i32)
    (local $counter i64) (local $at i32) (local $end i32) (local $round i32)
    (local $c0 i32) (local $c1 i32) (local $c2 i32) (local $c3 i32)
    (local $k0 i32) (local $k1 i32) (local $p0 i64) (local $p1 i64)
    (local.set $counter
      (i64.or
        (i64.extend_i32_u (local.get $counterLo))
        (i64.shl (i64.extend_i32_u (local.get $counterHi)) (i64.const 32))))
    (local.set $end (i32.shl (local.get $blocks) (i32.const 4)))
    (block $done
      (loop $nextBlock
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $c0 (i32.wrap_i64 (local.get $counter)))
        (local.set $c1 (i32.wrap_i64 (i64.shr_u (local.get $counter) (i64.const 32))))
        (local.set $c2 (local.get $stream0))
        (local.set $c3 (local.get $stream1))
        (local.set $k0 (local.get $key0))
        (local.set $k1 (local.get $key1))
        (local.set $round (i32.const 10))
        (loop $nextRound
          ;; M0 * c0 and M1 * c2, exact in 64 bits.
          (local.set $p0 (i64.mul (i64.extend_i32_u (local.get $c0)) (i64.const 0xD2511F53)))
          (local.set $p1 (i64.mul (i64.extend_i32_u (local.get $c2)) (i64.const 0xCD9E8D57)))
          (local.set $c0
            (i32.xor (i32.xor (i32.wrap_i64 (i64.shr_u (local.get $p1) (i64.const 32))) (local.get $c1))
              (local.get $k0)))
          (local.set $c1 (i32.wrap_i64 (local.get $p1)))
          (local.set $c2
            (i32.xor (i32.xor (i32.wrap_i64 (i64.shr_u (local.get $p0) (i64.const 32))) (local.get $c3))
              (local.get $k1)))
          (local.set $c3 (i32.wrap_i64 (local.get $p0)))
          ;; The key schedule (Weyl constants; the bump after the last round is unused).
          (local.set $k0 (i32.add (local.get $k0) (i32.const 0x9E3779B9)))
          (local.set $k1 (i32.add (local.get $k1) (i32.const 0xBB67AE85)))
          (local.set $round (i32.sub (local.get $round) (i32.const 1)))
          (br_if $nextRound (local.get $round)))
        (i32.store offset=0 (local.get $at) (local.get $c0))
        (i32.store offset=4 (local.get $at) (local.get $c1))
        (i32.store offset=8 (local.get $at) (local.get $c2))
        (i32.store offset=12 (local.get $at) (local.get $c3))
        (local.set $counter (i64.add (local.get $counter) (i64.const 1)))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $nextBlock)))))
