"""ctypes declarations of libglint's C API (include/glint/glint.h).

Private: the public surface is in the ``glint`` package.  Every structure
here mirrors the C one field by field; libglint keeps no binary
compatibility before 1.0, so this module matches the headers of the same
glint version (see ``glint.__version__``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    Union,
    c_bool,
    c_char,
    c_char_p,
    c_double,
    c_float,
    c_int,
    c_int32,
    c_long,
    c_size_t,
    c_uint32,
    c_uint64,
    c_void_p,
)

MAX_PARAMS = 16
MAX_NAME = 63


class _Str(Structure):
    _fields_ = [("ptr", c_void_p), ("len", c_size_t)]


class _ValueUnion(Union):
    _fields_ = [
        ("b", c_bool),
        ("i32", c_int32),
        ("u32", c_uint32),
        ("i64", ctypes.c_int64),
        ("u64", c_uint64),
        ("f32", c_float),
        ("f64", c_double),
        ("str", _Str),
        ("bytes", _Str),
    ]


class Value(Structure):
    """glint_value"""

    _fields_ = [("type", c_int), ("v", _ValueUnion)]


class Function(Structure):
    """glint_function"""

    _fields_ = [
        ("name", c_char_p),
        ("ret", c_int),
        ("nparams", c_uint32),
        ("params", c_int * MAX_PARAMS),
    ]


class Error(Structure):
    """glint_error"""

    _fields_ = [
        ("status", c_int),
        ("message", c_char * 768),
        ("abort_code", c_int32),
        ("vector", c_uint32),
        ("rip", c_uint64),
        ("address", c_uint64),
        ("error_code", c_uint64),
    ]


class Config(Structure):
    """glint_config"""

    _fields_ = [
        ("heap_size", c_size_t),
        ("stack_size", c_size_t),
        ("input_size", c_size_t),
        ("output_size", c_size_t),
        ("timeout_ms", c_uint32),
        ("backend", c_int),
    ]


# glint_status (*)(glint_hostcall *, const glint_value *, size_t, glint_value *, void *)
HOST_FN = CFUNCTYPE(c_int, c_void_p, POINTER(Value), c_size_t, POINTER(Value), c_void_p)


class HostFunctionC(Structure):
    """glint_host_function"""

    _fields_ = [("sig", Function), ("callback", HOST_FN), ("user", c_void_p)]


class PoolConfig(Structure):
    """glint_pool_config"""

    _fields_ = [
        ("max_idle", c_size_t),
        ("prefill", c_size_t),
        ("idle_timeout_ms", c_uint32),
        ("host", POINTER(HostFunctionC)),
        ("nhost", c_size_t),
        ("min_idle", c_size_t),
        ("backend", c_int),
    ]


class PoolStats(Structure):
    """glint_pool_stats"""

    _fields_ = [
        ("idle", c_size_t),
        ("out", c_size_t),
        ("created", c_uint64),
        ("reused", c_uint64),
        ("destroyed", c_uint64),
        ("refilled", c_uint64),
        ("refill_failures", c_uint64),
    ]


_E = POINTER(Error)
_PP = POINTER(c_void_p)

# name: (restype, argtypes)
_PROTOTYPES = {
    "glint_status_name": (c_char_p, [c_int]),
    "glint_type_name": (c_char_p, [c_int]),
    "glint_backend_name": (c_char_p, [c_int]),
    "glint_backend_parse": (c_int, [c_char_p, POINTER(c_int), _E]),
    "glint_backend_select": (c_int, [c_int, POINTER(c_int), _E]),
    "glint_backend_probe": (c_int, [c_int, _E]),
    "glint_backend_describe": (c_char_p, [c_int]),
    "glint_probe": (c_int, [_E]),
    "glint_config_default": (None, [POINTER(Config)]),
    "glint_config_validate": (c_int, [POINTER(Config), c_size_t, _E]),
    "glint_image_open_file": (c_int, [c_char_p, _PP, _E]),
    "glint_image_open_memory": (c_int, [c_void_p, c_size_t, _PP, _E]),
    "glint_image_close": (None, [c_void_p]),
    "glint_image_function_count": (c_size_t, [c_void_p]),
    "glint_image_function": (POINTER(Function), [c_void_p, c_size_t]),
    "glint_image_find": (c_long, [c_void_p, c_char_p]),
    "glint_sandbox_create": (c_int, [c_void_p, POINTER(Config), _PP, _E]),
    "glint_sandbox_create_file": (c_int, [c_char_p, POINTER(Config), _PP, _E]),
    "glint_sandbox_destroy": (None, [c_void_p]),
    "glint_hostcall_buffer": (c_void_p, [c_void_p, c_size_t]),
    # Variadic in C: always called with the format "%s" and one string.
    "glint_hostcall_fail": (c_int, [c_void_p, c_char_p, c_char_p]),
    "glint_hostcall_sandbox": (c_void_p, [c_void_p]),
    "glint_sandbox_register": (c_int, [c_void_p, POINTER(Function), HOST_FN, c_void_p]),
    "glint_sandbox_init": (c_int, [c_void_p]),
    "glint_sandbox_call": (c_int, [c_void_p, c_char_p, POINTER(Value), c_size_t, POINTER(Value)]),
    "glint_sandbox_interrupt": (None, [c_void_p]),
    "glint_sandbox_error": (_E, [c_void_p]),
    "glint_sandbox_poisoned": (c_bool, [c_void_p]),
    "glint_sandbox_function_count": (c_size_t, [c_void_p]),
    "glint_sandbox_function": (POINTER(Function), [c_void_p, c_size_t]),
    "glint_sandbox_exit_count": (c_uint64, [c_void_p]),
    "glint_sandbox_backend": (c_int, [c_void_p]),
    "glint_sandbox_snapshot": (c_int, [c_void_p, _PP]),
    "glint_sandbox_restore": (c_int, [c_void_p, c_void_p]),
    "glint_sandbox_set_auto_restore": (c_int, [c_void_p, c_void_p]),
    "glint_sandbox_create_from_snapshot_on": (c_int, [c_void_p, c_int, _PP, _E]),
    "glint_snapshot_backend": (c_int, [c_void_p]),
    "glint_snapshot_free": (None, [c_void_p]),
    "glint_snapshot_ref": (c_void_p, [c_void_p]),
    "glint_snapshot_function_count": (c_size_t, [c_void_p]),
    "glint_snapshot_function": (POINTER(Function), [c_void_p, c_size_t]),
    "glint_snapshot_config": (None, [c_void_p, POINTER(Config)]),
    "glint_snapshot_host_count": (c_size_t, [c_void_p]),
    "glint_snapshot_host_function": (POINTER(Function), [c_void_p, c_size_t]),
    "glint_snapshot_save": (c_int, [c_void_p, c_char_p, _E]),
    "glint_snapshot_load": (c_int, [c_char_p, _PP, _E]),
    "glint_pool_config_default": (None, [POINTER(PoolConfig)]),
    "glint_pool_create": (c_int, [c_void_p, POINTER(PoolConfig), _PP, _E]),
    "glint_pool_acquire": (c_int, [c_void_p, _PP, _E]),
    "glint_pool_release": (None, [c_void_p, c_void_p]),
    "glint_pool_destroy": (None, [c_void_p]),
    "glint_pool_get_stats": (None, [c_void_p, POINTER(PoolStats)]),
    "glint_interrupt_signal": (c_int, []),
}


def _candidates():
    """Where to look for libglint, in order (see find_library)."""
    env = os.environ.get("GLINT_LIBRARY")
    if env:
        return [env], True
    out = []
    here = os.path.dirname(os.path.abspath(__file__))
    # python/glint/ in the source tree: the build tree is ../../build/lib.
    build = os.path.normpath(os.path.join(here, "..", "..", "build", "lib"))
    for name in ("libglint.so.0", "libglint.so"):
        p = os.path.join(build, name)
        if os.path.exists(p):
            out.append(p)
    found = ctypes.util.find_library("glint")
    if found:
        out.append(found)
    out.append("libglint.so.0")
    return out, False


def find_library():
    """The path (or soname) of the libglint that ``glint`` loads.

    1. the environment variable GLINT_LIBRARY, if set (nothing else is tried);
    2. the build tree next to this package, when it runs from a glint source
       tree: ``../build/lib/libglint.so.0`` (or ``libglint.so``) relative to
       ``python/``;
    3. ``ctypes.util.find_library("glint")``, then ``libglint.so.0`` through
       the dynamic loader's search path (LD_LIBRARY_PATH, ld.so.cache).
    """
    return _candidates()[0][0]


def _load():
    names, explicit = _candidates()
    errors = []
    for name in names:
        try:
            return ctypes.CDLL(name), name
        except OSError as e:
            errors.append(f"{name}: {e}")
    how = "GLINT_LIBRARY" if explicit else "the build tree, find_library('glint') and libglint.so.0"
    raise ImportError(
        "glint: cannot load libglint (tried " + how + "): " + "; ".join(errors)
        + " - build it with `make` or set GLINT_LIBRARY to its path"
    )


lib, path = _load()

for _name, (_res, _args) in _PROTOTYPES.items():
    try:
        _f = getattr(lib, _name)
    except AttributeError as _e:  # pragma: no cover - an incompatible library
        raise ImportError(f"glint: {path} has no {_name}: is it libglint?") from _e
    _f.restype = _res
    _f.argtypes = _args
del _name, _res, _args, _f
