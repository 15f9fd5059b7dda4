"""TCP over the Zigu ABI's socket calls, for the asyncio runtime (runtime.py).

Why sockets shaped like `socket.socket` rather than a transport of our own: asyncio's selector
event loop already has the transports, servers and streams that its documentation describes
(buffering, flow control and drain(), write_eof, close/abort, EOF and reset handling,
serve_forever, wait_closed). They need from a socket only non-blocking recv/send/shutdown/close
and a `fileno()` the selector can wait on. Here `fileno()` is the ABI handle, which the loop's
selector (runtime.UkernelSelector) registers with io_register and waits for with io_poll; so the
loop's own `_make_socket_transport` and `Server` run unchanged over the ABI, and only connecting
and listening (which the ABI does its own way, under the network policy) are written here.

Names are resolved through the ABI's dns_query/dns_result (on the host: the host's resolver), so a
name means the same here as in the microVM; a listening address is the workload's own (an IPv4
address or localhost).
"""

from __future__ import annotations

import errno
import ctypes
import ipaddress
import os
import socket
from typing import Any

import ukernel_abi_numbers as abi
from ukernel_abi import Abi, ConnectionFailedError, InvalidArgumentError, NameNotFoundError, NetworkPolicyError, NoSpaceError, UkernelError

POLICY_HINT = "[network] in ukernel.toml"


def with_message(err: UkernelError, message: str) -> UkernelError:
    """The same exception (class, code, call) with a message that says what to do."""
    err.args = (f"{message} ({abi.ERROR_NAMES.get(err.code, err.code)})",)
    return err


def lookup(abi_: Abi, host: str | None) -> str:
    """The first IPv4 address of `host` (dotted): an IPv4 literal itself, else the ABI's resolver's
    answer (dns_query, dns_result). A name that does not resolve is NameNotFoundError (an OSError)."""
    if host is None or host == "":
        raise ValueError("a host is needed: an IPv4 address or a host name")
    try:
        return str(ipaddress.IPv4Address(host))
    except ValueError:
        pass
    try:
        name = host.encode("ascii")
    except UnicodeEncodeError:
        raise socket.gaierror(socket.EAI_NONAME, f"{host!r}: not a host name (letters, digits, '-' and '_' in dot-separated labels)") from None
    try:
        query = abi_.call("dns_query", ctypes.c_char_p(name), len(name))
    except InvalidArgumentError:
        raise socket.gaierror(socket.EAI_NONAME, f"{host!r}: not a host name (letters, digits, '-' and '_' in dot-separated labels, {abi.MAX_DNS_NAME_BYTES} bytes at most)") from None
    except abi.CapabilityError as err:
        raise with_message(err, f'resolving {host}: the network needs the "net" capability: add "net" to capabilities.allow in ukernel.toml') from None
    try:
        out = (ctypes.c_uint32 * abi.MAX_DNS_ADDRS)()
        abi_.call("dns_result", query, ctypes.cast(out, ctypes.c_void_p), abi.MAX_DNS_ADDRS)
    except NameNotFoundError as err:
        raise with_message(err, f"{host}: no such host (the resolver has no IPv4 address for it, or did not answer)") from None
    finally:
        abi_.call("handle_close", query)
    return str(ipaddress.IPv4Address(out[0]))


def resolve(host: str | None) -> str:
    """A listening address in dotted form for `host`: an IPv4 literal, or localhost (the
    workload's own address; nothing that needs a resolver)."""
    if host is None or host == "":
        raise ValueError("a host is needed: an IPv4 address or localhost")
    if host == "localhost":
        return "127.0.0.1"
    try:
        return str(ipaddress.IPv4Address(host))
    except ValueError:
        raise socket.gaierror(socket.EAI_NONAME, f"{host!r}: a listening address is the workload's own: an IPv4 address or localhost") from None


def ipv4_int(address: str) -> int:
    return int(ipaddress.IPv4Address(address))


def check_port(port: Any, what: str) -> int:
    if isinstance(port, str) and port.isdigit():
        port = int(port)
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise ValueError(f"{what}: port {port!r}: expected 1 to 65535 (a port that {POLICY_HINT} names; 0, any free port, cannot be named)")
    return port


def bind_address() -> str:
    """Where the host library's listeners bind (UKERNEL_NET_BIND, else 127.0.0.1)."""
    return os.environ.get("UKERNEL_NET_BIND", "").strip() or "127.0.0.1"


def net_call(abi_: Abi, name: str, what: str, *args: int) -> int:
    """An ABI socket call whose refusals name what the user must change."""
    try:
        return abi_.call(name, *args)
    except NetworkPolicyError as err:
        key = "listen" if name in ("tcp_listen", "udp_bind") else "connect"
        raise with_message(err, f"{what}: not allowed by the network policy: add it to {key} in {POLICY_HINT}") from None
    except abi.CapabilityError as err:
        raise with_message(err, f'{what}: the network needs the "net" capability: add "net" to capabilities.allow in ukernel.toml') from None


