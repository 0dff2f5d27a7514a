"""Sandboxes, images, host functions, snapshots and pools over libglint."""

from __future__ import annotations

import atexit
import contextlib
import datetime
import itertools
import enum
import inspect
import math
import numbers
import operator
import os
import re
import struct
import sys
import threading
import weakref
from ctypes import byref, c_char_p, c_int, c_void_p, cast, memmove, string_at
from typing import NamedTuple, Tuple

from . import _lib
from ._lib import lib
from .errors import (
    Busy,
    Closed,
    InvalidArgument,
    NoFunction,
    SignatureError,
    TooLarge,
    from_status,
)

_GLINT_E_BUSY = 5
_GLINT_E_POISONED = 24

# ---------------------------------------------------------------------------
# Types and signatures


class Type(enum.IntEnum):
    """glint_type: the type of a parameter or result."""

    VOID = 0
    BOOL = 1
    I32 = 2
    U32 = 3
    I64 = 4
    U64 = 5
    F32 = 6
    F64 = 7
    STRING = 8
    BYTES = 9

    def __str__(self):
        return _TYPE_NAMES[self]

    def __format__(self, spec):
        return format(str(self), spec)


_TYPE_NAMES = {
    Type.VOID: "void",
    Type.BOOL: "bool",
    Type.I32: "int32",
    Type.U32: "uint32",
    Type.I64: "int64",
    Type.U64: "uint64",
    Type.F32: "float",
    Type.F64: "double",
    Type.STRING: "string",
    Type.BYTES: "bytes",
}

_TYPE_ALIASES = {
    "void": Type.VOID,
    "none": Type.VOID,
    "bool": Type.BOOL,
    "int32": Type.I32,
    "i32": Type.I32,
    "uint32": Type.U32,
    "u32": Type.U32,
    "int64": Type.I64,
    "i64": Type.I64,
    "uint64": Type.U64,
    "u64": Type.U64,
    "float": Type.F32,
    "f32": Type.F32,
    "float32": Type.F32,
    "double": Type.F64,
    "f64": Type.F64,
    "float64": Type.F64,
    "string": Type.STRING,
    "str": Type.STRING,
    "bytes": Type.BYTES,
}

_PY_TYPES = {bool: Type.BOOL, int: Type.I64, float: Type.F64, str: Type.STRING, bytes: Type.BYTES}


def as_type(spec) -> Type:
    """A Type from a type specification.

    Accepted: a ``Type``; a C type name as glint prints it (``"int32"``,
    ``"uint32"``, ``"int64"``, ``"uint64"``, ``"float"`` (32-bit),
    ``"double"``, ``"bool"``, ``"string"``, ``"bytes"``, ``"void"``) or a
    short alias (``"i32"``, ``"u64"``, ``"f32"``, ``"f64"``, ``"str"``);
    a Python type: ``bool``, ``int`` (int64), ``float`` (double), ``str``,
    ``bytes``; ``None`` for void.
    """
    if isinstance(spec, Type):
        return spec
    if spec is None or spec is type(None):
        return Type.VOID
    if isinstance(spec, str):
        t = _TYPE_ALIASES.get(spec.strip().lower())
        if t is None:
            raise InvalidArgument(f"unknown glint type {spec!r}")
        return t
    if isinstance(spec, type) and spec in _PY_TYPES:
        return _PY_TYPES[spec]
    if isinstance(spec, int) and not isinstance(spec, bool) and 0 <= spec < len(Type):
        return Type(spec)
    raise InvalidArgument(f"not a glint type: {spec!r}")


class Function(NamedTuple):
    """A function signature: a guest function's or a host function's."""

    name: str
    params: Tuple[Type, ...]
    returns: Type

    def __str__(self):
        return f"{self.name}({', '.join(str(p) for p in self.params)}) -> {self.returns}"

    def __repr__(self):
        return f"<glint.Function {self}>"


def _function_from_c(p) -> Function:
    f = p.contents
    n = min(f.nparams, _lib.MAX_PARAMS)
    return Function(f.name.decode("utf-8", "replace"), tuple(Type(f.params[i]) for i in range(n)),
                    Type(f.ret))


def _function_to_c(fn: Function):
    c = _lib.Function()
    name = fn.name.encode("utf-8")
    c.name = name
    c.ret = int(fn.returns)
    c.nparams = len(fn.params)
    for i, p in enumerate(fn.params):
        c.params[i] = int(p)
    return c, name


# ---------------------------------------------------------------------------
# Values: Python <-> glint_value


class _WrongType(Exception):
    """The Python type does not fit (becomes SignatureError)."""


class _BadValue(Exception):
    """The value does not fit (becomes InvalidArgument)."""


_INT_RANGES = {
    Type.I32: (-(1 << 31), (1 << 31) - 1, "i32"),
    Type.U32: (0, (1 << 32) - 1, "u32"),
    Type.I64: (-(1 << 63), (1 << 63) - 1, "i64"),
    Type.U64: (0, (1 << 64) - 1, "u64"),
}


def _to_int(t, x):
    if isinstance(x, bool) or not hasattr(type(x), "__index__"):
        raise _WrongType
    n = operator.index(x)
    lo, hi, _ = _INT_RANGES[t]
    if n < lo or n > hi:
        raise _BadValue(f"{n} is out of range for {t} ({lo} .. {hi})")
    return n


