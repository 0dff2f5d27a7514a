"""The exceptions of ``glint``: one class per glint_status, grouped.

::

    GlintError                      every error glint raises
    ├── InvalidArgument  (+ValueError)   GLINT_E_INVALID: a bad value (out of range
    │                                    integer, bad size, invalid UTF-8, ...)
    ├── SignatureError   (+TypeError)    GLINT_E_SIGNATURE: wrong number or Python
    │                                    types of arguments for the function
    ├── NoFunction       (+LookupError)  GLINT_E_NO_FUNCTION
    ├── TooLarge         (+ValueError)   GLINT_E_TOO_LARGE: arguments exceed the input buffer
    ├── OutOfMemory                      GLINT_E_NOMEM: the host is out of memory
    ├── FileError                        GLINT_E_IO: a file could not be read
    ├── StateError                       GLINT_E_STATE: wrong order (e.g. register after init)
    │   └── Closed       (+ValueError)   the Python object was closed (status GLINT_E_STATE)
    ├── Busy                             GLINT_E_BUSY: another thread is calling the sandbox
    ├── NoBackend                        GLINT_E_NO_KVM: no usable backend for what was asked
    ├── HypervisorError                  GLINT_E_HYPERVISOR
    ├── BadImage                         GLINT_E_BAD_IMAGE, GLINT_E_ABI
    ├── GuestError                       GLINT_E_GUEST_ERROR: the guest function returned an
    │                                    error; the sandbox stays usable
    ├── GuestFailure                     the guest failed; the sandbox is poisoned
    │   ├── GuestAbort                   GLINT_E_ABORT (abort_code)
    │   ├── GuestException               GLINT_E_EXCEPTION (vector, rip, address, error_code)
    │   │   ├── StackOverflow            GLINT_E_STACK_OVERFLOW
    │   │   ├── OutOfBounds              GLINT_E_OUT_OF_BOUNDS (address)
    │   │   └── Shutdown                 GLINT_E_SHUTDOWN (triple fault)
    │   ├── GuestOutOfMemory             GLINT_E_GUEST_OOM
    │   ├── Timeout                      GLINT_E_TIMEOUT
    │   ├── Cancelled                    GLINT_E_CANCELLED (Sandbox.interrupt)
    │   ├── UnexpectedExit               GLINT_E_UNEXPECTED_EXIT
    │   └── BadGuestData                 GLINT_E_BAD_GUEST_DATA
    ├── Poisoned                         GLINT_E_POISONED: an earlier failure poisoned it
    ├── Incompatible                     GLINT_E_INCOMPATIBLE: snapshot and sandbox differ
    └── BadSnapshot                      GLINT_E_BAD_SNAPSHOT: corrupt or foreign file

Every instance carries ``status`` (the C name, e.g. ``"GLINT_E_TIMEOUT"``),
``code`` (its number), ``message`` (glint's one-line message, also
``str(e)``), and the fault details of ``glint_error``: ``abort_code``,
``vector``, ``rip``, ``address`` and ``error_code``.  Those are meaningful
only for the statuses named beside them above (0 otherwise), as in C.
"""

from __future__ import annotations

__all__ = [
    "GlintError",
    "InvalidArgument",
    "SignatureError",
    "NoFunction",
    "TooLarge",
    "OutOfMemory",
    "FileError",
    "StateError",
    "Closed",
    "Busy",
    "NoBackend",
    "HypervisorError",
    "BadImage",
    "GuestError",
    "GuestFailure",
    "GuestAbort",
    "GuestException",
    "StackOverflow",
    "OutOfBounds",
    "Shutdown",
    "GuestOutOfMemory",
    "Timeout",
    "Cancelled",
    "UnexpectedExit",
    "BadGuestData",
    "Poisoned",
    "Incompatible",
    "BadSnapshot",
    "STATUS_NAMES",
]

# glint_status, in enum order (include/glint/glint.h).
STATUS_NAMES = (
    "GLINT_OK",
    "GLINT_E_INVALID",
    "GLINT_E_NOMEM",
    "GLINT_E_IO",
    "GLINT_E_STATE",
    "GLINT_E_BUSY",
    "GLINT_E_NO_KVM",
    "GLINT_E_HYPERVISOR",
    "GLINT_E_BAD_IMAGE",
    "GLINT_E_ABI",
    "GLINT_E_NO_FUNCTION",
    "GLINT_E_SIGNATURE",
    "GLINT_E_TOO_LARGE",
    "GLINT_E_GUEST_ERROR",
    "GLINT_E_ABORT",
    "GLINT_E_EXCEPTION",
    "GLINT_E_STACK_OVERFLOW",
    "GLINT_E_GUEST_OOM",
    "GLINT_E_TIMEOUT",
    "GLINT_E_CANCELLED",
    "GLINT_E_SHUTDOWN",
    "GLINT_E_OUT_OF_BOUNDS",
    "GLINT_E_UNEXPECTED_EXIT",
    "GLINT_E_BAD_GUEST_DATA",
    "GLINT_E_POISONED",
    "GLINT_E_INCOMPATIBLE",
    "GLINT_E_BAD_SNAPSHOT",
)
_CODES = {name: i for i, name in enumerate(STATUS_NAMES)}


