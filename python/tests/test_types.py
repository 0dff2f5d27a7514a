"""Every glint type both ways: guest functions (Echo*) and host functions
(HostEcho* call Host*), with the edges of each type."""

import math
import struct

import glint
import pytest
from conftest import TYPES

F32_MAX = struct.unpack("f", struct.pack("I", 0x7F7FFFFF))[0]

CASES = {
    "Bool": [True, False],
    "I32": [0, 1, -1, 2**31 - 1, -(2**31)],
    "U32": [0, 1, 2**32 - 1],
    "I64": [0, -1, 2**63 - 1, -(2**63)],
    "U64": [0, 2**64 - 1, 2**63],
    "F32": [0.0, -0.0, 1.5, -2.25, F32_MAX, -F32_MAX, float("inf"), float("-inf"),
            struct.unpack("f", struct.pack("I", 1))[0]],
    "F64": [0.0, -0.0, 0.1, 1e308, -1e-308, 5e-324, float("inf"), float("-inf"),
            1.7976931348623157e308],
    "String": ["", "hello", "héllo wörld ✓ 😀", "a\x00b", "x" * 10000],
    "Bytes": [b"", b"\x00\xff" * 3, bytes(range(256)), b"y" * 20000],
}


def same(a, b):
    if isinstance(a, float):
        return type(b) is float and (a == b and math.copysign(1, a) == math.copysign(1, b)
                                     or (math.isnan(a) and math.isnan(b)))
    return type(a) is type(b) and a == b


def echo_host(log):
    """Host<T>(T) -> T functions that log and return their argument."""
    types = {"Bool": "bool", "I32": "int32", "U32": "uint32", "I64": "int64", "U64": "uint64",
             "F32": "float", "F64": "double", "String": "string", "Bytes": "bytes"}
    out = []
    for suffix, t in types.items():
        def fn(x, suffix=suffix):
            log.append((suffix, x))
            return x
        out.append(glint.HostFunction("Host" + suffix, fn, params=[t], returns=t))
    return out


@pytest.fixture
def types_sb(backend):
    log = []
    sb = glint.Sandbox.from_file(TYPES, output_size=2 << 20, host=echo_host(log))

    @sb.host("HostVoid")
    def host_void():
        log.append(("Void", None))

    @sb.host("HostSum16", params=["bool", "int32", "uint32", "int64", "uint64", "float", "double",
                                  "string", "bytes", "bool", "int32", "uint32", "int64", "uint64",
                                  "float", "double"], returns=float)
    def host_sum16(*args):
        log.append(("Sum16", args))
        return weighted(args) + 0.5

    sb.log = log
    yield sb
    sb.close()


def weighted(args):
    total = 0.0
    for k, x in enumerate(args):
        v = len(x) if isinstance(x, (str, bytes)) else float(x)
        if isinstance(x, str):
            v = len(x.encode())
        total += (k + 1) * v
    return total


@pytest.mark.parametrize("suffix", list(CASES))
def test_echo_guest(types_sb, suffix):
    for x in CASES[suffix]:
        got = types_sb.call("Echo" + suffix, x)
        assert same(got, x), (suffix, x, got)


@pytest.mark.parametrize("suffix", list(CASES))
def test_echo_through_host(types_sb, suffix):
    for x in CASES[suffix]:
        types_sb.log.clear()
        got = types_sb.call("HostEcho" + suffix, x)
        assert same(got, x), (suffix, x, got)
        assert len(types_sb.log) == 1 and types_sb.log[0][0] == suffix
        assert same(types_sb.log[0][1], x)


def test_nan(types_sb):
    assert math.isnan(types_sb.call("EchoF64", float("nan")))
    assert math.isnan(types_sb.call("EchoF32", float("nan")))
    assert math.isnan(types_sb.call("HostEchoF64", float("nan")))


def test_f32_rounds(types_sb):
    assert types_sb.call("EchoF32", 0.1) == struct.unpack("f", struct.pack("f", 0.1))[0]
    assert types_sb.call("EchoF32", 3) == 3.0   # an int for a float parameter


def test_buffers_of_every_kind(types_sb):
    data = bytes(range(200))
    for x in (bytearray(data), memoryview(data), memoryview(bytearray(data))[10:50]):
        assert types_sb.call("EchoBytes", x) == bytes(x)
    import array
    a = array.array("I", [1, 2, 3])
    assert types_sb.call("EchoBytes", a) == a.tobytes()


def test_string_details(types_sb):
    s = "nul\x00inside ✓"
    assert types_sb.call("StrLen", s) == len(s.encode())
    assert types_sb.call("StrLen", "") == 0


