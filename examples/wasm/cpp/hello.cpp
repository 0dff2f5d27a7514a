/*
 * hello.cpp - a WebAssembly module for glint in C++ with the standard
 * library: Debian's libc++ for wasm32 (libc++-14-dev-wasm32) over
 * wasi-libc, as a reactor (docs/wasm.md).
 *
 *   clang++ --target=wasm32-wasi --sysroot=/usr -O2 -mexec-model=reactor \
 *           -fno-exceptions -Iinclude -o hello-cpp.wasm examples/wasm/cpp/hello.cpp
 *   glint call hello-cpp.wasm greet World                 ->  Hello, World!
 *   glint call hello-cpp.wasm sort_words "pear fig apple"  ->  apple fig pear
 *   glint call hello-cpp.wasm count 3 4                    ->  7
 */
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include <glint/wasm-guest.h>

/* Strings and bytes come in through glint_alloc and go back to glint_free
 * (the convention in glint/wasm-guest.h); malloc is libc's here. */
extern "C" GLINT_EXPORT(glint_alloc) void *glint_alloc(uint32_t size)
{
    return std::malloc(size ? size : 1);
}

extern "C" GLINT_EXPORT(glint_free) void glint_free(void *p, uint32_t)
{
    std::free(p);
}

/* A string result: a copy in memory that glint_free releases. */
static uint64_t give(const std::string &s)
{
    char *p = static_cast<char *>(glint_alloc(static_cast<uint32_t>(s.size())));
    std::memcpy(p, s.data(), s.size());
    return glint_result(p, s.size());
}

GLINT_SIG("greet(string) -> string");
extern "C" GLINT_EXPORT(greet) uint64_t greet(const char *name, uint32_t len)
{
    return give("Hello, " + std::string(name, len) + "!");
}

GLINT_SIG("sort_words(string) -> string");
extern "C" GLINT_EXPORT(sort_words) uint64_t sort_words(const char *text, uint32_t len)
{
    std::istringstream in(std::string(text, len));
    std::vector<std::string> words;
    for (std::string w; in >> w;)
        words.push_back(w);
    std::sort(words.begin(), words.end());
    std::string out;
    for (const auto &w : words)
        out += (out.empty() ? "" : " ") + w;
    return give(out);
}

extern "C" GLINT_EXPORT(count) int count(int a, int b)
{
    std::vector<int> v(static_cast<size_t>(a > 0 ? a : 0), 1);
    v.resize(v.size() + static_cast<size_t>(b > 0 ? b : 0), 1);
    return static_cast<int>(v.size());
}
