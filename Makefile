# glint - build everything with `make`, run the tests with `make test`.
#
#   make                 host library (static + shared), guest library, glint-cc,
#                        CLI, examples, test guests
#   make run-hello       build and run the hello example
#   make test            all tests (installs Criterion first if missing)
#   make bench           glint-bench, full run;  make bench-quick for a smoke run
#   make install         PREFIX (default /usr/local) and DESTDIR; make uninstall
#                        removes what it installed (see "Install" in README.md)
#
# BUILD=dir puts every output in another folder (default: build).

BUILD    ?= build
PREFIX   ?= /usr/local
CC       ?= cc
GUEST_GCC ?= gcc
AR       ?= ar

B := $(abspath $(BUILD))
SRC := $(abspath .)

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wmissing-prototypes \
        -Wstrict-prototypes -Wvla -Wpointer-arith -Wundef
HOST_CFLAGS ?= -O2 -g
HOST_LDFLAGS ?=
HOST_CPPFLAGS := -D_GNU_SOURCE -Iinclude -Isrc/host
ALL_HOST_CFLAGS := -std=c17 $(HOST_CFLAGS) $(WARN) -fPIC -fvisibility=hidden $(HOST_CPPFLAGS)

# ---------------------------------------------------------------------------
# Host library
LIB_C   := $(sort $(wildcard src/host/*.c))
LIB_S   := $(sort $(wildcard src/host/*.S))
LIB_OBJ := $(patsubst src/host/%.c,$(B)/obj/host/%.o,$(LIB_C)) \
           $(patsubst src/host/%.S,$(B)/obj/host/%.o,$(LIB_S))
# WebAssembly (docs/wasm.md): the engine's decoder/validator (src/wasm) and
# the wasm image builder (src/host/wasm) in one object whose global symbols
# are renamed glint__wasm_* (below), so that libglint.a cannot clash with a
# program's own wasm_* symbols (the wasm C API uses the same names).
LIB_OBJ += $(B)/obj/host/wasm_engine.o
LIBGLINT_A  := $(B)/lib/libglint.a
# The shared library: libglint.so.VERSION with soname libglint.so.0 (the
# major version, which stays 0 until 1.0), its links libglint.so.0 and
# libglint.so beside it, and exactly the symbols of src/host/libglint.map.
VERSION := $(shell sed -n 's/^\#define GLINT_VERSION_STRING "\(.*\)"/\1/p' include/glint/glint.h)
SONAME  := libglint.so.0
LIBGLINT_MAP := src/host/libglint.map
LIBGLINT_SO_REAL := $(B)/lib/libglint.so.$(VERSION)
LIBGLINT_SO := $(B)/lib/libglint.so

# ---------------------------------------------------------------------------
# Guest library
GUEST_INC := $(shell $(GUEST_GCC) -print-file-name=include)
GUEST_CFLAGS := -std=gnu17 -O2 -g -ffreestanding -fno-pic -fno-pie -nostdinc \
        -isystem src/guest/include -isystem $(GUEST_INC) -Iinclude \
        -fno-asynchronous-unwind-tables -fno-unwind-tables -fcf-protection=none \
        -fno-tree-loop-distribute-patterns -fno-omit-frame-pointer \
        -fstack-protector-strong -fstack-clash-protection \
        -ffunction-sections -fdata-sections $(WARN)
GLIB_C   := $(sort $(wildcard src/guest/*.c))
GLIB_S   := $(sort $(wildcard src/guest/*.S))
GLIB_OBJ := $(patsubst src/guest/%.c,$(B)/obj/guest/%.o,$(GLIB_C)) \
            $(patsubst src/guest/%.S,$(B)/obj/guest/%.o,$(GLIB_S))
LIBGUEST := $(B)/lib/libglint-guest.a
GUEST_LD := $(B)/lib/glint.ld
GLINT_CC := $(B)/bin/glint-cc
GUEST_DEPS := $(LIBGUEST) $(GUEST_LD) $(GLINT_CC) $(wildcard include/glint/*.h src/guest/include/*.h)

# ---------------------------------------------------------------------------
# CLI, examples, test guests, tests
CLI_C    := $(sort $(wildcard src/cli/*.c))
GLINTD_C := $(sort $(wildcard src/glintd/*.c))
GLINTD   := $(B)/bin/glintd
GLINT    := $(B)/bin/glint
TEST_GUESTS := $(patsubst tests/guests/%.c,$(B)/guests/%.elf,$(sort $(wildcard tests/guests/*.c)))
EXAMPLES := $(B)/examples/hello/hello $(B)/examples/hello/hello-guest.elf \
            $(B)/examples/types/types-guest.elf $(B)/examples/http/http-guest.elf \
            $(B)/examples/serve/serve $(B)/examples/serve/serve-guest.elf
TEST_C   := $(sort $(wildcard tests/test_*.c))
TEST_BIN := $(B)/tests/glint-tests
# WebAssembly test modules, written in WAT (tests/wasm/*.wat, wabt's wat2wasm),
# and the C example built with clang --target=wasm32 when that toolchain is
# here (tests/test_wasm.c skips its tests visibly otherwise).
WASM_TEST_MODULES := $(patsubst tests/wasm/%.wat,$(B)/wasm/%.wasm,$(sort $(wildcard tests/wasm/*.wat)))
WASM_CLANG ?= clang
WASM_C_EXAMPLES := $(shell $(WASM_CLANG) --target=wasm32 -print-targets >/dev/null 2>&1 && \
                     command -v wasm-ld >/dev/null 2>&1 && echo $(B)/examples/wasm/c/hello.wasm)
# ... and against wasi-libc when Debian's wasi-libc and libclang-rt-14-dev-wasm32 are.
WASM_WASI_EXAMPLES := $(shell [ -n "$(WASM_C_EXAMPLES)" ] && [ -f /usr/lib/wasm32-wasi/libc.a ] && \
                     ls /usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a >/dev/null 2>&1 && \
                     echo $(B)/examples/wasm/wasi/hello.wasm)
# C++ with libc++ (Debian's libc++-14-dev-wasm32 over wasi-libc).
WASM_CXX_EXAMPLES := $(shell [ -n "$(WASM_WASI_EXAMPLES)" ] && [ -f /usr/lib/wasm32-wasi/libc++.a ] && \
                     [ -f /usr/lib/wasm32-wasi/libc++abi.a ] && echo $(B)/examples/wasm/cpp/hello.wasm)
# Rust: Debian's rustc with its wasm32 standard library (libstd-rust-dev-wasm32);
# not rustup's, which has no wasm32 target here.
WASM_RUSTC ?= /usr/bin/rustc
WASM_RUST_EXAMPLES := $(shell [ -x $(WASM_RUSTC) ] && \
                     ls "$$($(WASM_RUSTC) --print target-libdir --target wasm32-unknown-unknown 2>/dev/null)"/libstd-*.rlib \
                     >/dev/null 2>&1 && echo $(B)/examples/wasm/rust/hello.wasm)
# AssemblyScript from npm (scripts/wasm-as-example.sh; a .skip file says why not).
WASM_AS_EXAMPLES := $(B)/examples/wasm/assemblyscript/hello.wasm
WASM_TEST_MODULES += $(WASM_C_EXAMPLES) $(WASM_WASI_EXAMPLES) $(WASM_CXX_EXAMPLES) $(WASM_RUST_EXAMPLES) \
                     $(WASM_AS_EXAMPLES)

.PHONY: wasm-modules deps-wabt
.PHONY: all lib guest cli daemon deps-build run-glintd examples guests test test-asan fuzz soak valgrind run-hello bench bench-quick install uninstall clean deps
# The WebAssembly test modules need wabt's wat2wasm: part of `all` where it is
# installed; the test binary needs them anyway (scripts/deps.sh test installs wabt).
all: lib guest cli daemon examples guests $(if $(shell command -v wat2wasm 2>/dev/null),wasm-modules)

lib: $(LIBGLINT_A) $(LIBGLINT_SO)
guest: $(LIBGUEST) $(GUEST_LD) $(GLINT_CC)
cli: $(GLINT)
daemon: $(GLINTD)
examples: $(EXAMPLES)
guests: $(TEST_GUESTS)
wasm-modules: $(WASM_TEST_MODULES)

$(B)/obj/host/%.o: src/host/%.c $(wildcard include/glint/*.h src/host/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_HOST_CFLAGS) -c -o $@ $<

$(B)/obj/host/%.o: src/host/%.S
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CPPFLAGS) -c -o $@ $<

# The process backend's stub: a static, freestanding program linked at a
# fixed address (src/stub/stub.ld), embedded into libglint by stub_blob.S.
STUB := $(B)/obj/stub/glint-stub
STUB_CFLAGS := -std=gnu17 -O2 -g0 -ffreestanding -fpie -nostdlib -static -no-pie \
        -fno-stack-protector -fcf-protection=none -mgeneral-regs-only -mno-red-zone \
        -fno-asynchronous-unwind-tables -fno-unwind-tables $(WARN) -Wno-missing-prototypes -Isrc/host
$(STUB): src/stub/stub.c src/stub/stub.ld src/host/proc_abi.h
	@mkdir -p $(dir $@)
	$(GUEST_GCC) $(STUB_CFLAGS) -T src/stub/stub.ld -Wl,--build-id=none -o $@.tmp src/stub/stub.c
	@nm $@.tmp | grep -q "^0000000000013000 T gate_setup$$" || \
	    { echo "$@: gate_setup is not at PROC_GATE_SETUP (src/host/proc_abi.h)"; rm -f $@.tmp; exit 1; }
	@mv $@.tmp $@

$(B)/obj/host/stub_blob.o: src/host/stub_blob.S $(STUB)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CPPFLAGS) -DGLINT_STUB_PATH='"$(STUB)"' -c -o $@ $<

# The WebAssembly runtime guest (src/wasm/runtime): the engine compiled with
# the guest flags, linked by glint-cc, embedded into libglint by wasm_blob.S.
WASM_ENGINE_C := $(sort $(wildcard src/wasm/*.c))
WASM_ENGINE_H := $(wildcard src/wasm/*.h src/wasm/runtime/*.h)
WASM_RT_OBJ := $(patsubst src/wasm/%.c,$(B)/obj/wasm-guest/%.o,$(WASM_ENGINE_C))
WASM_RUNTIME := $(B)/lib/glint/wasm-runtime.elf
$(B)/obj/wasm-guest/%.o: src/wasm/%.c $(WASM_ENGINE_H)
	@mkdir -p $(dir $@)
	$(GUEST_GCC) $(GUEST_CFLAGS) -c -o $@ $<

$(WASM_RUNTIME): src/wasm/runtime/runtime.c src/host/utf8.h $(WASM_RT_OBJ) $(WASM_ENGINE_H) $(GUEST_DEPS)
	@mkdir -p $(dir $@)
	$(GLINT_CC) -O2 -s -o $@ src/wasm/runtime/runtime.c $(WASM_RT_OBJ)

$(B)/obj/host/wasm_blob.o: src/host/wasm_blob.S $(WASM_RUNTIME)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CPPFLAGS) -DGLINT_WASM_RUNTIME_PATH='"$(WASM_RUNTIME)"' -c -o $@ $<

WASM_HOST_OBJ := $(patsubst src/wasm/%.c,$(B)/obj/wasm-host/%.o,$(WASM_ENGINE_C)) \
                 $(B)/obj/wasm-host/wasm_image.o
$(B)/obj/wasm-host/%.o: src/wasm/%.c $(WASM_ENGINE_H)
	@mkdir -p $(dir $@)
	$(CC) $(subst -std=c17,-std=gnu17,$(ALL_HOST_CFLAGS)) -c -o $@ $<

$(B)/obj/wasm-host/wasm_image.o: src/host/wasm/wasm_image.c $(WASM_ENGINE_H) $(wildcard include/glint/*.h src/host/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_HOST_CFLAGS) -c -o $@ $<

$(B)/obj/host/wasm_engine.o: $(WASM_HOST_OBJ)
	@mkdir -p $(dir $@)
	$(LD) -r -o $@.tmp $^
	nm -g --defined-only $@.tmp | awk '$$3 !~ /^glint_/ { print $$3, "glint__wasm_" $$3 }' > $@.syms
	objcopy --redefine-syms=$@.syms $@.tmp $@
	rm -f $@.tmp $@.syms

$(LIBGLINT_A): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(LIBGLINT_SO_REAL): $(LIB_OBJ) $(LIBGLINT_MAP)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=$(LIBGLINT_MAP) $(HOST_LDFLAGS) \
	    -o $@ $(LIB_OBJ) -lpthread

$(LIBGLINT_SO): $(LIBGLINT_SO_REAL)
	ln -sf $(notdir $<) $(dir $@)$(SONAME)
	ln -sf $(SONAME) $@

$(B)/obj/guest/%.o: src/guest/%.c $(wildcard include/glint/*.h src/guest/*.h src/guest/include/*.h)
	@mkdir -p $(dir $@)
	$(GUEST_GCC) $(GUEST_CFLAGS) -c -o $@ $<

$(B)/obj/guest/%.o: src/guest/%.S $(wildcard include/glint/*.h src/guest/*.h)
	@mkdir -p $(dir $@)
	$(GUEST_GCC) -Iinclude -c -o $@ $<

$(LIBGUEST): $(GLIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(GUEST_LD): src/guest/glint.ld
	@mkdir -p $(dir $@)
	cp $< $@

# glint-cc in the build tree points at the source headers and the build libs.
$(GLINT_CC): src/guest/glint-cc.in
	@mkdir -p $(dir $@)
	sed -e 's|@GUEST_GCC@|$(GUEST_GCC)|g' -e 's|@INCLUDE@|$(SRC)/include|g' \
	    -e 's|@LIBC_INCLUDE@|$(SRC)/src/guest/include|g' -e 's|@LIBDIR@|$(B)/lib|g' $< > $@
	chmod +x $@

$(B)/guests/%.elf: tests/guests/%.c $(GUEST_DEPS) $(wildcard tests/guests/*.h)
	@mkdir -p $(dir $@)
	$(GLINT_CC) -O2 -o $@ $<

# The debugger tests' guest: -O0 -g, so that gdb can step it and print locals.
$(B)/guests/gdb_guest.elf: tests/guests/gdb_guest.c $(GUEST_DEPS)
	@mkdir -p $(dir $@)
	$(GLINT_CC) -O0 -g -o $@ $<

$(B)/examples/hello/hello-guest.elf: examples/hello/guest.c $(GUEST_DEPS)
	@mkdir -p $(dir $@)
	$(GLINT_CC) -O2 -o $@ $<

$(B)/examples/http/http-guest.elf: examples/http/guest.c $(GUEST_DEPS)
	@mkdir -p $(dir $@)
	$(GLINT_CC) -O2 -o $@ $<

$(B)/examples/serve/serve-guest.elf: examples/serve/guest.c $(GUEST_DEPS)
	@mkdir -p $(dir $@)
	$(GLINT_CC) -O2 -o $@ $<

$(B)/examples/serve/serve: examples/serve/serve.c $(LIBGLINT_A) include/glint/glint.h
	@mkdir -p $(dir $@)
	$(CC) -std=c17 $(HOST_CFLAGS) $(WARN) -Iinclude -o $@ $< $(LIBGLINT_A) $(HOST_LDFLAGS) -lpthread

$(B)/examples/types/types-guest.elf: examples/types/guest.c $(GUEST_DEPS)
	@mkdir -p $(dir $@)
	$(GLINT_CC) -O2 -o $@ $<

$(B)/examples/hello/hello: examples/hello/host.c $(LIBGLINT_A) include/glint/glint.h
	@mkdir -p $(dir $@)
	$(CC) -std=c17 $(HOST_CFLAGS) $(WARN) -Iinclude -o $@ $< $(LIBGLINT_A) $(HOST_LDFLAGS) -lpthread

$(GLINT): $(CLI_C) $(wildcard src/cli/*.h) $(LIBGLINT_A)
	@mkdir -p $(dir $@)
	$(CC) -std=c17 $(HOST_CFLAGS) $(WARN) -D_GNU_SOURCE -Iinclude -o $@ $(CLI_C) $(LIBGLINT_A) $(HOST_LDFLAGS) -lpthread

# Serves examples/http/glintd.yaml in the foreground (Ctrl-C stops it).
run-glintd: $(GLINTD) $(EXAMPLES)
	$(GLINTD) examples/http/glintd.yaml

run-hello: $(B)/examples/hello/hello $(B)/examples/hello/hello-guest.elf
	cd $(B)/examples/hello && ./hello ./hello-guest.elf World

# glintd, the HTTP gateway (docs/glintd.md): libmicrohttpd, libyaml, jansson.
$(GLINTD): $(GLINTD_C) $(wildcard src/glintd/*.h) src/host/utf8.h $(LIBGLINT_A) include/glint/glint.h include/glint/http.h | deps-build
	@mkdir -p $(dir $@)
	$(CC) -std=gnu17 $(HOST_CFLAGS) $(WARN) -D_GNU_SOURCE -Iinclude -o $@ $(GLINTD_C) $(LIBGLINT_A) \
	    $(HOST_LDFLAGS) -lmicrohttpd -lyaml -ljansson -lpthread -lm

deps-build:
	@scripts/deps.sh build

# ---------------------------------------------------------------------------
# Tests: one Criterion binary.  scripts/deps.sh installs what is missing.
deps:
	@scripts/deps.sh test

deps-wabt:
	@command -v wat2wasm >/dev/null 2>&1 || scripts/deps.sh test

# Lines ";;@sig DECL" of a .wat become its "glint.sig" section (docs/wasm.md).
$(B)/wasm/%.wasm: tests/wasm/%.wat scripts/wasm-custom-section.sh | deps-wabt
	@mkdir -p $(dir $@)
	wat2wasm --debug-names -o $@.tmp $<
	sed -n 's/^;;@sig //p' $< > $@.sig
	if [ -s $@.sig ]; then scripts/wasm-custom-section.sh $@.tmp glint.sig $@.sig; fi
	rm -f $@.sig && mv $@.tmp $@

# clang --target=wasm32 without a libc: the example brings its own allocator.
$(B)/examples/wasm/c/hello.wasm: examples/wasm/c/hello.c include/glint/wasm-guest.h
	@mkdir -p $(dir $@)
	$(WASM_CLANG) --target=wasm32 -O2 -nostdlib -Iinclude -Wl,--no-entry -Wl,--export-dynamic \
	    -o $@ $<

$(B)/examples/wasm/wasi/hello.wasm: examples/wasm/wasi/hello.c include/glint/wasm-guest.h
	@mkdir -p $(dir $@)
	$(WASM_CLANG) --target=wasm32-wasi --sysroot=/usr -O2 -mexec-model=reactor -Iinclude -o $@ $<

$(B)/examples/wasm/cpp/hello.wasm: examples/wasm/cpp/hello.cpp include/glint/wasm-guest.h
	@mkdir -p $(dir $@)
	$(WASM_CLANG)++ --target=wasm32-wasi --sysroot=/usr -O2 -mexec-model=reactor -fno-exceptions \
	    -Wl,--strip-debug -Iinclude -o $@ $<

$(B)/examples/wasm/rust/hello.wasm: examples/wasm/rust/hello.rs
	@mkdir -p $(dir $@)
	$(WASM_RUSTC) --target wasm32-unknown-unknown --crate-type cdylib -O -C debuginfo=0 \
	    -C link-arg=--strip-debug -o $@ $<

$(B)/examples/wasm/assemblyscript/hello.wasm: examples/wasm/assemblyscript/hello.ts \
        examples/wasm/assemblyscript/glint.sig scripts/wasm-as-example.sh scripts/wasm-custom-section.sh
	@mkdir -p $(dir $@)
	scripts/wasm-as-example.sh $@ $< examples/wasm/assemblyscript/glint.sig

$(TEST_BIN): $(TEST_C) $(wildcard tests/*.h tests/guests/*.h) $(LIBGLINT_A) $(WASM_TEST_MODULES) | deps
	@mkdir -p $(dir $@)
	$(CC) -std=gnu17 $(HOST_CFLAGS) $(WARN) -Wno-missing-prototypes -D_GNU_SOURCE -Iinclude -Isrc/host \
	    -DGLINT_BUILD_DIR='"$(B)"' -DGLINT_SOURCE_DIR='"$(SRC)"' \
	    -o $@ $(TEST_C) $(LIBGLINT_A) $(HOST_LDFLAGS) -lcriterion -ljansson -lpthread

test: all $(TEST_BIN)
	scripts/test-backends.sh $(TEST_BIN) $(GLINT) -j2
	scripts/test-deploy.sh
	scripts/wasm-spec.sh
	for b in process kvm; do GLINT_BACKEND=$$b BUILD=$(B) scripts/test-python.sh || exit 1; done
	$(MAKE) --no-print-directory test-asan
	BUILD=$(B) scripts/test-install.sh

# The whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer
# (host code only: guests are freestanding), in its own build folder.
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
test-asan:
	$(MAKE) --no-print-directory BUILD=$(BUILD)-asan HOST_CFLAGS="$(ASAN_FLAGS)" \
	    HOST_LDFLAGS="-fsanitize=address,undefined" all $(B)-asan/tests/glint-tests
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	    LSAN_OPTIONS=suppressions=$(SRC)/tests/lsan.supp:print_suppressions=0 \
	    GLINT_UNDER_ASAN=1 $(B)-asan/tests/glint-tests -j2

# Opt-in long runs (issue 5): fuzzing and soak.  scripts/fuzz.sh and
# tests/soak/ own them; FUZZ_SECONDS bounds each fuzz target.
FUZZ_SECONDS ?= 60
fuzz: all
	BUILD=$(B) scripts/fuzz.sh $(FUZZ_SECONDS)

soak: all
	scripts/soak.sh long

valgrind: all
	BUILD=$(B) scripts/valgrind.sh

# ---------------------------------------------------------------------------
# Benchmark (issue 3).  bench/ owns its sources; scripts/bench-deps.sh installs peers.
BENCH_C := $(sort $(wildcard bench/*.c))
BENCH   := $(B)/bench/glint-bench
# The jailed-process floors' stub (bench/jailer.h): static, no libc.
JAIL_STUB := $(B)/bench/jail-stub
JAIL_STUB_CFLAGS := -std=gnu17 -O2 -g0 -ffreestanding -nostdlib -static -no-pie -fno-pie \
        -fno-stack-protector -fcf-protection=none -mgeneral-regs-only -mno-red-zone \
        -fno-asynchronous-unwind-tables -fno-unwind-tables -fno-tree-loop-distribute-patterns \
        $(WARN) -Wno-missing-prototypes
$(JAIL_STUB): bench/guests/jail-stub.c bench/jailer.h
	@mkdir -p $(dir $@)
	$(GUEST_GCC) $(JAIL_STUB_CFLAGS) -Wl,--build-id=none -o $@ $<

$(BENCH): $(BENCH_C) $(wildcard bench/*.h) $(LIBGLINT_A) $(JAIL_STUB)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu17 $(HOST_CFLAGS) $(WARN) -Wno-missing-prototypes -D_GNU_SOURCE -Iinclude -Isrc/host \
	    -DGLINT_BUILD_DIR='"$(B)"' -DGLINT_SOURCE_DIR='"$(SRC)"' -o $@ $(BENCH_C) $(LIBGLINT_A) -lpthread -lm

bench: all $(GLINTD) $(BENCH)
	@scripts/bench-deps.sh
	$(BENCH) --json bench/results.json --markdown $(B)/bench/results.md
	scripts/bench-gateway.sh --json bench/gateway.json
	scripts/bench-wasm.sh --json bench/wasm.json

bench-quick: all $(GLINTD) $(BENCH)
	$(BENCH) --quick --json $(B)/bench/results-quick.json
	scripts/bench-gateway.sh --quick --json $(B)/bench/gateway-quick.json
	scripts/bench-wasm.sh --quick --json $(B)/bench/wasm-quick.json

clean:
	rm -rf $(BUILD)

# ---------------------------------------------------------------------------
# Install (issue 12): scripts/install.sh does the work and writes a manifest,
# $(DATADIR)/glint/install-manifest.txt, of every file, link and directory it
# created; uninstall removes exactly those (directories only when empty).
#   make install [PREFIX=/usr/local] [DESTDIR=/staging] [BINDIR= LIBDIR= ...]
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DATADIR    ?= $(PREFIX)/share
MANDIR     ?= $(DATADIR)/man
DOCDIR     ?= $(DATADIR)/doc/glint
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
INSTALL_VARS = DESTDIR='$(DESTDIR)' PREFIX='$(PREFIX)' BINDIR='$(BINDIR)' LIBDIR='$(LIBDIR)' \
    INCLUDEDIR='$(INCLUDEDIR)' DATADIR='$(DATADIR)' MANDIR='$(MANDIR)' DOCDIR='$(DOCDIR)' \
    PKGCONFIGDIR='$(PKGCONFIGDIR)' VERSION='$(VERSION)' SONAME='$(SONAME)' GUEST_GCC='$(GUEST_GCC)' \
    BUILD='$(B)'

install: all
	@$(INSTALL_VARS) scripts/install.sh install

uninstall:
	@$(INSTALL_VARS) scripts/install.sh uninstall
