"""TCP through the ABI's socket calls on the host library (host/net.zig) and the asyncio runtime
over them: streams, Protocol servers and clients against plain host sockets, the network policy,
CAP_NET, EOF and resets; and the calls themselves at the C level (handles, errors, io_poll)."""

from __future__ import annotations

import ast
import os
import socket
import struct
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from conftest import ADAPTER

NET_CAPS = ("log", "time", "net")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def policy(listen: list[int] = [], connect: list[str] = []) -> dict[str, str]:  # noqa: B006 (never mutated)
    return {"UKERNEL_NET_LISTEN": ",".join(map(str, listen)), "UKERNEL_NET_CONNECT": ",".join(connect)}


def last_line(out: str) -> str:
    return out.strip().splitlines()[-1]


# ---- asyncio over the ABI --------------------------------------------------------------------


def test_start_server_and_open_connection_echo_many_concurrent_clients(run_workload):
    port = free_port()
    r = run_workload(
        f"""
        import asyncio

        async def echo(reader, writer):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
            writer.close()
            await writer.wait_closed()

        async def client(i):
            reader, writer = await asyncio.open_connection("localhost", {port})
            # 1 MiB for every 10th client: more than the socket buffers hold, so drain() waits.
            payload = bytes([i % 256]) * (1 << 20 if i % 10 == 0 else 1000 + i)
            writer.write(payload)
            await writer.drain()
            writer.write_eof()
            echoed = await reader.read()
            assert reader.at_eof()
            writer.close()
            await writer.wait_closed()
            return echoed == payload

        async def main():
            server = await asyncio.start_server(echo, "127.0.0.1", {port})
            async with server:
                results = await asyncio.gather(*(client(i) for i in range(60)))
            print(sum(results), server.sockets[0].getsockname() if server.sockets else None)
        """,
        caps=NET_CAPS,
        env=policy(listen=[port], connect=[f"127.0.0.1/32:{port}"]),
    )
    assert r.code == 0, r.stderr
    assert last_line(r.stdout) == "60 None"  # every echo whole; the server closed after `async with`