class _AbiSocketBase:
    """What asyncio reads from any socket it is given."""

    family = socket.AF_INET
    type = socket.SOCK_STREAM
    proto = socket.IPPROTO_TCP

    def __init__(self, abi_: Abi, handle: int, sockname: tuple[str, int] | None, peername: tuple[str, int] | None = None) -> None:
        self._abi = abi_
        self._handle: int | None = handle
        self._sockname = sockname
        self._peername = peername

    def fileno(self) -> int:
        return -1 if self._handle is None else self._handle

    def _live(self) -> int:
        if self._handle is None:
            raise OSError(errno.EBADF, "the socket is closed")
        return self._handle

    def setblocking(self, flag: bool) -> None:
        if flag:
            raise ValueError("ABI sockets are non-blocking: use them through the event loop")

    def gettimeout(self) -> float:
        return 0.0

    def setsockopt(self, *args: Any) -> None:
        pass  # TCP_NODELAY, the one asyncio sets, is always on; the ABI has no options

    def getsockopt(self, level: int, option: int, buflen: int | None = None) -> int:
        return 0

    def getsockname(self) -> tuple[str, int]:
        if self._sockname is None:
            raise OSError(errno.ENOTCONN, "the ABI does not report this socket's own address")
        return self._sockname

    def getpeername(self) -> tuple[str, int]:
        if self._peername is None:
            raise OSError(errno.ENOTCONN, "no peer address: a listener, or an accepted connection (the ABI does not report its peer)")
        return self._peername

    def close(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            self._abi.close(handle)

    def detach(self) -> int:
        handle, self._handle = self._handle, None
        return -1 if handle is None else handle

    def __repr__(self) -> str:
        return f"<{type(self).__name__} handle={self.fileno():#x} laddr={self._sockname}>"


class AbiSocket(_AbiSocketBase):
    """A connected (or connecting) TCP socket of the ABI."""

    def recv(self, n: int, flags: int = 0) -> bytes:
        return self._abi.sock_recv(self._live(), n)

    def recv_into(self, buf: bytearray | memoryview, nbytes: int = 0, flags: int = 0) -> int:
        return self._abi.sock_recv_into(self._live(), buf, nbytes)

    def send(self, data: bytes | bytearray | memoryview, flags: int = 0) -> int:
        return self._abi.sock_send(self._live(), data)

    def sendmsg(self, buffers: Any, *args: Any) -> int:
        # Python 3.12's transports write their buffer list with sendmsg.
        return self.send(b"".join(bytes(b) for b in buffers))

    def shutdown(self, how: int) -> None:
        if how in (socket.SHUT_WR, socket.SHUT_RDWR):
            self._abi.sock_shutdown(self._live())


class AbiListener(_AbiSocketBase):
    """A listening TCP socket of the ABI: readable when a connection waits."""

    def listen(self, backlog: int = 0) -> None:
        pass  # tcp_listen listened already

    def accept(self) -> tuple[AbiSocket, None]:
        try:
            handle = self._abi.tcp_accept(self._live())
        except NoSpaceError:
            # asyncio pauses accepting for a while on EMFILE and tries again: the same here.
            raise OSError(errno.EMFILE, "tcp_accept: the ABI's socket table is full") from None
        return AbiSocket(self._abi, handle, self._sockname, None), None


def listen(abi_: Abi, port: int, backlog: int) -> AbiListener:
    port = check_port(port, "listen")
    handle = net_call(abi_, "tcp_listen", f"listening on port {port}", port, max(1, min(backlog, 64)))
    return AbiListener(abi_, handle, (bind_address(), port))


def connect_start(abi_: Abi, host: str | None, port: Any) -> AbiSocket:
    """A socket whose connection is under way (writable once connected)."""
    port = check_port(port, "connect")
    address = lookup(abi_, host)
    handle = net_call(abi_, "tcp_connect", f"connecting to {address}:{port}", ipv4_int(address), port)
    return AbiSocket(abi_, handle, None, (address, port))


def connect_failed(sock: AbiSocket) -> ConnectionFailedError:
    """The error of a connection that hung up before it was made (what the ABI tells: no more)."""
    try:
        sock.recv(1)
    except ConnectionFailedError as err:
        return with_message(err, f"connecting to {sock.getpeername()[0]}:{sock.getpeername()[1]} failed: refused, reset or timed out")  # type: ignore[return-value]
    except UkernelError:
        pass
    err = ConnectionFailedError("tcp_connect")
    return with_message(err, f"connecting to {sock.getpeername()[0]}:{sock.getpeername()[1]} failed")  # type: ignore[return-value]
