"""The module itself: library, backends, status names, error classes."""

import ctypes
import os

import glint
import pytest
from glint import _lib
from glint.errors import STATUS_NAMES, error_class


def test_library_found():
    assert os.path.exists(glint.library_path) or glint.library_path.startswith("lib")
    assert glint.__version__ == "0.1.0"


def test_status_names_match_the_library():
    for code, name in enumerate(STATUS_NAMES):
        assert _lib.lib.glint_status_name(code).decode() == name
    assert _lib.lib.glint_status_name(len(STATUS_NAMES)).decode() == "GLINT_E_UNKNOWN"


def test_type_names_match_the_library():
    for t in glint.Type:
        assert _lib.lib.glint_type_name(t).decode() == str(t)


def test_struct_sizes():
    # What the C compiler gives these structures on x86-64 (glint.h).
    assert ctypes.sizeof(_lib.Value) == 24
    assert ctypes.sizeof(_lib.Function) == 80
    assert ctypes.sizeof(_lib.Error) == 4 + 768 + 4 + 4 + 4 + 24
    assert ctypes.sizeof(_lib.Config) == 40
    assert ctypes.sizeof(_lib.HostFunctionC) == 96
    assert ctypes.sizeof(_lib.PoolConfig) == 56
    assert ctypes.sizeof(_lib.PoolStats) == 56


def test_backends(backend):
    usable = glint.backends()
    assert backend in usable
    assert set(usable) <= {"kvm", "process"}
    for b in usable:
        assert glint.probe_backend(b) == b
    want = os.environ.get("GLINT_BACKEND", "")
    if want and want != "auto":
        assert backend == want
    with pytest.raises(glint.InvalidArgument):
        glint.probe_backend("vmware")


def test_describe_backend(backend):
    text = glint.describe_backend(backend)
    if backend == "kvm":
        assert text.startswith("KVM micro-VM") and "; debugger: " in text
    else:
        assert text.startswith("jailed process") and "; debugger: trap flag and int3" in text
    with pytest.raises(glint.InvalidArgument):
        glint.describe_backend("auto")


def test_sandbox_backend(sandbox, backend):
    assert sandbox("basic").backend == backend
    for b in glint.backends():
        sb = sandbox("basic", backend=b)
        assert sb.backend == b
        assert sb.call("Add", 1, 2) == 3


def test_interrupt_signal():
    import signal
    assert glint.interrupt_signal() == signal.SIGRTMIN + 5


def test_error_hierarchy():
    assert error_class("GLINT_E_TIMEOUT") is glint.Timeout
    assert error_class(18) is glint.Timeout
    for cls in (glint.GuestAbort, glint.GuestException, glint.Timeout, glint.Cancelled,
                glint.GuestOutOfMemory, glint.StackOverflow, glint.OutOfBounds, glint.Shutdown):
        assert issubclass(cls, glint.GuestFailure)
        assert issubclass(cls, glint.GlintError)
    for cls in (glint.StackOverflow, glint.OutOfBounds, glint.Shutdown):
        assert issubclass(cls, glint.GuestException)
    assert issubclass(glint.SignatureError, TypeError)
    assert issubclass(glint.InvalidArgument, ValueError)
    assert issubclass(glint.Closed, ValueError) and issubclass(glint.Closed, glint.StateError)
    assert not issubclass(glint.GuestError, glint.GuestFailure)
    for name in STATUS_NAMES[1:]:
        cls = error_class(name)
        e = cls("m", status=name)
        assert isinstance(e, glint.GlintError)
        assert e.status == name and e.code == STATUS_NAMES.index(name) and str(e) == "m"


def test_errors_pickle():
    import pickle
    e = glint.GuestAbort("boom", status="GLINT_E_ABORT", abort_code=42)
    e2 = pickle.loads(pickle.dumps(e))
    assert type(e2) is glint.GuestAbort and e2.abort_code == 42 and e2.message == "boom"


def test_type_specs():
    assert glint.as_type("int32") is glint.I32
    assert glint.as_type("u64") is glint.U64
    assert glint.as_type(int) is glint.I64
    assert glint.as_type(float) is glint.F64
    assert glint.as_type("float") is glint.F32
    assert glint.as_type(str) is glint.STRING
    assert glint.as_type(bytes) is glint.BYTES
    assert glint.as_type(bool) is glint.BOOL
    assert glint.as_type(None) is glint.VOID
    with pytest.raises(glint.InvalidArgument):
        glint.as_type("int128")
    with pytest.raises(glint.InvalidArgument):
        glint.as_type(list)


def test_function_listing(sandbox):
    sb = sandbox("basic")
    fns = {f.name: f for f in sb.functions}
    assert str(fns["Add"]) == "Add(int32, int32) -> int32"
    assert fns["Add"].params == (glint.I32, glint.I32) and fns["Add"].returns is glint.I32
    assert str(fns["Nop"]) == "Nop() -> void"
    from conftest import guest
    assert glint.Image(guest("basic")).functions == sb.functions


def test_image(backend):
    from conftest import guest
    with glint.Image(guest("basic")) as img:
        names = [f.name for f in img.functions]
        assert "Add" in names
        sbs = [glint.Sandbox.from_image(img) for _ in range(3)]
    for i, sb in enumerate(sbs):  # an image may be closed: sandboxes keep working
        with sb:
            assert sb.call("Add", i, 1) == i + 1
    with open(guest("basic"), "rb") as f:
        img = glint.Image.from_bytes(f.read())
    assert [f.name for f in img.functions] == names
    img.close()
    with pytest.raises(glint.Closed):
        img.functions