class GlintError(Exception):
    """Base class of every error glint raises."""

    #: The status a class stands for when raised without one.
    default_status = "GLINT_E_INVALID"

    def __init__(self, message="", *, status=None, abort_code=0, vector=0, rip=0, address=0,
                 error_code=0):
        super().__init__(message)
        self.message = message
        self.status = status or self.default_status
        self.abort_code = abort_code
        self.vector = vector
        self.rip = rip
        self.address = address
        self.error_code = error_code

    @property
    def code(self):
        """The numeric glint_status (-1 for a status this module does not know)."""
        return _CODES.get(self.status, -1)

    def __str__(self):
        return self.message

    def __repr__(self):
        return f"{type(self).__name__}({self.message!r}, status={self.status!r})"

    def __reduce__(self):
        return (_rebuild, (type(self), self.message, self.__dict__.copy()))


def _rebuild(cls, message, state):
    e = cls.__new__(cls)
    Exception.__init__(e, message)
    e.__dict__.update(state)
    return e


class InvalidArgument(GlintError, ValueError):
    """GLINT_E_INVALID: a bad argument or configuration value."""

    default_status = "GLINT_E_INVALID"


class SignatureError(GlintError, TypeError):
    """GLINT_E_SIGNATURE: wrong number or types of arguments."""

    default_status = "GLINT_E_SIGNATURE"


class NoFunction(GlintError, LookupError):
    """GLINT_E_NO_FUNCTION: no guest function of that name."""

    default_status = "GLINT_E_NO_FUNCTION"


class TooLarge(GlintError, ValueError):
    """GLINT_E_TOO_LARGE: the arguments do not fit the input buffer."""

    default_status = "GLINT_E_TOO_LARGE"


class OutOfMemory(GlintError):
    """GLINT_E_NOMEM: the host is out of memory."""

    default_status = "GLINT_E_NOMEM"


class FileError(GlintError):
    """GLINT_E_IO: a guest or snapshot file could not be read or written."""

    default_status = "GLINT_E_IO"


class StateError(GlintError):
    """GLINT_E_STATE: wrong order, e.g. registering a host function after init."""

    default_status = "GLINT_E_STATE"


class Closed(StateError, ValueError):
    """The sandbox, snapshot, image or pool was closed (like I/O on a closed file)."""

    default_status = "GLINT_E_STATE"


class Busy(GlintError):
    """GLINT_E_BUSY: another thread is calling this sandbox (calls do not wait)."""

    default_status = "GLINT_E_BUSY"


class NoBackend(GlintError):
    """GLINT_E_NO_KVM: no backend this host can use for what was asked."""

    default_status = "GLINT_E_NO_KVM"


class HypervisorError(GlintError):
    """GLINT_E_HYPERVISOR: a backend operation failed unexpectedly."""

    default_status = "GLINT_E_HYPERVISOR"


class BadImage(GlintError):
    """GLINT_E_BAD_IMAGE or GLINT_E_ABI: not a valid glint guest of this ABI."""

    default_status = "GLINT_E_BAD_IMAGE"


class GuestError(GlintError):
    """GLINT_E_GUEST_ERROR: the guest function returned an error.

    The sandbox stays usable.  When a host function raised during the call,
    that exception is this one's ``__cause__``.
    """

    default_status = "GLINT_E_GUEST_ERROR"


class GuestFailure(GlintError):
    """The guest failed: the sandbox is poisoned (restore it or close it)."""

    default_status = "GLINT_E_EXCEPTION"


class GuestAbort(GuestFailure):
    """GLINT_E_ABORT: abort(), a panic, a failed assert, glint_abort (abort_code)."""

    default_status = "GLINT_E_ABORT"


class GuestException(GuestFailure):
    """GLINT_E_EXCEPTION: a CPU exception in the guest (vector, rip, address, error_code).

    Its subclasses are the other ways a guest crashes on the CPU: stack
    overflow, an access outside guest memory, a triple fault.
    """

    default_status = "GLINT_E_EXCEPTION"