def test_large_bytes_both_ways(types_sb):
    data = bytes((i * 7) & 0xFF for i in range(60000))
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & (2**64 - 1)
    assert types_sb.call("Checksum", data) == h
    out = types_sb.call("Bytes1M", 3)
    assert len(out) == 1 << 20
    for i in (0, 1, 255, 256, 65537, (1 << 20) - 1):
        assert out[i] == (i ^ (i >> 8) ^ (i >> 16) ^ (3 * 7)) & 0xFF


def test_sixteen_parameters(types_sb):
    args = (True, -5, 7, -(2**40), 2**40, 1.5, 2.25, "héllo", b"abc", False, 3, 4, 5, 6, 0.5, 0.25)
    assert types_sb.call("Sum16", *args) == pytest.approx(weighted(args))
    types_sb.log.clear()
    assert types_sb.call("HostSum16", *args) == pytest.approx(weighted(args) + 0.5)
    (name, got), = types_sb.log
    assert name == "Sum16" and len(got) == 16
    assert all(same(g, a) for g, a in zip(got, args))


def test_void(types_sb):
    assert types_sb.call("Void") is None
    assert types_sb.call("Void") is None
    assert types_sb.call("Calls") == 2
    assert types_sb.call("HostVoid") == 1
    assert types_sb.log == [("Void", None)]


def test_host_returns_wrong_type(backend):
    """A host function answering the wrong Python type fails the host call:
    the guest sees the error, the sandbox stays usable."""
    bad = [
        glint.HostFunction("HostI32", lambda x: "seven", params=["int32"], returns="int32"),
        glint.HostFunction("HostU32", lambda x: -1, params=["uint32"], returns="uint32"),
        glint.HostFunction("HostString", lambda x: b"bytes", params=[str], returns=str),
        glint.HostFunction("HostBytes", lambda x: "str", params=[bytes], returns=bytes),
        glint.HostFunction("HostBool", lambda x: 1, params=[bool], returns=bool),
        glint.HostFunction("HostF32", lambda x: 1e300, params=["float"], returns="float"),
        glint.HostFunction("HostString2", lambda x: x, params=[str], returns=str),
    ]
    with glint.Sandbox.from_file(TYPES, host=bad) as sb:
        for fn, arg, why in [("HostEchoI32", 1, "TypeError: returned str, declared int32"),
                             ("HostEchoU32", 1, "ValueError: returned -1 is out of range for uint32"),
                             ("HostEchoString", "x", "TypeError: returned bytes, declared string"),
                             ("HostEchoBytes", b"x", "TypeError: returned str, declared bytes"),
                             ("HostEchoBool", True, "TypeError: returned int, declared bool"),
                             ("HostEchoF32", 1.0, "too large for float")]:
            with pytest.raises(glint.GuestError) as ei:
                sb.call(fn, arg)
            assert why in ei.value.message, ei.value.message
            assert isinstance(ei.value.__cause__, (TypeError, ValueError))
        assert sb.call("EchoI32", 5) == 5
        assert not sb.poisoned


def test_host_result_too_large(backend):
    big = glint.HostFunction("HostBytes", lambda b: b"z" * (1 << 20), params=[bytes], returns=bytes)
    with glint.Sandbox.from_file(TYPES, host=[big]) as sb:
        with pytest.raises(glint.GuestError, match="does not fit"):
            sb.call("HostEchoBytes", b"")
        assert sb.call("EchoI32", 1) == 1
    ok = glint.HostFunction("HostBytes", lambda b: b"z" * (1 << 20), params=[bytes], returns=bytes)
    with glint.Sandbox.from_file(TYPES, host=[ok], input_size=2 << 20, output_size=2 << 20) as sb:
        assert sb.call("HostEchoBytes", b"") == b"z" * (1 << 20)


def test_host_annotations(backend):
    """params/returns read from annotations."""
    def HostI32(x: "int32") -> "int32":  # noqa: F821 - glint type names, not Python names
        return x * 2

    def HostString(s: str) -> str:
        return s.upper()

    def HostF64(x: float) -> float:
        return -x

    with glint.Sandbox.from_file(TYPES, host=[glint.host(HostI32), glint.host()(HostString),
                                              glint.host("HostF64")(HostF64)]) as sb:
        assert sb.call("HostEchoI32", 21) == 42
        assert sb.call("HostEchoString", "abc") == "ABC"
        assert sb.call("HostEchoF64", 1.5) == -1.5
    assert glint.host(HostI32).signature == glint.Function("HostI32", (glint.I32,), glint.I32)
    assert str(glint.host(HostString).signature) == "HostString(string) -> string"
    with pytest.raises(TypeError, match="annotation"):
        glint.HostFunction("X", lambda a: a)
    with pytest.raises(glint.InvalidArgument):
        glint.HostFunction("bad name", lambda: 0, params=[])
    with pytest.raises(glint.InvalidArgument):
        glint.HostFunction("X", lambda: 0, params=["int32"] * 17)
    with pytest.raises(glint.InvalidArgument):
        glint.HostFunction("X", lambda: 0, params=["void"])