def _to_float(t, x):
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise _WrongType
    try:
        f = float(x)
    except OverflowError:
        raise _BadValue(f"{x} is too large for {t}") from None
    if t == Type.F32 and math.isfinite(f):
        try:
            rounded = struct.unpack("f", struct.pack("f", f))[0]
        except OverflowError:
            rounded = math.inf
        if math.isinf(rounded):
            raise _BadValue(f"{f!r} is too large for float (32-bit)")
    return f


def _to_bytes(t, x):
    """bytes for a STRING or BYTES value."""
    if t == Type.STRING:
        if not isinstance(x, str):
            raise _WrongType
        try:
            return x.encode("utf-8")
        except UnicodeEncodeError as e:
            raise _BadValue(f"string is not encodable as UTF-8 ({e.reason} at index {e.start})") from None
    if isinstance(x, bytes):
        return x
    if isinstance(x, str):
        raise _WrongType
    try:
        return memoryview(x).tobytes()
    except TypeError:
        raise _WrongType from None


def _encode(v, t, x, keep):
    """Fills glint_value v with x as type t; keep collects what must stay alive."""
    v.type = t
    if t == Type.BOOL:
        if not isinstance(x, bool):
            raise _WrongType
        v.v.b = x
    elif t == Type.I32:
        v.v.i32 = _to_int(t, x)
    elif t == Type.U32:
        v.v.u32 = _to_int(t, x)
    elif t == Type.I64:
        v.v.i64 = _to_int(t, x)
    elif t == Type.U64:
        v.v.u64 = _to_int(t, x)
    elif t == Type.F32:
        v.v.f32 = _to_float(t, x)
    elif t == Type.F64:
        v.v.f64 = _to_float(t, x)
    elif t == Type.STRING or t == Type.BYTES:
        b = _to_bytes(t, x)
        keep.append(b)
        v.v.str.ptr = cast(c_char_p(b), c_void_p).value
        v.v.str.len = len(b)
    else:
        raise _BadValue(f"a value cannot have type {t}")


def _decode(v):
    """A Python value from glint_value v (strings and bytes copied out)."""
    t = v.type
    if t == Type.STRING:
        n = v.v.str.len
        return string_at(v.v.str.ptr, n).decode("utf-8") if n else ""
    if t == Type.BYTES:
        n = v.v.bytes.len
        return string_at(v.v.bytes.ptr, n) if n else b""
    if t == Type.I32:
        return v.v.i32
    if t == Type.U32:
        return v.v.u32
    if t == Type.I64:
        return v.v.i64
    if t == Type.U64:
        return v.v.u64
    if t == Type.F64:
        return v.v.f64
    if t == Type.F32:
        return v.v.f32
    if t == Type.BOOL:
        return bool(v.v.b)
    return None


def _pyname(x):
    return type(x).__name__


# ---------------------------------------------------------------------------
# Host functions

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_UNSET = object()
# Exceptions raised by host functions during the current guest call on this
# thread (host functions run on the calling thread).
_tls = threading.local()


def _signature_of(fn):
    try:
        return inspect.signature(fn, eval_str=True)
    except Exception:
        try:
            return inspect.signature(fn)
        except (TypeError, ValueError):
            return None


def _infer_params(name, fn):
    sig = _signature_of(fn)
    if sig is None:
        raise TypeError(f"host function {name}: cannot read its signature; pass params=[...]")
    params = []
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.KEYWORD_ONLY):
            continue
        if p.default is not p.empty:
            continue
        if p.annotation is p.empty:
            raise TypeError(f"host function {name}: parameter {p.name!r} has no type annotation; "
                            "annotate it or pass params=[...]")
        params.append(p.annotation)
    return params


def _infer_returns(fn):
    sig = _signature_of(fn)
    if sig is None or sig.return_annotation is sig.empty:
        return None
    return sig.return_annotation