def start_project(tmp_path: Path, abi_lib: Path, source: str, env: dict[str, str], caps=NET_CAPS) -> subprocess.Popen[str]:
    (tmp_path / "ukernel.toml").write_text(
        f'[workload]\nname = "t"\nentry = "main.py"\nruntime = "python"\n\n[capabilities]\nallow = [{", ".join(f"{c!r}" for c in caps)}]\n'.replace("'", '"')
    )
    (tmp_path / "main.py").write_text(textwrap.dedent(source))
    full = {**os.environ, "UKERNEL_ABI_LIB": str(abi_lib), "PYTHONPATH": str(ADAPTER), **env}
    full.pop("UKERNEL_CAPS", None)
    return subprocess.Popen([sys.executable, str(ADAPTER / "runtime.py"), "--project", str(tmp_path)], env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_protocol_server_answers_a_plain_python_socket_client(tmp_path, abi_lib):
    port = free_port()
    p = start_project(
        tmp_path,
        abi_lib,
        f"""
        import asyncio

        class Upper(asyncio.Protocol):
            def connection_made(self, transport):
                self.transport = transport
                self.got = b""
            def data_received(self, data):
                self.got += data
                if self.got.endswith(b"\\n"):
                    self.transport.write(self.got.upper())
                    self.transport.close()
            def connection_lost(self, exc):
                done.set_result(exc)

        async def main():
            global done
            done = asyncio.get_running_loop().create_future()
            server = await asyncio.get_running_loop().create_server(Upper, "127.0.0.1", {port})
            print("listening", flush=True)
            exc = await done
            server.close()
            await server.wait_closed()
            print("served, connection_lost:", exc)
        """,
        policy(listen=[port]),
    )
    try:
        assert p.stdout is not None
        assert p.stdout.readline().strip() == "listening"
        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
            c.sendall(b"hello from a host socket\n")
            answer = b""
            while chunk := c.recv(100):
                answer += chunk
        out, err = p.communicate(timeout=30)
    finally:
        p.kill()
    assert answer == b"HELLO FROM A HOST SOCKET\n"
    assert p.returncode == 0, err
    assert "served, connection_lost: None" in out


class HostServer:
    """A plain threaded TCP server on the host: answers `OK <data>` and closes, or resets."""

    def __init__(self, reset: bool = False) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.reset = reset
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = conn.recv(1000)
                if self.reset:
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    continue  # closing with linger 0 sends RST
                conn.sendall(b"OK " + data)

    def close(self) -> None:
        self.sock.close()


def test_create_connection_reaches_a_host_server_and_sees_its_eof(run_workload):
    host = HostServer()
    try:
        r = run_workload(
            f"""
            import asyncio

            class Client(asyncio.Protocol):
                def __init__(self):
                    self.data = b""
                    self.eof = False
                    self.lost = asyncio.get_running_loop().create_future()
                def connection_made(self, transport):
                    transport.write(b"ping")
                def data_received(self, data):
                    self.data += data
                def eof_received(self):
                    self.eof = True
                def connection_lost(self, exc):
                    self.lost.set_result(exc)

            async def main():
                loop = asyncio.get_running_loop()
                transport, client = await loop.create_connection(Client, "127.0.0.1", {host.port})
                peer = transport.get_extra_info("peername")
                exc = await client.lost
                print([client.data.decode(), client.eof, exc, peer])
            """,
            caps=NET_CAPS,
            env=policy(connect=[f"127.0.0.0/8:{host.port}"]),
        )
    finally:
        host.close()
    assert r.code == 0, r.stderr
    assert ast.literal_eval(last_line(r.stdout)) == ["OK ping", True, None, ("127.0.0.1", host.port)]


def test_a_reset_connection_is_a_connection_error_and_a_refused_one_too(run_workload):
    host = HostServer(reset=True)
    closed = free_port()
    try:
        r = run_workload(
            f"""
            import asyncio

            async def main():
                reader, writer = await asyncio.open_connection("127.0.0.1", {host.port})
                writer.write(b"hello")
                try:
                    data = await reader.read(100)
                    print("read", data)
                except ConnectionError as e:
                    print("reset:", type(e).__name__)
                writer.close()
                try:
                    await asyncio.open_connection("127.0.0.1", {closed})
                except ConnectionError as e:
                    print("refused:", type(e).__name__, e)
            """,
            caps=NET_CAPS,
            env=policy(connect=[f"127.0.0.1:{host.port}", f"127.0.0.1:{closed}"]),
        )
    finally:
        host.close()
    assert r.code == 0, r.stderr
    assert "reset: ConnectionFailedError" in r.stdout
    assert f"refused: ConnectionFailedError connecting to 127.0.0.1:{closed} failed: refused, reset or timed out (ERR_CONNECTION)" in r.stdout


def test_listen_and_connect_outside_the_policy_are_network_policy_errors_naming_ukernel_toml(run_workload):
    allowed, other = free_port(), free_port()
    r = run_workload(
        f"""
        import asyncio
        from ukernel_abi import NetworkPolicyError

        async def main():
            for what, attempt in [
                ("listen", asyncio.start_server(lambda r, w: None, "127.0.0.1", {other})),
                ("connect", asyncio.open_connection("127.0.0.1", {other})),
                ("connect", asyncio.open_connection("10.0.2.2", {allowed})),
            ]:
                try:
                    await attempt
                    print(what, "allowed")
                except NetworkPolicyError as e:
                    print(what, isinstance(e, PermissionError), e)
        """,
        caps=NET_CAPS,
        env=policy(listen=[allowed], connect=[f"127.0.0.1:{allowed}"]),
    )
    assert r.code == 0, r.stderr
    lines = r.stdout.strip().splitlines()[-3:]
    assert lines[0] == f"listen True listening on port {other}: not allowed by the network policy: add it to listen in [network] in ukernel.toml (ERR_NOT_ALLOWED)"
    assert lines[1] == f"connect True connecting to 127.0.0.1:{other}: not allowed by the network policy: add it to connect in [network] in ukernel.toml (ERR_NOT_ALLOWED)"
    assert lines[2].startswith("connect True connecting to 10.0.2.2:")


def test_without_the_net_capability_sockets_are_a_permission_error(run_workload):
    port = free_port()
    r = run_workload(
        f"""
        import asyncio
        from ukernel_abi import CapabilityError

        async def main():
            try:
                await asyncio.start_server(lambda r, w: None, "127.0.0.1", {port})
            except PermissionError as e:
                print(type(e).__name__, isinstance(e, CapabilityError), e)
        """,
        caps=("log", "time"),
        env=policy(listen=[port]),
    )
    assert r.code == 0, r.stderr
    assert last_line(r.stdout) == f'CapabilityError True listening on port {port}: the network needs the "net" capability: add "net" to capabilities.allow in ukernel.toml (ERR_PERMISSION)'


def test_names_resolve_through_the_abi_and_unknown_ones_are_name_not_found(run_workload):
    r = run_workload(
        """
        import asyncio, socket
        from ukernel_abi import NameNotFoundError

        async def main():
            loop = asyncio.get_running_loop()
            print((await loop.getaddrinfo("localhost", 80, type=socket.SOCK_STREAM))[0][4])
            print((await loop.getaddrinfo("10.1.2.3", 81, type=socket.SOCK_STREAM))[0][4])
            try:
                await asyncio.open_connection("no-such-host.invalid", 80)
            except NameNotFoundError as e:
                print("not found:", isinstance(e, OSError), e)
            try:
                await asyncio.open_connection("not a name", 80)
            except socket.gaierror as e:
                print("gaierror:", e)
        """,
        caps=NET_CAPS,
    )
    assert r.code == 0, r.stderr
    assert "('127.0.0.1', 80)" in r.stdout
    assert "('10.1.2.3', 81)" in r.stdout
    assert "not found: True no-such-host.invalid: no such host (the resolver has no IPv4 address for it, or did not answer) (ERR_NOT_FOUND)" in r.stdout
    assert "gaierror: [Errno -2] 'not a name': not a host name" in r.stdout


# ---- the calls at the C level ----------------------------------------------------------------


def run_c_level(abi_lib: Path, script: str, env: dict[str, str], caps: str = "net,time") -> list[str]:
    full = {**os.environ, "UKERNEL_ABI_LIB": str(abi_lib), "UKERNEL_CAPS": caps, "PYTHONPATH": str(ADAPTER), **env}
    p = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], env=full, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip().splitlines()


