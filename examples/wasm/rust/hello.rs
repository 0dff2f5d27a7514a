//! hello.rs - a WebAssembly module for glint in Rust, built with Debian's
//! rustc and its wasm32 standard library (libstd-rust-dev-wasm32), no
//! cargo (docs/wasm.md).
//!
//!   rustc --target wasm32-unknown-unknown --crate-type cdylib -O \
//!         -o hello-rust.wasm examples/wasm/rust/hello.rs
//!   glint call hello-rust.wasm greet World        ->  Hello, World!
//!   glint call hello-rust.wasm rev_words "a b c"  ->  c b a
//!   glint call hello-rust.wasm fib 50             ->  12586269025

/// The "glint.sig" custom section: which parameters and results are
/// strings (glint/wasm-guest.h).  One declaration per line.
#[link_section = "glint.sig"]
#[used]
pub static GLINT_SIG: [u8; 52] = *b"greet(string) -> string\nrev_words(string) -> string\n";

/// Strings come in through glint_alloc and go back to glint_free with
/// their length.  A Vec<u8> of capacity == length is the allocation.
#[no_mangle]
pub extern "C" fn glint_alloc(size: u32) -> *mut u8 {
    let mut v = Vec::<u8>::with_capacity(size.max(1) as usize);
    let p = v.as_mut_ptr();
    std::mem::forget(v);
    p
}

#[no_mangle]
pub extern "C" fn glint_free(ptr: *mut u8, size: u32) {
    unsafe { drop(Vec::from_raw_parts(ptr, 0, size.max(1) as usize)) }
}

fn arg(ptr: *const u8, len: u32) -> &'static str {
    let bytes = unsafe { std::slice::from_raw_parts(ptr, len as usize) };
    std::str::from_utf8(bytes).unwrap_or("")
}

/// A string result: pointer << 32 | length, in a block glint_free takes back.
fn give(s: String) -> u64 {
    let n = s.len() as u32;
    let p = glint_alloc(n);
    unsafe { std::ptr::copy_nonoverlapping(s.as_ptr(), p, s.len()) };
    (p as u64) << 32 | n as u64
}

#[no_mangle]
pub extern "C" fn greet(ptr: *const u8, len: u32) -> u64 {
    give(format!("Hello, {}!", arg(ptr, len)))
}

#[no_mangle]
pub extern "C" fn rev_words(ptr: *const u8, len: u32) -> u64 {
    let words: Vec<&str> = arg(ptr, len).split_whitespace().rev().collect();
    give(words.join(" "))
}

#[no_mangle]
pub extern "C" fn fib(n: i32) -> i64 {
    let (mut a, mut b) = (0i64, 1i64);
    for _ in 0..n {
        let t = a.wrapping_add(b);
        a = b;
        b = t;
    }
    a
}