class HostFunction:
    """A Python callable that guests may call, with its glint signature.

    ``HostFunction("GetWeekday", fn, params=(), returns=str)``.  ``params``
    and ``returns`` take type specifications (see ``glint.as_type``).  When
    ``params`` is omitted it is read from the callable's annotations
    (``def add(a: "int32", b: "int32") -> "int32"``; plain ``int`` means
    int64); an omitted ``returns`` is read from the return annotation, or is
    void.

    The callable receives the guest's arguments as Python values (str and
    bytes are copies) and returns the result as a Python value, converted
    like call arguments.  If it raises, the guest's host call fails with the
    message ``host function NAME raised ExcType: text`` (``glint_hostcall_fail``)
    and the process carries on; the exception becomes the ``__cause__`` of
    the GuestError the guest call then usually raises.  KeyboardInterrupt
    and SystemExit are re-raised when the guest call returns.

    A HostFunction may be registered on any number of sandboxes and pools.
    It is also callable directly (it calls ``fn``).
    """

    def __init__(self, name, fn, params=None, returns=_UNSET):
        if not callable(fn):
            raise TypeError(f"host function {name!r}: {fn!r} is not callable")
        if not isinstance(name, str) or not _NAME_RE.match(name) or len(name.encode()) > _lib.MAX_NAME:
            raise InvalidArgument(f"bad host function name {name!r}: [A-Za-z_][A-Za-z0-9_]*, "
                                  f"at most {_lib.MAX_NAME} bytes")
        if params is None:
            params = _infer_params(name, fn)
        if returns is _UNSET:
            returns = _infer_returns(fn)
        ptypes = tuple(as_type(p) for p in params)
        if len(ptypes) > _lib.MAX_PARAMS:
            raise InvalidArgument(f"host function {name}: {len(ptypes)} parameters, at most "
                                  f"{_lib.MAX_PARAMS}")
        if Type.VOID in ptypes:
            raise InvalidArgument(f"host function {name}: void is not a parameter type")
        self.name = name
        self.fn = fn
        self.signature = Function(name, ptypes, as_type(returns))
        self._cfn = _lib.HOST_FN(self._trampoline)
        self._csig, self._cname = _function_to_c(self.signature)
        self.__doc__ = getattr(fn, "__doc__", None)
        self.__wrapped__ = fn

    @property
    def params(self):
        return self.signature.params

    @property
    def returns(self):
        return self.signature.returns

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)

    def __repr__(self):
        return f"<glint.HostFunction {self.signature}>"

    def _trampoline(self, hc, args, nargs, ret, user):
        # Runs on the thread of the guest call, with the GIL (ctypes takes it).
        # Nothing may escape: an exception here would be printed by ctypes and
        # reported to the guest as success.
        try:
            pyargs = [_decode(args[i]) for i in range(nargs)]
            r = self.fn(*pyargs)
            t = self.signature.returns
            if t == Type.VOID:
                return 0
            out = ret[0]
            if t == Type.STRING or t == Type.BYTES:
                try:
                    b = _to_bytes(t, r)
                except _WrongType:
                    raise TypeError(f"returned {_pyname(r)}, declared {t}") from None
                except _BadValue as e:
                    raise ValueError(f"returned {e}") from None
                buf = lib.glint_hostcall_buffer(hc, max(len(b), 1))
                if not buf:
                    raise TooLarge(f"its result of {len(b)} bytes does not fit the sandbox's input buffer")
                memmove(buf, b, len(b))
                out.v.str.ptr = buf
                out.v.str.len = len(b)
            else:
                try:
                    _encode(out, t, r, None)
                except _WrongType:
                    raise TypeError(f"returned {_pyname(r)}, declared {t}") from None
                except _BadValue as e:
                    raise ValueError(f"returned {e}") from None
            return 0
        except BaseException as e:  # noqa: B902 - see above
            return self._fail(hc, e)

    def _fail(self, hc, e):
        try:
            pending = getattr(_tls, "pending", None)
            if pending is not None:
                pending.append(e)
            try:
                text = str(e)
            except Exception:
                text = ""
            msg = f"host function {self.name} raised {type(e).__name__}"
            if text:
                msg += ": " + text
            msg = " ".join(msg.split())[:700]
            return lib.glint_hostcall_fail(hc, b"%s", msg.encode("utf-8", "replace"))
        except BaseException:
            return 13  # GLINT_E_GUEST_ERROR without a message


def host(name=None, *, params=None, returns=_UNSET):
    """Decorator: makes a HostFunction of a Python function.

    ::

        @glint.host("GetWeekday", returns=str)
        def weekday():
            return "Monday"

    ``name`` defaults to the function's ``__name__``.
    """
    if callable(name) and params is None and returns is _UNSET:
        return HostFunction(name.__name__, name)

    def deco(fn):
        return HostFunction(name or fn.__name__, fn, params=params, returns=returns)

    return deco


def _print_to_stdout(text):
    out = sys.stdout
    if out is not None:
        out.write(text)
        out.flush()


#: The ``print(string) -> void`` every sandbox gets: writes the guest's output
#: (printf) to Python's ``sys.stdout``.  Register a host function named
#: ``print`` with that signature to replace it.
PRINT = HostFunction("print", _print_to_stdout, params=[Type.STRING], returns=None)


def _host_list(host):
    """HostFunctions from host=...: a HostFunction, an iterable of them, or a dict name -> one."""
    if host is None:
        return []
    if isinstance(host, HostFunction):
        return [host]
    if isinstance(host, dict):
        items = []
        for k, v in host.items():
            if not isinstance(v, HostFunction):
                raise TypeError(f"host={{...}}: {k!r} maps to {_pyname(v)}, not a glint.HostFunction")
            if v.name != k:
                raise InvalidArgument(f"host={{...}}: key {k!r} names host function {v.name}")
            items.append(v)
        return items
    out = []
    for h in host:
        if not isinstance(h, HostFunction):
            raise TypeError(f"host=[...]: {h!r} is not a glint.HostFunction (use glint.host)")
        out.append(h)
    return out


def _with_print(hosts):
    if any(h.name == "print" for h in hosts):
        return hosts
    return [PRINT] + hosts


# ---------------------------------------------------------------------------
# Configuration and backends


class Backend(enum.IntEnum):
    """glint_backend."""

    AUTO = 0
    KVM = 1
    PROCESS = 2

    def __str__(self):
        return self.name.lower()

    def __format__(self, spec):
        return format(str(self), spec)


