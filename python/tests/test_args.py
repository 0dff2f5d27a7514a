"""Wrong arguments are refused before the guest runs, and never poison.

Wrong count or wrong Python type: glint.SignatureError, a TypeError.
Value out of range (integers, float32), string not encodable as UTF-8:
glint.InvalidArgument, a ValueError.  Unknown function: glint.NoFunction,
a LookupError.  Arguments larger than the input buffer: glint.TooLarge.
"""

import glint
import pytest
from conftest import TYPES


@pytest.fixture
def sb(sandbox):
    return sandbox("basic")


def test_count(sb):
    with pytest.raises(glint.SignatureError) as ei:
        sb.call("Add", 1)
    assert isinstance(ei.value, TypeError)
    assert ei.value.status == "GLINT_E_SIGNATURE"
    assert str(ei.value) == "Add(int32, int32) -> int32: expects 2 arguments, got 1"
    with pytest.raises(TypeError):
        sb.call("Add", 1, 2, 3)
    with pytest.raises(TypeError, match="expects 0 arguments, got 1"):
        sb.call("Nop", 1)
    assert sb.call("Add", 1, 2) == 3


@pytest.mark.parametrize("fn,args,msg", [
    ("Add", (1, "2"), "argument 2 is str, expected int32"),
    ("Add", (1.0, 2), "argument 1 is float, expected int32"),
    ("Add", (True, 2), "argument 1 is bool, expected int32"),
    ("Add", (None, 2), "argument 1 is NoneType, expected int32"),
    ("Echo", (b"bytes",), "argument 1 is bytes, expected string"),
    ("Echo", (5,), "argument 1 is int, expected string"),
    ("HeapWorks", ("1",), "argument 1 is str, expected uint32"),
])
def test_types(sb, fn, args, msg):
    with pytest.raises(glint.SignatureError, match=msg):
        sb.call(fn, *args)
    assert not sb.poisoned


def test_types_everywhere(sandbox):
    sb = sandbox(TYPES)
    for fn, bad in [("EchoBool", 1), ("EchoBool", None), ("EchoBytes", "text"), ("EchoBytes", 3),
                    ("EchoF64", "1.0"), ("EchoF64", True), ("EchoF32", 1j), ("EchoU64", 1.5)]:
        with pytest.raises(TypeError):
            sb.call(fn, bad)
    assert sb.call("EchoU64", 7) == 7


@pytest.mark.parametrize("fn,value", [
    ("EchoI32", 2**31), ("EchoI32", -(2**31) - 1), ("EchoU32", -1), ("EchoU32", 2**32),
    ("EchoI64", 2**63), ("EchoI64", -(2**63) - 1), ("EchoU64", -1), ("EchoU64", 2**64),
    ("EchoF32", 1e39), ("EchoF32", -1e300), ("EchoF64", 10**400),
])
def test_range(sandbox, fn, value):
    sb = sandbox(TYPES)
    with pytest.raises(glint.InvalidArgument) as ei:
        sb.call(fn, value)
    assert isinstance(ei.value, ValueError)
    assert ei.value.status == "GLINT_E_INVALID"
    assert "argument 1" in str(ei.value)
    assert not sb.poisoned


def test_unencodable_string(sb):
    with pytest.raises(glint.InvalidArgument, match="UTF-8"):
        sb.call("Echo", "lone \ud800 surrogate")
    assert sb.call("Echo", "fine") == "fine"


def test_index_types(sandbox):
    import numbers

    class Idx:
        def __index__(self):
            return 41

    assert sandbox("basic").call("Add", Idx(), 1) == 42
    assert isinstance(Idx(), object) and not isinstance(Idx(), numbers.Real)


def test_unknown_function(sb):
    with pytest.raises(glint.NoFunction, match="'Nope'") as ei:
        sb.call("Nope")
    assert isinstance(ei.value, LookupError)
    assert ei.value.status == "GLINT_E_NO_FUNCTION"
    with pytest.raises(TypeError):
        sb.call(b"Add", 1, 2)
    with pytest.raises(TypeError):
        sb.call(["Add"], 1, 2)
    assert sb.call("Add", 2, 2) == 4


def test_too_large(sandbox):
    sb = sandbox(TYPES, input_size=16384)
    with pytest.raises(glint.TooLarge) as ei:
        sb.call("EchoBytes", b"x" * 20000)
    assert ei.value.status == "GLINT_E_TOO_LARGE"
    assert sb.call("EchoBytes", b"x" * 1000) == b"x" * 1000


def test_bad_config(backend):
    from conftest import guest
    with pytest.raises(glint.InvalidArgument, match="heap"):
        glint.Sandbox.from_file(guest("basic"), heap=1)
    with pytest.raises(glint.InvalidArgument):
        glint.Sandbox.from_file(guest("basic"), heap=-1)
    with pytest.raises(glint.InvalidArgument):
        glint.Sandbox.from_file(guest("basic"), stack="big")
    with pytest.raises(glint.InvalidArgument):
        glint.Sandbox.from_file(guest("basic"), timeout=0)
    with pytest.raises(glint.InvalidArgument):
        glint.Sandbox.from_file(guest("basic"), timeout=-1)
    with pytest.raises(glint.InvalidArgument):
        glint.Sandbox.from_file(guest("basic"), backend="xen")