def test_stale_forged_and_wrong_type_handles_are_bad_handle_errors(abi_lib):
    port = free_port()
    out = run_c_level(
        abi_lib,
        f"""
        import ctypes
        import ukernel_abi as u, ukernel_abi_numbers as abi
        a = u.Abi()
        a.enter(abi.CAP_NET, abi.CAP_TIME)
        buf = ctypes.create_string_buffer(16)
        p = ctypes.cast(buf, ctypes.c_void_p)
        listener = a.tcp_listen({port}, 4)
        timer = a.timer_create()
        a.lib.uk_sock_recv.argtypes = [ctypes.c_uint64, ctypes.c_void_p, ctypes.c_uint64]
        a.lib.uk_sock_recv.restype = ctypes.c_int64
        a.lib.uk_handle_close.argtypes = [ctypes.c_uint64]
        a.lib.uk_handle_close.restype = ctypes.c_int64
        a.lib.uk_tcp_accept.argtypes = [ctypes.c_uint64]
        a.lib.uk_tcp_accept.restype = ctypes.c_int64
        a.lib.uk_io_register.argtypes = [ctypes.c_uint64, ctypes.c_uint32, ctypes.c_uint64]
        a.lib.uk_io_register.restype = ctypes.c_int64
        print("tag", hex(listener >> 16 & 0xFF), "generation", listener >> 24)
        print("listener to sock_recv", a.lib.uk_sock_recv(listener, p, 16))
        print("timer to sock_recv", a.lib.uk_sock_recv(timer, p, 16))
        print("timer to tcp_accept", a.lib.uk_tcp_accept(timer))
        print("forged generation", a.lib.uk_tcp_accept(listener + (1 << 24)))
        print("forged tag", a.lib.uk_tcp_accept((listener & ~(0xFF << 16)) | (17 << 16)))
        print("high bits", a.lib.uk_tcp_accept(listener | (1 << 60)))
        print("no such slot", a.lib.uk_tcp_accept((1 << 24) | (16 << 16) | 200))
        print("close", a.lib.uk_handle_close(listener))
        print("stale accept", a.lib.uk_tcp_accept(listener))
        print("stale close", a.lib.uk_handle_close(listener))
        print("stale register", a.lib.uk_io_register(listener, 1, 5))
        again = a.tcp_listen({port}, 4)  # the slot comes back with a new generation
        print("reused slot", again & 0xFFFF == listener & 0xFFFF, again != listener)
        """,
        policy(listen=[port]),
    )
    bad = "-2"
    assert out[0] == "tag 0x10 generation 1"
    assert out[1:] == [
        f"listener to sock_recv {bad}",
        f"timer to sock_recv {bad}",
        f"timer to tcp_accept {bad}",
        f"forged generation {bad}",
        f"forged tag {bad}",
        f"high bits {bad}",
        f"no such slot {bad}",
        "close 0",
        f"stale accept {bad}",
        f"stale close {bad}",
        f"stale register {bad}",
        "reused slot True True",
    ]


