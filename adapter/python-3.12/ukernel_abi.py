"""ctypes bindings to libukernel_abi.so: the Zigu ABI on the host, for local runs.

Numbers come from ukernel_abi_numbers.py (generated from abi/spec.ts). Every call returns its
value or raises a UkernelError subclass for the negative code. The policy is the environment's
UKERNEL_CAPS (comma-separated kinds), read by the library on its first call: set it before; so is
the network policy (UKERNEL_NET_LISTEN, UKERNEL_NET_CONNECT, UKERNEL_NET_BIND: host/net.zig).
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
WouldBlockError = abi.WouldBlockError
ConnectionFailedError = abi.ConnectionFailedError
NetworkPolicyError = abi.NetworkPolicyError
NameNotFoundError = abi.NameNotFoundError
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

    # Sockets (CAP_NET; on the host, the host's own sockets) --------------------------------------
    # Addresses are IPv4 as a 32-bit integer (127.0.0.1 is 0x7F000001), as in the C ABI.
    _RECV_BYTES = 256 * 1024  # asyncio's largest read (selector_events max_size)

    def tcp_listen(self, port: int, backlog: int) -> int:
        return self.call("tcp_listen", port, backlog)

    def tcp_accept(self, listener: int) -> int:
        return self.call("tcp_accept", listener)

    def tcp_connect(self, addr: int, port: int) -> int:
        return self.call("tcp_connect", addr, port)

    def sock_send(self, sock: int, data: bytes | bytearray | memoryview) -> int:
        """Bytes queued (maybe fewer than given); WouldBlockError when none fit."""
        if not isinstance(data, bytes):
            data = bytes(data)
        if not data:
            return 0
        return self.call("sock_send", sock, data, len(data))

    def sock_recv(self, sock: int, n: int) -> bytes:
        """Up to n bytes; b"" once the peer has closed its side; WouldBlockError when none wait."""
        n = min(n, self._RECV_BYTES)
        buf = self._recv_buffer()
        got = self.call("sock_recv", sock, buf, n)
        return ctypes.string_at(buf, got)

    def sock_recv_into(self, sock: int, buf: bytearray | memoryview, n: int = 0) -> int:
        n = min(n or len(buf), len(buf))
        if n == 0:
            return 0
        target = (ctypes.c_char * len(buf)).from_buffer(buf)
        return self.call("sock_recv", sock, ctypes.addressof(target), n)

    def sock_shutdown(self, sock: int) -> None:
        self.call("sock_shutdown", sock)

    def udp_bind(self, port: int) -> int:
        return self.call("udp_bind", port)

    def udp_send_to(self, sock: int, data: bytes, addr: int, port: int) -> int:
        data = bytes(data)
        return self.call("udp_send_to", sock, data, len(data), addr << 16 | port)

    def udp_recv_from(self, sock: int, n: int) -> tuple[bytes, tuple[int, int]]:
        n = min(n, self._RECV_BYTES)
        buf = self._recv_buffer()
        sender = ctypes.c_uint64()
        got = self.call("udp_recv_from", sock, buf, n, ctypes.byref(sender))
        return ctypes.string_at(buf, got), (sender.value >> 16, sender.value & 0xFFFF)

    def _recv_buffer(self) -> ctypes.Array[ctypes.c_char]:
        # One buffer for every receive: asyncio reads up to 256 KiB at a time, one read at a time.
        buf = getattr(self, "_rbuf", None)
        if buf is None:
            buf = self._rbuf = ctypes.create_string_buffer(self._RECV_BYTES)
        return buf

    def exit(self, status: int) -> None:
        self._fns["exit"](status)
