"""Closing, use after close, context managers, garbage collection."""

import gc
import threading
import time

import glint
import pytest
from conftest import guest


def test_use_after_close(backend):
    sb = glint.Sandbox.from_file(guest("basic"))
    assert sb.call("Add", 1, 2) == 3
    snap = sb.snapshot()
    sb.close()
    assert sb.closed
    for op in (lambda: sb.call("Add", 1, 2), lambda: sb.functions, sb.snapshot,
               lambda: sb.restore(snap), lambda: sb.register("X", lambda: 0, params=[]),
               sb.init, lambda: sb.backend, lambda: sb.poisoned):
        with pytest.raises(glint.Closed) as ei:
            op()
        assert isinstance(ei.value, ValueError) and isinstance(ei.value, glint.GlintError)
        assert ei.value.status == "GLINT_E_STATE"
    sb.close()  # idempotent
    sb.interrupt()
    assert "closed" in repr(sb)
    snap.close()
    with pytest.raises(glint.Closed):
        snap.functions


def test_context_manager_closes(backend):
    with glint.Sandbox.from_file(guest("basic")) as sb:
        assert sb.call("Add", 2, 2) == 4
    assert sb.closed
    with pytest.raises(glint.Closed):
        sb.call("Add", 1, 1)


def test_close_during_a_call_waits_for_it(backend):
    """close() from another thread while a call runs: the sandbox is destroyed
    when the call returns, not under it."""
    sb = glint.Sandbox.from_file(guest("basic"), timeout=None)
    entered = threading.Event()

    @sb.host("Block")
    def block():
        entered.set()
        time.sleep(0.1)

    result = []
    t = threading.Thread(target=lambda: result.append(sb.call("CallBlock")))
    t.start()
    assert entered.wait(10)
    sb.close()
    assert sb.closed
    t.join()
    assert result == [7]
    with pytest.raises(glint.Closed):
        sb.call("Add", 1, 1)


def test_close_from_own_host_function(backend):
    sb = glint.Sandbox.from_file(guest("basic"))

    @sb.host("Block")
    def block():
        sb.close()

    assert sb.call("CallBlock") == 7
    assert sb.closed


def test_garbage_collection_frees(backend):
    import os
    fds = len(os.listdir("/proc/self/fd"))
    for _ in range(20):
        sb = glint.Sandbox.from_file(guest("basic"))
        sb.call("Add", 1, 1)
        del sb
    gc.collect()
    time.sleep(0.2)  # the process backend reaps its children on its own thread
    assert len(os.listdir("/proc/self/fd")) <= fds + 2


def test_many_sandboxes_closed(backend):
    import os
    fds = len(os.listdir("/proc/self/fd"))
    for _ in range(50):
        with glint.Sandbox.from_file(guest("basic")) as sb:
            assert sb.call("Counter") == 1
    time.sleep(0.2)
    assert len(os.listdir("/proc/self/fd")) <= fds + 2
