"""ctypes bindings to libukernel_abi.so: the Zigu ABI on the host, for local runs.

Numbers come from ukernel_abi_numbers.py (generated from abi/spec.ts). Every call returns its
value or raises a UkernelError subclass for the negative code. The policy is the environment's
UKERNEL_CAPS (comma-separated kinds), read by the library on its first call: set it before.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path
from typing import Callable

import ukernel_abi_numbers as abi

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


class UkernelError(Exception):
    """A negative result of an ABI call."""

    code = 0

    def __init__(self, call: str) -> None:
        super().__init__(f"{call}: {abi.ERROR_NAMES.get(self.code, self.code)}")
        self.call = call


class CapabilityError(UkernelError, PermissionError):
    """ERR_PERMISSION: the call's capability is not active, or the policy refuses it."""

    code = abi.ERR_PERMISSION


class BadHandleError(UkernelError):
    code = abi.ERR_BAD_HANDLE


class BadPointerError(UkernelError):
    code = abi.ERR_BAD_POINTER


class InvalidArgumentError(UkernelError):
    code = abi.ERR_INVALID


class NoSpaceError(UkernelError):
    code = abi.ERR_NO_SPACE


class NoSuchCallError(UkernelError):
    code = abi.ERR_NO_SYS


class UnsupportedError(UkernelError):
    code = abi.ERR_UNSUPPORTED


class ExistsError(UkernelError):
    code = abi.ERR_EXISTS


_ERRORS: dict[int, type[UkernelError]] = {
    cls.code: cls
    for cls in (CapabilityError, BadHandleError, BadPointerError, InvalidArgumentError, NoSpaceError, NoSuchCallError, UnsupportedError, ExistsError)
}


class Event(ctypes.Structure):
    _fields_ = [("user_data", ctypes.c_uint64), ("events", ctypes.c_uint32), ("reserved", ctypes.c_uint32)]


u64, i64, u32, vp = ctypes.c_uint64, ctypes.c_int64, ctypes.c_uint32, ctypes.c_void_p

# Argument types of every uk_* function; tests check this table against abi.CALLS.
SIGNATURES: dict[str, list[type]] = {
    "exit": [u32],
    "log": [u32, vp, u64],
    "clock_now": [u32],
    "cap_acquire": [u32],
    "cap_enter": [vp, u64],
    "cap_drop": [u32],
    "handle_close": [u64],
    "timer_create": [],
    "timer_arm": [u64, u64, u64],
    "io_register": [u64, u32, u64],
    "io_unregister": [u64],
    "io_poll": [vp, u64, i64],
    "random": [vp, u64],
    "nop": [],
    "task_spawn": [u64, u64, vp, u64],
    "task_yield": [],
    "task_exit": [u32],
    "task_join": [u64],
}


def library_path() -> Path:
    """UKERNEL_ABI_LIB, else the repository's zig-out/lib (what `zig build` makes)."""
    explicit = os.environ.get("UKERNEL_ABI_LIB")
    path = Path(explicit) if explicit else REPO / "zig-out" / "lib" / "libukernel_abi.so"
    if not path.exists():
        raise FileNotFoundError(f"{path}: libukernel_abi.so not built (run `zig build` in the Zigu repository, or set UKERNEL_ABI_LIB)")
    return path


class Abi:
    """The ABI through one loaded library."""

    def __init__(self, path: Path | None = None) -> None:
        self.lib = ctypes.CDLL(str(path or library_path()))
        self._fns: dict[str, Callable[..., int]] = {}
        for name, argtypes in SIGNATURES.items():
            fn = getattr(self.lib, f"uk_{name}")
            fn.argtypes = argtypes
            fn.restype = None if name == "exit" else i64
            self._fns[name] = fn

    def call(self, name: str, *args: object) -> int:
        result = self._fns[name](*args)
        if result < 0:
            raise _ERRORS.get(result, UkernelError)(name)
        return result

    # Capabilities -------------------------------------------------------------------------------
    def cap_acquire(self, kind: int) -> int:
        return self.call("cap_acquire", kind)

    def cap_enter(self, handles: list[int]) -> None:
        arr = (ctypes.c_uint64 * len(handles))(*handles)
        self.call("cap_enter", ctypes.cast(arr, vp), len(handles))

    def cap_drop(self, kind: int) -> None:
        self.call("cap_drop", kind)

    def enter(self, *kinds: int) -> None:
        """Acquire and enter each kind: what a workload does first."""
        self.cap_enter([self.cap_acquire(k) for k in kinds])

    # Calls ----------------------------------------------------------------------------------------
    def log(self, msg: str, level: int = abi.LOG_INFO) -> None:
        data = msg.encode()
        self.call("log", level, ctypes.c_char_p(data), len(data))

    def clock_now(self, clock: int = abi.CLOCK_MONOTONIC) -> int:
        return self.call("clock_now", clock)

    def timer_create(self) -> int:
        return self.call("timer_create")

    def timer_arm(self, timer: int, delay_ns: int, period_ns: int = 0) -> None:
        self.call("timer_arm", timer, delay_ns, period_ns)

    def io_register(self, handle: int, interest: int, user_data: int) -> None:
        self.call("io_register", handle, interest, user_data)

    def io_unregister(self, handle: int) -> None:
        self.call("io_unregister", handle)

    def io_poll(self, max_events: int, timeout_ns: int) -> list[tuple[int, int]]:
        events = (Event * max_events)()
        n = self.call("io_poll", ctypes.cast(events, vp), max_events, timeout_ns)
        return [(events[i].user_data, events[i].events) for i in range(n)]

    def close(self, handle: int) -> None:
        self.call("handle_close", handle)

    def random(self, n: int) -> bytes:
        buf = ctypes.create_string_buffer(n)
        self.call("random", ctypes.cast(buf, vp), n)
        return buf.raw

    def exit(self, status: int) -> None:
        self._fns["exit"](status)
