;; numbers.wat - tests/test_wasm.c: numbers both ways, every trap kind,
;; limits, exports glint cannot call.  Built with wat2wasm --debug-names so
;; traps name the function.
(module
  (type $v (func))
  (memory (export "memory") 1)
  (global $count (mut i32) (i32.const 0))
  (table 3 funcref)
  (elem (i32.const 0) $div)

  (func (export "add") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.add)
  (func (export "add64") (param i64 i64) (result i64)
    local.get 0 local.get 1 i64.add)
  (func (export "mulf") (param f32 f32) (result f32)
    local.get 0 local.get 1 f32.mul)
  (func (export "divd") (param f64 f64) (result f64)
    local.get 0 local.get 1 f64.div)
  (func (export "nothing"))
  (func (export "count") (result i32)
    global.get $count i32.const 1 i32.add global.set $count global.get $count)
  (func (export "many") (param i32 i64 f32 f64 i32 i64 f32 f64) (result f64)
    local.get 0 f64.convert_i32_s local.get 1 f64.convert_i64_s f64.add
    local.get 2 f64.promote_f32 f64.add local.get 3 f64.add
    local.get 4 f64.convert_i32_s f64.add local.get 5 f64.convert_i64_s f64.add
    local.get 6 f64.promote_f32 f64.add local.get 7 f64.add)

  ;; Not callable by glint.
  (func (export "pair") (param i32) (result i32 i32) local.get 0 local.get 0)
  (func (export "takes_ref") (param externref) (result i32) i32.const 0)
  (func (export "add-one") (param i32) (result i32) local.get 0 i32.const 1 i32.add)

  ;; Traps.
  (func $div (export "div") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.div_s)
  (func (export "unreachable") unreachable)
  (func (export "convert") (param f64) (result i32) local.get 0 i32.trunc_f64_s)
  (func (export "load") (param i32) (result i32) local.get 0 i32.load)
  (func (export "call_wrong_type") (call_indirect (type $v) (i32.const 0)))
  (func (export "call_null") (call_indirect (type $v) (i32.const 1)))
  (func (export "call_oob") (call_indirect (type $v) (i32.const 7)))
  (func $recurse (export "recurse") (param i32) (result i32)
    local.get 0 i32.const 1 i32.add call $recurse)

  ;; Limits.
  (func (export "spin") (loop br 0))
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
  (func (export "pages") (result i32) memory.size)
)
