;; host_imports.wat - a module that imports host functions (module "glint",
;; docs/wasm.md): numbers both ways and a string parameter
;; (tests/test_wasm.c, wasm_imports).
(module
  (import "glint" "add_host" (func $add (param i32 i32) (result i32)))
  (import "glint" "mul64" (func $mul (param i64 i64) (result i64)))
  (import "glint" "half" (func $half (param f64) (result f64)))
  (import "glint" "note" (func $note (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "hello from wasm")
  (func (export "sum") (param i32 i32) (result i32) (call $add (local.get 0) (local.get 1)))
  (func (export "prod") (param i64 i64) (result i64) (call $mul (local.get 0) (local.get 1)))
  (func (export "halve") (param f64) (result f64) (call $half (local.get 0)))
  (func (export "hello") (call $note (i32.const 100) (i32.const 15)))
  (func (export "bad_string") (call $note (i32.const 65530) (i32.const 100))))
