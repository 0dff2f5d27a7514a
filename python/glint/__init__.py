"""glint for Python: isolated sandboxes for small guest functions.

A thin layer over libglint's C API (include/glint/glint.h) using only the
standard library's ctypes.  See docs/python.md for a guide.

::

    import glint

    with glint.Sandbox.from_file("hello-guest.elf", timeout=0.5) as sb:
        @sb.host("GetWeekday", returns=str)
        def weekday():
            return "Monday"

        print(sb.call("SayHello", "World"))   # Hello, World! Today is Monday.

The library is found through the environment variable GLINT_LIBRARY, else
the build tree of the glint checkout this package sits in
(``build/lib/libglint.so.0``), else ``ctypes.util.find_library("glint")`` and
``libglint.so.0`` on the loader's path.

Threads: every foreign call releases the GIL (ctypes), so guest calls on
distinct sandboxes run in parallel on distinct threads; host functions run
on the thread of the guest call and take the GIL back while they run.
"""

from . import _lib
from ._core import (
    PRINT,
    Backend,
    Function,
    HostFunction,
    Image,
    Pool,
    PooledSandbox,
    PoolStats,
    Sandbox,
    SandboxConfig,
    Snapshot,
    Type,
    as_type,
    backends,
    describe_backend,
    host,
    interrupt_signal,
    probe_backend,
)
from .errors import *  # noqa: F401,F403
from .errors import __all__ as _errors_all

__version__ = "0.1.0"

#: The path (or soname) of the libglint in use.
library_path = _lib.path

VOID = Type.VOID
BOOL = Type.BOOL
I32 = Type.I32
U32 = Type.U32
I64 = Type.I64
U64 = Type.U64
F32 = Type.F32
F64 = Type.F64
STRING = Type.STRING
BYTES = Type.BYTES

__all__ = [
    "Backend",
    "Function",
    "HostFunction",
    "Image",
    "Pool",
    "PooledSandbox",
    "PoolStats",
    "PRINT",
    "Sandbox",
    "SandboxConfig",
    "Snapshot",
    "Type",
    "as_type",
    "backends",
    "describe_backend",
    "host",
    "interrupt_signal",
    "library_path",
    "probe_backend",
    "VOID",
    "BOOL",
    "I32",
    "U32",
    "I64",
    "U64",
    "F32",
    "F64",
    "STRING",
    "BYTES",
] + list(_errors_all)
