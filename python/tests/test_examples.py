"""The examples: examples/python/hello.py, and examples/serve when built."""

import datetime
import os
import subprocess
import sys

import pytest
from conftest import BUILD, HELLO, ROOT


def test_hello_py(backend):
    script = os.path.join(ROOT, "examples", "python", "hello.py")
    out = subprocess.run([sys.executable, script, HELLO, "Python"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    days = {datetime.date.today().strftime("%A"),
            (datetime.date.today() + datetime.timedelta(days=1)).strftime("%A")}  # midnight
    assert out.stdout.strip() in {f"Hello, Python! Today is {d}." for d in days}
    bad = subprocess.run([sys.executable, script, "/nonexistent.elf"], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 1 and "GLINT_E_IO" in bad.stderr


def test_serve(backend):
    serve = os.path.join(BUILD, "examples", "serve", "serve")
    guest = os.path.join(BUILD, "examples", "serve", "serve-guest.elf")
    if not (os.path.exists(serve) and os.path.exists(guest)):
        pytest.skip("examples/serve is not built")
    requests = b"hello\n\nMixed 1\n!loop\nafter loop\n!crash\nafter crash\n\xff\n" + b"a" * 70000 + b"\nend"
    out = subprocess.run([serve, guest], input=requests, capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.decode().split("\n")
    assert lines[0] == "HELLO"
    assert lines[1].startswith("error: GLINT_E_GUEST_ERROR: ") and "empty request" in lines[1]
    assert lines[2] == "MIXED 1"
    assert lines[3].startswith("error: GLINT_E_TIMEOUT: ")
    assert lines[4] == "AFTER LOOP"
    assert lines[5].startswith("error: GLINT_E_EXCEPTION: ")
    assert lines[6] == "AFTER CRASH"
    assert lines[7].startswith("error: GLINT_E_INVALID: ")
    assert lines[8].startswith("error: GLINT_E_TOO_LARGE: ")
    assert lines[9:] == ["END", ""]
