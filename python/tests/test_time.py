"""Time limits and interrupts from other threads."""

import threading
import time

import glint
import pytest


def test_timeout(sandbox):
    sb = sandbox("spin", timeout=0.05)
    t0 = time.monotonic()
    with pytest.raises(glint.Timeout) as ei:
        sb.call("Spin")
    elapsed = time.monotonic() - t0
    assert ei.value.status == "GLINT_E_TIMEOUT"
    assert isinstance(ei.value, glint.GuestFailure)
    assert 0.04 <= elapsed < 5
    assert sb.poisoned
    with pytest.raises(glint.Poisoned):
        sb.call("Nop")


def test_init_timeout(sandbox):
    sb = sandbox("init_spin", timeout=0.05)
    with pytest.raises(glint.Timeout):
        sb.init()


def test_no_limit_then_interrupt(sandbox):
    """timeout=None: no limit; interrupt() from another thread stops the call."""
    sb = sandbox("spin", timeout=None)
    assert sb.call("Nop") is None
    timer = threading.Timer(0.1, sb.interrupt)
    timer.start()
    t0 = time.monotonic()
    with pytest.raises(glint.Cancelled) as ei:
        sb.call("Spin")
    timer.join()
    assert ei.value.status == "GLINT_E_CANCELLED"
    assert 0.09 <= time.monotonic() - t0 < 5
    assert sb.poisoned


def test_interrupt_while_idle_is_harmless(sandbox):
    sb = sandbox("basic")
    sb.interrupt()
    sb.interrupt()
    assert sb.call("Add", 1, 1) == 2
    sb.close()
    sb.interrupt()  # closed: a no-op


def test_interrupt_from_a_host_function(sandbox):
    """A host function may interrupt the sandbox it was called from."""
    sb = sandbox("basic", timeout=None)

    @sb.host("Block")
    def block():
        sb.interrupt()

    with pytest.raises(glint.Cancelled):
        sb.call("CallBlock")


def test_other_threads_keep_running(sandbox):
    """A guest call releases the GIL: Python threads run meanwhile."""
    sb = sandbox("spin", timeout=0.3)
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.005)

    t = threading.Thread(target=ticker)
    t.start()
    with pytest.raises(glint.Timeout):
        sb.call("Spin")
    stop.set()
    t.join()
    assert len(ticks) >= 10


def test_parallel_sandboxes(backend):
    """Distinct sandboxes on distinct threads run at once."""
    from conftest import guest
    n = 4
    sbs = [glint.Sandbox.from_file(guest("spin"), timeout=0.3) for _ in range(n)]
    errors = []

    def run(sb):
        try:
            sb.call("Spin")
        except glint.Timeout as e:
            errors.append(e)

    threads = [threading.Thread(target=run, args=(sb,)) for sb in sbs]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    for sb in sbs:
        sb.close()
    assert len(errors) == n
    assert elapsed < 0.3 * n * 0.9, elapsed