def _backend(b) -> int:
    if b is None:
        return Backend.AUTO
    if isinstance(b, Backend):
        return b
    if isinstance(b, str):
        try:
            return Backend[b.strip().upper()]
        except KeyError:
            raise InvalidArgument(f"unknown backend {b!r}: 'auto', 'kvm' or 'process'") from None
    raise InvalidArgument(f"backend must be 'auto', 'kvm', 'process' or a glint.Backend, not {b!r}")


def _backend_name(b) -> str:
    return lib.glint_backend_name(b).decode()


def _size(what, x):
    if isinstance(x, bool) or not hasattr(type(x), "__index__"):
        raise InvalidArgument(f"{what} must be an int (bytes), not {_pyname(x)}")
    n = operator.index(x)
    if n < 0 or n >= 1 << 64:
        raise InvalidArgument(f"{what} = {n} is out of range")
    return n


def _timeout_ms(t):
    if t is None:
        return 0
    if isinstance(t, datetime.timedelta):
        t = t.total_seconds()
    if isinstance(t, bool) or not isinstance(t, numbers.Real):
        raise InvalidArgument(f"timeout must be seconds (a number) or None, not {_pyname(t)}")
    if not t > 0 or not math.isfinite(t):
        raise InvalidArgument(f"timeout must be positive seconds, or None for no limit; got {t!r}")
    ms = math.ceil(t * 1000)
    if ms >= 1 << 32:
        raise InvalidArgument(f"timeout of {t} s is too long")
    return ms


def _config(heap, stack, input_size, output_size, timeout, backend):
    cfg = _lib.Config()
    lib.glint_config_default(byref(cfg))
    if heap is not None:
        cfg.heap_size = _size("heap", heap)
    if stack is not None:
        cfg.stack_size = _size("stack", stack)
    if input_size is not None:
        cfg.input_size = _size("input_size", input_size)
    if output_size is not None:
        cfg.output_size = _size("output_size", output_size)
    if timeout is not _UNSET:
        cfg.timeout_ms = _timeout_ms(timeout)
    cfg.backend = _backend(backend)
    return cfg


class SandboxConfig(NamedTuple):
    """A sandbox's configuration as a snapshot records it."""

    heap: int
    stack: int
    input_size: int
    output_size: int
    timeout: float | None  # seconds; None for no limit
    backend: str


def _err(status, err):
    return from_status(status, err.message.decode("utf-8", "replace"), err)


def backends():
    """The backends this host can use, probed once each: e.g. ``['kvm', 'process']``."""
    out = []
    for b in (Backend.KVM, Backend.PROCESS):
        if lib.glint_backend_probe(b, byref(_lib.Error())) == 0:
            out.append(str(b))
    return out


def probe_backend(backend="auto"):
    """The backend name ``backend`` resolves to on this host (``"auto"``: the
    environment variable GLINT_BACKEND, else kvm if usable, else process).
    Raises NoBackend saying why when it is unusable."""
    err = _lib.Error()
    out = c_int()
    st = lib.glint_backend_select(_backend(backend), byref(out), byref(err))
    if st:
        raise _err(st, err)
    return _backend_name(out.value)


def describe_backend(backend):
    """One line on how ``backend`` ("kvm" or "process") works on this host
    (mechanism, dirty tracking, how the debugger steps), or why it cannot be
    used; what ``glint info --host`` prints."""
    b = _backend(backend)
    if b == Backend.AUTO:
        raise InvalidArgument("describe_backend takes 'kvm' or 'process', not 'auto'")
    return lib.glint_backend_describe(b).decode("utf-8", "replace")


def interrupt_signal():
    """The signal glint kicks vCPUs with (SIGRTMIN+5 by default): do not block it
    in threads that call guests, and do not install a handler for it."""
    return lib.glint_interrupt_signal()


# ---------------------------------------------------------------------------
# Resource life cycle


def _free(free, handle, keep):
    free(handle)  # `keep` (callbacks, arrays) lived until now


# Every live object, in creation order, for _close_all.
_live = weakref.WeakValueDictionary()
_serial = itertools.count()


@atexit.register
def _close_all():
    """At interpreter exit (after non-daemon threads ended), closes what is
    still open, newest first, so that sandboxes are destroyed (and process
    backend children reaped) before the process goes.  Objects a daemon
    thread is still using are left alone (close() defers to the end of the
    use, which never comes): the process's end releases them."""
    for obj in reversed(list(_live.values())):
        try:
            obj.close()
        except Exception:
            pass


