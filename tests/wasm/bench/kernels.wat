(module
  (memory (export "mem") 16)
  ;; recursive fibonacci: calls
  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                     (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
  ;; sieve of Eratosthenes over n bytes, repeated r times: memory + loops
  (func (export "sieve") (param $n i32) (param $r i32) (result i32)
    (local $i i32) (local $j i32) (local $c i32)
    (loop $rep
      (memory.fill (i32.const 0) (i32.const 1) (local.get $n))
      (local.set $c (i32.const 0))
      (local.set $i (i32.const 2))
      (block $done
        (loop $outer
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (if (i32.load8_u (local.get $i))
            (then
              (local.set $c (i32.add (local.get $c) (i32.const 1)))
              (local.set $j (i32.mul (local.get $i) (local.get $i)))
              (block $jd
                (loop $inner
                  (br_if $jd (i32.ge_u (local.get $j) (local.get $n)))
                  (i32.store8 (local.get $j) (i32.const 0))
                  (local.set $j (i32.add (local.get $j) (local.get $i)))
                  (br $inner)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $outer)))
      (local.set $r (i32.sub (local.get $r) (i32.const 1)))
      (br_if $rep (local.get $r)))
    (local.get $c))
  ;; n x n f64 matrix multiply, A at 0, B at 8n^2, C at 16n^2
  (func (export "matmul") (param $n i32) (result f64)
    (local $i i32) (local $j i32) (local $k i32) (local $s f64) (local $nn i32)
    (local.set $nn (i32.mul (local.get $n) (local.get $n)))
    (local.set $i (i32.const 0))
    (loop $li
      (f64.store (i32.shl (local.get $i) (i32.const 3)) (f64.convert_i32_s (local.get $i)))
      (f64.store (i32.shl (i32.add (local.get $i) (local.get $nn)) (i32.const 3)) (f64.const 0.5))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $li (i32.lt_u (local.get $i) (local.get $nn))))
    (local.set $i (i32.const 0))
    (loop $l1
      (local.set $j (i32.const 0))
      (loop $l2
        (local.set $s (f64.const 0))
        (local.set $k (i32.const 0))
        (loop $l3
          (local.set $s (f64.add (local.get $s)
            (f64.mul
              (f64.load (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $k)) (i32.const 3)))
              (f64.load (i32.shl (i32.add (i32.add (i32.mul (local.get $k) (local.get $n)) (local.get $j)) (local.get $nn)) (i32.const 3))))))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (br_if $l3 (i32.lt_u (local.get $k) (local.get $n))))
        (f64.store (i32.shl (i32.add (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j)) (i32.shl (local.get $nn) (i32.const 1))) (i32.const 3)) (local.get $s))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $l2 (i32.lt_u (local.get $j) (local.get $n))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l1 (i32.lt_u (local.get $i) (local.get $n))))
    (f64.load (i32.shl (i32.add (i32.shl (local.get $nn) (i32.const 1)) (i32.const 7)) (i32.const 3))))
)
