// run_node.mjs - times the benchmark's kernels (bench/wasm/kernels.c, the
// same kernels.wasm glint runs) in Node's V8, for scripts/bench-wasm.sh.
//
//   node [--liftoff-only] bench/wasm/run_node.mjs KERNELS.wasm NAME:N:REPS:WARM:TYPE ...
//
// Instantiates the module once; for each kernel, calls it WARM times
// (thrown away: they include compiling, and with default tiering V8
// recompiles a hot function with TurboFan in the background and uses that
// code from a later call), then REPS timed calls.  Prints one line per
// kernel, tab-separated:
//
//   NAME  N  P50_SECONDS  MIN_SECONDS  CHECKSUM
//
// TYPE is the export's result, i32 or f64.  CHECKSUM is an i32 result as a
// signed decimal, an f64 result as its bits in hex (0x%016x), as
// glint_runner prints them (and bench-wasm.sh those of wasm-interp).
import { readFileSync } from 'node:fs';

const [file, ...specs] = process.argv.slice(2);
if (!file || specs.length === 0) {
    console.error('usage: node [--liftoff-only] run_node.mjs KERNELS.wasm NAME:N:REPS:WARM:TYPE ...');
    process.exit(2);
}
const { instance } = await WebAssembly.instantiate(readFileSync(file), {});
const f64bits = new DataView(new ArrayBuffer(8));

for (const spec of specs) {
    const [name, ns, reps, warm, type] = spec.split(':');
    const fn = instance.exports[name];
    if (typeof fn !== 'function') {
        console.error(`run_node: no export ${name}`);
        process.exit(1);
    }
    const n = Number(ns);
    let r;
    for (let i = 0; i < Number(warm); i++) r = fn(n);
    const t = [];
    for (let i = 0; i < Number(reps); i++) {
        const t0 = process.hrtime.bigint();
        r = fn(n);
        t.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    t.sort((a, b) => a - b);
    let sum;
    if (type === 'f64') {
        f64bits.setFloat64(0, r);
        sum = '0x' + f64bits.getBigUint64(0).toString(16).padStart(16, '0');
    } else {
        sum = String(r | 0);
    }
    const p50 = t[Math.ceil(t.length / 2) - 1];
    console.log([name, n, p50.toPrecision(6), t[0].toPrecision(6), sum].join('\t'));
}