class _Resource:
    """A C handle freed exactly once: by close(), or when garbage-collected.

    close() while another thread is inside a method (a guest call, say)
    defers the free to the end of that method; later methods raise Closed.
    """

    _what = "object"
    _h = None
    _closing = True

    def _setup(self, handle, free, *keep):
        self._lock = threading.Lock()
        self._active = 0
        self._closing = False
        self._h = handle
        self._fin = weakref.finalize(self, _free, free, handle, keep)
        # Not called unconditionally at exit (a daemon thread may still be in
        # a call): _close_all closes what is not in use.
        self._fin.atexit = False
        _live[next(_serial)] = self

    def _enter(self):
        with self._lock:
            if self._closing:
                raise Closed(f"the {self._what} is closed")
            self._active += 1
            return self._h

    def _leave(self):
        with self._lock:
            self._active -= 1
            last = self._closing and self._active == 0
            if last:
                self._h = None
        if last:
            self._fin()

    def close(self):
        """Frees the object now (or, if another thread is using it, as soon as
        it is done).  Later use raises glint.Closed.  Idempotent."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
            if self._active:
                return
            self._h = None
        self._fin()

    @property
    def closed(self):
        return self._closing

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


# ---------------------------------------------------------------------------
# Images


class Image(_Resource):
    """A validated guest ELF, shared by any number of sandboxes and threads.

    ``Image(path)`` or ``Image.from_bytes(data)``; runs no guest code.
    """

    _what = "image"

    def __init__(self, path):
        out = c_void_p()
        err = _lib.Error()
        st = lib.glint_image_open_file(os.fsencode(path), byref(out), byref(err))
        if st:
            raise _err(st, err)
        self._setup(out.value, lib.glint_image_close)

    @classmethod
    def from_bytes(cls, data):
        b = bytes(data)
        out = c_void_p()
        err = _lib.Error()
        st = lib.glint_image_open_memory(b, len(b), byref(out), byref(err))
        if st:
            raise _err(st, err)
        self = cls.__new__(cls)
        self._setup(out.value, lib.glint_image_close)
        return self

    @property
    def functions(self):
        """The guest's functions, in table order, as glint.Function."""
        h = self._enter()
        try:
            return tuple(_function_from_c(lib.glint_image_function(h, i))
                         for i in range(lib.glint_image_function_count(h)))
        finally:
            self._leave()

    def __repr__(self):
        return f"<glint.Image{' closed' if self.closed else ''}>"


# ---------------------------------------------------------------------------
# Sandboxes


def _run_collecting(fn, *args):
    """Calls a C function that may run host functions; returns (status, exceptions)."""
    saved = getattr(_tls, "pending", None)
    pending = _tls.pending = []
    try:
        return fn(*args), pending
    finally:
        _tls.pending = saved


