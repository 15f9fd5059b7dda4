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


# The error classes, one per code, come from abi/spec.ts like the numbers.
UkernelError = abi.UkernelError
CapabilityError = abi.CapabilityError
BadHandleError = abi.BadHandleError
BadPointerError = abi.BadPointerError
InvalidArgumentError = abi.InvalidArgumentError
NoSpaceError = abi.NoSpaceError
NoSuchCallError = abi.NoSuchCallError
UnsupportedError = abi.UnsupportedError
ExistsError = abi.ExistsError
_ERRORS: dict[int, type[UkernelError]] = abi.ERRORS


class Event(ctypes.Structure):
    _fields_ = [("user_data", ctypes.c_uint64), ("events", ctypes.c_uint32), ("reserved", ctypes.c_uint32)]


u64, i64, u32, vp = ctypes.c_uint64, ctypes.c_int64, ctypes.c_uint32, ctypes.c_void_p
_CTYPES = {"u64": u64, "i64": i64, "u32": u32, "ptr": vp}

# Argument types of every uk_* function, from the generated signatures (abi/spec.ts).
SIGNATURES: dict[str, list[type]] = {name: [_CTYPES[kind] for kind in kinds] for name, kinds in abi.SIGNATURES.items()}


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
