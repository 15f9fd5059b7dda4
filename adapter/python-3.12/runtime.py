"""The Zigu asyncio runtime: runs a workload's `async def main()` on an event loop whose only way
of waiting is the ABI's io_poll, with the loop's clock and timers taken from the ABI.

    python runtime.py [--project DIR]

reads DIR/ukernel.toml, puts its capability policy in force (UKERNEL_CAPS), loads the workload
module named by workload.entry and exits with main()'s result (an int, or 0 for None; 1 for an
uncaught exception). Runs on the host library (libukernel_abi.so) for now.

What the ABI does not provide yet fails loudly: sockets (CAP_NET), pipes and files (CAP_IO),
subprocesses, signals and threads raise NotImplementedError naming what is missing.

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
import sys
import threading
import tomllib
import traceback
from pathlib import Path
from typing import Any

import ukernel_abi_numbers as abi
from ukernel_abi import Abi, CapabilityError, InvalidArgumentError

_abi: Abi | None = None


def ukernel() -> Abi:
    """The process's ABI (loaded once: the policy is read on the first call)."""
    global _abi
    if _abi is None:
        _abi = Abi()
    return _abi


def _missing(what: str, capability: str) -> NotImplementedError:
    return NotImplementedError(f"{what} needs {capability}, which the Zigu ABI does not provide yet")


class UkernelSelector(selectors.BaseSelector):
    """A selector whose select() is io_poll. A timeout is an ABI timer registered in the poll set."""

    _TIMER = 1  # user data of the selector's own timer

    def __init__(self) -> None:
        self._abi = ukernel()
        self._timer = self._abi.timer_create()
        self._abi.io_register(self._timer, abi.EV_READABLE, self._TIMER)
        self._map: dict[Any, selectors.SelectorKey] = {}

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        raise _missing("waiting on a file descriptor (sockets, pipes)", "CAP_NET or CAP_IO")

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        raise KeyError(fileobj)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is not None and timeout <= 0:
            self._abi.io_poll(1, 0)
            return []
        if timeout is not None:
            self._abi.timer_arm(self._timer, max(1, int(timeout * 1e9)))
        try:
            self._abi.io_poll(1, abi.TIMEOUT_INFINITE)
        except InvalidArgumentError:
            raise RuntimeError("the event loop would wait for ever: nothing is scheduled and nothing can wake it") from None
        finally:
            self._abi.timer_arm(self._timer, 0, 0)  # disarm
        return []

    def close(self) -> None:
        self._abi.close(self._timer)

    def get_map(self) -> dict[Any, selectors.SelectorKey]:
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

    async def create_connection(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise _missing("TCP connections", "CAP_NET")

    async def create_server(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise _missing("TCP servers", "CAP_NET")

    async def create_datagram_endpoint(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise _missing("UDP endpoints", "CAP_NET")

    async def getaddrinfo(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise _missing("name resolution", "CAP_NET")


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
    # Everything the policy allows that the runtime itself uses: the loop's clock and timers, and
    # the console (the workload's print goes through log).
    ukernel().enter(abi.CAP_TIME, *([abi.CAP_LOG] if "log" in caps else []))
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