class Sandbox(_Resource):
    """An isolated guest: create it with ``Sandbox.from_file``,
    ``Sandbox.from_image`` or ``Sandbox.from_snapshot``; call its functions
    with ``call``; close it (or use ``with``) to destroy it.

    Guest initialization (its ``glint_main``) runs on first use: the first
    ``call``, ``snapshot`` or ``restore``, or an explicit ``init()``.  Register
    host functions before that.

    Threads: a sandbox may be used from any thread, one call at a time; a
    call that overlaps another on the same sandbox raises Busy at once.
    ``interrupt()`` may be called from any thread at any time.  Guest calls
    release the GIL, so sandboxes on distinct threads run in parallel.
    """

    _what = "sandbox"

    def __init__(self, *a, **k):
        raise TypeError("use glint.Sandbox.from_file, from_image or from_snapshot")

    # -- creation --------------------------------------------------------

    @classmethod
    def _adopt(cls, handle, host, *, initialized=False, from_snapshot=False, free=None, keep=(),
               register=True):
        self = cls.__new__(cls)
        self._hosts = {}
        self._sigs = {}
        self._initialized = initialized
        self._from_snapshot = from_snapshot
        self._init_lock = threading.RLock()
        self._setup(handle, free or lib.glint_sandbox_destroy, self._hosts, *keep)
        if register:
            try:
                for hf in _with_print(_host_list(host)):
                    self.register(hf)
            except BaseException:
                self.close()
                raise
        return self

    @classmethod
    def from_file(cls, path, *, heap=None, stack=None, input_size=None, output_size=None,
                  timeout=_UNSET, backend=None, host=()):
        """A sandbox for the guest ELF at ``path``.

        ``heap``, ``stack``, ``input_size``, ``output_size``: bytes (defaults
        512 KiB, 64 KiB, 64 KiB, 64 KiB).  ``timeout``: seconds per call and
        for init (default 1 s; None: no limit).  ``backend``: ``"auto"``
        (default; honours GLINT_BACKEND), ``"kvm"`` or ``"process"``.
        ``host``: HostFunctions to register (more can be added with
        ``register`` or the ``host`` decorator before first use).
        """
        cfg = _config(heap, stack, input_size, output_size, timeout, backend)
        out = c_void_p()
        err = _lib.Error()
        st = lib.glint_sandbox_create_file(os.fsencode(path), byref(cfg), byref(out), byref(err))
        if st:
            raise _err(st, err)
        return cls._adopt(out.value, host)

    @classmethod
    def from_image(cls, image, *, heap=None, stack=None, input_size=None, output_size=None,
                   timeout=_UNSET, backend=None, host=()):
        """A sandbox for an ``Image``; options as for ``from_file``."""
        cfg = _config(heap, stack, input_size, output_size, timeout, backend)
        ih = image._enter()
        try:
            out = c_void_p()
            err = _lib.Error()
            st = lib.glint_sandbox_create(ih, byref(cfg), byref(out), byref(err))
        finally:
            image._leave()
        if st:
            raise _err(st, err)
        return cls._adopt(out.value, host)

    @classmethod
    def from_snapshot(cls, snapshot, *, backend=None, host=()):
        """A sandbox in the state of ``snapshot``, skipping guest initialization.

        Register the same host functions as the snapshot's (names and
        signatures; ``print`` is registered for you).  ``backend``: None or
        ``"auto"`` for the snapshot's; a snapshot loaded from a file runs on
        either backend, a snapshot taken in memory only on its own.
        """
        sh = snapshot._enter()
        try:
            out = c_void_p()
            err = _lib.Error()
            st = lib.glint_sandbox_create_from_snapshot_on(sh, _backend(backend), byref(out), byref(err))
        finally:
            snapshot._leave()
        if st:
            raise _err(st, err)
        return cls._adopt(out.value, host, from_snapshot=True)

    # -- host functions --------------------------------------------------

    def register(self, func, fn=None, *, params=None, returns=_UNSET):
        """Registers a host function: ``register(host_function)`` or
        ``register("Name", callable, params=[...], returns=...)``.  Only
        before initialization (StateError afterwards).  A name registered
        again replaces the earlier function.  Returns the HostFunction."""
        hf = func if isinstance(func, HostFunction) else HostFunction(func, fn, params, returns)
        h = self._enter()
        try:
            st = lib.glint_sandbox_register(h, byref(hf._csig), hf._cfn, None)
            if st:
                raise self._error(h, st)
            self._hosts[hf.name] = hf
        finally:
            self._leave()
        return hf

    def host(self, name=None, *, params=None, returns=_UNSET):
        """Decorator registering a host function on this sandbox::

            @sb.host("GetWeekday", returns=str)
            def weekday():
                return "Monday"

        Returns the HostFunction (callable like the function)."""
        if callable(name) and params is None and returns is _UNSET:
            return self.register(HostFunction(name.__name__, name))

        def deco(f):
            return self.register(HostFunction(name or f.__name__, f, params, returns))

        return deco

    # -- init and calls --------------------------------------------------

    def _error(self, h, st):
        if st == _GLINT_E_BUSY:
            return Busy("another thread is using this sandbox (calls on one sandbox do not wait)")
        e = lib.glint_sandbox_error(h).contents
        msg = e.message.decode("utf-8", "replace")
        return from_status(st, msg, e) if e.status == st else from_status(st, msg or "failed")

    def _raise(self, h, st, pending):
        exc = self._error(h, st)
        for p in pending:
            if not isinstance(p, Exception):
                raise p
        if pending:
            raise exc from pending[0]
        raise exc

    def _ensure_init(self, h):
        if self._initialized:
            return
        with self._init_lock:
            if self._initialized:
                return
            st, pending = _run_collecting(lib.glint_sandbox_init, h)
            if st:
                self._raise(h, st, pending)
            self._initialized = True
            for p in pending:
                if not isinstance(p, Exception):
                    raise p

    def init(self):
        """Runs guest initialization now (else the first call does).  Once."""
        h = self._enter()
        try:
            self._ensure_init(h)
        finally:
            self._leave()

    def _signature(self, h, name):
        try:
            return self._sigs[name]
        except KeyError:
            pass
        except TypeError:
            raise TypeError(f"a function name is a str, not {_pyname(name)}") from None
        if not isinstance(name, str):
            raise TypeError(f"a function name is a str, not {_pyname(name)}")
        sigs = {}
        for i in range(lib.glint_sandbox_function_count(h)):
            f = _function_from_c(lib.glint_sandbox_function(h, i))
            sigs[f.name] = (f, f.name.encode())
        self._sigs = sigs
        if name not in sigs:
            names = ", ".join(sorted(sigs)) or "none"
            raise NoFunction(f"no guest function named {name!r} (the guest exports: {names})")
        return sigs[name]

    def call(self, name, *args):
        """Calls the guest function ``name`` with ``args``; returns its result.

        Arguments are converted by the function's signature: ``bool`` for
        bool; ``int`` for the integer types, range-checked; ``int`` or
        ``float`` for float/double; ``str`` for string (sent as UTF-8);
        ``bytes``, ``bytearray``, ``memoryview`` (any buffer) for bytes.
        A wrong number of arguments or a wrong Python type raises
        SignatureError (a TypeError); a value out of range or a string that
        is not encodable raises InvalidArgument (a ValueError).  Neither
        reaches the guest.  The result: None for void, bool, int, float, str
        or bytes (copied out of the sandbox).
        """
        h = self._enter()
        try:
            if not self._initialized:
                self._ensure_init(h)
            fn, cname = self._signature(h, name)
            n = len(args)
            if n != len(fn.params):
                raise SignatureError(f"{fn}: expects {len(fn.params)} argument"
                                     f"{'' if len(fn.params) == 1 else 's'}, got {n}")
            argv = None
            keep = []
            if n:
                argv = (_lib.Value * n)()
                for i in range(n):
                    t = fn.params[i]
                    x = args[i]
                    try:
                        _encode(argv[i], t, x, keep)
                    except _WrongType:
                        raise SignatureError(f"{fn}: argument {i + 1} is {_pyname(x)}, expected {t}") from None
                    except _BadValue as e:
                        raise InvalidArgument(f"{fn}: argument {i + 1}: {e}") from None
            result = _lib.Value()
            st, pending = _run_collecting(lib.glint_sandbox_call, h, cname, argv, n, byref(result))
            if st:
                self._raise(h, st, pending)
            value = _decode(result)
            for p in pending:
                if not isinstance(p, Exception):
                    raise p
            return value
        finally:
            self._leave()

    def interrupt(self):
        """Stops the call running on this sandbox, if any: it raises Cancelled
        (and poisons the sandbox).  Any thread, any time; a no-op when no call
        runs or the sandbox is closed; never affects a later call."""
        with self._lock:
            if self._h is not None:
                lib.glint_sandbox_interrupt(self._h)

    # -- introspection ---------------------------------------------------

    def _get(self, fn):
        h = self._enter()
        try:
            return fn(h)
        finally:
            self._leave()

    @property
    def functions(self):
        """The guest's functions, in table order, as glint.Function
        (``str(f)`` gives ``"Add(int32, int32) -> int32"``)."""
        return self._get(lambda h: tuple(_function_from_c(lib.glint_sandbox_function(h, i))
                                         for i in range(lib.glint_sandbox_function_count(h))))

    @property
    def host_functions(self):
        """The host functions registered from Python, by name."""
        return dict(self._hosts)

    @property
    def backend(self):
        """``"kvm"`` or ``"process"``."""
        return self._get(lambda h: _backend_name(lib.glint_sandbox_backend(h)))

    @property
    def poisoned(self):
        """True once a guest failure poisoned the sandbox (until a restore)."""
        return self._get(lambda h: bool(lib.glint_sandbox_poisoned(h)))

    @property
    def exit_count(self):
        """VM exits taken since creation."""
        return self._get(lambda h: lib.glint_sandbox_exit_count(h))

    def __repr__(self):
        if self.closed:
            return f"<glint.{type(self).__name__} closed>"
        return f"<glint.{type(self).__name__} on {self.backend}>"

    # -- snapshots -------------------------------------------------------

    def snapshot(self):
        """A Snapshot of this (initialized, not poisoned) sandbox, between calls."""
        h = self._enter()
        try:
            self._ensure_init(h)
            out = c_void_p()
            st = lib.glint_sandbox_snapshot(h, byref(out))
            if st:
                raise self._error(h, st)
            return Snapshot._adopt(out.value)
        finally:
            self._leave()

    def restore(self, snapshot):
        """Restores memory and vCPU state to ``snapshot``; clears poisoning.
        Incompatible (sandbox unchanged) for another layout or host set."""
        h = self._enter()
        try:
            sh = snapshot._enter()
            try:
                if not self._initialized and not self._from_snapshot and not lib.glint_sandbox_poisoned(h):
                    self._ensure_init(h)
                st = lib.glint_sandbox_restore(h, sh)
            finally:
                snapshot._leave()
            if st:
                raise self._error(h, st)
            self._initialized = True
            self._sigs = {}
        finally:
            self._leave()

    def set_auto_restore(self, snapshot):
        """With a Snapshot, every later call ends by restoring it (whatever its
        outcome), so each call starts from the same state; None turns it off."""
        h = self._enter()
        try:
            self._ensure_init(h)
            if snapshot is None:
                st = lib.glint_sandbox_set_auto_restore(h, None)
            else:
                sh = snapshot._enter()
                try:
                    st = lib.glint_sandbox_set_auto_restore(h, sh)
                finally:
                    snapshot._leave()
            if st:
                raise self._error(h, st)
            self._sigs = {}
        finally:
            self._leave()


