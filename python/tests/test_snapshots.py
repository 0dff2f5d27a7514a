"""Snapshots: take, restore, save, load, sandboxes from snapshots, auto-restore."""

import glint
import pytest
from conftest import guest


def tick_host(log=None):
    def tick(v):
        if log is not None:
            log.append(v)
        return v + 1
    return [glint.HostFunction("Tick", tick, params=["uint64"], returns="uint64")]


def test_snapshot_restore(sandbox):
    sb = sandbox("snap_counter", host=tick_host())
    assert sb.call("Bump") == 1001
    snap = sb.snapshot()
    assert sb.call("Bump") == 1002
    assert sb.call("Bump") == 1003
    sb.restore(snap)
    assert sb.call("Get") == 1001
    sb.restore(snap)
    assert sb.call("Bump") == 1002
    assert sb.call("CallTick", 41) == 42
    assert snap.backend == sb.backend
    assert [f.name for f in snap.functions] == [f.name for f in sb.functions]
    assert {str(f) for f in snap.host_functions} == {"print(string) -> void", "Tick(uint64) -> uint64"}


def test_save_load(sandbox, tmp_path):
    sb = sandbox("snap_counter", host=tick_host(), heap=1 << 20, timeout=2)
    sb.call("Bump")
    snap = sb.snapshot()
    path = tmp_path / "counter.snap"
    snap.save(path)
    snap.close()
    loaded = glint.Snapshot.load(path)
    cfg = loaded.config
    assert cfg.heap == 1 << 20 and cfg.timeout == 2.0
    for backend in glint.backends():  # a loaded snapshot runs on either backend
        with glint.Sandbox.from_snapshot(loaded, backend=backend, host=tick_host()) as sb2:
            assert sb2.backend == backend
            assert sb2.call("InitRuns") == 1
            assert sb2.call("Bump") == 1002
            assert sb2.call("CallTick", 1) == 2
    # The sandbox it came from goes back to the loaded state too.
    sb.call("Bump")
    sb.restore(loaded)
    assert sb.call("Get") == 1001


def test_from_snapshot_needs_the_host_set(sandbox):
    snap = sandbox("snap_counter", host=tick_host()).snapshot()
    sb = glint.Sandbox.from_snapshot(snap)
    with sb:
        with pytest.raises(glint.Incompatible, match="Tick"):
            sb.call("Get")
    wrong = [glint.HostFunction("Tick", lambda v: v, params=["uint32"], returns="uint64")]
    with glint.Sandbox.from_snapshot(snap, host=wrong) as sb:
        with pytest.raises(glint.Incompatible):
            sb.init()
    with glint.Sandbox.from_snapshot(snap, host=tick_host()) as sb:
        assert sb.call("Bump") == 1001


def test_taken_snapshot_runs_on_its_backend_only(sandbox, backend):
    snap = sandbox("snap_counter", host=tick_host()).snapshot()
    for other in glint.backends():
        if other != backend:
            with pytest.raises(glint.Incompatible):
                glint.Sandbox.from_snapshot(snap, backend=other, host=tick_host())


def test_restore_incompatible(sandbox):
    a = sandbox("snap_counter", host=tick_host())
    b = sandbox("basic")
    snap = a.snapshot()
    b.call("Counter")
    with pytest.raises(glint.Incompatible) as ei:
        b.restore(snap)
    assert ei.value.status == "GLINT_E_INCOMPATIBLE"
    assert b.call("Counter") == 2  # unchanged and usable


def test_auto_restore(sandbox):
    sb = sandbox("snap_counter", host=tick_host())
    snap = sb.snapshot()
    sb.set_auto_restore(snap)
    for _ in range(3):
        assert sb.call("Bump") == 1001
    with pytest.raises(glint.GuestAbort):
        sb.call("Abort")
    assert not sb.poisoned
    assert sb.call("Bump") == 1001
    sb.set_auto_restore(None)
    assert sb.call("Bump") == 1001
    assert sb.call("Bump") == 1002


def test_snapshot_outlives_its_sandbox(backend):
    with glint.Sandbox.from_file(guest("snap_counter"), host=tick_host()) as sb:
        sb.call("Bump")
        snap = sb.snapshot()
    with glint.Sandbox.from_snapshot(snap, host=tick_host()) as sb2:
        snap.close()  # the sandbox keeps what it needs
        assert sb2.call("Bump") == 1002
    with pytest.raises(glint.Closed):
        snap.save("/tmp/never")
    with pytest.raises(glint.Closed):
        glint.Sandbox.from_snapshot(snap)


def test_snapshot_before_init_initializes(sandbox):
    sb = sandbox("snap_counter", host=tick_host())
    snap = sb.snapshot()  # runs glint_main first
    assert sb.call("InitRuns") == 1
    assert snap.functions == sb.functions