def test_the_calls_check_the_capability_then_ranges_then_the_policy(abi_lib):
    port = free_port()
    out = run_c_level(
        abi_lib,
        f"""
        import ctypes
        import ukernel_abi as u, ukernel_abi_numbers as abi
        a = u.Abi()
        def raw(name, *args):
            try:
                return a.call(name, *args)
            except u.UkernelError as e:
                return type(e).__name__
        print(raw("tcp_listen", {port}, 1))          # before cap_enter
        a.enter(abi.CAP_NET)
        print(raw("tcp_listen", 0, 1), raw("tcp_listen", 65536, 1))
        print(raw("tcp_listen", {port} + 1, 1))
        print(raw("tcp_connect", 0x7F000001, 0), raw("tcp_connect", 0, 80), raw("tcp_connect", 0xE0000001, 80))
        print(raw("tcp_connect", 0x7F000001, {port} + 1))
        h = raw("tcp_listen", {port}, 1)
        print(type(h).__name__, raw("tcp_listen", {port}, 1))
        print(raw("tcp_accept", h))
        print(raw("sock_send", h, 0, 5))  # null buffer: refused before the handle is looked at
        """,
        policy(listen=[port]),
        caps="net",
    )
    assert out == [
        "CapabilityError",
        "InvalidArgumentError InvalidArgumentError",
        "NetworkPolicyError",
        "InvalidArgumentError InvalidArgumentError InvalidArgumentError",
        "NetworkPolicyError",
        "int ExistsError",
        "WouldBlockError",
        "BadPointerError",
    ]


def test_io_poll_merges_socket_readiness_with_timers_and_reports_hangups(abi_lib):
    port = free_port()
    out = run_c_level(
        abi_lib,
        f"""
        import ctypes, socket, threading, time
        import ukernel_abi as u, ukernel_abi_numbers as abi
        a = u.Abi()
        a.enter(abi.CAP_NET, abi.CAP_TIME)
        listener = a.tcp_listen({port}, 4)
        a.io_register(listener, abi.EV_READABLE, 10)
        timer = a.timer_create()
        a.io_register(timer, abi.EV_READABLE, 20)
        a.timer_arm(timer, 200_000_000)
        # A client connects 50 ms from now: io_poll (no timeout) wakes for it, not for the timer.
        threading.Timer(0.05, lambda: globals().__setitem__("c", socket.create_connection(("127.0.0.1", {port})))).start()
        t0 = time.monotonic()
        print("listener", a.io_poll(8, abi.TIMEOUT_INFINITE), 0.04 < time.monotonic() - t0 < 0.19)
        s = a.tcp_accept(listener)
        a.io_register(s, abi.EV_READABLE | abi.EV_WRITABLE, 30)
        print("writable", a.io_poll(8, 0))
        a.io_unregister(s)
        a.io_register(s, abi.EV_READABLE, 31)
        print("timer", a.io_poll(8, abi.TIMEOUT_INFINITE))
        c.sendall(b"abc")
        c.shutdown(socket.SHUT_WR)
        print("readable", a.io_poll(8, abi.TIMEOUT_INFINITE), a.sock_recv(s, 10), a.sock_recv(s, 10))
        print("level-triggered eof", a.io_poll(8, 0), a.io_poll(8, 0))
        a.close(s)
        print("hangup of a closed registration", a.io_poll(8, 0), a.io_poll(8, 0))
        a.close(listener)
        a.io_poll(8, 0)
        t0 = time.monotonic()
        print("timeout", a.io_poll(8, 30_000_000), time.monotonic() - t0 >= 0.03)
        """,
        policy(listen=[port]),
    )
    assert out == [
        "listener [(10, 1)] True",
        "writable [(30, 2)]",
        "timer [(20, 9)]",
        "readable [(31, 1)] b'abc' b''",
        "level-triggered eof [(31, 1)] [(31, 1)]",
        "hangup of a closed registration [(31, 4)] []",
        "timeout [] True",
    ]