# ---------------------------------------------------------------------------
# Snapshots


class Snapshot(_Resource):
    """A sandbox frozen between calls: ``sb.snapshot()`` or ``Snapshot.load(path)``.

    Immutable and usable from any thread.  Sandboxes made from it, restored
    to it and pools keep what they need: closing it is always safe.
    """

    _what = "snapshot"

    def __init__(self, *a, **k):
        raise TypeError("use Sandbox.snapshot() or glint.Snapshot.load(path)")

    @classmethod
    def _adopt(cls, handle):
        self = cls.__new__(cls)
        self._setup(handle, lib.glint_snapshot_free)
        return self

    @classmethod
    def load(cls, path):
        """Loads a snapshot file (BadSnapshot if corrupt or foreign, FileError
        if unreadable).  The file is mapped: do not rewrite it in place while
        the snapshot or sandboxes made from it exist (replacing it by rename,
        as ``save`` does, is safe)."""
        out = c_void_p()
        err = _lib.Error()
        st = lib.glint_snapshot_load(os.fsencode(path), byref(out), byref(err))
        if st:
            raise _err(st, err)
        return cls._adopt(out.value)

    def save(self, path):
        """Writes the snapshot to ``path`` (replaced atomically)."""
        h = self._enter()
        try:
            err = _lib.Error()
            st = lib.glint_snapshot_save(h, os.fsencode(path), byref(err))
            if st:
                raise _err(st, err)
        finally:
            self._leave()

    def _get(self, fn):
        h = self._enter()
        try:
            return fn(h)
        finally:
            self._leave()

    @property
    def functions(self):
        """The guest's functions."""
        return self._get(lambda h: tuple(_function_from_c(lib.glint_snapshot_function(h, i))
                                         for i in range(lib.glint_snapshot_function_count(h))))

    @property
    def host_functions(self):
        """The host functions the snapshot expects (``print`` included)."""
        return self._get(lambda h: tuple(_function_from_c(lib.glint_snapshot_host_function(h, i))
                                         for i in range(lib.glint_snapshot_host_count(h))))

    @property
    def config(self):
        """The configuration as a SandboxConfig."""
        def get(h):
            c = _lib.Config()
            lib.glint_snapshot_config(h, byref(c))
            return SandboxConfig(c.heap_size, c.stack_size, c.input_size, c.output_size,
                                 c.timeout_ms / 1000 if c.timeout_ms else None,
                                 _backend_name(c.backend))
        return self._get(get)

    @property
    def backend(self):
        """The backend sandboxes made from it run on by default."""
        return self._get(lambda h: _backend_name(lib.glint_snapshot_backend(h)))

    def __repr__(self):
        return f"<glint.Snapshot{' closed' if self.closed else ' ' + self.backend}>"


