"""Pools: pristine sandboxes, host functions, many threads."""

import threading

import glint
import pytest
from conftest import guest


@pytest.fixture
def snap(backend):
    block = glint.HostFunction("Block", lambda: None, params=[])
    with glint.Sandbox.from_file(guest("basic"), host=[block]) as sb:
        sb.call("Counter")
        s = sb.snapshot()
    yield s
    s.close()


def test_pristine(snap):
    with glint.Pool(snap, max_idle=2, host=[glint.HostFunction("Block", lambda: None, params=[])]) as pool:
        for _ in range(5):
            with pool.sandbox() as sb:
                assert isinstance(sb, glint.PooledSandbox)
                assert sb.call("Counter") == 2      # the snapshot had counted 1
                assert sb.call("Counter") == 3
                assert sb.call("CallBlock") == 7
        st = pool.stats()
        assert st.out == 0 and st.created + st.reused == 5 and st.reused >= 4


def test_failures_do_not_leak(snap):
    with glint.Pool(snap, max_idle=1, host=[glint.HostFunction("Block", lambda: 1 / 0, params=[])]) as pool:
        with pool.sandbox() as sb:
            with pytest.raises(glint.GuestError) as ei:
                sb.call("CallBlock")
            assert isinstance(ei.value.__cause__, ZeroDivisionError)
            sb.interrupt()
        with pool.sandbox() as sb:
            assert sb.call("Counter") == 2
        sb2 = pool.acquire()
        sb2.close()
        sb2.close()  # idempotent
        with pytest.raises(glint.Closed):
            sb2.call("Counter")
        sb2.interrupt()  # released: a no-op, never reaches the next user


def test_host_set_must_match(snap):
    with pytest.raises(glint.Incompatible, match="Block"):
        glint.Pool(snap)


def test_bad_pool_config(snap):
    host = [glint.HostFunction("Block", lambda: None, params=[])]
    with pytest.raises(glint.InvalidArgument):
        glint.Pool(snap, max_idle=1, prefill=2, host=host)
    with pytest.raises(glint.InvalidArgument):
        glint.Pool(snap, max_idle=-1, host=host)


def test_eight_threads(snap):
    """A pool used from 8 threads at once, host functions and failures mixed in."""
    calls = []
    lock = threading.Lock()

    def block():
        with lock:
            calls.append(threading.get_ident())

    host = [glint.HostFunction("Block", block, params=[])]
    n_threads, rounds = 8, 150
    errors = []
    barrier = threading.Barrier(n_threads)
    with glint.Pool(snap, max_idle=4, min_idle=2, host=host) as pool:
        def worker(k):
            try:
                barrier.wait()
                for i in range(rounds):
                    with pool.sandbox() as sb:
                        assert sb.call("Counter") == 2
                        assert sb.call("Add", k, i) == k + i
                        if i % 10 == 0:
                            assert sb.call("CallBlock") == 7
                        if i % 25 == 0:
                            sb.interrupt()  # idle: no effect
                            assert sb.call("Echo", f"t{k}") == f"t{k}"
            except BaseException as e:  # reported below
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(n_threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors[:3]
        st = pool.stats()
        assert st.out == 0
        # Every acquire was served by a recycled sandbox or made for it.
        assert st.reused + st.created - st.refilled == n_threads * rounds
        assert len(calls) == n_threads * rounds // 10
        assert len(set(calls)) == n_threads  # host functions ran on the calling threads


def test_close_with_sandboxes_out(snap):
    host = [glint.HostFunction("Block", lambda: None, params=[])]
    pool = glint.Pool(snap, host=host, prefill=2, max_idle=2)
    sb = pool.acquire()
    pool.close()
    with pytest.raises(glint.Closed):
        pool.acquire()
    assert sb.call("CallBlock") == 7  # still a working sandbox
    sb.close()                        # destroyed now


def test_fresh_vm_mode(snap):
    host = [glint.HostFunction("Block", lambda: None, params=[])]
    with glint.Pool(snap, max_idle=0, host=host, idle_timeout=None) as pool:
        for _ in range(3):
            with pool.sandbox() as sb:
                assert sb.call("Counter") == 2
        assert pool.stats().reused == 0


def test_pool_from_loaded_snapshot_on_each_backend(snap, tmp_path):
    path = tmp_path / "basic.snap"
    snap.save(path)
    loaded = glint.Snapshot.load(path)
    host = [glint.HostFunction("Block", lambda: None, params=[])]
    for backend in glint.backends():
        with glint.Pool(loaded, backend=backend, host=host) as pool:
            with pool.sandbox() as sb:
                assert sb.backend == backend
                assert sb.call("Counter") == 2
