// hello.ts - a WebAssembly module for glint in AssemblyScript (npm
// assemblyscript), built with its stub runtime (no garbage collector: a
// sandbox restored after each call frees everything; docs/wasm.md).
//
//   asc examples/wasm/assemblyscript/hello.ts -O3 --runtime stub -o hello-as.wasm
//   scripts/wasm-custom-section.sh hello-as.wasm glint.sig examples/wasm/assemblyscript/glint.sig
//   glint call hello-as.wasm greet World   ->  Hello, World!
//   glint call hello-as.wasm shout hey     ->  HEY!
//   glint call hello-as.wasm add 2 3       ->  5
//
// AssemblyScript cannot emit a custom section from source, so the
// "glint.sig" declarations live in glint.sig next to this file and are
// appended after the build.

// Strings come in through glint_alloc and go back to glint_free
// (glint/wasm-guest.h).
export function glint_alloc(size: u32): usize {
  return heap.alloc(<usize>max<u32>(size, 1));
}

export function glint_free(ptr: usize, size: u32): void {
  heap.free(ptr);
}

function arg(ptr: usize, len: u32): string {
  return String.UTF8.decodeUnsafe(ptr, <usize>len);
}

// A string result: pointer << 32 | length, in memory from glint_alloc.
function give(s: string): u64 {
  const buf = String.UTF8.encode(s);
  const n = <u32>buf.byteLength;
  const p = glint_alloc(n);
  memory.copy(p, changetype<usize>(buf), <usize>n);
  return (<u64>p << 32) | <u64>n;
}

export function greet(ptr: usize, len: u32): u64 {
  return give("Hello, " + arg(ptr, len) + "!");
}

export function shout(ptr: usize, len: u32): u64 {
  return give(arg(ptr, len).toUpperCase() + "!");
}

export function add(a: i32, b: i32): i32 {
  return a + b;
}