# ---------------------------------------------------------------------------
# Pools


class PoolStats(NamedTuple):
    idle: int
    out: int
    created: int
    reused: int
    destroyed: int
    refilled: int
    refill_failures: int


class PooledSandbox(Sandbox):
    """A sandbox from a Pool: ``close()`` (or leaving ``with``) gives it back,
    and the pool restores it to the pristine state before anyone gets it
    again.  Results already returned (Python copies) stay valid."""

    _what = "pooled sandbox"


class Pool(_Resource):
    """Pristine sandboxes on demand, all in the state of one snapshot.

    ::

        with glint.Pool(snap, host=[weekday]) as pool:
            with pool.sandbox() as sb:
                sb.call("SayHello", "Ada")

    ``max_idle`` (ready sandboxes kept, 0 for a fresh VM each time),
    ``prefill`` (made ready now), ``min_idle`` (kept ready in the
    background), ``idle_timeout`` (seconds an idle sandbox lives; None keeps
    them), ``host`` (HostFunctions, exactly the snapshot's; ``print`` is
    added for you), ``backend`` (None for the snapshot's).  All methods are
    thread-safe: many threads may acquire and release at once.
    """

    _what = "pool"

    def __init__(self, snapshot, *, max_idle=16, prefill=0, min_idle=0, idle_timeout=30.0,
                 host=(), backend=None):
        hosts = _with_print(_host_list(host))
        arr = (_lib.HostFunctionC * len(hosts))()
        for i, hf in enumerate(hosts):
            arr[i].sig = hf._csig
            arr[i].callback = hf._cfn
            arr[i].user = None
        cfg = _lib.PoolConfig()
        lib.glint_pool_config_default(byref(cfg))
        cfg.max_idle = _size("max_idle", max_idle)
        cfg.prefill = _size("prefill", prefill)
        cfg.min_idle = _size("min_idle", min_idle)
        cfg.idle_timeout_ms = _timeout_ms(idle_timeout)
        cfg.host = arr
        cfg.nhost = len(hosts)
        cfg.backend = _backend(backend)
        # Kept for as long as the pool or any of its sandboxes exists.
        self._keep = (arr, tuple(hosts))
        sh = snapshot._enter()
        try:
            out = c_void_p()
            err = _lib.Error()
            st = lib.glint_pool_create(sh, byref(cfg), byref(out), byref(err))
        finally:
            snapshot._leave()
        if st:
            raise _err(st, err)
        self._hosts = {h.name: h for h in hosts}
        self._setup(out.value, lib.glint_pool_destroy, self._keep)

    def _try_enter(self):
        with self._lock:
            if self._closing:
                return None
            self._active += 1
            return self._h

    def _release_handle(self, sb_handle):
        ph = self._try_enter()
        if ph is None:
            # The pool is gone (or going): this sandbox is not its any more.
            lib.glint_sandbox_destroy(sb_handle)
            return
        try:
            lib.glint_pool_release(ph, sb_handle)
        finally:
            self._leave()

    def acquire(self):
        """A PooledSandbox in the pristine state, initialized, with the
        pool's host functions.  Give it back with ``close()``."""
        ph = self._enter()
        try:
            out = c_void_p()
            err = _lib.Error()
            st = lib.glint_pool_acquire(ph, byref(out), byref(err))
            if st:
                raise _err(st, err)
            sb = PooledSandbox._adopt(out.value, None, register=False, initialized=True,
                                      free=self._release_handle,
                                      keep=(self._keep,))
            sb._hosts.update(self._hosts)
            return sb
        finally:
            self._leave()

    @contextlib.contextmanager
    def sandbox(self):
        """``with pool.sandbox() as sb:`` acquires, and releases at the end."""
        sb = self.acquire()
        try:
            yield sb
        finally:
            sb.close()

    def stats(self):
        """PoolStats: idle, out, created, reused, destroyed, refilled, refill_failures."""
        h = self._enter()
        try:
            st = _lib.PoolStats()
            lib.glint_pool_get_stats(h, byref(st))
            return PoolStats(st.idle, st.out, st.created, st.reused, st.destroyed, st.refilled,
                             st.refill_failures)
        finally:
            self._leave()

    def close(self):
        """Destroys the pool and its idle sandboxes.  Sandboxes still out stay
        usable; closing them then destroys them."""
        super().close()

    def __repr__(self):
        return f"<glint.Pool{' closed' if self.closed else ''}>"
