// node-peer.js - the language-isolate peers of glint-bench, in one Node.js process.
//
//   node node-peer.js ITERATIONS WARMUP
//
// Measures, ITERATIONS times each after WARMUP untimed runs:
//   vm_context     vm.createContext() + runInContext() of the add function
//   wasm_instance  new WebAssembly.Instance() of a precompiled tiny add
//                  module + one call of its export
// and prints one JSON object per line and figure:
//   {"name":"vm_context","p50_us":…,"p90_us":…,"p99_us":…,"n":…}
'use strict';
const vm = require('vm');

const iterations = Math.max(1, parseInt(process.argv[2] || '1000', 10));
const warmup = Math.max(0, parseInt(process.argv[3] || '100', 10));

// (module (func (export "add") (param i32 i32) (result i32)
//   local.get 0 local.get 1 i32.add))
const wasmBytes = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,             // magic, version
  0x01, 0x07, 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f,       // type: (i32 i32) -> i32
  0x03, 0x02, 0x01, 0x00,                                     // func 0 has type 0
  0x07, 0x07, 0x01, 0x03, 0x61, 0x64, 0x64, 0x00, 0x00,       // export "add" = func 0
  0x0a, 0x09, 0x01, 0x07, 0x00, 0x20, 0x00, 0x20, 0x01, 0x6a, 0x0b, // body
]);
const wasmModule = new WebAssembly.Module(wasmBytes);
const script = new vm.Script('(a + b) | 0');

function vmContext(a, b) {
  const ctx = vm.createContext({ a, b });
  return script.runInContext(ctx);
}

function wasmInstance(a, b) {
  const inst = new WebAssembly.Instance(wasmModule, {});
  return inst.exports.add(a, b);
}

function measure(name, fn) {
  const ns = new Float64Array(iterations);
  for (let i = 0; i < warmup; i++) fn(i, 4);
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint();
    const r = fn(i, 4);
    const t1 = process.hrtime.bigint();
    if (r !== ((i + 4) | 0)) throw new Error(`${name}: wrong result ${r}`);
    ns[i] = Number(t1 - t0);
  }
  ns.sort();
  const pct = (q) => ns[Math.max(1, Math.ceil(q * iterations)) - 1] / 1000;
  console.log(JSON.stringify({
    name, p50_us: pct(0.5), p90_us: pct(0.9), p99_us: pct(0.99), n: iterations,
  }));
}

measure('vm_context', vmContext);
measure('wasm_instance', wasmInstance);
