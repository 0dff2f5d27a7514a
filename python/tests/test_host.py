"""Host functions: registration, failures, exceptions that must not escape."""

import threading

import glint
import pytest
from conftest import TYPES


def test_weekday_decorator(sandbox):
    from conftest import HELLO
    sb = sandbox(HELLO)

    @sb.host("GetWeekday", returns=str)
    def weekday():
        return "Caturday"

    assert isinstance(weekday, glint.HostFunction)
    assert weekday() == "Caturday"
    assert sb.call("SayHello", "Ada") == "Hello, Ada! Today is Caturday."
    assert "GetWeekday" in sb.host_functions


def test_unregistered_host_function(sandbox):
    from conftest import HELLO
    sb = sandbox(HELLO)
    with pytest.raises(glint.GuestError, match="GetWeekday"):
        sb.call("SayHello", "Ada")
    assert not sb.poisoned


@pytest.mark.parametrize("exc", [ValueError("bad value"), RuntimeError("multi\nline"),
                                 ZeroDivisionError(), KeyError("k"), MemoryError(),
                                 glint.Timeout("nested")])
def test_host_exception_reaches_the_guest(sandbox, exc):
    sb = sandbox("host_fail")

    @sb.host("Fail", params=[str], returns="int32")
    def fail(s):
        raise exc

    got = sb.call("CallFail", "x")
    assert got.startswith("rc=-2 msg=host function Fail raised " + type(exc).__name__), got
    assert "\n" not in got
    assert not sb.poisoned
    assert sb.call("CallFail", "y").startswith("rc=-2")


def test_host_exception_is_the_cause(sandbox):
    sb = glint.Sandbox.from_file(TYPES, host=[
        glint.HostFunction("HostI32", lambda x: [][x], params=["int32"], returns="int32")])
    with sb:
        with pytest.raises(glint.GuestError) as ei:
            sb.call("HostEchoI32", 3)
        assert isinstance(ei.value.__cause__, IndexError)
        assert "IndexError: list index out of range" in ei.value.message
        assert sb.call("EchoI32", 3) == 3


def test_keyboard_interrupt_in_host_function(sandbox):
    """KeyboardInterrupt and SystemExit fail the host call, then are re-raised
    when the guest call returns."""
    sb = sandbox("host_fail")
    calls = []

    @sb.host("Fail", params=[str], returns="int32")
    def fail(s):
        calls.append(s)
        if s == "kbd":
            raise KeyboardInterrupt
        if s == "exit":
            raise SystemExit(3)
        return 5

    with pytest.raises(KeyboardInterrupt):
        sb.call("CallFail", "kbd")
    with pytest.raises(SystemExit):
        sb.call("CallFail", "exit")
    assert sb.call("CallFail", "ok") == "rc=0 value=5"
    assert calls == ["kbd", "exit", "ok"]


def test_register_rules(sandbox):
    sb = sandbox("basic")
    with pytest.raises(glint.InvalidArgument):
        sb.register("9bad", lambda: None, params=[])
    sb.register("Block", lambda: None, params=[])
    sb.register(glint.HostFunction("Block", lambda: None, params=[]))  # replaces
    assert sb.call("CallBlock") == 7
    with pytest.raises(glint.StateError) as ei:
        sb.register("Late", lambda: None, params=[])
    assert ei.value.status == "GLINT_E_STATE"


def test_reentering_the_same_sandbox_is_busy(sandbox):
    sb = sandbox("basic")
    seen = []

    @sb.host("Reenter", returns="int32")
    def reenter():
        try:
            sb.call("Add", 1, 2)
        except glint.Busy as e:
            seen.append(e)
            raise
        return 0

    with pytest.raises(glint.GuestError, match="Busy"):
        sb.call("CallReenter")
    assert len(seen) == 1 and seen[0].status == "GLINT_E_BUSY"
    assert sb.call("Add", 2, 3) == 5


def test_host_function_calls_another_sandbox(sandbox):
    """A host function may call into other sandboxes (nested guest calls)."""
    inner = sandbox("basic")
    outer = sandbox("basic")

    @outer.host("Reenter", returns="int32")
    def reenter():
        return inner.call("Add", 40, 2)

    assert outer.call("CallReenter") == 42


def test_concurrent_call_is_busy(sandbox):
    """Two threads on one sandbox: the second call raises Busy at once."""
    sb = sandbox("basic", timeout=None)
    entered = threading.Event()
    release = threading.Event()

    @sb.host("Block")
    def block():
        entered.set()
        release.wait(10)

    result = []
    t = threading.Thread(target=lambda: result.append(sb.call("CallBlock")))
    t.start()
    assert entered.wait(10)
    try:
        with pytest.raises(glint.Busy):
            sb.call("Add", 1, 2)
    finally:
        release.set()
        t.join()
    assert result == [7]


def test_print_goes_to_sys_stdout(sandbox, capsys):
    sb = sandbox("basic")
    sb.call("Printf", "hi", 3)
    assert capsys.readouterr().out == "print:hi:3\n"

    lines = []
    sb2 = sandbox("basic")
    sb2.register("print", lambda s: lines.append(s), params=[str])
    sb2.call("Printf", "cap", 4)
    assert lines == ["print:cap:4\n"]
    assert capsys.readouterr().out == ""


def test_host_function_on_many_sandboxes(sandbox):
    from conftest import HELLO
    hf = glint.HostFunction("GetWeekday", lambda: "Monday", returns=str)
    for i in range(5):
        sb = sandbox(HELLO, host=[hf])
        assert sb.call("SayHello", str(i)) == f"Hello, {i}! Today is Monday."
