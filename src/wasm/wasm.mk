# wasm.mk - glint's WebAssembly engine (src/wasm): guest objects, the spec
# conformance runner and a small benchmark.  Included by the main Makefile,
# or used on its own next to it:
#
#   make -f Makefile -f src/wasm/wasm.mk wasm-spec     spec suite (non-SIMD)
#   make -f Makefile -f src/wasm/wasm.mk wasm-guest    engine objects built with the guest flags
#   make -f Makefile -f src/wasm/wasm.mk wasm-bench    interpreter vs native on three kernels
#   make -f Makefile -f src/wasm/wasm.mk wasm-fuzz     mutation robustness run under ASan/UBSan

WASM_C := $(sort $(wildcard src/wasm/*.c))
WASM_H := $(wildcard src/wasm/*.h)
WASM_B := $(B)/wasm
WASM_GUEST_OBJ := $(patsubst src/wasm/%.c,$(WASM_B)/obj/guest/%.o,$(WASM_C))
WASM_HOST_OBJ := $(patsubst src/wasm/%.c,$(WASM_B)/obj/host/%.o,$(WASM_C))

$(WASM_B)/obj/guest/%.o: src/wasm/%.c $(WASM_H)
	@mkdir -p $(dir $@)
	$(GUEST_GCC) $(GUEST_CFLAGS) -c -o $@ $<

$(WASM_B)/obj/host/%.o: src/wasm/%.c $(WASM_H)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu17 $(HOST_CFLAGS) $(WARN) -c -o $@ $<

$(WASM_B)/libglint-wasm-guest.a: $(WASM_GUEST_OBJ)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(WASM_B)/spec_runner: tests/wasm/spec_runner.c $(WASM_HOST_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu17 $(HOST_CFLAGS) $(WARN) -o $@ $< $(WASM_HOST_OBJ) -ljansson

$(WASM_B)/bench: tests/wasm/bench/bench.c tests/wasm/bench/kernels.wat $(WASM_HOST_OBJ)
	@mkdir -p $(dir $@)
	wat2wasm tests/wasm/bench/kernels.wat -o $(WASM_B)/kernels.wasm
	$(CC) -std=gnu17 $(HOST_CFLAGS) $(WARN) -o $@ $< $(WASM_HOST_OBJ)

$(WASM_B)/fuzz: tests/wasm/fuzz_mutate.c tests/wasm/noop_imports.h $(WASM_C) $(WASM_H)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu17 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -o $@ $< $(WASM_C)

wasm-guest: $(WASM_B)/libglint-wasm-guest.a

wasm-spec:
	BUILD=$(BUILD) CC=$(CC) scripts/wasm-spec.sh

wasm-bench: $(WASM_B)/bench
	$(WASM_B)/bench $(WASM_B)/kernels.wasm

wasm-fuzz: $(WASM_B)/fuzz  # run wasm-spec first: it converts the modules used as seeds
	$(WASM_B)/fuzz 50000 1 $$(ls $(WASM_B)/spec/*/*.wasm | head -800)

.PHONY: wasm-guest wasm-spec wasm-bench wasm-fuzz