class StackOverflow(GuestException):
    """GLINT_E_STACK_OVERFLOW: the guest ran into its stack guard page."""

    default_status = "GLINT_E_STACK_OVERFLOW"


class OutOfBounds(GuestException):
    """GLINT_E_OUT_OF_BOUNDS: an access outside guest memory (address)."""

    default_status = "GLINT_E_OUT_OF_BOUNDS"


class Shutdown(GuestException):
    """GLINT_E_SHUTDOWN: triple fault, the vCPU shut down."""

    default_status = "GLINT_E_SHUTDOWN"


class GuestOutOfMemory(GuestFailure):
    """GLINT_E_GUEST_OOM: the guest heap is exhausted."""

    default_status = "GLINT_E_GUEST_OOM"


class Timeout(GuestFailure):
    """GLINT_E_TIMEOUT: the call (or init) ran past its time limit."""

    default_status = "GLINT_E_TIMEOUT"


class Cancelled(GuestFailure):
    """GLINT_E_CANCELLED: Sandbox.interrupt() stopped the call."""

    default_status = "GLINT_E_CANCELLED"


class UnexpectedExit(GuestFailure):
    """GLINT_E_UNEXPECTED_EXIT: a VM exit the runtime does not expect."""

    default_status = "GLINT_E_UNEXPECTED_EXIT"


class BadGuestData(GuestFailure):
    """GLINT_E_BAD_GUEST_DATA: the guest handed the host malformed data."""

    default_status = "GLINT_E_BAD_GUEST_DATA"


class Poisoned(GlintError):
    """GLINT_E_POISONED: an earlier failure poisoned this sandbox."""

    default_status = "GLINT_E_POISONED"


class Incompatible(GlintError):
    """GLINT_E_INCOMPATIBLE: the snapshot does not fit (layout, host functions, backend)."""

    default_status = "GLINT_E_INCOMPATIBLE"


class BadSnapshot(GlintError):
    """GLINT_E_BAD_SNAPSHOT: the snapshot file is corrupt, truncated or of another format."""

    default_status = "GLINT_E_BAD_SNAPSHOT"


_BY_STATUS = {
    "GLINT_E_INVALID": InvalidArgument,
    "GLINT_E_NOMEM": OutOfMemory,
    "GLINT_E_IO": FileError,
    "GLINT_E_STATE": StateError,
    "GLINT_E_BUSY": Busy,
    "GLINT_E_NO_KVM": NoBackend,
    "GLINT_E_HYPERVISOR": HypervisorError,
    "GLINT_E_BAD_IMAGE": BadImage,
    "GLINT_E_ABI": BadImage,
    "GLINT_E_NO_FUNCTION": NoFunction,
    "GLINT_E_SIGNATURE": SignatureError,
    "GLINT_E_TOO_LARGE": TooLarge,
    "GLINT_E_GUEST_ERROR": GuestError,
    "GLINT_E_ABORT": GuestAbort,
    "GLINT_E_EXCEPTION": GuestException,
    "GLINT_E_STACK_OVERFLOW": StackOverflow,
    "GLINT_E_GUEST_OOM": GuestOutOfMemory,
    "GLINT_E_TIMEOUT": Timeout,
    "GLINT_E_CANCELLED": Cancelled,
    "GLINT_E_SHUTDOWN": Shutdown,
    "GLINT_E_OUT_OF_BOUNDS": OutOfBounds,
    "GLINT_E_UNEXPECTED_EXIT": UnexpectedExit,
    "GLINT_E_BAD_GUEST_DATA": BadGuestData,
    "GLINT_E_POISONED": Poisoned,
    "GLINT_E_INCOMPATIBLE": Incompatible,
    "GLINT_E_BAD_SNAPSHOT": BadSnapshot,
}


def error_class(status):
    """The exception class for a status name or number."""
    if isinstance(status, int):
        status = STATUS_NAMES[status] if 0 <= status < len(STATUS_NAMES) else "?"
    return _BY_STATUS.get(status, GlintError)


def from_status(code, message, err=None):
    """An exception for status ``code`` with ``message``; fault fields from ``err``."""
    name = STATUS_NAMES[code] if 0 <= code < len(STATUS_NAMES) else f"GLINT_E_UNKNOWN({code})"
    cls = _BY_STATUS.get(name, GlintError)
    if err is None:
        return cls(message, status=name)
    return cls(message, status=name, abort_code=err.abort_code, vector=err.vector, rip=err.rip,
               address=err.address, error_code=err.error_code)
