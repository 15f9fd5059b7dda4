"""The Zigu asyncio runtime: runs a workload's `async def main()` on an event loop whose only way
of waiting is the ABI's io_poll, with the loop's clock and timers taken from the ABI.

    python runtime.py [--project DIR]

reads DIR/ukernel.toml, puts its capability policy in force (UKERNEL_CAPS), loads the workload
module named by workload.entry and exits with main()'s result (an int, or 0 for None; 1 for an
uncaught exception). Runs on the host library (libukernel_abi.so) for now.

TCP runs over the ABI's socket calls (CAP_NET, within the network policy: on the host, the
library's UKERNEL_NET_LISTEN/UKERNEL_NET_CONNECT/UKERNEL_NET_BIND, which `ukernel adapter` sets from
[network]): asyncio.open_connection/start_server and loop.create_connection/create_server, with
IPv4 addresses and localhost as names (ukernel_net.py). What the ABI does not provide yet fails
loudly: UDP endpoints, TLS, pipes and files (CAP_IO), subprocesses, signals and threads raise
NotImplementedError naming what is missing.

The workload's console output (sys.stdout, and sys.stderr at the error level) goes through the
ABI's `log` call, as in the microVM: without the log capability, print raises CapabilityError.
The runtime's own diagnostics use the process's real stderr. Host mode confines nothing else:
the program is an ordinary Python process that can still open files and sockets, read clocks and
start processes through the standard library. Capabilities gate the ABI's calls, not the host.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import io
import os
import selectors
import socket
import sys
import threading
import tomllib
import traceback
from pathlib import Path
from typing import Any

import ukernel_abi_numbers as abi
import ukernel_net
from ukernel_abi import Abi, BadHandleError, CapabilityError, InvalidArgumentError

_abi: Abi | None = None


def ukernel() -> Abi:
    """The process's ABI (loaded once: the policy is read on the first call)."""
    global _abi
    if _abi is None:
        _abi = Abi()
    return _abi


def _missing(what: str, capability: str) -> NotImplementedError:
    return NotImplementedError(f"{what} needs {capability}, which the Zigu ABI does not provide yet")


def _fd(fileobj: Any) -> int:
    return fileobj if isinstance(fileobj, int) else int(fileobj.fileno())


class UkernelSelector(selectors.BaseSelector):
    """A selector whose select() is io_poll. Its "file descriptors" are ABI handles (the sockets'
    fileno(), ukernel_net.py): each is registered with io_register, its own value as user data.
    A timeout is an ABI timer registered in the poll set."""

    _TIMER = 1  # user data of the selector's own timer (no handle is 1: see handle layout)

    def __init__(self) -> None:
        self._abi = ukernel()
        self._timer = self._abi.timer_create()
        self._abi.io_register(self._timer, abi.EV_READABLE, self._TIMER)
        self._map: dict[int, selectors.SelectorKey] = {}
        # Handles that hung up (EV_HANGUP) in the last select(): a connect that failed.
        self._hangups: set[int] = set()

    @staticmethod
    def _interest(events: int) -> int:
        return (abi.EV_READABLE if events & selectors.EVENT_READ else 0) | (abi.EV_WRITABLE if events & selectors.EVENT_WRITE else 0)

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        fd = _fd(fileobj)
        if not events or events & ~(selectors.EVENT_READ | selectors.EVENT_WRITE):
            raise ValueError(f"invalid events: {events!r}")
        if fd in self._map:
            raise KeyError(f"{fileobj!r} (handle {fd:#x}) is already registered")
        if fd >> 16 == 0:  # a handle's type tag (bits 16..23) is never 0: this is a host fd
            raise _missing("waiting on a host file descriptor (pipes, files, host sockets)", "CAP_IO")
        self._abi.io_register(fd, self._interest(events), fd)
        key = selectors.SelectorKey(fileobj, fd, events, data)
        self._map[fd] = key
        return key

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        fd = _fd(fileobj)
        key = self._map.pop(fd)  # KeyError when not registered, as selectors do
        try:
            self._abi.io_unregister(fd)
        except BadHandleError:
            pass  # closed already: the ABI dropped the registration (its hang-up is ignored)
        return key

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        fd = _fd(fileobj)
        key = self._map[fd]
        if events != key.events:
            self.unregister(fd)
            return self.register(fileobj, events, data)
        key = key._replace(data=data)
        self._map[fd] = key
        return key

    def get_key(self, fileobj: Any) -> selectors.SelectorKey:
        try:
            return self._map[_fd(fileobj)]
        except KeyError:
            raise KeyError(f"{fileobj!r} is not registered") from None

    def hung_up(self, fd: int) -> bool:
        return fd in self._hangups

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is not None and timeout <= 0:
            return self._ready(self._abi.io_poll(abi.MAX_POLL_EVENTS, 0))
        if timeout is not None:
            self._abi.timer_arm(self._timer, max(1, int(timeout * 1e9)))
        try:
            events = self._abi.io_poll(abi.MAX_POLL_EVENTS, abi.TIMEOUT_INFINITE)
        except InvalidArgumentError:
            raise RuntimeError("the event loop would wait for ever: nothing is scheduled and nothing can wake it") from None
        finally:
            self._abi.timer_arm(self._timer, 0, 0)  # disarm
        return self._ready(events)

    def _ready(self, events: list[tuple[int, int]]) -> list[tuple[selectors.SelectorKey, int]]:
        """asyncio's view of io_poll's events: a hang-up wakes the reader and the writer, whose
        next recv or send says what happened (the end of the stream, or ConnectionError)."""
        self._hangups.clear()
        ready = []
        for user_data, ev in events:
            key = self._map.get(user_data)
            if key is None:
                continue  # the timer, or the hang-up of a handle closed while registered
            mask = 0
            if ev & (abi.EV_READABLE | abi.EV_HANGUP):
                mask |= selectors.EVENT_READ
            if ev & (abi.EV_WRITABLE | abi.EV_HANGUP):
                mask |= selectors.EVENT_WRITE
            if ev & abi.EV_HANGUP:
                self._hangups.add(user_data)
            if mask & key.events:
                ready.append((key, mask & key.events))
        return ready

    def close(self) -> None:
        self._abi.close(self._timer)

    def get_map(self) -> dict[int, selectors.SelectorKey]:
        return self._map


