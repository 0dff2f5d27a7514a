;; strings.wat - tests/test_wasm.c: the string/bytes convention
;; (docs/wasm.md): exported memory, glint_alloc/glint_free, glint.sig.
;; Lines starting ";;@sig " become the module's "glint.sig" section
;; (Makefile: scripts/wasm-custom-section.sh).
;;@sig greet(string) -> string
;;@sig reverse(bytes) -> bytes
;;@sig length(string) -> uint32
;;@sig is_even(uint32) -> bool
;;@sig join(string, bytes, int32) -> string
;;@sig bad_utf8() -> string
;;@sig bad_ptr() -> bytes
(module
  (memory (export "memory") 1)
  (global $top (mut i32) (i32.const 1024))
  (global $frees (mut i32) (i32.const 0))
  (data (i32.const 16) "Hello, ")
  (data (i32.const 32) "\ff\fe")

  ;; A bump allocator that grows memory as needed.
  (func $alloc (export "glint_alloc") (param $n i32) (result i32)
    (local $p i32)
    global.get $top local.set $p
    global.get $top local.get $n i32.add i32.const 7 i32.add i32.const -8 i32.and global.set $top
    (block $ok
      (loop $more
        global.get $top memory.size i32.const 16 i32.shl i32.le_u br_if $ok
        i32.const 1 memory.grow i32.const -1 i32.eq
        if unreachable end
        br $more))
    local.get $p)
  (func (export "glint_free") (param i32 i32)
    global.get $frees i32.const 1 i32.add global.set $frees)
  (func (export "frees") (result i32) global.get $frees)

  (func $pack (param $p i32) (param $n i32) (result i64)
    local.get $p i64.extend_i32_u i64.const 32 i64.shl local.get $n i64.extend_i32_u i64.or)

  ;; "Hello, " + name + "!"
  (func (export "greet") (param $p i32) (param $n i32) (result i64)
    (local $out i32)
    local.get $n i32.const 8 i32.add call $alloc local.set $out
    local.get $out i32.const 16 i32.const 7 memory.copy
    local.get $out i32.const 7 i32.add local.get $p local.get $n memory.copy
    local.get $out i32.const 7 i32.add local.get $n i32.add i32.const 33 i32.store8
    local.get $out local.get $n i32.const 8 i32.add call $pack)

  ;; The bytes reversed, in a new buffer.
  (func (export "reverse") (param $p i32) (param $n i32) (result i64)
    (local $out i32) (local $i i32)
    local.get $n call $alloc local.set $out
    (block $done
      (loop $next
        local.get $i local.get $n i32.ge_u br_if $done
        local.get $out local.get $i i32.add
        local.get $p local.get $n i32.add local.get $i i32.sub i32.const 1 i32.sub i32.load8_u
        i32.store8
        local.get $i i32.const 1 i32.add local.set $i
        br $next))
    local.get $out local.get $n call $pack)

  (func (export "length") (param i32 i32) (result i32) local.get 1)
  (func (export "is_even") (param i32) (result i32)
    local.get 0 i32.const 1 i32.and i32.eqz)

  ;; string + bytes, repeated `times` times.
  (func (export "join") (param $s i32) (param $sn i32) (param $b i32) (param $bn i32) (param $times i32)
        (result i64)
    (local $out i32) (local $at i32) (local $k i32)
    local.get $sn local.get $bn i32.add local.get $times i32.mul call $alloc local.set $out
    local.get $out local.set $at
    (block $done
      (loop $next
        local.get $k local.get $times i32.ge_s br_if $done
        local.get $at local.get $s local.get $sn memory.copy
        local.get $at local.get $sn i32.add local.set $at
        local.get $at local.get $b local.get $bn memory.copy
        local.get $at local.get $bn i32.add local.set $at
        local.get $k i32.const 1 i32.add local.set $k
        br $next))
    local.get $out local.get $at local.get $out i32.sub call $pack)

  (func (export "bad_utf8") (result i64) i32.const 32 i32.const 2 call $pack)
  (func (export "bad_ptr") (result i64) i32.const 65000 i32.const 1000 call $pack)
)
