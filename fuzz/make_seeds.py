#!/usr/bin/env python3
"""Writes the hand-made seeds of fuzz/corpus/frames and fuzz/corpus/sandbox:
valid (and a few deliberately odd) result, host-call and abort frames, laid
out as include/glint/abi.h says.  Run from the repository root; the other
seeds (guest ELFs, tests/golden/basic.snap) are copies.  fuzz/README.md has
the input formats."""
import os
import struct

VOID, BOOL, I32, U32, I64, U64, F32, F64, STRING, BYTES = range(10)
DONE, HOSTCALL, ABORT, EXCEPTION = 0, 1, 2, 3  # fuzz_frames port selectors
HC_DATA = 24 + 16 * 24  # host-call frame size: data goes after it


def value(typ, length=0, bits=0):
    return struct.pack("<IIQQ", typ, 0, length, bits)


def buf_at(frame, extras):
    """frame bytes, then each (offset, data) placed in the buffer."""
    b = bytearray(frame)
    for off, data in extras:
        if len(b) < off + len(data):
            b.extend(b"\0" * (off + len(data) - len(b)))
        b[off:off + len(data)] = data
    return bytes(b)


def result(status, typ, length=0, bits=0, extras=()):
    return buf_at(struct.pack("<II", status, 0) + value(typ, length, bits), extras)


def hostcall(name, ret, args, data=()):
    """args: list of abi values (bytes); data: (offset, bytes) after the frame."""
    name_off = HC_DATA
    frame = struct.pack("<IIIIQ", len(name), len(args), ret, 0, name_off)
    frame += b"".join(args) + value(0) * (16 - len(args))
    return buf_at(frame, [(name_off, name.encode())] + list(data))


def abort(kind, code, msg):
    return buf_at(struct.pack("<IiQQ", kind, code, len(msg), 64), [(64, msg)])


S = HC_DATA + 64  # where host-call argument data starts
SEEDS = {
    "result_i32": (I32, result(1, I32, bits=42)),
    "result_string": (STRING, result(1, STRING, 5, 64, [(64, b"hello")])),
    "result_bytes": (BYTES, result(1, BYTES, 4, 64, [(64, b"\x00\x01\xfe\xff")])),
    "result_f64": (F64, result(1, F64, bits=struct.unpack("<Q", struct.pack("<d", 1.5))[0])),
    "result_bool": (BOOL, result(1, BOOL, bits=1)),
    "result_error": (I32, result(2, STRING, 4, 64, [(64, b"oops")])),
    "result_none": (VOID, result(0, VOID)),
    "hc_echo": (STRING, hostcall("Echo", STRING, [value(STRING, 2, S)], [(S, b"hi")])),
    "hc_add": (I32, hostcall("Add", I32, [value(I32, 0, 1), value(I32, 0, 2)])),
    "hc_blob": (BYTES, hostcall("Blob", BYTES, [
        value(BYTES, 3, S), value(BOOL, 0, 1), value(U32, 0, 7), value(I64, 0, 2**64 - 1),
        value(U64, 0, 9), value(F32, 0, 0x3fc00000), value(F64, 0, 0), value(STRING, 1, S + 16)],
        [(S, b"abc"), (S + 16, b"z")])),
    "hc_fail": (VOID, hostcall("Fail", VOID, [])),
    "hc_nothing": (VOID, hostcall("Nothing", VOID, [])),
    "hc_print": (VOID, hostcall("print", VOID, [value(STRING, 3, S)], [(S, b"hey")])),
    "hc_unknown": (VOID, hostcall("Nope", VOID, [])),
}
for how in range(5):
    SEEDS["hc_bad%d" % how] = (STRING, hostcall("Bad", STRING, [value(U64, 0, how)]))
ABORTS = {
    "abort_user": abort(0, 7, b"boom"),
    "abort_oom": abort(1, 0, b"heap exhausted"),
    "abort_stack": abort(2, 0, b"smashed"),
}


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


# fuzz_frames: port selector, return type (10: initialization), buffer.
for name, (ret, buf) in SEEDS.items():
    port = HOSTCALL if name.startswith("hc_") else DONE
    write("fuzz/corpus/frames/" + name, bytes([port, ret]) + buf)
write("fuzz/corpus/frames/hc_in_init", bytes([HOSTCALL, 10]) + SEEDS["hc_add"][1])
for name, buf in ABORTS.items():
    write("fuzz/corpus/frames/" + name, bytes([ABORT, VOID]) + buf)
write("fuzz/corpus/frames/exception", bytes([EXCEPTION, VOID]))
write("fuzz/corpus/frames/other_port", bytes([4 + 5 * 20, VOID]))


# fuzz_sandbox: function index (= return type), then records op, len16, payload.
def rec(op, payload=b""):
    return struct.pack("<BH", op, len(payload)) + payload


write("fuzz/corpus/sandbox/empty", bytes([VOID]))
for name, (ret, buf) in SEEDS.items():
    if name.startswith("result_"):
        write("fuzz/corpus/sandbox/" + name, bytes([ret]) + rec(0, buf))
    else:
        # A host call, then a valid result of the function's type.
        done = {STRING: SEEDS["result_string"][1], BYTES: SEEDS["result_bytes"][1],
                I32: SEEDS["result_i32"][1]}.get(ret, SEEDS["result_none"][1])
        write("fuzz/corpus/sandbox/" + name, bytes([ret]) + rec(1, buf) + rec(0, done))
write("fuzz/corpus/sandbox/two_hostcalls", bytes([I32]) + rec(1, SEEDS["hc_add"][1]) +
      rec(1, SEEDS["hc_echo"][1]) + rec(0, SEEDS["result_i32"][1]))
for name, buf in ABORTS.items():
    write("fuzz/corpus/sandbox/" + name, bytes([VOID]) + rec(2, buf))
write("fuzz/corpus/sandbox/port_exception", bytes([VOID]) + rec(0xE3))
write("fuzz/corpus/sandbox/port_other", bytes([VOID]) + rec(0x7F))
write("fuzz/corpus/sandbox/return_plain", bytes([STRING]) + rec(1, SEEDS["hc_nothing"][1]))
