"""Hostile and failing guests raise the right exception, with its fields;
the process survives, and the sandbox is poisoned until a restore."""

import os

import glint
import pytest


def fail(sandbox, name, fn, *args, exc=glint.GuestFailure, **kw):
    sb = sandbox(name, **kw)
    with pytest.raises(exc) as ei:
        sb.call(fn, *args)
    return sb, ei.value


def where(sandbox, name, fn):
    return sandbox(name).call("Where", fn)


@pytest.mark.parametrize("fn,args,code,text", [
    ("LongAbort", (), 42, "begin xxx"),
    ("AssertFail", (2,), None, "x == 1"),
    ("Panic", (), None, "panic number 7"),
    ("Abort", (), None, "abort"),
])
def test_aborts(sandbox, fn, args, code, text):
    sb, e = fail(sandbox, "aborts", fn, *args, exc=glint.GuestAbort)
    assert e.status == "GLINT_E_ABORT"
    assert text in e.message
    if code is not None:
        assert e.abort_code == code
    assert sb.poisoned
    with pytest.raises(glint.Poisoned) as ei:
        sb.call(fn, *args)
    assert ei.value.status == "GLINT_E_POISONED" and "GLINT_E_ABORT" in ei.value.message


def test_divide_errors(sandbox):
    for fn, arg in (("DivZero", 0), ("DivOverflow", -1)):
        site = where(sandbox, "div_zero", fn)
        _, e = fail(sandbox, "div_zero", fn, arg, exc=glint.GuestException)
        assert type(e) is glint.GuestException
        assert e.status == "GLINT_E_EXCEPTION"
        assert e.vector == 0 and e.rip == site


def test_invalid_opcode(sandbox):
    site = where(sandbox, "invalid_op", "Ud2")
    _, e = fail(sandbox, "invalid_op", "Ud2", exc=glint.GuestException)
    assert e.vector == 6 and e.rip == site


def test_privileged(sandbox):
    for fn in ("Hlt", "Wrmsr", "MovCr3"):
        site = where(sandbox, "privileged", fn)
        _, e = fail(sandbox, "privileged", fn, exc=glint.GuestException)
        assert e.vector == 13 and e.rip == site, fn


def test_stack_overflow(sandbox):
    assert sandbox("stack_overflow").call("Recurse", 10) >= 0
    _, e = fail(sandbox, "stack_overflow", "Recurse", 10**9, exc=glint.StackOverflow)
    assert isinstance(e, glint.GuestException)
    assert e.status == "GLINT_E_STACK_OVERFLOW" and e.vector == 14 and e.address != 0
    assert "stack" in e.message


def test_guest_oom(sandbox):
    _, e = fail(sandbox, "heap_oom", "Exhaust", exc=glint.GuestOutOfMemory)
    assert e.status == "GLINT_E_GUEST_OOM"
    assert sandbox("heap_oom").call("NullMode") is True


def test_out_of_bounds(sandbox):
    _, e = fail(sandbox, "out_of_bounds", "WriteHigh", exc=glint.OutOfBounds)
    assert e.status == "GLINT_E_OUT_OF_BOUNDS" and e.address == 0x3FF00000
    assert isinstance(e, glint.GuestException)
    _, e = fail(sandbox, "out_of_bounds", "ReadNonCanonical", exc=glint.GuestException)
    assert e.vector == 13


def test_null_write(sandbox):
    _, e = fail(sandbox, "snap_counter", "Fault", exc=glint.GuestException)
    assert e.vector == 14 and e.address == 8 and e.error_code & 2


def test_guest_error_keeps_the_sandbox(sandbox):
    sb = sandbox("guest_error")
    assert sb.call("Half", 4) == 2
    with pytest.raises(glint.GuestError) as ei:
        sb.call("Half", 3)
    assert ei.value.status == "GLINT_E_GUEST_ERROR"
    assert "odd number 3" in ei.value.message
    assert not isinstance(ei.value, glint.GuestFailure)
    assert not sb.poisoned
    assert sb.call("Half", 10) == 5
    with pytest.raises(glint.GuestError) as ei:
        sb.call("LongError")
    assert ei.value.message.count("z") > 500


def test_init_failure(sandbox):
    sb = sandbox("init_fault")
    with pytest.raises(glint.GuestException) as ei:
        sb.init()
    assert ei.value.vector == 6
    with pytest.raises(glint.Poisoned):
        sb.call("Nop")
    # Lazily, on the first call:
    sb2 = sandbox("init_fault")
    with pytest.raises(glint.GuestException):
        sb2.call("Nop")


def test_restore_clears_poison(sandbox):
    sb = sandbox("snap_counter")
    snap = sb.snapshot()
    with pytest.raises(glint.GuestAbort) as ei:
        sb.call("Abort")
    assert ei.value.abort_code == 7
    assert sb.poisoned
    with pytest.raises(glint.Poisoned):
        sb.snapshot()
    sb.restore(snap)
    assert not sb.poisoned
    assert sb.call("Get") == 1000


def test_bad_files(backend, tmp_path):
    with pytest.raises(glint.FileError) as ei:
        glint.Sandbox.from_file(tmp_path / "missing.elf")
    assert ei.value.status == "GLINT_E_IO"
    junk = tmp_path / "junk.elf"
    junk.write_bytes(b"\x7fELF" + os.urandom(200))
    with pytest.raises(glint.BadImage) as ei:
        glint.Sandbox.from_file(junk)
    assert ei.value.status in ("GLINT_E_BAD_IMAGE", "GLINT_E_ABI")
    with pytest.raises(glint.BadImage):
        glint.Image.from_bytes(b"not an elf")
    with pytest.raises(glint.BadSnapshot):
        glint.Snapshot.load(junk)
    with pytest.raises(glint.FileError):
        glint.Snapshot.load(tmp_path / "missing.snap")