class UkernelEventLoop(asyncio.SelectorEventLoop):
    """asyncio's selector loop on io_poll, with the ABI's monotonic clock as loop.time()."""

    def __init__(self) -> None:
        self._abi = ukernel()
        self._thread_id_at_init = threading.get_ident()
        super().__init__(UkernelSelector())

    def time(self) -> float:
        return self._abi.clock_now(abi.CLOCK_MONOTONIC) / 1e9

    # No self-pipe: nothing but io_poll may wake the loop, and other threads have no way in.
    def _make_self_pipe(self) -> None:
        self._ssock = self._csock = None

    def _close_self_pipe(self) -> None:
        pass

    def _write_to_self(self) -> None:
        pass

    def call_soon_threadsafe(self, callback, *args, context=None):  # type: ignore[no-untyped-def]
        if threading.get_ident() != self._thread_id_at_init:
            raise _missing("waking the loop from another thread", "a cross-thread wake-up")
        return self.call_soon(callback, *args, context=context)

    def run_in_executor(self, executor, func, *args):  # type: ignore[no-untyped-def]
        raise _missing("run_in_executor (threads)", "threads")

    def add_signal_handler(self, sig, callback, *args):  # type: ignore[no-untyped-def]
        raise _missing("signal handlers", "signals")

    async def subprocess_exec(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise _missing("subprocesses", "a process capability")

    async def subprocess_shell(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise _missing("subprocesses", "a process capability")

    # TCP over the ABI's sockets: connecting and listening are the ABI's; the transports and
    # the Server are asyncio's own, over ukernel_net's socket-shaped handles.
    async def create_connection(  # type: ignore[override]
        self, protocol_factory, host=None, port=None, *, ssl=None, sock=None, local_addr=None, server_hostname=None, **_ignored
    ):
        if ssl:
            raise _missing("TLS", "a TLS library over the sockets")
        if local_addr is not None:
            raise _missing("choosing the local address of a connection", "a bind call")
        if sock is None:
            sock = ukernel_net.connect_start(self._abi, host, port)
            try:
                await self._abi_connected(sock)
            except BaseException:
                sock.close()
                raise
        elif not isinstance(sock, ukernel_net.AbiSocket):
            raise ValueError("sock: only the ABI's sockets run on this loop (host sockets do not)")
        protocol = protocol_factory()
        waiter = self.create_future()
        transport = self._make_socket_transport(sock, protocol, waiter)
        try:
            await waiter
        except BaseException:
            transport.close()
            raise
        return transport, protocol

    async def _abi_connected(self, sock: ukernel_net.AbiSocket) -> None:
        """Waits until the connection is made (writable) or has failed (hung up)."""
        handle = sock.fileno()
        done = self.create_future()

        def ready() -> None:
            if not done.done():
                done.set_result(self._selector.hung_up(handle))  # type: ignore[attr-defined]

        self._add_writer(handle, ready)
        try:
            failed = await done
        finally:
            self._remove_writer(handle)
        if failed:
            raise ukernel_net.connect_failed(sock)

    async def create_server(  # type: ignore[override]
        self, protocol_factory, host=None, port=None, *, sock=None, backlog=100, ssl=None, start_serving=True, **_ignored
    ):
        if ssl:
            raise _missing("TLS", "a TLS library over the sockets")
        if sock is not None:
            if not isinstance(sock, ukernel_net.AbiListener):
                raise ValueError("sock: only the ABI's listening sockets run on this loop (host sockets do not)")
            listeners = [sock]
        else:
            # The address is the workload's own (the VM's; on the host, UKERNEL_NET_BIND): any
            # IPv4 address or localhost is accepted as a name for it, nothing that needs DNS.
            for h in host if isinstance(host, (list, tuple, set)) else [host]:
                if h not in (None, "", "0.0.0.0"):
                    ukernel_net.resolve(h)
            listeners = [ukernel_net.listen(self._abi, port, backlog)]
        server = asyncio.base_events.Server(self, listeners, protocol_factory, None, backlog, None, None)
        if start_serving:
            server._start_serving()
            await asyncio.sleep(0)  # as asyncio does: let the reader be added first
        return server

    async def create_datagram_endpoint(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise _missing("UDP endpoints in asyncio", "a datagram transport over udp_bind/udp_send_to/udp_recv_from (the ABI has the calls)")

    async def getaddrinfo(self, host, port, *, family=0, type=0, proto=0, flags=0):  # type: ignore[no-untyped-def]
        address = ukernel_net.lookup(self._abi, host if host is not None else "127.0.0.1")
        if family not in (0, socket.AF_INET):
            raise socket.gaierror(socket.EAI_FAMILY, "the Zigu ABI has IPv4 only")
        kinds = [type] if type else [socket.SOCK_STREAM, socket.SOCK_DGRAM]
        protos = {socket.SOCK_STREAM: socket.IPPROTO_TCP, socket.SOCK_DGRAM: socket.IPPROTO_UDP}
        return [(socket.AF_INET, k, protos.get(k, proto), "", (address, int(port or 0))) for k in kinds]


class LogStream(io.TextIOBase):
    """A text stream whose lines go out through the ABI's log call (CAP_LOG), one call a line."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self._level = level
        self._pending = ""

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        self._pending += s
        while "\n" in self._pending:
            line, self._pending = self._pending.split("\n", 1)
            self._emit(line + "\n")
        return len(s)

    def flush(self) -> None:
        if self._pending:
            line, self._pending = self._pending, ""
            self._emit(line)

    def _emit(self, text: str) -> None:
        data = text.encode()
        for i in range(0, len(data), abi.MAX_LOG_BYTES):
            ukernel().log(data[i : i + abi.MAX_LOG_BYTES].decode(errors="replace"), self._level)


class UkernelEventLoopPolicy(asyncio.DefaultEventLoopPolicy):
    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        return UkernelEventLoop()


def load_workload(project: Path) -> tuple[Any, dict[str, Any]]:
    config = tomllib.loads((project / "ukernel.toml").read_text())
    workload = config.get("workload", {})
    if workload.get("runtime") != "python":
        raise SystemExit(f"{project / 'ukernel.toml'}: workload.runtime is {workload.get('runtime')!r}; this runtime runs python workloads")
    entry = project / workload["entry"]
    spec = importlib.util.spec_from_file_location(workload.get("name", "workload"), entry)
    if spec is None or spec.loader is None:
        raise SystemExit(f"{entry}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(entry.parent))
    spec.loader.exec_module(module)
    if not asyncio.iscoroutinefunction(getattr(module, "main", None)):
        raise SystemExit(f"{entry}: defines no `async def main()`")
    return module, config


def run(project: Path) -> int:
    config = tomllib.loads((project / "ukernel.toml").read_text())
    caps = config.get("capabilities", {}).get("allow", [])
    # The policy, before the library's first call reads it.
    os.environ["UKERNEL_CAPS"] = ",".join(caps)
    if "time" not in caps:
        print("runtime: asyncio needs the time capability (its clock and timers): add \"time\" to capabilities.allow", file=sys.stderr)
        return 2
    module, _ = load_workload(project)
    # Everything the policy allows that the runtime itself uses: the loop's clock and timers, the
    # console (the workload's print goes through log) and the network (the sockets).
    ukernel().enter(abi.CAP_TIME, *([abi.CAP_LOG] if "log" in caps else []), *([abi.CAP_NET] if "net" in caps else []))
    asyncio.set_event_loop_policy(UkernelEventLoopPolicy())
    sys.stdout, sys.stderr = LogStream(abi.LOG_INFO), LogStream(abi.LOG_ERROR)
    try:
        result = asyncio.run(module.main())
        sys.stdout.flush()
        sys.stderr.flush()
    except CapabilityError as err:
        print(f"runtime: capability refused: {err}", file=sys.__stderr__)
        return 1
    except Exception:  # the workload's own failure: its traceback and status 1
        traceback.print_exc(file=sys.__stderr__)
        return 1
    finally:
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    return 0 if result is None else int(result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", type=Path, default=Path("."), help="directory holding ukernel.toml")
    args = parser.parse_args()
    sys.exit(run(args.project.resolve()))


if __name__ == "__main__":
    main()
